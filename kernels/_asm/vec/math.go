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
func (e *expFn) exp(x Op) VecVirtual {
	t := ZMM()
	// Operand order keeps a NaN x (the second source of MAXPS/MINPS wins
	// on NaN).
	VMAXPS(x, e.lo, t)
	VMINPS(t, e.hi, t)
	n := ZMM()
	VMULPS(e.log2e, t, n)
	VRNDSCALEPS(U8(8), n, n) // round to nearest even, no precision exception
	VFNMADD231PS(e.ln2hi, n, t)
	VFNMADD231PS(e.ln2lo, n, t)
	p := fresh(e.c[expDegree])
	for k := expDegree - 1; k >= 0; k-- {
		VFMADD213PS(e.c[k], t, p)
	}
	VSCALEFPS(n, p, p)
	return p
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
	absMask, invSqrt2, one, half VecVirtual
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

// tail returns q = Φ(−|x|) and x/2. The exponent −z² = −(x/2)·x is formed
// inside one FMA with P(t), so it is rounded only once.
func (f *erfcFn) tail(x Op) (q, halfX VecVirtual) {
	z := ZMM()
	VPANDD(f.absMask, x, z)
	VMULPS(f.invSqrt2, z, z)
	t := z
	VFMADD213PS(f.one, f.half, t) // 1 + z/2
	VDIVPS(t, f.one, t)           // t = 1/(1 + z/2)
	p := ZMM()
	last := len(erfcPoly) - 1
	VBROADCASTSS(erfcTable.Offset(4*last), p)
	for k := last - 1; k >= 0; k-- {
		VFMADD213PS_BCST(erfcTable.Offset(4*k), t, p)
	}
	halfX = ZMM()
	VMULPS(f.half, x, halfX)
	VFNMADD231PS(x, halfX, p) // P(t) − x²/2
	q = f.exp(p)
	VMULPS(t, q, q)
	VMULPS(f.half, q, q)
	return q, halfX
}
