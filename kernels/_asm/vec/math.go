package main

import (
	"math"
	"math/big"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// erfcPoly holds the coefficients of Numerical Recipes' P (see erfcFn), constant
// term first; the AVX2 GELU kernels use it.
var erfcPoly = []float32{-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
	0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277}

// The polynomial coefficients live in read-only tables and are read by
// broadcasting memory operands, which leaves the 32 vector registers to the
// other constants and the temporaries.
var tanhTable, geluQTable, geluKTable Mem

// declareTables emits the coefficient tables; it runs before any function.
func declareTables() {
	qc, _, _ := geluQ()
	var q32 []float32
	for _, c := range qc {
		q32 = append(q32, float32(c))
	}
	geluQTable = table("geluq", q32)
	_, scale, shift := geluQ()
	geluKTable = table("geluk", []float32{1e4, float32(scale), float32(shift), -0.5}) // z cap, Q's u = t·scale + shift, −½
	var tc []float32
	for _, c := range tanhTaylor(tanhTerms) {
		tc = append(tc, float32(c))
	}
	tanhTable = table("tanhtaylor", tc)
}

func table(name string, vs []float32) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i, v := range vs {
		// As bits: avo prints F32(1e4) as $(10000), which the Go
		// assembler reads as the integer 10000.
		DATA(4*i, U32(math.Float32bits(v)))
	}
	return m
}

// The transcendental building blocks. Each helper's constants are broadcast
// into registers once, before the loop, by its constructor; the methods emit
// the per-block instructions.

// expDegree is the degree of the Taylor polynomial for exp on the reduced
// range |r| ≤ ln2/2, where the first omitted term is below 2⁻²⁷ relative.
const expDegree = 7

// expFn computes exp(x) = 2ⁿ·exp(r) with n = round(x/ln2) and
// r = x − n·ln2 (ln2 split in two for an exact reduction). VSCALEFPS applies
// 2ⁿ with correct overflow to +Inf and gradual underflow to 0; inputs are
// clamped to [−104, 88.8] first, which maps ±Inf to those ends (results +Inf
// and 0) and lets NaN through.
type expFn struct {
	lo, hi, log2e, ln2hi, ln2lo VecVirtual
	c                           [expDegree + 1]VecVirtual
}

func newExp() *expFn {
	e := &expFn{
		lo:    broadcast(-104),
		hi:    broadcast(88.8),
		log2e: broadcast(float32(math.Log2E)),
	}
	hi := float32(math.Ln2)
	e.ln2hi = broadcast(hi)
	e.ln2lo = broadcast(float32(math.Ln2 - float64(hi)))
	e.c[0] = broadcast(1)
	e.c[1] = e.c[0]
	f := 1.0
	for k := 2; k <= expDegree; k++ {
		f *= float64(k)
		e.c[k] = broadcast(float32(1 / f))
	}
	return e
}

// exp returns a new register holding exp(x).
func (e *expFn) exp(x Op) VecVirtual { return e.expN([]Op{x})[0] }

// expN returns exp of each of xs, emitting the computations side by side,
// instruction by instruction: independent chains interleaved in program
// order keep the out-of-order scheduler fed where one long chain of
// dependent instructions would fill it.
func (e *expFn) expN(xs []Op) []VecVirtual {
	t, n, p := zmms(len(xs)), zmms(len(xs)), make([]VecVirtual, len(xs))
	for i, x := range xs {
		// Operand order keeps a NaN x (the second source of MAXPS/MINPS
		// wins on NaN).
		VMAXPS(x, e.lo, t[i])
	}
	for i := range xs {
		VMINPS(t[i], e.hi, t[i])
	}
	for i := range xs {
		VMULPS(e.log2e, t[i], n[i])
	}
	for i := range xs {
		VRNDSCALEPS(U8(8), n[i], n[i]) // round to nearest even, no precision exception
	}
	for i := range xs {
		VFNMADD231PS(e.ln2hi, n[i], t[i])
	}
	for i := range xs {
		VFNMADD231PS(e.ln2lo, n[i], t[i])
	}
	for i := range xs {
		p[i] = fresh(e.c[expDegree])
	}
	for k := expDegree - 1; k >= 0; k-- {
		for i := range xs {
			VFMADD213PS(e.c[k], t[i], p[i])
		}
	}
	for i := range xs {
		VSCALEFPS(n[i], p[i], p[i])
	}
	return p
}

