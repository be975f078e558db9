package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// sgemmSizes are the awkward dimensions every variant is checked on: around
// the tile shapes (4, 6, 14, 16, 32) and the block sizes.
var sgemmSizes = []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 100, 257}

// sgemmCase is one product to check.
type sgemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // added to every minimal stride (0 or odd)
}

func (tc sgemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g pad=%d",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// checkSgemmCase runs Sgemm on random data and compares every element with a
// float64 reference, within a bound relative to k·eps·(|alpha|·Σ|a||b| +
// |beta·c|). It also checks that C's stride padding is not written and that
// beta == 0 ignores the NaNs C is filled with.
func checkSgemmCase(t *testing.T, rng *rand.Rand, tc sgemmCase) {
	t.Helper()
	checkProduct(t, rng, tc, func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	})
}

// checkProduct is checkSgemmCase with the product computed by run, which
// gets the random operands and must compute C = alpha·op(A)·op(B) + beta·C
// as tc describes.
func checkProduct(t *testing.T, rng *rand.Rand, tc sgemmCase, run func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int)) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tc.transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tc.transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+tc.pad, bc+tc.pad, n+tc.pad
	a := randMatrix(rng, ar, lda)
	b := randMatrix(rng, br, ldb)
	c := make([]float32, m*ldc)
	c0 := make([]float32, len(c))
	for i := range c {
		if tc.beta == 0 {
			c[i] = float32(math.NaN())
		} else {
			c[i] = rng.Float32()*2 - 1
		}
		c0[i] = c[i]
	}
	// Stride padding gets a sentinel that must survive.
	const sentinel = 12345.5
	for i := 0; i < m; i++ {
		for j := n; j < ldc; j++ {
			c[i*ldc+j], c0[i*ldc+j] = sentinel, sentinel
		}
	}
	opA := func(i, p int) float64 {
		if tc.transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	opB := func(p, j int) float64 {
		if tc.transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}

	run(a, lda, b, ldb, c, ldc)

	const eps = 1.0 / (1 << 23)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n {
				if got != sentinel {
					t.Fatalf("%v: C[%d,%d] in the stride padding changed to %g", tc, i, j, got)
				}
				continue
			}
			var dot, mag float64
			for p := 0; p < k; p++ {
				x, y := opA(i, p), opB(p, j)
				dot += x * y
				mag += math.Abs(x * y)
			}
			want := float64(tc.alpha) * dot
			bound := math.Abs(float64(tc.alpha)) * mag
			if tc.beta != 0 {
				want += float64(tc.beta) * float64(c0[i*ldc+j])
				bound += math.Abs(float64(tc.beta) * float64(c0[i*ldc+j]))
			}
			tol := 2*float64(k+2)*eps*bound + 1e-30
			if d := math.Abs(float64(got) - want); !(d <= tol) {
				t.Fatalf("%v: C[%d,%d] = %g, want %g (|diff| %g > tol %g)", tc, i, j, got, want, d, tol)
			}
		}
	}
}

func randMatrix(rng *rand.Rand, rows, ld int) []float32 {
	s := make([]float32, rows*ld)
	for i := range s {
		s[i] = rng.Float32() - 0.5
	}
	return s
}

// forEachSgemmVariant runs f once per Sgemm variant this CPU supports.
func forEachSgemmVariant(t *testing.T, f func(t *testing.T)) {
	for _, v := range sgemmVariants() {
		t.Run(v.name, func(t *testing.T) {
			restore, ok := useSgemmVariant(v.name)
			if !ok {
				t.Skipf("variant %s unavailable", v.name)
			}
			defer restore()
			f(t)
		})
		if v.vector != nil {
			// The same cases with every product on v itself, however small.
			t.Run(v.name+"-all", func(t *testing.T) {
				all := *v
				all.minWork, all.minDim = 0, 0
				old := sgemmImpl
				sgemmImpl = &all
				defer func() { sgemmImpl = old }()
				f(t)
			})
		}
	}
}

var sgemmScalars = []struct{ alpha, beta float32 }{
	{1, 0}, {0.5, 0}, {-1.5, 1}, {2, -0.75}, {1, 1},
}

// TestSgemmShapes checks every pair of awkward (m, n) sizes, all four
// transpositions, with k cycling through the sizes, padded and unpadded
// strides and several alpha/beta pairs.
func TestSgemmShapes(t *testing.T) {
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		idx := 0
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for im, m := range sgemmSizes {
				for in, n := range sgemmSizes {
					k := sgemmSizes[(im+2*in+idx)%len(sgemmSizes)]
					if (testing.Short() || raceEnabled) && m*n*k > 1<<18 {
						k = 17
					}
					s := sgemmScalars[idx%len(sgemmScalars)]
					pad := []int{0, 3, 1}[idx%3]
					idx++
					checkSgemmCase(t, rng, sgemmCase{tr[0], tr[1], m, n, k, s.alpha, s.beta, pad})
				}
			}
		}
	})
}

