package tensor

import (
	"fmt"
	"testing"
)

func BenchmarkAddBias(b *testing.B) {
	rng := NewRNG(1)
	x, bias := rng.Randn(8, 128, 768), rng.Randn(768)
	dst := New(8, 128, 768)
	b.SetBytes(int64(x.Numel() * 4 * 2))
	b.ReportAllocs()
	for b.Loop() {
		AddInto(dst, x, bias)
	}
}

func BenchmarkAddTransposed(b *testing.B) {
	rng := NewRNG(1)
	x, y := rng.Randn(512, 512), rng.Randn(512, 512)
	dst := New(512, 512)
	b.SetBytes(int64(x.Numel() * 4 * 3))
	b.ReportAllocs()
	for b.Loop() {
		AddInto(dst, x, y.T())
	}
}

func BenchmarkMatMul(b *testing.B) {
	for _, n := range []int{64, 256} {
		for _, tb := range []bool{false, true} {
			b.Run(fmt.Sprintf("n=%d/transB=%v", n, tb), func(b *testing.B) {
				rng := NewRNG(1)
				x, y := rng.Randn(n, n), rng.Randn(n, n)
				if tb {
					y = y.T()
				}
				dst := New(n, n)
				b.ReportAllocs()
				for b.Loop() {
					MatMulInto(dst, x, y)
				}
				b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

func BenchmarkRowOps(b *testing.B) {
	rng := NewRNG(1)
	x := rng.Randn(512, 768)
	gamma, beta := rng.Randn(768), rng.Randn(768)
	dst := New(512, 768)
	b.Run("softmax", func(b *testing.B) {
		b.SetBytes(int64(x.Numel() * 8))
		b.ReportAllocs()
		for b.Loop() {
			SoftmaxInto(dst, x)
		}
	})
	b.Run("layernorm", func(b *testing.B) {
		b.SetBytes(int64(x.Numel() * 8))
		b.ReportAllocs()
		for b.Loop() {
			LayerNormInto(dst, x, gamma, beta, 1e-5)
		}
	})
	b.Run("gelu-tanh", func(b *testing.B) {
		b.SetBytes(int64(x.Numel() * 8))
		b.ReportAllocs()
		for b.Loop() {
			GELUTanhInto(dst, x)
		}
	})
}