// zmms returns n new ZMM registers.
func zmms(n int) []VecVirtual {
	zs := make([]VecVirtual, n)
	for i := range zs {
		zs[i] = ZMM()
	}
	return zs
}

// sigmoid helper: logistic(z) = 1/(1+exp(−z)) and friends share one exp.
type sigmoidFn struct {
	*expFn
	one, signBit VecVirtual
}

func newSigmoid() *sigmoidFn {
	e := newExp()
	return &sigmoidFn{expFn: e, one: e.c[0], signBit: broadcastBits(0x80000000)}
}

// neg returns −x (sign flipped, so NaN stays NaN).
func (s *sigmoidFn) neg(x Op) VecVirtual {
	t := ZMM()
	VPXORD(s.signBit, x, t)
	return t
}

// onePlusExpNeg returns 1 + exp(−z).
func (s *sigmoidFn) onePlusExpNeg(z Op) VecVirtual {
	e := s.exp(s.neg(z))
	VADDPS(s.one, e, e)
	return e
}

// sigmoidPair returns σ(z) and 1 − σ(z), the latter computed as
// exp(−z)·σ(z) so that it keeps its relative accuracy when σ(z) is near 1.
// Where exp(−z) overflows, the product Inf·0 is NaN; the final MINPS turns
// that into 1 (it returns its second source, 1, on NaN), and a NaN z still
// propagates through σ.
func (s *sigmoidFn) sigmoidPair(z Op) (sg, oneMinus VecVirtual) {
	e := s.exp(s.neg(z))
	sg = ZMM()
	VADDPS(s.one, e, sg)
	VDIVPS(sg, s.one, sg)
	VMULPS(sg, e, e)
	VMINPS(s.one, e, e)
	return sg, e
}

// tanhFn computes tanh(x): an odd Taylor polynomial for |x| < tanhSmall and
// sign(x)·(1 − 2/(exp(2|x|) + 1)) above, where cancellation no longer costs
// more than an ulp or two.
type tanhFn struct {
	*sigmoidFn
	two, absMask, small VecVirtual
}

const tanhSmall = 0.55

// tanhTerms is how many odd Taylor terms the small branch uses: the first
// omitted one is below 2⁻³⁰ relative at |x| = tanhSmall.
const tanhTerms = 10

func newTanh() *tanhFn {
	t := &tanhFn{
		sigmoidFn: newSigmoid(),
		two:       broadcast(2),
		absMask:   broadcastBits(0x7fffffff),
		small:     broadcast(tanhSmall),
	}
	return t
}

// tanh returns a new register holding tanh(x).
func (t *tanhFn) tanh(x Op) VecVirtual {
	ax := ZMM()
	VPANDD(t.absMask, x, ax)
	// Large branch: 1 − 2/(exp(2|x|)+1), then the sign of x.
	a2 := ZMM()
	VADDPS(ax, ax, a2)
	e := t.exp(a2)
	VADDPS(t.one, e, e)
	q := ZMM()
	VDIVPS(e, t.two, q)
	big := ZMM()
	VSUBPS(q, t.one, big)
	sgn := ZMM()
	VPANDD(t.signBit, x, sgn)
	VPORD(sgn, big, big)
	// Small branch: x + x·x²·P(x²).
	x2 := ZMM()
	VMULPS(x, x, x2)
	p := ZMM()
	VBROADCASTSS(tanhTable.Offset(4*(tanhTerms-1)), p)
	for k := tanhTerms - 2; k >= 1; k-- {
		VFMADD213PS_BCST(tanhTable.Offset(4*k), x2, p)
	}
	VMULPS(x2, p, p)
	VFMADD213PS(x, x, p) // p = p·x + x
	k := K()
	VCMPPS(U8(0x11), t.small, ax, k) // |x| < small (LT_OQ: false for NaN)
	VMOVAPS(p, k, big)
	return big
}

