package autograd

import (
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

func BenchmarkAttention(b *testing.B) {
	const B, H, T, D = 2, 4, 128, 32
	for _, train := range []bool{false, true} {
		name := "forward"
		if train {
			name = "forward+backward"
		}
		b.Run(name, func(b *testing.B) {
			rng := tensor.NewRNG(1)
			q, k, v := NewVar(rng.Randn(B, H, T, D), train), NewVar(rng.Randn(B, H, T, D), train), NewVar(rng.Randn(B, H, T, D), train)
			g := NewGraph()
			g.Attach(q, k, v)
			gr := rng.Randn(B, H, T, D)
			b.ReportAllocs()
			for b.Loop() {
				g.Reset()
				out, _ := ScaledDotProductAttention(q, k, v, AttentionOptions{Causal: true})
				if train {
					BackwardWith(out, gr)
				}
			}
		})
	}
}
