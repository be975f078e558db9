package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2+FMA kernels of training: the activations' backward passes (with
// ReLU, and the exact GELU with its derivative in one pass), the AdamW step
// and the pieces of LayerNorm, RMSNorm and the softmax backward. They
// mirror the AVX-512 kernels in kernels.go formula for formula (so they
// agree with them to an ulp or two, NaN and Inf included), on 8-lane blocks
// and for a multiple of 8 elements; the Go wrappers in kernels/vec_amd64.go
// finish the last 0…7 elements.

// backwardN256 emits func name(dx, x, dy *float32, n int), n a multiple of
// 8, computing dx = dy·f'(x) with f' emitted by deriv for two blocks side
// by side (see expNFn256).
func backwardN256(name, doc string, deriv func(e *expNFn256, xs []VecVirtual) []VecVirtual) {
	fn(name, "func(dx, x, dy *float32, n int)")
	Doc(name + " computes dx = dy·" + doc + " over n elements, n a multiple of 8.")
	dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
	e := newExpN256()
	forEachGroup256(n, 2, func(bs []block) {
		xs := make([]VecVirtual, len(bs))
		for i, b := range bs {
			xs[i] = b.load(x)
		}
		d := deriv(e, xs)
		for i, b := range bs {
			VMULPS(b.mem(dy, 4), d[i], d[i])
			b.store(d[i], dx)
		}
	})
	ret()
}

