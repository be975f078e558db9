package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// gemmBF16Variant is one implementation of GemmBF16: the generic twin, and
// the VDPBF16PS microkernels where the CPU has them.
type gemmBF16Variant struct {
	name string
	impl *gemmBF16Kernels
}

func gemmBF16Variants() []gemmBF16Variant {
	vs := []gemmBF16Variant{{"generic", nil}}
	if gemmBF16Native != nil {
		name := "avx512bf16"
		if !gemmBF16VDP {
			name = "avx2"
		}
		vs = append(vs, gemmBF16Variant{name, gemmBF16Native})
	}
	return vs
}

// sameBits fails unless got and want hold the same float32 values bit for
// bit (−0 and +0 apart), any NaN matching any NaN.
func sameBitsBF16(t *testing.T, name string, got, want []float32, ld int) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("%s: C[%d, %d] = %g (%#08x), want %g (%#08x)", name, i/ld, i%ld, g, math.Float32bits(g), w, math.Float32bits(w))
		}
	}
}

// bf16Case is one product: op(B) packed from an [n, k] (transB) or [k, n]
// matrix, strides padded by pad.
type bf16Case struct {
	m, n, k        int
	beta           float32
	transB, transA bool
	pad            int
}

func (tc bf16Case) String() string {
	return fmt.Sprintf("m=%d n=%d k=%d beta=%g transA=%v transB=%v pad=%d", tc.m, tc.n, tc.k, tc.beta, tc.transA, tc.transB, tc.pad)
}

// at returns op(A)[i][p].
func (tc bf16Case) at(a []float32, lda, i, p int) float32 {
	if tc.transA {
		return a[p*lda+i]
	}
	return a[i*lda+p]
}

// operands returns random A (its stored shape, m×k or k×m), B as float32
// (its stored shape), and C (m×n, stride ldc), NaN where beta is 0 (so it must not be
// read) and in the stride padding (which must not be written).
func (tc bf16Case) operands(rng *rand.Rand, gen func() float32) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	lda, ldc = tc.k+tc.pad, tc.n+tc.pad
	ar := tc.m
	if tc.transA {
		lda, ar = tc.m+tc.pad, tc.k
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	ldb = bc + tc.pad
	fill := func(rows, ld int) []float32 {
		s := make([]float32, max(rows*ld, 0))
		for i := range s {
			s[i] = gen()
		}
		return s
	}
	a, b, c = fill(ar, max(lda, 1)), fill(br, max(ldb, 1)), fill(tc.m, max(ldc, 1))
	for i := range c {
		if tc.beta == 0 || i%max(ldc, 1) >= tc.n {
			c[i] = float32(math.NaN())
		}
	}
	return a, max(lda, 1), b, max(ldb, 1), c, max(ldc, 1)
}

func uniform(rng *rand.Rand) func() float32 {
	return func() float32 { return rng.Float32() - 0.5 }
}

// TestGemmBF16MatchesGeneric checks that the microkernels give the generic
// twin's bits on awkward shapes: m, n and k around the tile (14×32) and the
// cache block (128 steps = 256 depths), odd k, padded strides, both
// layouts of B, beta 0, 1 and others, at one and two threads.
func TestGemmBF16MatchesGeneric(t *testing.T) {
	if gemmBF16Native == nil {
		t.Skip("no AVX-512 BF16")
	}
	rng := rand.New(rand.NewPCG(1, 17))
	sizes := []int{0, 1, 2, 3, 13, 14, 15, 28, 29, 31, 32, 33, 64, 65, 100, 257}
	depths := []int{0, 1, 2, 3, 7, 8, 9, 31, 255, 256, 257, 258, 513}
	betas := []float32{0, 1, 0.5, -2}
	var cases []bf16Case
	for i, m := range sizes {
		for j, n := range sizes {
			k := depths[(i+3*j)%len(depths)]
			cases = append(cases, bf16Case{m: m, n: n, k: k, beta: betas[(i+j)%4], transB: (i+j)%2 == 0, transA: (i/2+j)%2 == 0, pad: (i * j) % 3})
		}
	}
	for _, k := range depths {
		cases = append(cases, bf16Case{m: 29, n: 65, k: k, beta: 1, transB: true, pad: 1})
	}
	random := 40
	if testing.Short() {
		random = 8
	}
	for range random {
		cases = append(cases, bf16Case{m: rng.IntN(258), n: rng.IntN(258), k: rng.IntN(258), beta: betas[rng.IntN(4)], transB: rng.IntN(2) == 0, transA: rng.IntN(2) == 0, pad: rng.IntN(3)})
	}
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
			for _, tc := range cases {
				checkBF16Match(t, tc, rng, uniform(rng))
			}
		})
	}
}

