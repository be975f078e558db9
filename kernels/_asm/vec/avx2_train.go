package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2+FMA kernels of training: the activations' backward passes, the
// AdamW step and the LayerNorm/RMSNorm and softmax backward pieces. They
// mirror the AVX-512 kernels in kernels.go formula for formula (so they
// agree with them to an ulp or two, NaN and Inf included), on 8-lane blocks
// and for a multiple of 8 elements; the Go wrappers in kernels/vec_amd64.go
// finish the last 0…7 elements.

// backward256 emits func name(dx, x, dy *float32, n int), n a multiple of
// 8, computing dx = dy·f'(x) with the per-block f' that setup returns.
func backward256(name, doc string, setup func(e *expFn256) func(x VecVirtual) VecVirtual) {
	fn(name, "func(dx, x, dy *float32, n int)")
	Doc(name + " computes dx = dy·" + doc + " over n elements, n a multiple of 8.")
	dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
	f := setup(newExp256())
	forEach256(n, 1, func(b block) {
		d := f(b.load(x))
		VMULPS(b.mem(dy, 4), d, d)
		b.store(d, dx)
	})
	ret()
}

// genAVX2Backward emits the backward passes of the activations.
func genAVX2Backward() {
	fn("reluBackward256", "func(dx, x, dy *float32, n int)")
	Doc("reluBackward256 computes dx = dy where x > 0, else 0, over n elements, n a multiple of 8.")
	{
		dx, x, dy, n := ptr("dx"), ptr("x"), ptr("dy"), length()
		zero := zerosY(1)[0]
		forEach256(n, unrollMem, func(b block) {
			pos := YMM()
			VCMPPS(U8(0x11), b.mem(x, 4), zero, pos) // 0 < x (LT_OQ: false for NaN)
			VANDPS(b.mem(dy, 4), pos, pos)                      // dy's bits, or +0
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

	backward256("siluBackward256", "σ(x)·(1 + x·(1 − σ(x)))", func(e *expFn256) func(VecVirtual) VecVirtual {
		return func(x VecVirtual) VecVirtual {
			sg, oms := sigmoidPair256(e, x)
			VFMADD213PS(e.one, x, oms) // 1 + x·(1 − σ)
			VMULPS(sg, oms, oms)
			return oms
		}
	})

	// GELUTanh: x·σ(2u), 2u = k1·x + k3·x³; its derivative is
	// σ + x·σ·(1 − σ)·(k1 + 3·k3·x²).
	backward256("geluTanhBackward256", "(σ + x·σ·(1 − σ)·(k1 + 3·k3·x²)) with σ = σ(2u)", func(e *expFn256) func(VecVirtual) VecVirtual {
		return func(x VecVirtual) VecVirtual {
			// Clamp x to exp's own range [−104, 88.8], which keeps x³
			// finite and costs no register: the derivative is already
			// exactly 0 below −20 and 1 above 10 in float32, as it is
			// beyond the AVX-512 kernel's ±100. NaN passes (MAXPS and
			// MINPS return their second source, x, on NaN).
			VMAXPS(x, e.lo, x)
			VMINPS(x, e.hi, x)
			x2 := YMM()
			VMULPS(x, x, x2)
			u := YMM()
			VMOVUPS(constY("geluK3"), u)
			VFMADD213PS(constY("geluK1"), x2, u) // k1 + k3·x²
			VMULPS(x, u, u)                      // 2u
			sg, oms := sigmoidPair256(e, u)
			du := YMM()
			VMOVUPS(constY("geluK3x3"), du)
			VFMADD213PS(constY("geluK1"), x2, du) // k1 + 3k3·x²
			VMULPS(x, du, du)
			VMULPS(oms, du, du)
			VFMADD213PS(sg, sg, du) // σ·(1 + x·(1 − σ)·du)
			return du
		}
	})

	backward256("geluBackward256", "(Φ(x) + x·φ(x))", func(e *expFn256) func(VecVirtual) VecVirtual {
		return func(x VecVirtual) VecVirtual {
			q, halfX := geluTail256(e, x)
			// φ(x) = exp(−x²/2)/√(2π), −x²/2 formed as −(x/2)·x + 0 as
			// in the AVX-512 kernel.
			VFNMADD213PS(constY("zero"), x, halfX)
			g := e.exp(halfX)
			phi := geluPhi256(e, x, q)
			VMULPS(constY("invSqrt2Pi"), g, g)
			VFMADD231PS(g, x, phi) // Φ + x·φ
			return phi
		}
	})
}