// tanhTaylor returns the first terms coefficients of tanh's Maclaurin
// series, x, x³, x⁵, …: 2²ᵏ(2²ᵏ−1)·B₂ₖ/(2k)! for k = 1, 2, ….
func tanhTaylor(terms int) []float64 {
	b := bernoulli(2 * terms)
	out := make([]float64, terms)
	fact := big.NewRat(1, 1)
	for k := 1; k <= terms; k++ {
		n := 2 * k
		fact.Mul(fact, big.NewRat(int64((n-1)*n), 1))
		p := new(big.Int).Lsh(big.NewInt(1), uint(n))
		pm1 := new(big.Int).Sub(p, big.NewInt(1))
		c := new(big.Rat).SetInt(new(big.Int).Mul(p, pm1))
		c.Mul(c, b[n])
		c.Quo(c, fact)
		out[k-1], _ = c.Float64()
	}
	return out
}

// bernoulli returns B₀…B_n (with B₁ = +1/2) by the Akiyama–Tanigawa
// algorithm.
func bernoulli(n int) []*big.Rat {
	out := make([]*big.Rat, n+1)
	a := make([]*big.Rat, n+1)
	for m := 0; m <= n; m++ {
		a[m] = big.NewRat(1, int64(m+1))
		for j := m; j >= 1; j-- {
			d := new(big.Rat).Sub(a[j-1], a[j])
			a[j-1] = d.Mul(d, big.NewRat(int64(j), 1))
		}
		out[m] = new(big.Rat).Set(a[0])
	}
	return out
}

// erfcFn computes q(x) = ½·erfc(|x|/√2) = Φ(−|x|), the tail of the normal
// CDF, together with E = exp(−x²/2), which also gives the normal density
// φ(x) = E/√(2π): one exponential serves both. With z = |x|/√2 and
// t = 1/(1 + z/2), q = t·Q(t)·E, where Q(t) = ½·erfc(z)·exp(z²)/t is smooth
// on t ∈ (0, 1] (Q(1) = ½, Q(0) = 1/(2√π)) and is evaluated as a polynomial
// fitted when this program runs (geluQ): its relative error, measured with
// float32 coefficients and arithmetic, is below 1.3·10⁻⁷ for z ≤ 10.5, past
// which E is 0 in float32 anyway. So the tail keeps its relative accuracy
// far out, not just its absolute one (this replaces Numerical Recipes'
// erfc(z) ≈ t·exp(−z² + P(t)) of §6.2, which the AVX2 kernels still use and
// which takes a second exponential for φ). −x²/2 is rounded once; that adds
// about (x²/2)·2⁻²⁴ relative error to E, as in any exp(−x²/2).
type erfcFn struct {
	*expFn
	absMask, invSqrt2, one, half VecVirtual
}

// geluQDegree is the degree of the polynomial for Q; geluQLow the smallest t
// (z = 10.5) it is fitted from.
const (
	geluQDegree = 10
	geluQLow    = 1 / (1 + 10.5/2)
)