// checkBF16Match runs one case on both variants and compares the bits.
func checkBF16Match(t *testing.T, tc bf16Case, rng *rand.Rand, gen func() float32) {
	t.Helper()
	a, lda, b, ldb, c, ldc := tc.operands(rng, gen)
	pb := PackF32BF16(tc.transB, tc.k, tc.n, b, ldb)
	want := append([]float32(nil), c...)
	gemmBF16(nil, tc.transA, tc.m, a, lda, pb, tc.beta, want, ldc, nil)
	got := append([]float32(nil), c...)
	gemmBF16(gemmBF16Native, tc.transA, tc.m, a, lda, pb, tc.beta, got, ldc, nil)
	sameBitsBF16(t, tc.String(), got, want, ldc)
	for i := range got {
		if i%ldc >= tc.n && got[i] == got[i] {
			t.Fatalf("%v: stride padding C[%d, %d] written", tc, i/ldc, i%ldc)
		}
	}
}

// TestGemmBF16Accuracy checks every variant against float64 products of
// the float32 inputs, within the bound GemmBF16 documents:
//
//	|C − A·B| ≤ (2⁻⁷ + 2⁻¹⁶)·Σ|a||b| + γ_k·(|c₀| + (1+2⁻⁸)²·Σ|a||b|)
//
// with γ_k = k·2⁻²⁴/(1 − k·2⁻²⁴) and c₀ the starting value beta·C: bfloat16
// rounding of a and b is 2⁻⁸ relative each (so a product is off by at most
// 2⁻⁷ + 2⁻¹⁶ of |a·b|), and the k float32 sums are rounded in sequence. It
// also checks the tighter bound against the float64 product of the
// bfloat16-rounded inputs, γ_k alone, and logs the largest observed share of
// the bound.
func TestGemmBF16Accuracy(t *testing.T) {
	for _, v := range gemmBF16Variants() {
		t.Run(v.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 17))
			worst := 0.0
			for _, tc := range []bf16Case{
				{m: 1, n: 1, k: 1}, {m: 15, n: 33, k: 257, transB: true}, {m: 30, n: 70, k: 600, beta: 1},
				{m: 14, n: 32, k: 3072, transB: true}, {m: 5, n: 40, k: 2, beta: 1, pad: 2}, {m: 70, n: 33, k: 300, transA: true, beta: 1, pad: 1},
			} {
				a, lda, b, ldb, c, ldc := tc.operands(rng, func() float32 { return float32(rng.NormFloat64()) })
				pb := PackF32BF16(tc.transB, tc.k, tc.n, b, ldb)
				got := append([]float32(nil), c...)
				gemmBF16(v.impl, tc.transA, tc.m, a, lda, pb, tc.beta, got, ldc, nil)
				gk := float64(tc.k) * 0x1p-24 / (1 - float64(tc.k)*0x1p-24)
				bij := func(p, j int) float32 {
					if tc.transB {
						return b[j*ldb+p]
					}
					return b[p*ldb+j]
				}
				for i := range tc.m {
					for j := range tc.n {
						var c0, exact, rounded, abs float64
						if tc.beta != 0 {
							c0 = float64(c[i*ldc+j])
						}
						for p := range tc.k {
							x, y := tc.at(a, lda, i, p), bij(p, j)
							exact += float64(x) * float64(y)
							rounded += float64(bf16Widen(f32ToBF16(x))) * float64(bf16Widen(f32ToBF16(y)))
							abs += math.Abs(float64(x) * float64(y))
						}
						g := float64(got[i*ldc+j])
						bound := (0x1p-7+0x1p-16)*abs + gk*(math.Abs(c0)+(1+0x1p-8)*(1+0x1p-8)*abs)
						if e := math.Abs(g - (c0 + exact)); e > bound {
							t.Fatalf("%v: C[%d, %d] = %g, want %g ± %g", tc, i, j, g, c0+exact, bound)
						} else if bound > 0 {
							worst = max(worst, e/bound)
						}
						tight := gk * (math.Abs(c0) + (1+0x1p-8)*(1+0x1p-8)*abs)
						if e := math.Abs(g - (c0 + rounded)); e > tight {
							t.Fatalf("%v: C[%d, %d] = %g, want %g ± %g from the rounded inputs", tc, i, j, g, c0+rounded, tight)
						}
					}
				}
			}
			t.Logf("largest error: %.3f of the bound", worst)
		})
	}
}

