package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// rowDepths and rowWidths are the awkward k and n of the row-vector path:
// around its unrolls (1…4 steps), the panel widths (4, 16, 32), the
// prefetch distance, and the GPT-2 124M shapes.
var (
	rowDepths = []int{1, 7, 17, 300, 768, 3072}
	rowWidths = []int{1, 31, 32, 33, 100, 2304}
)

// TestSgemmPackedRows checks SgemmPacked with 1…packedRowMax rows (and one
// more, which takes the blocked path) against the float64 reference on every
// pair of awkward k and n, with both layouts of A, padded strides and
// several alpha and beta, every variant, on two workers.
func TestSgemmPackedRows(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		idx := 0
		for _, k := range rowDepths {
			for _, n := range rowWidths {
				if (testing.Short() || raceEnabled) && k*n > 1<<20 {
					continue
				}
				for _, transA := range []bool{false, true} {
					m := 1 + idx%(packedRowMax+1)
					s := sgemmScalars[idx%len(sgemmScalars)]
					pad := []int{0, 3, 1}[idx%3]
					transB := (idx/2)%2 == 1
					idx++
					checkPackedCase(t, rng, sgemmCase{transA, transB, m, n, k, s.alpha, s.beta, pad})
				}
			}
		}
	})
}

// TestSgemmPackedRowsMatch checks that the row-vector path gives what the
// blocked path (packedFew) gives for the same pre-packed B, within rounding
// (the two sum in different orders), for each row count it takes.
func TestSgemmPackedRowsMatch(t *testing.T) {
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, s := range [][2]int{{768, 100}, {300, 33}, {17, 2304}, {7, 31}} {
			k, n := s[0], s[1]
			b := randMatrix(rng, k, n)
			pb := PackB(false, k, n, b, n)
			for m := 1; m <= packedRowMax; m++ {
				a := randMatrix(rng, m, k)
				c0 := randMatrix(rng, m, n)
				want := slices.Clone(c0)
				sgemmBlocked(pb.impl, false, false, m, n, k, 0.5, a, k, nil, 0, 2, want, n, pb, nil)
				got := slices.Clone(c0)
				SgemmPacked(false, m, 0.5, a, k, pb, 2, got, n, nil)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
						t.Fatalf("k=%d n=%d m=%d: C[%d, %d] = %g, blocked path %g", k, n, m, i/n, i%n, got[i], want[i])
					}
				}
			}
		}
	})
}

// TestSgemmPackedRowsEpilogue checks that the row-vector path's fused bias
// and activation give exactly the product followed by Add and GELU, on two
// workers (several chunks, each with its own epilogue) and one.
func TestSgemmPackedRowsEpilogue(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, tc := range []struct {
			m, n, k     int
			alpha, beta float32
			bias, act   bool
		}{
			{1, 2304, 768, 1, 0, true, false},
			{1, 3072, 768, 1, 0, true, true},
			{1, 33, 17, 1, 1, true, true},
			{2, 100, 300, 0.5, -1, false, true},
			{4, 1, 7, 1, 0, true, true},
			{3, 768, 3072, 1, 0, true, false},
		} {
			a, b := randMatrix(rng, tc.m, tc.k), randMatrix(rng, tc.k, tc.n)
			c0 := randMatrix(rng, tc.m, tc.n)
			var ep Epilogue
			if tc.bias {
				ep.Bias = randMatrix(rng, 1, tc.n)
			}
			if tc.act {
				ep.Act = GELU
			}
			pb := PackB(false, tc.k, tc.n, b, tc.n)
			want := slices.Clone(c0)
			SgemmPacked(false, tc.m, tc.alpha, a, tc.k, pb, tc.beta, want, tc.n, nil)
			for i := 0; i < tc.m; i++ {
				row := want[i*tc.n : (i+1)*tc.n]
				if tc.bias {
					Add(row, row, ep.Bias)
				}
				if tc.act {
					GELU(row, row)
				}
			}
			for _, procs := range []int{1, 2} {
				old := runtime.GOMAXPROCS(procs)
				got := slices.Clone(c0)
				SgemmPacked(false, tc.m, tc.alpha, a, tc.k, pb, tc.beta, got, tc.n, &ep)
				runtime.GOMAXPROCS(old)
				same(t, fmt.Sprintf("%dx%dx%d procs=%d", tc.m, tc.n, tc.k, procs), got, want, tc.n)
			}
		}
	})
}