// geluQ returns the coefficients (constant first) of Q as a polynomial in
// u = t·scale + shift ∈ [−1, 1] over t ∈ [geluQLow, 1], from its Chebyshev
// interpolant at 200 nodes, computed in float64.
func geluQ() (coef []float64, scale, shift float64) {
	lo, hi, n := geluQLow, 1.0, geluQDegree
	q := func(t float64) float64 {
		z := 2 * (1 - t) / t
		return 0.5 * math.Erfc(z) * math.Exp(z*z) / t
	}
	const nodes = 200
	cheb := make([]float64, n+1)
	for k := 0; k < nodes; k++ {
		th := math.Pi * (float64(k) + 0.5) / nodes
		f := q((math.Cos(th)*(hi-lo) + lo + hi) / 2)
		for j := range cheb {
			cheb[j] += 2.0 / nodes * f * math.Cos(float64(j)*th)
		}
	}
	cheb[0] /= 2
	// Chebyshev polynomials T_j as monomials: T_j = 2u·T_{j−1} − T_{j−2}.
	ts := [][]float64{{1}, {0, 1}}
	for j := 2; j <= n; j++ {
		next := make([]float64, j+1)
		for i, v := range ts[j-1] {
			next[i+1] += 2 * v
		}
		for i, v := range ts[j-2] {
			next[i] -= v
		}
		ts = append(ts, next)
	}
	coef = make([]float64, n+1)
	for j, c := range cheb {
		for i, v := range ts[j] {
			coef[i] += c * v
		}
	}
	return coef, 2 / (hi - lo), -(hi + lo) / (hi - lo)
}

func newErfc() *erfcFn {
	f := &erfcFn{
		expFn:    newExp(),
		absMask:  broadcastBits(0x7fffffff),
		invSqrt2: broadcast(float32(1 / math.Sqrt2)),
		half:     broadcast(0.5),
	}
	f.one = f.expFn.c[0]
	return f
}

// tailN returns q = Φ(−|x|) and E = exp(−x²/2) for each of xs, side by side
// (see expN). t = 1/(1 + z/2) comes from VRCP14PS and one Newton step
// (relative error about 2⁻²⁷, and no divider: VDIVPS would hold a port for
// ten cycles); z is capped at 10⁴ first, so that an infinite x gives a
// finite t (and E = 0, q = 0) rather than the step's Inf·0. The constants
// beyond erfcFn's registers are read as broadcast memory operands, which
// leaves registers for two blocks side by side.
func (f *erfcFn) tailN(xs []Op) (q, e []VecVirtual) {
	z, t, p := zmms(len(xs)), zmms(len(xs)), zmms(len(xs))
	for i, x := range xs {
		VPANDD(f.absMask, x, z[i])
	}
	for i := range xs {
		VMULPS(f.invSqrt2, z[i], z[i])
	}
	for i := range xs {
		// A NaN x becomes z = 10⁴ here (MINPS returns its memory source);
		// the callers' final products with x make the results NaN again.
		VMINPS_BCST(geluKTable.Offset(0), z[i], z[i])
	}
	for i := range xs {
		VFMADD213PS(f.one, f.half, z[i]) // d = 1 + z/2
	}
	for i := range xs {
		VRCP14PS(z[i], t[i])
	}
	for i := range xs {
		VFNMADD213PS(f.one, t[i], z[i]) // e = 1 − d·t₀
	}
	for i := range xs {
		VFMADD213PS(t[i], z[i], t[i]) // t = t₀ + t₀·e
	}
	// Q(u), u = t·scale + shift (z's register is free again).
	u := z
	for i := range xs {
		VBROADCASTSS(geluKTable.Offset(4), u[i]) // scale
	}
	for i := range xs {
		VFMADD213PS_BCST(geluKTable.Offset(8), t[i], u[i]) // t·scale + shift
	}
	for i := range xs {
		VBROADCASTSS(geluQTable.Offset(4*geluQDegree), p[i])
	}
	for k := geluQDegree - 1; k >= 0; k-- {
		for i := range xs {
			VFMADD213PS_BCST(geluQTable.Offset(4*k), u[i], p[i])
		}
	}
	// E = exp(−x²/2): x² is rounded once and the halving is exact.
	args := make([]Op, len(xs))
	for i, x := range xs {
		a := ZMM()
		VMULPS(x, x, a)
		VMULPS_BCST(geluKTable.Offset(12), a, a) // −½
		args[i] = a
	}
	e = f.expN(args)
	for i := range xs {
		VMULPS(t[i], p[i], p[i])
	}
	for i := range xs {
		VMULPS(e[i], p[i], p[i])
	}
	return p, e
}