// TestGemmBF16Special checks NaN, ±Inf, ±0 and subnormal inputs: the
// microkernels match the generic twin bit for bit (NaN payloads aside), and
// the twin does what GemmBF16 documents.
func TestGemmBF16Special(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
		1e-40, -3e-39, 0x1p-126, -0x1p-126, 0x1.fep-127, 0x1p-70, 3e38, -3e38, 1, -1}
	rng := rand.New(rand.NewPCG(3, 17))
	gen := func() float32 {
		if rng.IntN(6) == 0 {
			return specials[rng.IntN(len(specials))]
		}
		// Values whose products and sums reach the subnormal range.
		return float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(140)-100)))
	}
	if gemmBF16Native != nil {
		for _, threads := range []int{1, 2} {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
			for _, tc := range []bf16Case{{m: 29, n: 65, k: 31, beta: 1, transB: true}, {m: 15, n: 33, k: 258}, {m: 3, n: 40, k: 517, beta: 0.5}, {m: 37, n: 64, k: 99, beta: 1, transA: true}} {
				checkBF16Match(t, tc, rng, gen)
			}
		}
	}

	// The twin's rules, on single elements.
	one := func(a, b []float32, c0, beta float32) float32 {
		pb := PackF32BF16(true, len(a), 1, b, max(len(b), 1))
		c := []float32{c0}
		GemmBF16Generic(false, 1, a, max(len(a), 1), pb, beta, c, 1, nil)
		return c[0]
	}
	inf := float32(math.Inf(1))
	for _, x := range []struct {
		name string
		a, b []float32
		c0   float32
		beta float32
		want float32
	}{
		{"Inf·1", []float32{inf}, []float32{1}, 0, 0, inf},
		{"Inf·0 is NaN", []float32{inf, 1}, []float32{0, 1}, 0, 0, float32(math.NaN())},
		{"NaN in C with beta 0 is not read", []float32{1}, []float32{2}, float32(math.NaN()), 0, 2},
		{"subnormal A counts as zero", []float32{1e-40}, []float32{0x1p100}, 0, 0, 0},
		{"subnormal B counts as zero", []float32{0x1p100}, []float32{1e-40}, 0, 0, 0},
		{"subnormal C counts as zero", []float32{0}, []float32{0}, 1e-40, 1, 0},
		{"subnormal sum flushed", []float32{0x1p-70}, []float32{0x1p-70}, 0, 0, 0},
		{"normal sum kept", []float32{0x1p-63}, []float32{0x1p-63}, 0, 0, 0x1p-126},
		{"odd depth first", []float32{1, -0x1p24}, []float32{1, 1}, 0x1p24, 1, 1},
		{"even depth second", []float32{-0x1p24, 1}, []float32{1, 1}, 0x1p24, 1, 0},
		{"sums rounded one at a time", []float32{1, 1}, []float32{1, 1}, 0x1p24, 1, 0x1p24},
		{"overflow", []float32{3e38, 3e38}, []float32{2, 2}, 0, 0, inf},
		{"−0 start", []float32{float32(math.Copysign(0, -1))}, []float32{1}, 0, 0, 0},
		{"k = 0 keeps beta·C exactly", nil, nil, 1e-40, 1, 1e-40},
		{"beta scales C first", []float32{1}, []float32{1}, 3, 0.5, 2.5},
	} {
		got := one(x.a, x.b, x.c0, x.beta)
		if math.Float32bits(got) != math.Float32bits(x.want) && !(got != got && x.want != x.want) {
			t.Errorf("%s: got %g, want %g", x.name, got, x.want)
		}
	}
}

