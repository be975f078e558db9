package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 counterpart of expFn, for the 8-lane kernels. AVX2 has neither
// VSCALEFPS nor opmasks and only 16 vector registers, so the polynomial
// coefficients are read from a table of 8-lane rows, and 2ⁿ is applied as two
// factors 2^⌊n/2⌋·2^(n−⌊n/2⌋), each a normal float built from its exponent
// bits: the first product is exact, the second rounds once, overflowing to
// +Inf or underflowing gradually to 0 just as VSCALEFPS does.

// expTable256 holds expFn's Taylor coefficients 1/2! … 1/7!, and
// erfcTable256 erfcFn's, each value repeated in a 32-byte row; pool256 holds
// further constants the same way, read as memory operands to spare
// registers.
var expTable256, erfcTable256, tanhTable256, pool256Mem Mem

// pool256 lists the constants in pool256Mem, by name, as bit patterns.
var pool256 = []struct {
	name string
	bits uint32
}{
	{"absMask", 0x7fffffff},
	{"signBit", 0x80000000},
	{"invSqrt2", math.Float32bits(float32(1 / math.Sqrt2))},
	{"half", math.Float32bits(0.5)},
	{"zero", 0},
	{"two", math.Float32bits(2)},
	{"tanhSmall", math.Float32bits(tanhSmall)},
	{"invSqrt2Pi", math.Float32bits(0.39894228040143267794)}, // 1/√(2π)
	{"geluK1", math.Float32bits(float32(2 * geluTanhScale))},
	{"geluK3", math.Float32bits(float32(2 * geluTanhScale * geluTanhCubic))},
	{"geluK3x3", math.Float32bits(float32(3 * 2 * geluTanhScale * geluTanhCubic))},
	{"one", math.Float32bits(1)},
	{"log2e", math.Float32bits(float32(math.Log2E))},
	{"ln2hi", math.Float32bits(float32(math.Ln2))},
	{"ln2lo", math.Float32bits(float32(math.Ln2 - float64(float32(math.Ln2))))},
	{"expBias", 127},
	// genAVX2Convert's.
	{"bf16One", 1},
	{"bf16Bias", 0x7fff},
	{"bf16Quiet", 0x40},
	{"f16EM", 0x7fff << 13}, // a half's exponent and mantissa, shifted to float32's
	{"f16Rebias", (127 - 15) << 23},
	{"f16SubBias", (127-15)<<23 + 1<<23},
	{"f16Min", 0x38800000}, // 2⁻¹⁴
	{"f32MinNormal", 1 << 23},
	{"f16Inf", 0x1f << 23},
	{"f16InfM1", 0x1f<<23 - 1},
	{"f32Quiet", 0x00400000},
	{"f32ExpMask", 0x7f800000},
}

// geluTanhScale and geluTanhCubic define the tanh form of GELU,
// 0.5·x·(1 + tanh(geluTanhScale·(x + geluTanhCubic·x³))).
const geluTanhScale, geluTanhCubic = 0.79788456080286535588, 0.044715

// constY returns the memory operand of the pool constant name.
func constY(name string) Mem {
	for i, c := range pool256 {
		if c.name == name {
			return pool256Mem.Offset(32 * i)
		}
	}
	panic("no constant " + name)
}

func declareTables256() {
	rows := func(vs []float32) []float32 {
		var out []float32
		for _, v := range vs {
			for range 8 {
				out = append(out, v)
			}
		}
		return out
	}
	var c []float32
	f := 1.0
	for k := 2; k <= expDegree; k++ {
		f *= float64(k)
		c = append(c, float32(1/f))
	}
	expTable256 = table("exppoly8", rows(c))
	erfcTable256 = table("erfcpoly8", rows(erfcPoly))
	var tc []float32
	for _, c := range tanhTaylor(tanhTerms) {
		tc = append(tc, float32(c))
	}
	tanhTable256 = table("tanhtaylor8", rows(tc))
	var pool []uint32
	for _, c := range pool256 {
		for range 8 {
			pool = append(pool, c.bits)
		}
	}
	pool256Mem = GLOBL("pool8", RODATA|NOPTR)
	for i, b := range pool {
		DATA(4*i, U32(b))
	}
}