// TestSgemmDepths sweeps k over the sizes and across the kc block boundary
// for a few (m, n), including the skinny shapes.
func TestSgemmDepths(t *testing.T) {
	ks := append(append([]int{}, sgemmSizes...), 255, 256, 257, 513, 1000)
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for i, mn := range [][2]int{{1, 100}, {3, 33}, {33, 2}, {29, 47}, {4, 4}, {65, 1}} {
			for j, k := range ks {
				tr := (i + j) % 4
				s := sgemmScalars[(i+j)%len(sgemmScalars)]
				checkSgemmCase(t, rng, sgemmCase{tr&1 != 0, tr&2 != 0, mn[0], mn[1], k, s.alpha, s.beta, j % 2})
			}
		}
	})
}

// TestSgemmParallel checks products big enough to be split between workers
// both ways (over M and over N) and across several kc and nc blocks.
func TestSgemmParallel(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	shapes := [][3]int{{300, 290, 530}, {20, 700, 300}, {1, 3000, 700}, {3, 2100, 400}, {2000, 2, 600}}
	if !testing.Short() {
		shapes = append(shapes, [3]int{40, sgemmNC + 100, 260})
	}
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for i, s := range shapes {
			tr := i % 4
			sc := sgemmScalars[i%len(sgemmScalars)]
			checkSgemmCase(t, rng, sgemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], sc.alpha, sc.beta, 1})
		}
	})
}

// TestSgemmSpecial covers the quick exits: empty products, k = 0 and
// alpha = 0, where C is only scaled by beta (and cleared, not read, when beta
// is 0).
func TestSgemmSpecial(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name        string
		k           int
		alpha, beta float32
		c, want     []float32
	}{
		{"k=0 beta=0", 0, 1, 0, []float32{nan, nan, nan, nan}, []float32{0, 0, 0, 0}},
		{"k=0 beta=2", 0, 1, 2, []float32{1, 2, 3, 4}, []float32{2, 4, 6, 8}},
		{"alpha=0 beta=0", 2, 0, 0, []float32{nan, 1, 2, nan}, []float32{0, 0, 0, 0}},
		{"alpha=0 beta=1", 2, 0, 1, []float32{1, 2, 3, 4}, []float32{1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := []float32{1, 2, 3, 4}
			Sgemm(false, false, 2, 2, tc.k, tc.alpha, a, 2, a, 2, tc.beta, tc.c, 2)
			for i := range tc.want {
				if tc.c[i] != tc.want[i] {
					t.Fatalf("C = %v, want %v", tc.c, tc.want)
				}
			}
		})
	}
	// m or n of 0 touches nothing, even with nil slices.
	Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
}

// TestSgemmPanics checks that malformed arguments are refused before any
// kernel runs.
func TestSgemmPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"short C", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}},
		{"small lda", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"short B^T", func() {
			Sgemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 6), 3)
		}},
		{"negative", func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.f()
		})
	}
}

// TestSgemmAllocs checks that steady-state calls below the parallel threshold
// reuse their scratch buffers.
func TestSgemmAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const m, n, k = 100, 90, 80
	a, b, c := randMatrix(rng, m, k), randMatrix(rng, k, n), make([]float32, m*n)
	forEachSgemmVariant(t, func(t *testing.T) {
		allocs := testing.AllocsPerRun(20, func() {
			Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		})
		if allocs > 0 {
			t.Errorf("%v allocations per call, want 0", allocs)
		}
	})
}

func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{64, 256, 1024} {
		for _, v := range sgemmVariants() {
			b.Run(fmt.Sprintf("n=%d/%s", n, v.name), func(b *testing.B) {
				restore, _ := useSgemmVariant(v.name)
				defer restore()
				benchSgemmShape(b, false, false, n, n, n)
			})
		}
	}
}

// BenchmarkSgemv times the decode-time shapes: one row against GPT-2's
// lm_head (stored [out, in], so transposed) and against an MLP weight stored
// [in, out].
func BenchmarkSgemv(b *testing.B) {
	for _, s := range []struct {
		name    string
		transB  bool
		m, n, k int
	}{
		{"lm_head/m=1,k=768,n=50257,tB", true, 1, 50257, 768},
		{"mlp/m=1,k=768,n=3072,tB", true, 1, 3072, 768},
		{"mlp/m=1,k=768,n=3072", false, 1, 3072, 768},
		{"m=4,k=768,n=3072,tB", true, 4, 3072, 768},
	} {
		b.Run(s.name, func(b *testing.B) { benchSgemmShape(b, false, s.transB, s.m, s.n, s.k) })
	}
}

func benchSgemmShape(b *testing.B, transA, transB bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(9, 10))
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	a, bm, c := randMatrix(rng, m*k/lda, lda), randMatrix(rng, k*n/ldb, ldb), make([]float32, m*n)
	Sgemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
	b.ResetTimer()
	for b.Loop() {
		Sgemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
	b.SetBytes(int64(4 * (m*k + k*n)))
}

// BenchmarkSgemmTraining times the products of a training step of the
// Multi30k Transformer (d_model 256, FFN 1024, about 2,500 rows): the
// forward x·Wᵀ, the input gradient dy·W and the weight gradient dyᵀ·x, whose
// A operand is packed from a transposed matrix.
func BenchmarkSgemmTraining(b *testing.B) {
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"forward", false, true, 2500, 1024, 256},
		{"dx", false, false, 2500, 256, 1024},
		{"dw", true, false, 1024, 256, 2500},
	} {
		b.Run(s.name, func(b *testing.B) { benchSgemmShape(b, s.transA, s.transB, s.m, s.n, s.k) })
	}
}