// genAVX2Backward emits ReLU and the backward passes of the activations.
func genAVX2Backward() {
	fn("relu256", "func(dst, x *float32, n int)")
	Doc("relu256 computes dst = max(x, 0) (NaN stays NaN, −0 becomes +0) over n elements, n a multiple of 8.")
	{
		dst, x, n := ptr("dst"), ptr("x"), length()
		zero := zerosY(1)[0]
		forEach256(n, unrollMem, func(b block) {
			y := YMM()
			VMAXPS(b.mem(x, 4), zero, y) // NaN x wins as second source; −0 stays −0 …
			VADDPS(zero, y, y)           // … and becomes +0 here.
			b.store(y, dst)
		})
		ret()
	}

	fn("reluBackward256", "func(dx, x, dy *float32, n int)")
	Doc("reluBackward256 computes dx = dy where x > 0, else 0, over n elements, n a multiple of 8.")
	{
		dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
		zero := zerosY(1)[0]
		forEach256(n, unrollMem, func(b block) {
			pos := YMM()
			VCMPPS(U8(0x11), b.mem(x, 4), zero, pos) // 0 < x (LT_OQ: false for NaN)
			VANDPS(b.mem(dy, 4), pos, pos)           // dy's bits, or +0
			b.store(pos, dx)
		})
		ret()
	}

	fn("tanhBackward256", "func(dx, y, dy *float32, n int)")
	Doc("tanhBackward256 computes dx = dy·(1 − y²) over n elements, n a multiple of 8.")
	{
		dx, y, dy, n := ptr("dx"), ptr("y"), ptr("dy"), length()
		one := broadcastY(1)
		forEach256(n, unrollMem, func(b block) {
			yv := b.load(y)
			d := YMM()
			VMOVAPS(one, d)
			VFNMADD231PS(yv, yv, d) // 1 − y²
			VMULPS(b.mem(dy, 4), d, d)
			b.store(d, dx)
		})
		ret()
	}

	backwardN256("siluBackward256", "σ(x)·(1 + x·(1 − σ(x)))", func(e *expNFn256, xs []VecVirtual) []VecVirtual {
		ops := make([]Op, len(xs))
		for i, x := range xs {
			ops[i] = x
		}
		sg, oms := sigmoidPairN256(e, ops)
		for i, x := range xs {
			VFMADD213PS(constY("one"), x, oms[i]) // 1 + x·(1 − σ)
		}
		for i := range xs {
			VMULPS(sg[i], oms[i], oms[i])
		}
		return oms
	})

	// GELUTanh: x·σ(2u), 2u = k1·x + k3·x³; its derivative is
	// σ + x·σ·(1 − σ)·(k1 + 3·k3·x²).
	backwardN256("geluTanhBackward256", "(σ + x·σ·(1 − σ)·(k1 + 3·k3·x²)) with σ = σ(2u)", func(e *expNFn256, xs []VecVirtual) []VecVirtual {
		// Clamp x to exp's own range [−104, 88.8], which keeps x³ finite
		// and costs no register: the derivative is already exactly 0
		// below −20 and 1 above 10 in float32, as it is beyond the
		// AVX-512 kernel's ±100. NaN passes (MAXPS and MINPS return their
		// second source, x, on NaN).
		for _, x := range xs {
			VMAXPS(x, e.lo, x)
		}
		for _, x := range xs {
			VMINPS(x, e.hi, x)
		}
		x2, u := ymms(len(xs)), make([]Op, len(xs))
		for i, x := range xs {
			VMULPS(x, x, x2[i])
		}
		for i := range xs {
			r := YMM()
			VMOVUPS(constY("geluK3"), r)
			VFMADD213PS(constY("geluK1"), x2[i], r) // k1 + k3·x²
			u[i] = r
		}
		for i, x := range xs {
			VMULPS(x, u[i], u[i]) // 2u
		}
		sg, oms := sigmoidPairN256(e, u)
		du := ymms(len(xs))
		for i := range xs {
			VMOVUPS(constY("geluK3x3"), du[i])
			VFMADD213PS(constY("geluK1"), x2[i], du[i]) // k1 + 3k3·x²
		}
		for i, x := range xs {
			VMULPS(x, du[i], du[i])
		}
		for i := range xs {
			VMULPS(oms[i], du[i], du[i])
		}
		for i := range xs {
			VFMADD213PS(sg[i], sg[i], du[i]) // σ·(1 + x·(1 − σ)·du)
		}
		return du
	})

	// The exact GELU's derivative runs two blocks side by side (see
	// expNFn256).
	fn("geluBackward256", "func(dx, x, dy *float32, n int)")
	Doc("geluBackward256 computes dx = dy·(Φ(x) + x·φ(x)) over n elements, n a multiple of 8.")
	{
		dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
		e := newExpN256()
		forEachGroup256(n, 2, func(bs []block) {
			xs := make([]Op, len(bs))
			for i, b := range bs {
				xs[i] = b.load(x)
			}
			q, halfX := geluTailN256(e, xs)
			// φ(x) = exp(−x²/2)/√(2π), −x²/2 formed as −(x/2)·x + 0 as
			// in the AVX-512 kernel.
			args := make([]Op, len(bs))
			for i := range bs {
				VFNMADD213PS(constY("zero"), xs[i], halfX[i])
				args[i] = halfX[i]
			}
			g := e.expN(args)
			for i, b := range bs {
				phi := geluPhi256(xs[i].(VecVirtual), q[i])
				VMULPS(constY("invSqrt2Pi"), g[i], g[i])
				VFMADD231PS(g[i], xs[i], phi) // Φ + x·φ
				VMULPS(b.mem(dy, 4), phi, phi)
				b.store(phi, dx)
			}
		})
		ret()
	}

	// Forward and derivative in one pass, as geluDeriv512: the tail Φ(−|x|)
	// is computed once for both.
	fn("geluDeriv256", "func(dst, deriv, x *float32, n int)")
	Doc("geluDeriv256 computes dst = x·Φ(x) and deriv = Φ(x) + x·φ(x) over n elements, n a multiple of 8",
		"(as gelu256 and geluBackward256 with dy = 1); either may alias x.")
	{
		dst, deriv, x, n := ptr("dst"), ptr("deriv"), ptr("x"), length()
		e := newExpN256()
		forEachGroup256(n, 2, func(bs []block) {
			xs := make([]Op, len(bs))
			for i, b := range bs {
				xs[i] = b.load(x)
			}
			q, halfX := geluTailN256(e, xs)
			args := make([]Op, len(bs))
			for i := range bs {
				VFNMADD213PS(constY("zero"), xs[i], halfX[i])
				args[i] = halfX[i]
			}
			g := e.expN(args)
			for i, b := range bs {
				phi := geluPhi256(xs[i].(VecVirtual), q[i])
				y := YMM()
				VMULPS(xs[i], phi, y)
				b.store(y, dst)
				VMULPS(constY("invSqrt2Pi"), g[i], g[i])
				VFMADD231PS(g[i], xs[i], phi)
				b.store(phi, deriv)
			}
		})
		ret()
	}
}