// broadcastY returns a YMM register holding f in every lane.
func broadcastY(f float32) VecVirtual { return broadcastBitsY(math.Float32bits(f)) }

// broadcastBitsY returns a YMM register holding the pattern u in every lane.
func broadcastBitsY(u uint32) VecVirtual {
	r := GP32()
	MOVL(U32(u), r)
	x := XMM()
	VMOVD(r, x)
	y := YMM()
	VPBROADCASTD(x, y)
	return y
}

type expFn256 struct {
	lo, hi, log2e, ln2hi, ln2lo, one, bias VecVirtual
}

func newExp256() *expFn256 {
	hi := float32(math.Ln2)
	return &expFn256{
		lo:    broadcastY(-104),
		hi:    broadcastY(88.8),
		log2e: broadcastY(float32(math.Log2E)),
		ln2hi: broadcastY(hi),
		ln2lo: broadcastY(float32(math.Ln2 - float64(hi))),
		one:   broadcastY(1),
		bias:  broadcastBitsY(127),
	}
}

// exp returns a new register holding exp(x).
func (e *expFn256) exp(x Op) VecVirtual {
	t := YMM()
	VMAXPS(x, e.lo, t) // NaN x passes (second source wins)
	VMINPS(t, e.hi, t)
	ni := YMM()
	VMULPS(e.log2e, t, ni)
	VCVTPS2DQ(ni, ni) // n = round(x/ln2), to nearest even
	n := YMM()
	VCVTDQ2PS(ni, n)
	VFNMADD231PS(e.ln2hi, n, t)
	VFNMADD231PS(e.ln2lo, n, t)
	p := YMM()
	row := func(k int) Mem { return expTable256.Offset(32 * (k - 2)) }
	VMOVUPS(row(expDegree), p)
	for k := expDegree - 1; k >= 2; k-- {
		VFMADD213PS(row(k), t, p)
	}
	VFMADD213PS(e.one, t, p) // 1/1!
	VFMADD213PS(e.one, t, p) // 1/0!
	// 2ⁿ = 2^n1 · 2^n2 with n1 = n>>1 and n2 = n − n1, both in [−75, 64].
	n1 := YMM()
	VPSRAD(U8(1), ni, n1)
	VPSUBD(n1, ni, ni)
	VPADDD(e.bias, n1, n1)
	VPSLLD(U8(23), n1, n1)
	VPADDD(e.bias, ni, ni)
	VPSLLD(U8(23), ni, ni)
	VMULPS(n1, p, p)
	VMULPS(ni, p, p)
	return p
}

// onePlusExpNeg returns 1 + exp(−z).
func (e *expFn256) onePlusExpNeg(z Op) VecVirtual {
	nz := YMM()
	VXORPS(constY("signBit"), z, nz)
	r := e.exp(nz)
	VADDPS(e.one, r, r)
	return r
}

// unary256 emits func name(dst, x *float32, n int) for n a multiple of 8;
// setup emits the constants before the loop and returns the per-block body.
func unary256(name, doc string, setup func(e *expFn256) func(x VecVirtual) VecVirtual) {
	fn(name, "func(dst, x *float32, n int)")
	Doc(name + " computes " + doc + " over n elements, n a multiple of 8.")
	dst, x, n := ptr("dst"), ptr("x"), length()
	f := setup(newExp256())
	forEach256(n, 1, func(b block) {
		b.store(f(b.load(x)), dst)
	})
	ret()
}