// TestGemmBF16Epilogue checks every Epilogue field against the plain
// product followed by the same steps, on every variant, at two threads
// (with a partial last panel and several cache blocks).
func TestGemmBF16Epilogue(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, v := range gemmBF16Variants() {
		t.Run(v.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 17))
			for _, tc := range []bf16Case{{m: 29, n: 70, k: 300, transB: true}, {m: 7, n: 33, k: 5, beta: 1}, {m: 3, n: 5, k: 0, beta: 2}, {m: 40, n: 64, k: 64, beta: 0.5, transA: true}} {
				a, lda, b, ldb, c, ldc := tc.operands(rng, uniform(rng))
				pb := PackF32BF16(tc.transB, tc.k, tc.n, b, ldb)
				m, n := tc.m, tc.n
				ep := Epilogue{
					Bias:     randMatrix(rng, 1, n),
					Residual: randMatrix(rng, m, n+1), LdResidual: n + 1,
					Scale: randMatrix(rng, m, n+2), LdScale: n + 2,
					Act: func(dst, x []float32) { GELUWithDerivative(dst, x, x) },
					Out: make([]float32, m*(n+3)), LdOut: n + 3,
					SumsB: randMatrix(rng, 1, n),
				}
				want := append([]float32(nil), c...)
				gemmBF16(v.impl, tc.transA, m, a, lda, pb, tc.beta, want, ldc, nil)
				wantOut := make([]float32, len(ep.Out))
				wantSums := append([]float32(nil), ep.SumsB...)
				for i := range m {
					row := want[i*ldc : i*ldc+n]
					Add(row, row, ep.Bias)
					Add(row, row, ep.Residual[i*ep.LdResidual:i*ep.LdResidual+n])
					Mul(row, row, ep.Scale[i*ep.LdScale:i*ep.LdScale+n])
					ep.Act(wantOut[i*ep.LdOut:i*ep.LdOut+n], row)
				}
				for j := range n {
					for p := range tc.k {
						var x float32
						if tc.transB {
							x = b[j*ldb+p]
						} else {
							x = b[p*ldb+j]
						}
						wantSums[j] += bf16Widen(f32ToBF16(x))
					}
				}
				got := append([]float32(nil), c...)
				gemmBF16(v.impl, tc.transA, m, a, lda, pb, tc.beta, got, ldc, &ep)
				sameBitsBF16(t, tc.String()+" C", got, want, ldc)
				sameBitsBF16(t, tc.String()+" Out", ep.Out, wantOut, ep.LdOut)
				sameBitsBF16(t, tc.String()+" SumsB", ep.SumsB, wantSums, n)
			}
		})
	}
}

// TestPackBF16 checks that both layouts and both input types pack alike,
// and the packed layout itself on a small matrix.
func TestPackBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 17))
	k, n := 7, 37
	w := randMatrix(rng, n, k) // [n, k]
	wt := make([]float32, k*n) // [k, n]
	h := make([]uint16, n*k)
	for j := range n {
		for p := range k {
			wt[p*n+j] = w[j*k+p]
		}
	}
	F32ToBF16(h, w)
	p1, p2, p3 := PackF32BF16(true, k, n, w, k), PackF32BF16(false, k, n, wt, n), PackBF16(true, k, n, h, k)
	for i := range p1.data {
		if p1.data[i] != p2.data[i] || p1.data[i] != p3.data[i] {
			t.Fatalf("packed data differ at %d", i)
		}
	}
	if kk, nn := p1.Dims(); kk != k || nn != n || len(p1.data) != 2*32*8 {
		t.Fatalf("Dims %d×%d, %d values", kk, nn, len(p1.data))
	}
	// Column 33 (panel 1, column 1), depth 5 (step 2, odd): at 32·8 + 2·64 + 2·1 + 1.
	if got, want := p1.data[32*8+2*64+2+1], h[33*k+5]; got != want {
		t.Fatalf("packed B[5][33] = %#x, want %#x", got, want)
	}
	if p1.data[32*8+3*64+2+1] != 0 || p1.data[32*8+2*64+2*6] != 0 {
		t.Fatal("padding is not zero")
	}
}

// TestPackF32BF16Into checks that repacking into used storage, larger or
// smaller, gives what a fresh pack does (padding zeroed again).
func TestPackF32BF16Into(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 17))
	var pb *PackedBF16
	for _, s := range []struct {
		k, n   int
		transB bool
	}{{64, 64, false}, {7, 37, true}, {9, 33, false}, {100, 70, true}, {3, 5, false}} {
		ldb := s.n
		if s.transB {
			ldb = s.k
		}
		rows := s.k
		if s.transB {
			rows = s.n
		}
		b := randMatrix(rng, rows, ldb)
		for i := range b {
			if b[i] == 0 {
				b[i] = 1
			}
		}
		pb = PackF32BF16Into(pb, s.transB, s.k, s.n, b, ldb)
		want := PackF32BF16(s.transB, s.k, s.n, b, ldb)
		if pb.k != want.k || pb.n != want.n || len(pb.data) != len(want.data) {
			t.Fatalf("%v: shape differs", s)
		}
		for i := range want.data {
			if pb.data[i] != want.data[i] {
				t.Fatalf("%v: value %d differs", s, i)
			}
		}
	}
}

