package main

import (
	"math"
	"math/big"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// erfcPoly holds the coefficients of P in erfcFn, constant term first.
var erfcPoly = []float32{-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
	0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277}

// The polynomial coefficients live in read-only tables and are read by
// broadcasting memory operands, which leaves the 32 vector registers to the
// other constants and the temporaries.
var erfcTable, tanhTable Mem

// declareTables emits the coefficient tables; it runs before any function.
func declareTables() {
	erfcTable = table("erfcpoly", erfcPoly)
	var tc []float32
	for _, c := range tanhTaylor(tanhTerms) {
		tc = append(tc, float32(c))
	}
	tanhTable = table("tanhtaylor", tc)
}

func table(name string, vs []float32) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i, v := range vs {
		DATA(4*i, F32(v))
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
// CDF, with the Chebyshev-fitted formula of Numerical Recipes (§6.2):
// erfc(z) ≈ t·exp(−z² + P(t)), t = 1/(1 + z/2), P of degree 9, whose relative
// error is below 1.2·10⁻⁷ for every z ≥ 0 — so the tail keeps its relative
// accuracy far out, not just its absolute one. −z² + P(t) is formed by one
// FMA; its rounding adds about |−z² + P(t)|·2⁻²⁴ relative error.
type erfcFn struct {
	*expFn
	absMask, invSqrt2, one, half, zMax VecVirtual
}

func newErfc() *erfcFn {
	f := &erfcFn{
		expFn:    newExp(),
		absMask:  broadcastBits(0x7fffffff),
		invSqrt2: broadcast(float32(1 / math.Sqrt2)),
		half:     broadcast(0.5),
		zMax:     broadcast(1e4),
	}
	f.one = f.expFn.c[0]
	return f
}

// tail returns q = Φ(−|x|) and x/2. The exponent −z² = −(x/2)·x is formed
// inside one FMA with P(t), so it is rounded only once.
func (f *erfcFn) tail(x Op) (q, halfX VecVirtual) {
	qs, hs := f.tailN([]Op{x})
	return qs[0], hs[0]
}

// tailN is tail for each of xs, side by side (see expN). t = 1/(1 + z/2)
// comes from VRCP14PS and one Newton step (relative error about 2⁻²⁷, and
// no divider: VDIVPS would hold a port for ten cycles); z is capped at
// 10⁴ first, where q is 0 anyway, so that an infinite x gives t > 0 and
// not the step's Inf·0. A NaN x stays NaN.
func (f *erfcFn) tailN(xs []Op) (q, halfX []VecVirtual) {
	z, t, p := zmms(len(xs)), zmms(len(xs)), zmms(len(xs))
	halfX = zmms(len(xs))
	for i, x := range xs {
		VPANDD(f.absMask, x, z[i])
	}
	for i := range xs {
		VMULPS(f.invSqrt2, z[i], z[i])
	}
	for i := range xs {
		VMINPS(z[i], f.zMax, z[i]) // NaN passes: MINPS returns its second source, z
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
	last := len(erfcPoly) - 1
	for i := range xs {
		VBROADCASTSS(erfcTable.Offset(4*last), p[i])
	}
	for k := last - 1; k >= 0; k-- {
		for i := range xs {
			VFMADD213PS_BCST(erfcTable.Offset(4*k), t[i], p[i])
		}
	}
	for i, x := range xs {
		VMULPS(f.half, x, halfX[i])
	}
	for i, x := range xs {
		VFNMADD231PS(x, halfX[i], p[i]) // P(t) − x²/2
	}
	ps := make([]Op, len(xs))
	for i := range p {
		ps[i] = p[i]
	}
	q = f.expN(ps)
	for i := range xs {
		VMULPS(t[i], q[i], q[i])
	}
	for i := range xs {
		VMULPS(f.half, q[i], q[i])
	}
	return q, halfX
}