// genAVX2Activations emits the AVX2 forward activations built on expFn256.
func genAVX2Activations() {
	unary256("silu256", "dst = x/(1 + exp(−x))", func(e *expFn256) func(VecVirtual) VecVirtual {
		return func(x VecVirtual) VecVirtual {
			d := e.onePlusExpNeg(x)
			VDIVPS(d, x, d)
			return d
		}
	})

	unary256("geluTanh256", "dst = x·σ(2·√(2/π)·(x + 0.044715·x³))", func(e *expFn256) func(VecVirtual) VecVirtual {
		k1, k3 := broadcastY(2*geluTanhScale), broadcastY(2*geluTanhScale*geluTanhCubic)
		return func(x VecVirtual) VecVirtual {
			u := YMM()
			VMULPS(x, x, u)
			VFMADD213PS(k1, k3, u) // k1 + k3·x²
			VMULPS(x, u, u)
			d := e.onePlusExpNeg(u)
			VDIVPS(d, x, d)
			return d
		}
	})

	unary256("tanh256", "dst = tanh(x)", func(e *expFn256) func(VecVirtual) VecVirtual {
		return func(x VecVirtual) VecVirtual { return tanh256(e, x) }
	})

	genGELU256(geluForward)
}

// tanh256 returns tanh(x), as tanhFn does.
func tanh256(e *expFn256, x VecVirtual) VecVirtual {
	ax := YMM()
	VANDPS(constY("absMask"), x, ax)
	// Large branch: sign(x)·(1 − 2/(exp(2|x|) + 1)).
	a2 := YMM()
	VADDPS(ax, ax, a2)
	d := e.exp(a2)
	VADDPS(e.one, d, d)
	big := YMM()
	VMOVUPS(constY("two"), big)
	VDIVPS(d, big, big)
	VSUBPS(big, e.one, big)
	sgn := YMM()
	VANDPS(constY("signBit"), x, sgn)
	VORPS(sgn, big, big)
	// Small branch: x + x·x²·P(x²).
	x2 := YMM()
	VMULPS(x, x, x2)
	row := func(k int) Mem { return tanhTable256.Offset(32 * k) }
	p := YMM()
	VMOVUPS(row(tanhTerms-1), p)
	for k := tanhTerms - 2; k >= 1; k-- {
		VFMADD213PS(row(k), x2, p)
	}
	VMULPS(x2, p, p)
	VFMADD213PS(x, x, p)
	small := YMM()
	VCMPPS(U8(0x11), constY("tanhSmall"), ax, small) // |x| < tanhSmall (false for NaN)
	VBLENDVPS(small, p, big, big)
	return big
}

// sigmoidPair256 returns σ(z) and 1 − σ(z), as sigmoidFn.sigmoidPair does:
// the latter as exp(−z)·σ(z), capped at 1 by a VMINPS that also turns the
// Inf·0 of an overflowing exp(−z) into 1.
func sigmoidPair256(e *expFn256, z Op) (sg, oneMinus VecVirtual) {
	nz := YMM()
	VXORPS(constY("signBit"), z, nz)
	ex := e.exp(nz)
	sg = YMM()
	VADDPS(e.one, ex, sg)
	VDIVPS(sg, e.one, sg)
	VMULPS(sg, ex, ex)
	VMINPS(e.one, ex, ex) // returns its second source, 1, on NaN
	return sg, ex
}

