package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// checkPackedCase checks PackB + SgemmPacked like checkSgemmCase checks
// Sgemm.
func checkPackedCase(t *testing.T, rng *rand.Rand, tc sgemmCase) {
	t.Helper()
	checkProduct(t, rng, tc, func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		pb := PackB(tc.transB, tc.k, tc.n, b, ldb)
		if k, n := pb.Dims(); k != tc.k || n != tc.n {
			t.Fatalf("%v: Dims() = %d, %d", tc, k, n)
		}
		SgemmPacked(tc.transA, tc.m, tc.alpha, a, lda, pb, tc.beta, c, ldc, nil)
	})
}

// TestSgemmPackedShapes runs the awkward shapes of TestSgemmShapes through
// the pre-packed path, every variant.
func TestSgemmPackedShapes(t *testing.T) {
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		idx := 0
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for im, m := range sgemmSizes {
				for in, n := range sgemmSizes {
					k := sgemmSizes[(im+3*in+idx)%len(sgemmSizes)]
					if (testing.Short() || raceEnabled) && m*n*k > 1<<18 {
						k = 17
					}
					s := sgemmScalars[idx%len(sgemmScalars)]
					pad := []int{0, 3, 1}[idx%3]
					idx++
					checkPackedCase(t, rng, sgemmCase{tr[0], tr[1], m, n, k, s.alpha, s.beta, pad})
				}
			}
		}
	})
}

// TestSgemmPackedBlocks checks products across the kc and sgemmNC block
// boundaries (where the packed blocks are laid out) and big enough to run on
// several workers, split both over M and over N.
func TestSgemmPackedBlocks(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	shapes := [][3]int{
		{1, 100, 513}, {7, 33, 257}, {32, 300, 700}, {17, sgemmNC + 37, 260},
		{300, 290, 530}, {1, 3000, 300}, {2, sgemmNC + 1, 256},
	}
	if !testing.Short() && !raceEnabled {
		shapes = append(shapes, [3]int{90, 2*sgemmNC + 50, 600})
	}
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for i, s := range shapes {
			tr := i % 4
			sc := sgemmScalars[i%len(sgemmScalars)]
			checkPackedCase(t, rng, sgemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], sc.alpha, sc.beta, i % 2})
		}
	})
}

// TestSgemmPackedEpilogue checks that the fused bias and activation give
// exactly what the product followed by Add and the activation gives: the
// same operations in the same order, only written once. (The product itself
// is checked by the other tests.)
func TestSgemmPackedEpilogue(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	for _, tc := range []struct {
		m, n, k     int
		alpha, beta float32
		bias, act   bool
	}{
		{1, 1, 1, 1, 0, true, true},
		{7, 17, 33, 1, 0, true, false},
		{15, 65, 300, 0.5, 1, false, true},
		{32, sgemmNC + 70, 260, 1, 0, true, true},
		{200, 130, 70, 1, 0.5, true, true},
		{3, 5, 0, 1, 2, true, true},  // k = 0: C = beta·C, then the epilogue
		{3, 5, 4, 0, 0, true, false}, // alpha = 0
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", tc.m, tc.n, tc.k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.n)))
			a, b := randMatrix(rng, tc.m, max(tc.k, 1)), randMatrix(rng, tc.n, max(tc.k, 1))
			c0 := randMatrix(rng, tc.m, tc.n)
			var ep Epilogue
			if tc.bias {
				ep.Bias = randMatrix(rng, 1, tc.n)
			}
			if tc.act {
				ep.Act = GELU
			}
			pb := PackB(true, tc.k, tc.n, b, max(tc.k, 1))
			want := append([]float32(nil), c0...)
			SgemmPacked(false, tc.m, tc.alpha, a, max(tc.k, 1), pb, tc.beta, want, tc.n, nil)
			for i := 0; i < tc.m; i++ {
				row := want[i*tc.n : (i+1)*tc.n]
				if tc.bias {
					Add(row, row, ep.Bias)
				}
				if tc.act {
					GELU(row, row)
				}
			}
			got := append([]float32(nil), c0...)
			SgemmPacked(false, tc.m, tc.alpha, a, max(tc.k, 1), pb, tc.beta, got, tc.n, &ep)
			same(t, "SgemmPacked", got, want, tc.n)

			// SgemmEpilogue against Sgemm, Add and the activation.
			for i := range want {
				want[i] = c0[i]
			}
			Sgemm(false, true, tc.m, tc.n, tc.k, tc.alpha, a, max(tc.k, 1), b, max(tc.k, 1), tc.beta, want, tc.n)
			for i := 0; i < tc.m; i++ {
				row := want[i*tc.n : (i+1)*tc.n]
				if tc.bias {
					Add(row, row, ep.Bias)
				}
				if tc.act {
					GELU(row, row)
				}
			}
			copy(got, c0)
			SgemmEpilogue(false, true, tc.m, tc.n, tc.k, tc.alpha, a, max(tc.k, 1), b, max(tc.k, 1), tc.beta, got, tc.n, &ep)
			same(t, "SgemmEpilogue", got, want, tc.n)
		})
	}
}

