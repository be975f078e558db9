package main

import (
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

	genGELU256(geluGrad)
	genGELU256(geluBoth)
}

// genGELU256 emits the AVX2 exact-GELU kernel of kind, two blocks side by
// side (see expNFn256). Its tail is Numerical Recipes' t·exp(P(t) − x²/2)
// (geluTailN256), with a second exponential for φ where kind needs it, and
// Φ is selected by VBLENDVPS instead of an opmask.
func genGELU256(kind geluKind) {
	out, x, other := geluKernel(kind, "256", "over n elements, n a multiple of 8")
	n := length()
	e := newExpN256()
	forEachGroup256(n, 2, func(bs []block) {
		xs := make([]Op, len(bs))
		for i, b := range bs {
			xs[i] = b.load(x)
		}
		q, halfX := geluTailN256(e, xs)
		var g []VecVirtual
		if kind != geluForward {
			// φ(x) = exp(−x²/2)/√(2π), −x²/2 formed as −(x/2)·x + 0.
			args := make([]Op, len(bs))
			for i := range bs {
				VFNMADD213PS(constY("zero"), xs[i], halfX[i])
				args[i] = halfX[i]
			}
			g = e.expN(args)
		}
		for i, b := range bs {
			phi := geluPhi256(xs[i].(VecVirtual), q[i])
			if kind != geluGrad {
				y := YMM()
				VMULPS(xs[i], phi, y)
				b.store(y, out)
			}
			if kind == geluForward {
				continue
			}
			VMULPS(constY("invSqrt2Pi"), g[i], g[i])
			VFMADD231PS(g[i], xs[i], phi) // Φ + x·φ
			if kind == geluGrad {
				VMULPS(b.mem(other, 4), phi, phi)
				b.store(phi, out)
			} else {
				b.store(phi, other)
			}
		}
	})
	ret()
}