// genAVX2Exp emits the AVX2 exp kernels and the softmax pieces around them;
// like the other AVX2 kernels they take a multiple of 8 elements.
func genAVX2Exp() {
	fn("max256", "func(x *float32, n int) float32")
	Doc("max256 returns the largest of n elements (n a multiple of 8), ignoring NaNs; −Inf when all are NaN or n is 0.")
	{
		x, n := ptr("x"), length()
		acc := make([]VecVirtual, 2)
		for j := range acc {
			acc[j] = broadcastBitsY(0xff800000)
		}
		forEach256(n, 2, func(b block) {
			VMAXPS(acc[b.j], b.load(x), acc[b.j]) // NaN loses: acc is the second source
		})
		reduce(acc, vmaxps, 0)
		ret()
	}

	fn("affine256", "func(dst, x *float32, n int, a, c float32)")
	Doc("affine256 computes dst = x·a + c over n elements, n a multiple of 8.")
	{
		a, c := paramY("a"), paramY("c")
		dst, x, n := ptr("dst"), ptr("x"), length()
		forEach256(n, unrollMem, func(b block) {
			v := b.load(x)
			VFMADD213PS(c, a, v)
			b.store(v, dst)
		})
		ret()
	}

	fn("exp256", "func(dst, x *float32, n int)")
	Doc("exp256 computes dst = exp(x) over n elements, n a multiple of 8.")
	{
		dst, x, n := ptr("dst"), ptr("x"), length()
		e := newExp256()
		forEach256(n, 1, func(b block) {
			b.store(e.exp(b.load(x)), dst)
		})
		ret()
	}

	fn("expSubSum256", "func(dst, x *float32, n int, m float32) float32")
	Doc("expSubSum256 computes dst = exp(x − m) over n elements (n a multiple of 8) and returns its sum.")
	{
		m := paramY("m")
		dst, x, n := ptr("dst"), ptr("x"), length()
		e := newExp256()
		acc := zerosY(1)
		forEach256(n, 1, func(b block) {
			v := b.load(x)
			VSUBPS(m, v, v)
			r := e.exp(v)
			b.store(r, dst)
			VADDPS(r, acc[0], acc[0])
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	fn("sumExpSub256", "func(x *float32, n int, m float32) float32")
	Doc("sumExpSub256 returns Σ exp(x[i] − m) over n elements, n a multiple of 8.")
	{
		m := paramY("m")
		x, n := ptr("x"), length()
		e := newExp256()
		acc := zerosY(1)
		forEach256(n, 1, func(b block) {
			v := b.load(x)
			VSUBPS(m, v, v)
			VADDPS(e.exp(v), acc[0], acc[0])
		})
		reduce(acc, vaddps, 0)
		ret()
	}
}

// The multi-block helpers below compute several independent blocks side by
// side, instruction by instruction (see expN): one block's chain of a few
// dozen dependent instructions is too long for the out-of-order scheduler
// to overlap consecutive loop iterations on its own. To fit two blocks'
// temporaries into the 16 YMM registers, every constant is read from the
// pools as a memory operand, except exp's clamp bounds (MAXPS and MINPS
// must take x as their memory-capable second source to let NaN through).

// expNFn256 computes exp for several blocks at once.
type expNFn256 struct {
	lo, hi VecVirtual
}

func newExpN256() *expNFn256 {
	return &expNFn256{lo: broadcastY(-104), hi: broadcastY(88.8)}
}

// ymms returns n new YMM registers.
func ymms(n int) []VecVirtual {
	ys := make([]VecVirtual, n)
	for i := range ys {
		ys[i] = YMM()
	}
	return ys
}

// expN returns exp of each of xs, computed exactly as expFn256.exp does.
func (e *expNFn256) expN(xs []Op) []VecVirtual {
	t, ni, n, p := ymms(len(xs)), ymms(len(xs)), ymms(len(xs)), ymms(len(xs))
	for i, x := range xs {
		VMAXPS(x, e.lo, t[i]) // NaN x passes (second source wins)
	}
	for i := range xs {
		VMINPS(t[i], e.hi, t[i])
	}
	for i := range xs {
		VMULPS(constY("log2e"), t[i], ni[i])
	}
	for i := range xs {
		VCVTPS2DQ(ni[i], ni[i]) // n = round(x/ln2), to nearest even
	}
	for i := range xs {
		VCVTDQ2PS(ni[i], n[i])
	}
	for i := range xs {
		VFNMADD231PS(constY("ln2hi"), n[i], t[i])
	}
	for i := range xs {
		VFNMADD231PS(constY("ln2lo"), n[i], t[i])
	}
	row := func(k int) Mem { return expTable256.Offset(32 * (k - 2)) }
	for i := range xs {
		VMOVUPS(row(expDegree), p[i])
	}
	for k := expDegree - 1; k >= 2; k-- {
		for i := range xs {
			VFMADD213PS(row(k), t[i], p[i])
		}
	}
	for range 2 { // 1/1!, 1/0!
		for i := range xs {
			VFMADD213PS(constY("one"), t[i], p[i])
		}
	}
	// 2ⁿ = 2^n1 · 2^n2 with n1 = n>>1 and n2 = n − n1 (see expFn256.exp);
	// n1 reuses t's register.
	for i := range xs {
		VPSRAD(U8(1), ni[i], t[i])
	}
	for i := range xs {
		VPSUBD(t[i], ni[i], ni[i])
	}
	for i := range xs {
		VPADDD(constY("expBias"), t[i], t[i])
		VPADDD(constY("expBias"), ni[i], ni[i])
	}
	for i := range xs {
		VPSLLD(U8(23), t[i], t[i])
		VPSLLD(U8(23), ni[i], ni[i])
	}
	for i := range xs {
		VMULPS(t[i], p[i], p[i])
	}
	for i := range xs {
		VMULPS(ni[i], p[i], p[i])
	}
	return p
}

// oneY returns a new register holding 1 in every lane, loaded from the pool.
func oneY() VecVirtual {
	y := YMM()
	VMOVUPS(constY("one"), y)
	return y
}

// geluTailN256 returns q = Φ(−|x|) and x/2 for each of xs, side by side, as
// erfcFn.tailN does but with a division for t = 1/(1 + z/2): AVX2's VRCPPS
// is good to 12 bits only. An infinite x gives t = 0 and q = 0; a NaN x
// stays NaN.
func geluTailN256(e *expNFn256, xs []Op) (q, halfX []VecVirtual) {
	z, t, p := ymms(len(xs)), make([]VecVirtual, len(xs)), ymms(len(xs))
	halfX = ymms(len(xs))
	for i, x := range xs {
		VANDPS(constY("absMask"), x, z[i])
	}
	for i := range xs {
		VMULPS(constY("invSqrt2"), z[i], z[i])
	}
	for i := range xs {
		VMULPS(constY("half"), z[i], z[i])
	}
	for i := range xs {
		VADDPS(constY("one"), z[i], z[i])
	}
	for i := range xs {
		t[i] = oneY()
		VDIVPS(z[i], t[i], t[i]) // t = 1/(1 + z/2)
	}
	row := func(k int) Mem { return erfcTable256.Offset(32 * k) }
	last := len(erfcPoly) - 1
	for i := range xs {
		VMOVUPS(row(last), p[i])
	}
	for k := last - 1; k >= 0; k-- {
		for i := range xs {
			VFMADD213PS(row(k), t[i], p[i])
		}
	}
	for i, x := range xs {
		VMULPS(constY("half"), x, halfX[i])
	}
	for i, x := range xs {
		VFNMADD231PS(x, halfX[i], p[i]) // P(t) − x²/2
	}
	ps := make([]Op, len(xs))
	for i := range p {
		ps[i] = p[i]
	}
	q = e.expN(ps)
	for i := range xs {
		VMULPS(t[i], q[i], q[i])
	}
	for i := range xs {
		VMULPS(constY("half"), q[i], q[i])
	}
	return q, halfX
}

// geluPhi256 turns the tail q = Φ(−|x|) into Φ(x), in place: q for x ≤ 0
// (and NaN), 1 − q above, selected by VBLENDVPS instead of an opmask.
func geluPhi256(x, q VecVirtual) VecVirtual {
	pos := YMM()
	VCMPPS(U8(0x1e), constY("zero"), x, pos) // x > 0 (GT_OQ: false for NaN)
	omq := oneY()
	VSUBPS(q, omq, omq)
	VBLENDVPS(pos, omq, q, q)
	return q
}

// sigmoidPairN256 is sigmoidPair256 for each of zs, side by side.
func sigmoidPairN256(e *expNFn256, zs []Op) (sg, oneMinus []VecVirtual) {
	nz := make([]Op, len(zs))
	for i, z := range zs {
		r := YMM()
		VXORPS(constY("signBit"), z, r)
		nz[i] = r
	}
	ex := e.expN(nz)
	sg = make([]VecVirtual, len(zs))
	for i := range zs {
		d := YMM()
		VADDPS(constY("one"), ex[i], d)
		sg[i] = oneY()
		VDIVPS(d, sg[i], sg[i])
	}
	for i := range zs {
		VMULPS(sg[i], ex[i], ex[i])
	}
	for i := range zs {
		VMINPS(constY("one"), ex[i], ex[i]) // returns its second source, 1, on NaN
	}
	return sg, ex
}