// same fails unless got and want are identical, NaNs included.
func same(t *testing.T, name string, got, want []float32, n int) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			t.Fatalf("%s: C[%d, %d] = %g, want %g", name, i/n, i%n, got[i], want[i])
		}
	}
}

// TestSgemmPackedVariant checks that a PackedB keeps computing with the
// variant it was packed for after the default changes.
func TestSgemmPackedVariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const m, n, k = 20, 40, 30
	a, b := randMatrix(rng, m, k), randMatrix(rng, k, n)
	want := make([]float32, m*n)
	SgemmGeneric(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	pb := PackB(false, k, n, b, n)
	restore, _ := useSgemmVariant("generic")
	got := make([]float32, m*n)
	SgemmPacked(false, m, 1, a, k, pb, 0, got, n, nil)
	restore()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 {
			t.Fatalf("C[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

// TestSgemmPackedPanics checks that malformed arguments are refused.
func TestSgemmPackedPanics(t *testing.T) {
	pb := PackB(false, 2, 3, make([]float32, 6), 3)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"short B", func() { PackB(false, 2, 3, make([]float32, 5), 3) }},
		{"small ldb", func() { PackB(true, 4, 2, make([]float32, 8), 3) }},
		{"negative k", func() { PackB(false, -1, 3, nil, 3) }},
		{"negative m", func() { SgemmPacked(false, -1, 1, nil, 2, pb, 0, nil, 3, nil) }},
		{"short A", func() { SgemmPacked(false, 2, 1, make([]float32, 3), 2, pb, 0, make([]float32, 6), 3, nil) }},
		{"short C", func() { SgemmPacked(false, 2, 1, make([]float32, 4), 2, pb, 0, make([]float32, 5), 3, nil) }},
		{"small lda", func() { SgemmPacked(true, 3, 1, make([]float32, 6), 2, pb, 0, make([]float32, 9), 3, nil) }},
		{"bias", func() {
			SgemmPacked(false, 2, 1, make([]float32, 4), 2, pb, 0, make([]float32, 6), 3, &Epilogue{Bias: make([]float32, 2)})
		}},
		{"epilogue bias", func() {
			SgemmEpilogue(false, false, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 3, 0, make([]float32, 6), 3, &Epilogue{Bias: make([]float32, 4)})
		}},
		{"epilogue short C", func() {
			SgemmEpilogue(false, false, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 3, 0, make([]float32, 5), 3, &Epilogue{})
		}},
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

// TestSgemmPackedAllocs checks that steady-state calls allocate nothing.
func TestSgemmPackedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	const m, n, k = 30, 90, 80
	a, b, c := randMatrix(rng, m, k), randMatrix(rng, k, n), make([]float32, m*n)
	bias := randMatrix(rng, 1, n)
	forEachSgemmVariant(t, func(t *testing.T) {
		pb := PackB(false, k, n, b, n)
		ep := &Epilogue{Bias: bias}
		allocs := testing.AllocsPerRun(20, func() {
			SgemmPacked(false, m, 1, a, k, pb, 0, c, n, ep)
		})
		if allocs > 0 {
			t.Errorf("%v allocations per call, want 0", allocs)
		}
	})
}

// BenchmarkSgemmPacked compares Sgemm with SgemmPacked on the products of
// a GPT-2 124M prefill of 32 tokens (x·W, W [in, out]) and of a BERT-base
// batch of 1024 tokens (x·Wᵀ, W [out, in]).
func BenchmarkSgemmPacked(b *testing.B) {
	for _, s := range []struct {
		transB  bool
		m, n, k int
	}{
		{false, 32, 2304, 768}, {false, 32, 768, 3072}, {true, 1, 2304, 768}, {true, 1024, 3072, 768},
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		x, w, c := randMatrix(rng, s.m, s.k), randMatrix(rng, s.k, s.n), make([]float32, s.m*s.n)
		ldb := s.n
		if s.transB {
			ldb = s.k
		}
		pb := PackB(s.transB, s.k, s.n, w, ldb)
		name := fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k)
		b.Run(name+"/Sgemm", func(b *testing.B) {
			b.SetBytes(int64(4 * s.k * s.n))
			for b.Loop() {
				Sgemm(false, s.transB, s.m, s.n, s.k, 1, x, s.k, w, ldb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(name+"/Packed", func(b *testing.B) {
			b.SetBytes(int64(4 * s.k * s.n))
			for b.Loop() {
				SgemmPacked(false, s.m, 1, x, s.k, pb, 0, c, s.n, nil)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// TestEpilogueSumsB checks that SgemmEpilogue and SgemmPacked add op(B)'s
// column sums to Epilogue.SumsB on every path (fused into the packer,
// partial and transposed panels, the skinny and pre-packed paths, k = 0,
// alpha = 0), at one and two threads, and that C is the plain product's.
func TestEpilogueSumsB(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	forEachSgemmVariant(t, func(t *testing.T) {
		for _, tc := range []struct {
			transA, transB bool
			m, n, k        int
			alpha          float32
		}{
			{true, false, 128, 512, 2048, 1}, // a weight gradient: fused sums
			{true, false, 70, 100, 300, 1},   // partial panels
			{false, true, 40, 65, 600, 0.5},  // transposed B
			{false, false, 1, 200, 77, 1},    // skinny
			{false, false, 3, 5, 0, 1},       // k = 0: nothing to add
			{false, false, 4, 33, 9, 0},      // alpha = 0: B still summed
			{false, false, 0, 33, 9, 1},      // m = 0
			{false, false, 300, sgemmNC + 40, 260, 1},
		} {
			t.Run(fmt.Sprintf("%v%v_%dx%dx%d", tc.transA, tc.transB, tc.m, tc.n, tc.k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.k)))
				a := randMatrix(rng, max(tc.m, tc.k), max(tc.m, tc.k))
				lda := max(tc.m, tc.k)
				br, ldb := tc.k, tc.n
				if tc.transB {
					br, ldb = tc.n, max(tc.k, 1)
				}
				b := randMatrix(rng, max(br, 1), ldb)
				start := randMatrix(rng, 1, tc.n)
				want := make([]float64, tc.n)
				scale := float64(tc.k)*0.5 + 1 // bounds Σ|terms| of a column
				for j := range want {
					want[j] = float64(start[j])
					for p := 0; p < tc.k; p++ {
						at := p*ldb + j
						if tc.transB {
							at = j*ldb + p
						}
						v := b[at]
						want[j] += float64(v)
					}
				}
				cWant := make([]float32, max(tc.m, 1)*tc.n)
				Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, 0, cWant, tc.n)
				check := func(name string, sums []float32) {
					t.Helper()
					for j, w := range want {
						if d := math.Abs(float64(sums[j]) - w); d > 1e-6*scale {
							t.Fatalf("%s: SumsB[%d] = %v, want %v", name, j, sums[j], w)
						}
					}
				}
				for _, procs := range []int{1, 2} {
					old := runtime.GOMAXPROCS(procs)
					sums := slices.Clone(start)
					c := make([]float32, len(cWant))
					SgemmEpilogue(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, 0, c, tc.n, &Epilogue{SumsB: sums})
					check("SgemmEpilogue", sums)
					same(t, "SgemmEpilogue C", c, cWant, tc.n)
					if !tc.transA {
						sums = slices.Clone(start)
						clear(c)
						pb := PackB(tc.transB, tc.k, tc.n, b, ldb)
						SgemmPacked(false, tc.m, tc.alpha, a, lda, pb, 0, c, tc.n, &Epilogue{SumsB: sums})
						check("SgemmPacked", sums)
					}
					runtime.GOMAXPROCS(old)
				}
			})
		}
	})
}

// TestEpilogueResidual checks Epilogue.Residual and Scale on the blocked,
// skinny, pre-packed, few-rows, k = 0 and alpha = 0 paths: C = act((product
// + bias + residual)·scale), bit for bit as separate passes in that order
// give it.
func TestEpilogueResidual(t *testing.T) {
	forEachSgemmVariant(t, func(t *testing.T) {
		for _, tc := range []struct {
			m, n, k     int
			alpha, beta float32
			act         bool
		}{
			{200, 130, 70, 1, 0, false},
			{2048 / 8, 128, 512, 1, 0, true},
			{1, 33, 17, 1, 0, true},
			{3, 100, 300, 0.5, 1, false},
			{3, 5, 0, 1, 2, true},
			{4, 5, 3, 0, 0, false},
		} {
			t.Run(fmt.Sprintf("%dx%dx%d", tc.m, tc.n, tc.k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(tc.m), 99))
				kk := max(tc.k, 1)
				a, b := randMatrix(rng, tc.m, kk), randMatrix(rng, kk, tc.n)
				c0 := randMatrix(rng, tc.m, tc.n)
				ldr := tc.n + 3
				ep := Epilogue{Bias: randMatrix(rng, 1, tc.n), Residual: randMatrix(rng, tc.m, ldr), LdResidual: ldr,
					Scale: randMatrix(rng, tc.m, ldr+1), LdScale: ldr + 1}
				if tc.act {
					ep.Act = GELU
				}
				finish := func(c []float32) {
					for i := 0; i < tc.m; i++ {
						row := c[i*tc.n : (i+1)*tc.n]
						Add(row, row, ep.Bias)
						Add(row, row, ep.Residual[i*ldr:i*ldr+tc.n])
						Mul(row, row, ep.Scale[i*(ldr+1):i*(ldr+1)+tc.n])
						if tc.act {
							GELU(row, row)
						}
					}
				}
				want := slices.Clone(c0)
				Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, kk, b, tc.n, tc.beta, want, tc.n)
				finish(want)
				got := slices.Clone(c0)
				SgemmEpilogue(false, false, tc.m, tc.n, tc.k, tc.alpha, a, kk, b, tc.n, tc.beta, got, tc.n, &ep)
				same(t, "SgemmEpilogue", got, want, tc.n)

				pb := PackB(false, tc.k, tc.n, b, tc.n)
				copy(want, c0)
				SgemmPacked(false, tc.m, tc.alpha, a, kk, pb, tc.beta, want, tc.n, nil)
				finish(want)
				copy(got, c0)
				SgemmPacked(false, tc.m, tc.alpha, a, kk, pb, tc.beta, got, tc.n, &ep)
				same(t, "SgemmPacked", got, want, tc.n)
			})
		}
	})
	// A residual that does not hold m×n panics.
	defer func() {
		if recover() == nil {
			t.Error("short residual: no panic")
		}
	}()
	c := make([]float32, 4)
	SgemmEpilogue(false, false, 2, 2, 1, 1, c, 1, c, 2, 0, c, 2, &Epilogue{Residual: make([]float32, 3), LdResidual: 2})
}

// TestEpilogueOut checks Epilogue.Out: Act writes its result to Out and C
// keeps what Act leaves there (here GELU'(pre), via GELUWithDerivative),
// bit for bit as separate passes give them, on the blocked and skinny paths.
func TestEpilogueOut(t *testing.T) {
	forEachSgemmVariant(t, func(t *testing.T) {
		for _, tc := range []struct{ m, n, k int }{{300, 130, 70}, {1, 33, 17}, {64, 512, 128}} {
			rng := rand.New(rand.NewPCG(uint64(tc.m), 7))
			a, b := randMatrix(rng, tc.m, tc.k), randMatrix(rng, tc.k, tc.n)
			bias := randMatrix(rng, 1, tc.n)
			ldo := tc.n + 5
			wantPre := make([]float32, tc.m*tc.n)
			SgemmEpilogue(false, false, tc.m, tc.n, tc.k, 1, a, tc.k, b, tc.n, 0, wantPre, tc.n, &Epilogue{Bias: bias})
			wantOut := make([]float32, tc.m*ldo)
			for i := 0; i < tc.m; i++ {
				row := wantPre[i*tc.n : (i+1)*tc.n]
				GELUWithDerivative(wantOut[i*ldo:i*ldo+tc.n], row, row)
			}
			c, out := make([]float32, tc.m*tc.n), make([]float32, tc.m*ldo)
			ep := &Epilogue{Bias: bias, Out: out, LdOut: ldo,
				Act: func(dst, x []float32) { GELUWithDerivative(dst, x, x) }}
			SgemmEpilogue(false, false, tc.m, tc.n, tc.k, 1, a, tc.k, b, tc.n, 0, c, tc.n, ep)
			same(t, fmt.Sprintf("%v C (derivative)", tc), c, wantPre, tc.n)
			same(t, fmt.Sprintf("%v Out", tc), out, wantOut, ldo)
		}
	})
}