// forEachGroup256 is forEachGroup for the 8-lane kernels: groups of unroll
// blocks, then single blocks; n must be a multiple of 8.
func forEachGroup256(n GPVirtual, unroll int, body func(bs []block)) {
	labelSeq++
	lbl := func(s string) string { return fmt.Sprintf("%s256_%d", s, labelSeq) }
	i := GP64()
	XORQ(i, i)
	Label(lbl("group"))
	next := GP64()
	LEAQ(Mem{Base: i, Disp: unroll * lanes / 2}, next)
	CMPQ(next, n)
	JGT(LabelRef(lbl("single")))
	bs := make([]block, unroll)
	for j := range bs {
		bs[j] = block{i: i, j: j, ymm: true}
	}
	body(bs)
	MOVQ(next, i)
	JMP(LabelRef(lbl("group")))

	Label(lbl("single"))
	LEAQ(Mem{Base: i, Disp: lanes / 2}, next)
	CMPQ(next, n)
	JGT(LabelRef(lbl("done")))
	body([]block{{i: i, ymm: true}})
	MOVQ(next, i)
	JMP(LabelRef(lbl("single")))
	Label(lbl("done"))
}

// genAVX2AdamW emits adamW256, adamW512 on 8-lane blocks.
func genAVX2AdamW() {
	fn("adamW256", "func(p, grad, m, v *float32, n int, decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, stepSize, invSqrtBC2, eps float32)")
	Doc("adamW256 applies one AdamW step to n parameters, n a multiple of 8 (see AdamWGeneric for the formula).")
	decay, b1, c1 := paramY("decay"), paramY("beta1"), paramY("oneMinusBeta1")
	b2, c2 := paramY("beta2"), paramY("oneMinusBeta2")
	step, isbc2, eps := paramY("stepSize"), paramY("invSqrtBC2"), paramY("eps")
	p, g, m, v, n := ptr("p"), ptr("grad"), ptr("m"), ptr("v"), length()
	// All loads before all stores, against 4K aliasing (see adamW512).
	forEach256(n, 1, func(b block) {
		gv, mv, vv, pv := b.load(g), b.load(m), b.load(v), b.load(p)
		VMULPS(b1, mv, mv)
		VFMADD231PS(gv, c1, mv) // m = β1·m + (1−β1)·g
		VMULPS(b2, vv, vv)
		VMULPS(gv, gv, gv)
		VFMADD231PS(gv, c2, vv) // v = β2·v + (1−β2)·g²
		b.store(mv, m)
		b.store(vv, v)
		den := YMM()
		VSQRTPS(vv, den)
		VFMADD213PS(eps, isbc2, den) // sqrt(v)/sqrt(bc2) + eps, by the reciprocal
		VDIVPS(den, mv, den)         // m/denom
		VMULPS(decay, pv, pv)
		VFNMADD231PS(den, step, pv)
		b.store(pv, p)
	})
	ret()
}