// TestRowPanel checks the row-panel kernels of this CPU against rowPanelGo
// on single panels, for every row count, depths around the unrolls and the
// prefetch extent kpf at 0, part of k and all of it, with C strided.
func TestRowPanel(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, v := range sgemmVariants() {
		kind, nr := rowKindOf(v), v.nr
		for _, k := range []int{1, 2, 3, 4, 5, 8, 9, 130, 257} {
			for r := 1; r <= packedRowMax; r++ {
				for _, kpf := range []int{0, k / 2, k - 1, k} {
					for _, beta := range []float32{0, 0.25} {
						lda, ldc := k+2, nr+5
						a, b := randMatrix(rng, r, lda), randMatrix(rng, k, nr)
						c := randMatrix(rng, r, ldc)
						want := slices.Clone(c)
						rowPanelGo(r, k, a, lda, b, nr, want, ldc, 1.5, beta)
						rowPanel(kind, r, k, a, lda, b, nr, c, ldc, 1.5, beta, max(kpf, 0))
						for i := range want {
							if d := math.Abs(float64(c[i] - want[i])); d > 1e-5*float64(k) {
								t.Fatalf("%s r=%d k=%d kpf=%d beta=%g: C[%d, %d] = %g, want %g",
									v.name, r, k, kpf, beta, i/ldc, i%ldc, c[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmPackedRowsAllocs checks that a steady-state decode-shaped call,
// serial or on two workers, allocates nothing.
func TestSgemmPackedRowsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	rng := rand.New(rand.NewPCG(29, 30))
	for _, s := range [][3]int{{1, 100, 80}, {1, 2304, 768}, {3, 1000, 300}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c := randMatrix(rng, k, m), randMatrix(rng, k, n), make([]float32, m*n)
		ep := &Epilogue{Bias: randMatrix(rng, 1, n), Act: GELU}
		pb := PackB(false, k, n, b, n)
		for _, transA := range []bool{false, true} {
			lda := k
			if transA {
				lda = m
			}
			allocs := testing.AllocsPerRun(20, func() {
				SgemmPacked(transA, m, 1, a, lda, pb, 0, c, n, ep)
			})
			if allocs > 0 {
				t.Errorf("%dx%dx%d transA=%v: %v allocations per call, want 0", m, n, k, transA, allocs)
			}
		}
	}
}

// rowBenchShapes are the weight products of a GPT-2 124M decode step, as
// k×n (in×out): the attention's QKV and output projections and the MLP's
// two layers.
var rowBenchShapes = [][2]int{{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}}

// BenchmarkPackedRows measures decode-shaped products (m = 1, and 2 and 4
// rows) with a pre-packed B in bytes of B streamed per second: "rows" is
// SgemmPacked's row-vector path, "blocked" the blocked path (packedFew) it
// replaced, and, for one row on one core, "vecmat" VecMatAdd on the
// unpacked matrix. Each iteration multiplies by the next of copies of B
// totalling over 512 MiB, more than the L3 cache, so that B comes from
// memory as in decoding, where a model's weights are streamed once per
// token.
func BenchmarkPackedRows(b *testing.B) {
	const total = 512 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range rowBenchShapes {
		k, n := s[0], s[1]
		w := randMatrix(rng, k, n)
		pb := PackB(false, k, n, w, n)
		copies := []*PackedB{pb}
		for len(copies)*4*len(pb.data) < total {
			cp := *pb
			cp.data = slices.Clone(pb.data)
			copies = append(copies, &cp)
		}
		for _, m := range []int{1, 2, 4} {
			x, c := randMatrix(rng, m, k), make([]float32, m*n)
			for _, path := range []string{"rows", "blocked", "vecmat"} {
				if path == "vecmat" && m > 1 {
					continue
				}
				b.Run(fmt.Sprintf("%dx%dx%d/%s", m, k, n, path), func(b *testing.B) {
					var ws [][]float32
					if path == "vecmat" {
						for range copies {
							ws = append(ws, slices.Clone(w))
						}
					}
					b.SetBytes(int64(4 * k * n))
					i := 0
					for b.Loop() {
						p := copies[i%len(copies)]
						switch path {
						case "rows":
							SgemmPacked(false, m, 1, x, k, p, 0, c, n, nil)
						case "blocked":
							sgemmBlocked(p.impl, false, false, m, n, k, 1, x, k, nil, 0, 0, c, n, p, nil)
						default:
							clear(c)
							VecMatAdd(c, x, ws[i%len(ws)])
						}
						i++
					}
					b.ReportMetric(float64(4*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
		copies = nil
		runtime.GC()
	}
}