func TestGemmBF16Panics(t *testing.T) {
	pb := PackF32BF16(true, 4, 3, make([]float32, 12), 4)
	for name, f := range map[string]func(){
		"negative m": func() { GemmBF16(false, -1, nil, 4, pb, 0, nil, 3, nil) },
		"short A":    func() { GemmBF16(false, 2, make([]float32, 7), 4, pb, 0, make([]float32, 6), 3, nil) },
		"small lda":  func() { GemmBF16(false, 2, make([]float32, 8), 3, pb, 0, make([]float32, 6), 3, nil) },
		"short C":    func() { GemmBF16(false, 2, make([]float32, 8), 4, pb, 0, make([]float32, 5), 3, nil) },
		"bias": func() {
			GemmBF16(false, 2, make([]float32, 8), 4, pb, 0, make([]float32, 6), 3, &Epilogue{Bias: make([]float32, 2)})
		},
		"pack negative": func() { PackBF16(true, -1, 3, nil, 1) },
		"pack short":    func() { PackBF16(true, 4, 3, make([]uint16, 11), 4) },
		"pack stride":   func() { PackF32BF16(false, 4, 3, make([]float32, 12), 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestGemmBF16Allocs checks that a product does not allocate once the
// scratch pool is warm.
func TestGemmBF16Allocs(t *testing.T) {
	if gemmBF16Native == nil || raceEnabled {
		t.Skip("no AVX-512 BF16, or the race detector (sync.Pool drops items)")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	rng := rand.New(rand.NewPCG(6, 17))
	a, w, c := randMatrix(rng, 40, 256), randMatrix(rng, 96, 256), make([]float32, 40*96)
	pb := PackF32BF16(true, 256, 96, w, 256)
	if n := testing.AllocsPerRun(10, func() { GemmBF16(false, 40, a, 256, pb, 0, c, 96, nil) }); n > 0 {
		t.Fatalf("%v allocations per product", n)
	}
}

// BenchmarkGemmBF16 measures the bf16 product on the GPT-2 124M prefill
// (32 rows) and BERT-base (1024 rows) shapes, beside SgemmPacked on the
// same shapes in float32; and on train-char's shapes (3072 tokens, 384
// wide) with the weight repacked from float32 on every call, as training
// does, beside Sgemm: forward x·W, input gradient dY·Wᵀ and weight gradient
// Xᵀ·dY.
func BenchmarkGemmBF16(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{
		{32, 2304, 768}, {32, 768, 3072}, {32, 3072, 768}, {1024, 768, 768}, {1024, 3072, 768}, {1024, 768, 3072}, {280, 768, 768},
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		x, w, c := randMatrix(rng, s.m, s.k), randMatrix(rng, s.n, s.k), make([]float32, s.m*s.n)
		name := fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k)
		flops := 2 * float64(s.m*s.n*s.k)
		pb := PackF32BF16(true, s.k, s.n, w, s.k)
		b.Run(name+"/bf16", func(b *testing.B) {
			b.SetBytes(int64(2 * s.k * s.n))
			for b.Loop() {
				GemmBF16(false, s.m, x, s.k, pb, 0, c, s.n, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		pf := PackB(true, s.k, s.n, w, s.k)
		b.Run(name+"/f32", func(b *testing.B) {
			b.SetBytes(int64(4 * s.k * s.n))
			for b.Loop() {
				SgemmPacked(false, s.m, 1, x, s.k, pf, 0, c, s.n, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"fc", false, false, 3072, 1536, 384}, {"fcproj", false, false, 3072, 384, 1536},
		{"dx", false, true, 3072, 384, 1536}, {"dW", true, false, 384, 1536, 3072},
		{"bert-qkv", false, true, 1024, 2304, 768}, {"bert-out", false, true, 1024, 768, 3072},
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		x, w, c := randMatrix(rng, max(s.m, s.k), lda), randMatrix(rng, max(s.k, s.n), ldb), make([]float32, s.m*s.n)
		flops := 2 * float64(s.m*s.n*s.k)
		name := fmt.Sprintf("train/%s/%dx%dx%d", s.name, s.m, s.n, s.k)
		var pb *PackedBF16
		b.Run(name+"/bf16", func(b *testing.B) {
			for b.Loop() {
				pb = PackF32BF16Into(pb, s.transB, s.k, s.n, w, ldb)
				GemmBF16(s.transA, s.m, x, lda, pb, 0, c, s.n, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(name+"/bf16-panels", func(b *testing.B) {
			defer func(v int) { gemmBF16RowMode = v }(gemmBF16RowMode)
			gemmBF16RowMode = 1 << 30
			for b.Loop() {
				pb = PackF32BF16Into(pb, s.transB, s.k, s.n, w, ldb)
				GemmBF16(s.transA, s.m, x, lda, pb, 0, c, s.n, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(name+"/f32", func(b *testing.B) {
			for b.Loop() {
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, x, lda, w, ldb, 0, c, s.n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// TestBF16PairRows checks the pair packer (vector and scalar tail) against
// f32ToBF16 value by value: ties, NaNs, infinities, subnormals, values that
// round up to infinity, lengths 0…70 and a missing second row.
func TestBF16PairRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 17))
	specials := []uint32{0x7fc00000, 0xffc00001, 0x7f800001, 0x7f800000, 0xff800000, 0, 0x80000000, 0x00000001,
		0x3f808000, 0x3f818000, 0x3f807fff, 0x7f7fffff, 0xff7f8000, 0x007fffff, 0x3f80c000}
	for n := range 71 {
		r0, r1 := make([]float32, n), make([]float32, n)
		for i := range n {
			r0[i] = math.Float32frombits(rng.Uint32())
			r1[i] = math.Float32frombits(specials[rng.IntN(len(specials))])
			if i%3 == 0 {
				r0[i], r1[i] = r1[i], math.Float32frombits(rng.Uint32()&0xffff8000|0x8000)
			}
		}
		for _, second := range []bool{true, false} {
			dst := make([]uint16, 2*n)
			var s1 []float32
			if second {
				s1 = r1
			}
			bf16PairRows(n, r0, s1, dst)
			for i := range n {
				want1 := uint16(0)
				if second {
					want1 = f32ToBF16(r1[i])
				}
				if dst[2*i] != f32ToBF16(r0[i]) || dst[2*i+1] != want1 {
					t.Fatalf("n=%d second=%v: pair %d = %#x %#x, want %#x %#x (from %#x %#x)", n, second, i,
						dst[2*i], dst[2*i+1], f32ToBF16(r0[i]), want1, math.Float32bits(r0[i]), math.Float32bits(r1[i]))
				}
			}
		}
	}
}

// TestPackRows checks that packing the rows of several matrices as one
// op(B) gives the bits of packing their concatenation, with every part a
// whole number of panels and with panels that straddle parts.
func TestPackRows(t *testing.T) {
	r := rng(21)
	for _, tc := range []struct {
		k    int
		rows []int
	}{{20, []int{32, 64, 32}}, {7, []int{96}}, {33, []int{5, 7, 40}}, {16, []int{64, 3}}} {
		var f32 [][]float32
		var u16 [][]uint16
		var cat []float32
		var cat16 []uint16
		for _, n := range tc.rows {
			p := make([]float32, n*tc.k)
			for i := range p {
				p[i] = float32(r.NormFloat64())
			}
			h := make([]uint16, len(p))
			F32ToBF16Generic(h, p)
			f32, u16 = append(f32, p), append(u16, h)
			cat, cat16 = append(cat, p...), append(cat16, h...)
		}
		n := len(cat) / tc.k
		if got, want := PackBRows(tc.k, f32...), PackB(true, tc.k, n, cat, tc.k); !slices.Equal(got.data, want.data) || got.n != want.n {
			t.Errorf("PackBRows(k=%d, rows %v) differs from PackB of the concatenation", tc.k, tc.rows)
		}
		if got, want := PackBF16Rows(tc.k, u16...), PackBF16(true, tc.k, n, cat16, tc.k); !slices.Equal(got.data, want.data) || got.n != want.n {
			t.Errorf("PackBF16Rows(k=%d, rows %v) differs from PackBF16 of the concatenation", tc.k, tc.rows)
		}
		pb, col, want := PackBF16(true, tc.k, n, cat16, tc.k), make([]float32, tc.k), make([]float32, tc.k)
		for j := range n {
			pb.Column(col, j)
			BF16ToF32Generic(want, cat16[j*tc.k:(j+1)*tc.k])
			if !slices.Equal(col, want) {
				t.Fatalf("Column(%d) of k=%d, n=%d: %v, want %v", j, tc.k, n, col, want)
			}
		}
	}
}

// TestPackedBF16Columns checks that a product with the first n columns of a
// packed B gives those columns of the full product, bit for bit, and that
// Columns refuses a count that would cut a panel.
func TestPackedBF16Columns(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 17))
	const m, k, n = 19, 21, 100
	a := randMatrix(rng, m, k)
	pb := PackF32BF16(true, k, n, randMatrix(rng, n, k), k)
	full := make([]float32, m*n)
	GemmBF16(false, m, a, k, pb, 0, full, n, nil)
	for _, cols := range []int{0, 32, 64, 96, n} {
		view := pb.Columns(cols)
		got := make([]float32, m*n)
		GemmBF16(false, m, a, k, &view, 0, got, n, nil)
		for i := range m {
			for j := range n {
				want := full[i*n+j]
				if j >= cols {
					want = 0
				}
				if math.Float32bits(got[i*n+j]) != math.Float32bits(want) {
					t.Fatalf("Columns(%d): C[%d, %d] = %g, want %g", cols, i, j, got[i*n+j], want)
				}
			}
		}
	}
	for _, cols := range []int{-1, 33, n + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Columns(%d) did not panic", cols)
				}
			}()
			pb.Columns(cols)
		}()
	}
}

// TestGemmBF16Rows checks that a product from A already rounded to
// bfloat16 gives GemmBF16's bits from the float32 A, on every variant and at
// two threads, with an epilogue whose BF16 output must be C rounded (and
// Out rounded when Act writes Out), and that an odd depth panics.
func TestGemmBF16Rows(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, v := range gemmBF16Variants() {
		t.Run(v.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 17))
			for _, tc := range []bf16Case{{m: 1, n: 1, k: 2}, {m: 29, n: 70, k: 300, transB: true, pad: 2}, {m: 7, n: 33, k: 0, beta: 2},
				{m: 130, n: 64, k: 258, beta: 1, pad: 1}, {m: 15, n: 40, k: 64, beta: 0.5, transB: true}} {
				a, lda, b, ldb, c, ldc := tc.operands(rng, uniform(rng))
				ab := make([]uint16, len(a))
				F32ToBF16(ab, a)
				pb := PackF32BF16(tc.transB, tc.k, tc.n, b, ldb)
				for _, act := range []bool{false, true} {
					m, n := tc.m, tc.n
					mk := func() *Epilogue {
						ep := &Epilogue{Bias: randMatrix(rand.New(rand.NewPCG(1, 2)), 1, n), BF16: make([]uint16, m*(n+1)), LdBF16: n + 1}
						if act {
							ep.Act = func(dst, x []float32) { GELUWithDerivative(dst, x, x) }
							ep.Out, ep.LdOut = make([]float32, m*n), n
						}
						return ep
					}
					wantEp, gotEp := mk(), mk()
					want := append([]float32(nil), c...)
					gemmBF16(nil, false, m, a, lda, pb, tc.beta, want, ldc, wantEp)
					got := append([]float32(nil), c...)
					gemmBF16Rows(v.impl, m, ab, lda, pb, tc.beta, got, ldc, gotEp)
					name := fmt.Sprintf("%v act=%v", tc, act)
					sameBitsBF16(t, name+" C", got, want, ldc)
					final, ldf := want, ldc
					if act {
						sameBitsBF16(t, name+" Out", gotEp.Out, wantEp.Out, n)
						final, ldf = wantEp.Out, n
					}
					for i := range m {
						row := make([]uint16, n)
						F32ToBF16(row, final[i*ldf:i*ldf+n])
						if !slices.Equal(gotEp.BF16[i*(n+1):i*(n+1)+n], row) {
							t.Fatalf("%s: row %d of the BF16 output is not the final values rounded", name, i)
						}
					}
				}
			}
			defer func() {
				if recover() == nil {
					t.Errorf("odd depth: no panic")
				}
			}()
			pb := PackF32BF16(false, 3, 4, make([]float32, 12), 4)
			gemmBF16Rows(v.impl, 2, make([]uint16, 6), 3, pb, 0, make([]float32, 8), 4, nil)
		})
	}
}