// genAVX2Norm emits the pieces of LayerNorm and RMSNorm (forward and
// backward) and of the softmax backward, as genNorm and genSoftmax do for
// AVX-512; the pointers a variant does not use may be nil.
func genAVX2Norm() {
	fn("softmaxBackward256", "func(dx, y, dy *float32, n int, s float32)")
	Doc("softmaxBackward256 computes dx = y·(dy − s) over n elements, n a multiple of 8.")
	{
		s := paramY("s")
		dx, y, dy, n := ptr("dx"), ptr("y"), ptr("dy"), length()
		forEach256(n, unrollMem, func(b block) {
			v := b.load(dy)
			VSUBPS(s, v, v)
			VMULPS(b.mem(y, 4), v, v)
			b.store(v, dx)
		})
		ret()
	}

	fn("sumSqDev256", "func(x *float32, n int, mean float32) float32")
	Doc("sumSqDev256 returns Σ (x[i] − mean)² over n elements, n a multiple of 8.")
	{
		mean := paramY("mean")
		x, n := ptr("x"), length()
		acc := zerosY(unrollMem)
		forEach256(n, unrollMem, func(b block) {
			v := b.load(x)
			VSUBPS(mean, v, v)
			VFMADD231PS(v, v, acc[b.j])
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	for _, v := range []struct {
		suffix      string
		gamma, beta bool
	}{{"", false, false}, {"G", true, false}, {"B", false, true}, {"GB", true, true}} {
		name := "normalize" + v.suffix + "256"
		fn(name, "func(dst, x, gamma, beta *float32, n int, mean, rstd float32)")
		Doc(fmt.Sprintf("%s computes dst = (x − mean)·rstd%s%s over n elements, n a multiple of 8.", name,
			map[bool]string{true: "·gamma"}[v.gamma], map[bool]string{true: " + beta"}[v.beta]))
		mean, rstd := paramY("mean"), paramY("rstd")
		dst, x, n := ptr("dst"), ptr("x"), length()
		var gamma, beta GPVirtual
		if v.gamma {
			gamma = ptr("gamma")
		}
		if v.beta {
			beta = ptr("beta")
		}
		forEach256(n, unrollMem, func(b block) {
			y := b.load(x)
			VSUBPS(mean, y, y)
			VMULPS(rstd, y, y)
			if v.gamma {
				VMULPS(b.mem(gamma, 4), y, y)
			}
			if v.beta {
				VADDPS(b.mem(beta, 4), y, y)
			}
			b.store(y, dst)
		})
		ret()
	}

	for _, gamma := range []bool{false, true} {
		name := "normBackwardSums" + map[bool]string{true: "G"}[gamma] + "256"
		fn(name, "func(x, gamma, dy *float32, n int, mean, rstd float32) (sg, sgx float32)")
		Doc(name+" returns Σ g and Σ g·xhat over n elements (n a multiple of 8), where",
			"xhat = (x − mean)·rstd and g = dy"+map[bool]string{true: "·gamma"}[gamma]+".")
		mean, rstd := paramY("mean"), paramY("rstd")
		x, dy, n := ptr("x"), ptr("dy"), length()
		var gp GPVirtual
		if gamma {
			gp = ptr("gamma")
		}
		sg, sgx := zerosY(2), zerosY(2)
		forEach256(n, 2, func(b block) {
			g := b.load(dy)
			if gamma {
				VMULPS(b.mem(gp, 4), g, g)
			}
			xh := b.load(x)
			VSUBPS(mean, xh, xh)
			VMULPS(rstd, xh, xh)
			VADDPS(g, sg[b.j], sg[b.j])
			VFMADD231PS(xh, g, sgx[b.j])
		})
		reduce(sg, vaddps, 0)
		reduce(sgx, vaddps, 1)
		ret()
	}

	for _, beta := range []bool{false, true} {
		name := "normBackwardParams" + map[bool]string{true: "B"}[beta] + "256"
		fn(name, "func(x, dy, dgamma, dbeta *float32, n int, mean, rstd float32)")
		Doc(name + " accumulates dgamma += dy·(x − mean)·rstd" + map[bool]string{true: " and dbeta += dy"}[beta] +
			" over n elements, n a multiple of 8.")
		mean, rstd := paramY("mean"), paramY("rstd")
		x, dy, dgamma, n := ptr("x"), ptr("dy"), ptr("dgamma"), length()
		var dbeta GPVirtual
		if beta {
			dbeta = ptr("dbeta")
		}
		forEach256(n, 2, func(b block) {
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
		name := "normBackwardDx" + map[bool]string{true: "G"}[gamma] + "256"
		fn(name, "func(dx, x, gamma, dy *float32, n int, mean, rstd, mg, mgx float32)")
		Doc(name+" computes dx = rstd·(g − mg − xhat·mgx) over n elements (n a multiple of 8), where",
			"xhat = (x − mean)·rstd and g = dy"+map[bool]string{true: "·gamma"}[gamma]+".")
		mean, rstd, mg, mgx := paramY("mean"), paramY("rstd"), paramY("mg"), paramY("mgx")
		dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
		var gp GPVirtual
		if gamma {
			gp = ptr("gamma")
		}
		forEach256(n, 2, func(b block) {
			g := b.load(dy)
			if gamma {
				VMULPS(b.mem(gp, 4), g, g)
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
