package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// unrollMem is the unroll factor of the memory-bound kernels: four blocks in
// flight hide the load latency and, for reductions, the add latency.
const unrollMem = 4

func genBasic() {
	fn("dot512", "func(x, y *float32, n int) float32")
	Doc("dot512 returns Σ x[i]·y[i] over n elements.")
	{
		x, y, n := ptr("x"), ptr("y"), length()
		acc := zeros(unrollMem)
		forEach(n, unrollMem, func(b block) {
			b.fma(acc[b.j], b.load(x), b.load(y))
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	fn("sum512", "func(x *float32, n int) float32")
	Doc("sum512 returns Σ x[i] over n elements.")
	{
		x, n := ptr("x"), length()
		acc := zeros(unrollMem)
		forEach(n, unrollMem, func(b block) {
			b.accumulate(acc[b.j], b.load(x))
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	fn("max512", "func(x *float32, n int) float32")
	Doc("max512 returns the largest of n elements, ignoring NaNs; −Inf when all are NaN or n is 0.")
	{
		x, n := ptr("x"), length()
		acc := make([]VecVirtual, unrollMem)
		for j := range acc {
			acc[j] = broadcastBits(0xff800000)
		}
		forEach(n, unrollMem, func(b block) {
			v := b.load(x)
			// MAXPS returns its second source (here acc) when either is NaN.
			if b.k == nil {
				VMAXPS(acc[b.j], v, acc[b.j])
			} else {
				VMAXPS(acc[b.j], v, b.k, acc[b.j])
			}
		})
		reduce(acc, vmaxps, 0)
		ret()
	}

	fn("axpy512", "func(alpha float32, x, y *float32, n int)")
	Doc("axpy512 computes y += alpha·x over n elements.")
	{
		a := param("alpha")
		x, y, n := ptr("x"), ptr("y"), length()
		forEach(n, unrollMem, func(b block) {
			v := b.load(y)
			VFMADD231PS(b.load(x), a, v)
			b.store(v, y)
		})
		ret()
	}

	fn("scale512", "func(alpha float32, x *float32, n int)")
	Doc("scale512 computes x *= alpha over n elements.")
	{
		a := param("alpha")
		x, n := ptr("x"), length()
		forEach(n, unrollMem, func(b block) {
			v := b.load(x)
			VMULPS(a, v, v)
			b.store(v, x)
		})
		ret()
	}

	for _, op := range []struct {
		name, what string
		emit       func(...Op)
	}{
		{"add512", "x + y", func(o ...Op) { VADDPS(o...) }},
		{"sub512", "x − y", func(o ...Op) { VSUBPS(o...) }},
		{"mul512", "x · y", func(o ...Op) { VMULPS(o...) }},
	} {
		fn(op.name, "func(dst, x, y *float32, n int)")
		Doc(fmt.Sprintf("%s computes dst = %s over n elements.", op.name, op.what))
		dst, x, y, n := ptr("dst"), ptr("x"), ptr("y"), length()
		forEach(n, unrollMem, func(b block) {
			v := b.load(x)
			op.emit(b.load(y), v, v)
			b.store(v, dst)
		})
		ret()
	}

	fn("affine512", "func(dst, x *float32, n int, a, c float32)")
	Doc("affine512 computes dst = x·a + c over n elements (one rounding).")
	{
		a, c := param("a"), param("c")
		dst, x, n := ptr("dst"), ptr("x"), length()
		forEach(n, unrollMem, func(b block) {
			v := b.load(x)
			VFMADD213PS(c, a, v)
			b.store(v, dst)
		})
		ret()
	}

	fn("exp512", "func(dst, x *float32, n int)")
	Doc("exp512 computes dst = exp(x) over n elements.")
	{
		dst, x, n := ptr("dst"), ptr("x"), length()
		e := newExp()
		forEach(n, 2, func(b block) {
			b.store(e.exp(b.load(x)), dst)
		})
		ret()
	}
}

func genSoftmax() {
	fn("expSubSum512", "func(dst, x *float32, n int, m float32) float32")
	Doc("expSubSum512 computes dst = exp(x − m) over n elements and returns its sum.")
	{
		m := param("m")
		dst, x, n := ptr("dst"), ptr("x"), length()
		e := newExp()
		acc := zeros(2)
		forEach(n, 2, func(b block) {
			v := b.load(x)
			VSUBPS(m, v, v)
			r := e.exp(v)
			b.store(r, dst)
			b.accumulate(acc[b.j], r)
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	fn("sumExpSub512", "func(x *float32, n int, m float32) float32")
	Doc("sumExpSub512 returns Σ exp(x[i] − m) over n elements.")
	{
		m := param("m")
		x, n := ptr("x"), length()
		e := newExp()
		acc := zeros(2)
		forEach(n, 2, func(b block) {
			v := b.load(x)
			VSUBPS(m, v, v)
			b.accumulate(acc[b.j], e.exp(v))
		})
		reduce(acc, vaddps, 0)
		ret()
	}
}

// genSoftmaxBackward emits softmaxBackward512 or 256.
func genSoftmaxBackward(w width) {
	name := "softmaxBackward" + w.suffix()
	fn(name, "func(dx, y, dy *float32, n int, s float32)")
	Doc(name + " computes dx = y·(dy − s) " + w.over() + ".")
	s := w.param("s")
	dx, y, dy, n := ptr("dx"), ptr("y"), ptr("dy"), length()
	w.forEach(n, unrollMem, func(b block) {
		v := b.load(dy)
		VSUBPS(s, v, v)
		VMULPS(b.operand(y), v, v)
		b.store(v, dx)
	})
	ret()
}

// genNorm emits the pieces LayerNorm and RMSNorm (forward and backward) are
// built from, for AVX-512 or AVX2; RMSNorm uses them with mean = 0 and no
// beta. Variants with and without gamma/beta share one signature; the
// pointers a variant does not use may be nil.
func genNorm(w width) {
	fn("sumSqDev"+w.suffix(), "func(x *float32, n int, mean float32) float32")
	Doc("sumSqDev" + w.suffix() + " returns Σ (x[i] − mean)² " + w.over() + ".")
	{
		mean := w.param("mean")
		x, n := ptr("x"), length()
		acc := w.zeros(unrollMem)
		w.forEach(n, unrollMem, func(b block) {
			v := b.load(x)
			VSUBPS(mean, v, v)
			if b.k == nil {
				VFMADD231PS(v, v, acc[b.j])
			} else {
				VFMADD231PS(v, v, b.k, acc[b.j]) // masked lanes are 0 − mean
			}
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	for _, v := range []struct {
		suffix      string
		gamma, beta bool
	}{{"", false, false}, {"G", true, false}, {"B", false, true}, {"GB", true, true}} {
		name := "normalize" + v.suffix + w.suffix()
		fn(name, "func(dst, x, gamma, beta *float32, n int, mean, rstd float32)")
		Doc(fmt.Sprintf("%s computes dst = (x − mean)·rstd%s%s %s.", name,
			map[bool]string{true: "·gamma"}[v.gamma], map[bool]string{true: " + beta"}[v.beta], w.over()))
		mean, rstd := w.param("mean"), w.param("rstd")
		dst, x, n := ptr("dst"), ptr("x"), length()
		var gamma, beta GPVirtual
		if v.gamma {
			gamma = ptr("gamma")
		}
		if v.beta {
			beta = ptr("beta")
		}
		w.forEach(n, unrollMem, func(b block) {
			y := b.load(x)
			VSUBPS(mean, y, y)
			VMULPS(rstd, y, y)
			if v.gamma {
				VMULPS(b.operand(gamma), y, y)
			}
			if v.beta {
				VADDPS(b.operand(beta), y, y)
			}
			b.store(y, dst)
		})
		ret()
	}

	for _, gamma := range []bool{false, true} {
		name := "normBackwardSums" + map[bool]string{true: "G"}[gamma] + w.suffix()
		fn(name, "func(x, gamma, dy *float32, n int, mean, rstd float32) (sg, sgx float32)")
		Doc(name+" returns Σ g and Σ g·xhat "+w.over()+", where xhat = (x − mean)·rstd",
			"and g = dy"+map[bool]string{true: "·gamma"}[gamma]+".")
		mean, rstd := w.param("mean"), w.param("rstd")
		x, dy, n := ptr("x"), ptr("dy"), length()
		var gp GPVirtual
		if gamma {
			gp = ptr("gamma")
		}
		sg, sgx := w.zeros(2), w.zeros(2)
		w.forEach(n, 2, func(b block) {
			g := b.load(dy)
			if gamma {
				VMULPS(b.operand(gp), g, g)
			}
			xh := b.load(x)
			VSUBPS(mean, xh, xh)
			VMULPS(rstd, xh, xh)
			b.accumulate(sg[b.j], g)
			b.fma(sgx[b.j], g, xh)
		})
		reduce(sg, vaddps, 0)
		reduce(sgx, vaddps, 1)
		ret()
	}

	for _, beta := range []bool{false, true} {
		name := "normBackwardParams" + map[bool]string{true: "B"}[beta] + w.suffix()
		fn(name, "func(x, dy, dgamma, dbeta *float32, n int, mean, rstd float32)")
		Doc(name + " accumulates dgamma += dy·(x − mean)·rstd" + map[bool]string{true: " and dbeta += dy"}[beta] +
			" " + w.over() + ".")
		mean, rstd := w.param("mean"), w.param("rstd")
		x, dy, dgamma, n := ptr("x"), ptr("dy"), ptr("dgamma"), length()
		var dbeta GPVirtual
		if beta {
			dbeta = ptr("dbeta")
		}
		w.forEach(n, 2, func(b block) {
			// Loads before stores, against 4K aliasing (see adamW512).
			d, xh, dg := b.load(dy), b.load(x), b.load(dgamma)
			var db VecVirtual
			if beta {
				db = b.load(dbeta)
			}
			VSUBPS(mean, xh, xh)
			VMULPS(rstd, xh, xh)
			VFMADD231PS(xh, d, dg)
			b.store(dg, dgamma)
			if beta {
				VADDPS(d, db, db)
				b.store(db, dbeta)
			}
		})
		ret()
	}

	for _, gamma := range []bool{false, true} {
		name := "normBackwardDx" + map[bool]string{true: "G"}[gamma] + w.suffix()
		fn(name, "func(dx, x, gamma, dy *float32, n int, mean, rstd, mg, mgx float32)")
		Doc(name+" computes dx = rstd·(g − mg − xhat·mgx) "+w.over()+", where",
			"xhat = (x − mean)·rstd and g = dy"+map[bool]string{true: "·gamma"}[gamma]+".")
		mean, rstd, mg, mgx := w.param("mean"), w.param("rstd"), w.param("mg"), w.param("mgx")
		dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
		var gp GPVirtual
		if gamma {
			gp = ptr("gamma")
		}
		w.forEach(n, 2, func(b block) {
			g := b.load(dy)
			if gamma {
				VMULPS(b.operand(gp), g, g)
			}
			VSUBPS(mg, g, g)
			xh := b.load(x)
			VSUBPS(mean, xh, xh)
			VMULPS(rstd, xh, xh)
			VFNMADD231PS(mgx, xh, g)
			VMULPS(rstd, g, g)
			b.store(g, dx)
		})
		ret()
	}
}

// unary emits func name(dst, x *float32, n int) applying f per block.
func unary(name, doc string, unroll int, setup func() func(x VecVirtual) VecVirtual) {
	fn(name, "func(dst, x *float32, n int)")
	Doc(name + " computes " + doc + " over n elements.")
	dst, x, n := ptr("dst"), ptr("x"), length()
	f := setup()
	forEach(n, unroll, func(b block) {
		b.store(f(b.load(x)), dst)
	})
	ret()
}

// backward emits func name(dx, x, dy *float32, n int) computing dx = dy·f'(x).
func backward(name, doc string, setup func() func(x VecVirtual) VecVirtual) {
	fn(name, "func(dx, x, dy *float32, n int)")
	Doc(name + " computes dx = dy·" + doc + " over n elements.")
	dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
	f := setup()
	forEach(n, 1, func(b block) {
		d := f(b.load(x))
		VMULPS(b.load(dy), d, d)
		b.store(d, dx)
	})
	ret()
}

func genActivations() {
	unary("relu512", "dst = max(x, 0) (NaN stays NaN, −0 becomes +0)", unrollMem, func() func(VecVirtual) VecVirtual {
		zero := zeros(1)[0]
		return func(x VecVirtual) VecVirtual {
			VMAXPS(x, zero, x) // NaN x wins as second source; −0 stays −0 …
			VADDPS(zero, x, x) // … and becomes +0 here.
			return x
		}
	})

	fn("reluBackward512", "func(dx, x, dy *float32, n int)")
	Doc("reluBackward512 computes dx = dy where x > 0, else 0, over n elements.")
	{
		dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
		zero := zeros(1)[0]
		forEach(n, unrollMem, func(b block) {
			pos := K()
			VCMPPS(U8(0x1e), zero, b.load(x), pos) // x > 0 (GT_OQ: false for NaN)
			d := ZMM()
			VMOVAPS_Z(b.load(dy), pos, d)
			b.store(d, dx)
		})
		ret()
	}

	fn("tanhBackward512", "func(dx, y, dy *float32, n int)")
	Doc("tanhBackward512 computes dx = dy·(1 − y²) over n elements.")
	{
		dx, y, dy, n := ptr("dx"), ptr("y"), ptr("dy"), length()
		one := broadcast(1)
		forEach(n, unrollMem, func(b block) {
			yv := b.load(y)
			d := fresh(one)
			VFNMADD231PS(yv, yv, d) // 1 − y²
			VMULPS(b.load(dy), d, d)
			b.store(d, dx)
		})
		ret()
	}

	unary("tanh512", "dst = tanh(x)", 1, func() func(VecVirtual) VecVirtual {
		t := newTanh()
		return func(x VecVirtual) VecVirtual { return t.tanh(x) }
	})

	unary("silu512", "dst = x/(1 + exp(−x))", 1, func() func(VecVirtual) VecVirtual {
		s := newSigmoid()
		return func(x VecVirtual) VecVirtual {
			d := s.onePlusExpNeg(x)
			VDIVPS(d, x, d)
			return d
		}
	})

	backward("siluBackward512", "σ(x)·(1 + x·(1 − σ(x)))", func() func(VecVirtual) VecVirtual {
		s := newSigmoid()
		return func(x VecVirtual) VecVirtual {
			sg, oms := s.sigmoidPair(x)
			VFMADD213PS(s.one, x, oms) // 1 + x·(1 − σ)
			VMULPS(sg, oms, oms)
			return oms
		}
	})

	// GELUTanh: 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³).
	const sqrt2OverPi, geluCoeff = 0.79788456080286535588, 0.044715
	geluTanhArg := func(s *sigmoidFn, k1, k3 VecVirtual, x VecVirtual) (twoU, x2 VecVirtual) {
		x2 = ZMM()
		VMULPS(x, x, x2)
		twoU = fresh(k3)
		VFMADD213PS(k1, x2, twoU) // k1 + k3·x²
		VMULPS(x, twoU, twoU)
		return twoU, x2
	}
	unary("geluTanh512", "dst = x·σ(2·√(2/π)·(x + 0.044715·x³)), the tanh form of GELU", 1, func() func(VecVirtual) VecVirtual {
		s := newSigmoid()
		k1, k3 := broadcast(2*sqrt2OverPi), broadcast(2*sqrt2OverPi*geluCoeff)
		return func(x VecVirtual) VecVirtual {
			u, _ := geluTanhArg(s, k1, k3, x)
			d := s.onePlusExpNeg(u)
			VDIVPS(d, x, d)
			return d
		}
	})
	backward("geluTanhBackward512", "(σ + x·σ·(1 − σ)·(k1 + 3·k3·x²)) with σ = σ(2u)", func() func(VecVirtual) VecVirtual {
		s := newSigmoid()
		k1, k3 := broadcast(2*sqrt2OverPi), broadcast(2*sqrt2OverPi*geluCoeff)
		k3x3 := broadcast(3 * 2 * sqrt2OverPi * geluCoeff)
		lo, hi := broadcast(-100), broadcast(100)
		return func(x VecVirtual) VecVirtual {
			// Beyond ±100 the derivative is exactly 0 or 1 in float32;
			// clamping keeps x³ finite there (NaN passes: MAXPS and
			// MINPS return their second source, x, on NaN).
			VMAXPS(x, lo, x)
			VMINPS(x, hi, x)
			u, x2 := geluTanhArg(s, k1, k3, x)
			sg, oms := s.sigmoidPair(u)
			du := fresh(k3x3)
			VFMADD213PS(k1, x2, du) // du = k1 + 3k3·x²
			VMULPS(x, du, du)
			VMULPS(oms, du, du)
			VFMADD213PS(sg, sg, du) // σ·(1 + x·(1 − σ)·du)
			return du
		}
	})

	genGELU512(geluForward)
	genGELU512(geluGrad)
	genGELU512(geluBoth)
}

// geluKind is what an exact-GELU kernel stores: x·Φ(x), dy·GELU′(x), or
// both GELU and GELU′ (for a training forward that keeps the derivative in
// place of x, so that its backward is one product).
type geluKind int

const (
	geluForward geluKind = iota
	geluGrad
	geluBoth
)

// geluKernel declares the kernel of kind for width suffix ("512", "256")
// and returns its pointers: out, x and dy (geluGrad) or deriv (geluBoth).
func geluKernel(kind geluKind, suffix, over string) (out, x, other GPVirtual) {
	switch kind {
	case geluForward:
		fn("gelu"+suffix, "func(dst, x *float32, n int)")
		Doc("gelu" + suffix + " computes dst = x·Φ(x), the exact (erf) GELU, " + over + ".")
		return ptr("dst"), ptr("x"), nil
	case geluGrad:
		fn("geluBackward"+suffix, "func(dx, x, dy *float32, n int)")
		Doc("geluBackward" + suffix + " computes dx = dy·(Φ(x) + x·φ(x)) " + over + ".")
		return ptr("dx"), ptr("x"), ptr("dy")
	}
	fn("geluDeriv"+suffix, "func(dst, deriv, x *float32, n int)")
	Doc("geluDeriv"+suffix+" computes dst = x·Φ(x) and deriv = Φ(x) + x·φ(x) "+over+" (as gelu"+suffix,
		"and geluBackward"+suffix+" with dy = 1); either may alias x.")
	dst, deriv := ptr("dst"), ptr("deriv")
	return dst, ptr("x"), deriv
}

// genGELU512 emits the AVX-512 exact-GELU kernel of kind. Two blocks run
// side by side (see expN): one block's chain of dependent instructions is
// too long for the scheduler to overlap consecutive iterations.
func genGELU512(kind geluKind) {
	out, x, other := geluKernel(kind, "512", "over n elements")
	n := length()
	f := newErfc()
	zero := zeros(1)[0]
	var invSqrt2Pi VecVirtual
	if kind != geluForward {
		invSqrt2Pi = broadcast(0.39894228040143267794)
	}
	forEachGroup(n, 2, func(bs []block) {
		xs := make([]Op, len(bs))
		for i, b := range bs {
			xs[i] = b.load(x)
		}
		q, g := f.tailN(xs) // φ(x) = g/√(2π)
		for i, b := range bs {
			phi := geluPhi(f, zero, xs[i], q[i])
			if kind != geluGrad {
				y := ZMM()
				VMULPS(xs[i], phi, y)
				b.store(y, out)
			}
			if kind == geluForward {
				continue
			}
			VMULPS(invSqrt2Pi, g[i], g[i])
			VFMADD231PS(g[i], xs[i], phi) // Φ + x·φ
			if kind == geluGrad {
				VMULPS(b.load(other), phi, phi)
				b.store(phi, out)
			} else {
				b.store(phi, other)
			}
		}
	})
	ret()
}

// geluPhi returns Φ(x) from the tail q = Φ(−|x|): q for x ≤ 0, 1 − q above.
func geluPhi(f *erfcFn, zero VecVirtual, x Op, q VecVirtual) VecVirtual {
	k := K()
	VCMPPS(U8(0x1e), zero, x, k) // x > 0 (GT_OQ)
	VSUBPS(q, f.one, k, q)
	return q
}

// genAdamW emits adamW512 or 256.
func genAdamW(w width) {
	name := "adamW" + w.suffix()
	fn(name, "func(p, grad, m, v *float32, n int, decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, stepSize, invSqrtBC2, eps float32)")
	Doc(name + " applies one AdamW step to the parameters, " + w.over() + " (see AdamWGeneric for the formula).")
	decay, b1, c1 := w.param("decay"), w.param("beta1"), w.param("oneMinusBeta1")
	b2, c2 := w.param("beta2"), w.param("oneMinusBeta2")
	step, isbc2, eps := w.param("stepSize"), w.param("invSqrtBC2"), w.param("eps")
	p, g, m, v, n := ptr("p"), ptr("grad"), ptr("m"), ptr("v"), length()
	// All loads come before all stores: the four arrays are often 4 KiB
	// apart, and a load behind a store to an address equal modulo 4096
	// stalls on a false dependency (4K aliasing).
	w.forEach(n, 1, func(b block) {
		gv, mv, vv, pv := b.load(g), b.load(m), b.load(v), b.load(p)
		VMULPS(b1, mv, mv)
		VFMADD231PS(gv, c1, mv) // m = β1·m + (1−β1)·g
		VMULPS(b2, vv, vv)
		VMULPS(gv, gv, gv)
		VFMADD231PS(gv, c2, vv) // v = β2·v + (1−β2)·g²
		b.store(mv, m)
		b.store(vv, v)
		den := b.reg()
		VSQRTPS(vv, den)
		VFMADD213PS(eps, isbc2, den) // sqrt(v)/sqrt(bc2) + eps, by the reciprocal
		VDIVPS(den, mv, den)         // m/denom
		VMULPS(decay, pv, pv)
		VFNMADD231PS(den, step, pv)
		b.store(pv, p)
	})
	ret()
}

func genConvert() {
	fn("bf16ToF32_512", "func(dst *float32, src *uint16, n int)")
	Doc("bf16ToF32_512 widens n bfloat16 values to float32.")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		forEach(n, unrollMem, func(b block) {
			z := ZMM()
			if b.k == nil {
				VPMOVZXWD(b.mem(src, 2), z)
			} else {
				VPMOVZXWD_Z(b.mem(src, 2), b.k, z)
			}
			VPSLLD(U8(16), z, z)
			b.store(z, dst)
		})
		ret()
	}

	fn("f16ToF32_512", "func(dst *float32, src *uint16, n int)")
	Doc("f16ToF32_512 widens n IEEE half-precision values to float32.")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		forEach(n, unrollMem, func(b block) {
			z := ZMM()
			if b.k == nil {
				VCVTPH2PS(b.mem(src, 2), z)
			} else {
				VCVTPH2PS_Z(b.mem(src, 2), b.k, z)
			}
			b.store(z, dst)
		})
		ret()
	}

	fn("f32ToF16_512", "func(dst *uint16, src *float32, n int)")
	Doc("f32ToF16_512 rounds n float32 values to IEEE half precision, to nearest even (VCVTPS2PH); NaNs stay NaN (quietened).")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		forEach(n, unrollMem, func(b block) {
			x := b.load(src)
			if b.k == nil {
				VCVTPS2PH(U8(0), x, b.mem(dst, 2))
			} else {
				VCVTPS2PH(U8(0), x, b.k, b.mem(dst, 2))
			}
		})
		ret()
	}

	fn("f32ToBF16_512", "func(dst *uint16, src *float32, n int)")
	Doc("f32ToBF16_512 rounds n float32 values to bfloat16, to nearest even; NaNs stay NaN (quietened).")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		bias, one, quiet := broadcastBits(0x7fff), broadcastBits(1), broadcastBits(0x40)
		forEach(n, 2, func(b block) {
			x := b.load(src)
			lsb := ZMM()
			VPSRLD(U8(16), x, lsb)
			VPANDD(one, lsb, lsb)
			VPADDD(bias, lsb, lsb)
			r := ZMM()
			VPADDD(lsb, x, r)
			VPSRLD(U8(16), r, r)
			nan := K()
			VCMPPS(U8(3), x, x, nan) // unordered
			VPSRLD(U8(16), x, nan, r)
			VPORD(quiet, r, nan, r)
			if b.k == nil {
				VPMOVDW(r, b.mem(dst, 2))
			} else {
				VPMOVDW(r, b.k, b.mem(dst, 2))
			}
		})
		ret()
	}

	fn("dotBF16_512", "func(x *float32, w *uint16, n int) float32")
	Doc("dotBF16_512 returns Σ x[i]·w[i] over n elements with w in bfloat16, widened exactly.")
	{
		x, w, n := ptr("x"), ptr("w"), length()
		acc := zeros(unrollMem)
		forEach(n, unrollMem, func(b block) {
			z := ZMM()
			if b.k == nil {
				VPMOVZXWD(b.mem(w, 2), z)
			} else {
				VPMOVZXWD_Z(b.mem(w, 2), b.k, z)
			}
			VPSLLD(U8(16), z, z)
			VFMADD231PS(b.load(x), z, acc[b.j])
		})
		reduce(acc, vaddps, 0)
		ret()
	}
}
