package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// genAVX2Convert emits the AVX2 variants of the 16-bit conversions and of
// the bfloat16 dot product, for a multiple of 8 elements. They give the same
// bits as the AVX-512 kernels (and the generic code): bfloat16 widens by a
// shift; float32 rounds to bfloat16 to nearest even with NaNs quietened;
// IEEE halves widen exactly with integer operations and one subtraction,
// since F16C (VCVTPH2PS) is not part of the AVX2+FMA baseline.
func genAVX2Convert() {
	fn("bf16ToF32_256", "func(dst *float32, src *uint16, n int)")
	Doc("bf16ToF32_256 widens n bfloat16 values to float32, n a multiple of 8.")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		forEach256(n, unrollMem, func(b block) {
			y := YMM()
			VPMOVZXWD(b.mem(src, 2), y)
			VPSLLD(U8(16), y, y)
			b.store(y, dst)
		})
		ret()
	}

	fn("dotBF16_256", "func(x *float32, w *uint16, n int) float32")
	Doc("dotBF16_256 returns Σ x[i]·w[i] over n elements (n a multiple of 8) with w in bfloat16, widened exactly.")
	{
		x, w, n := ptr("x"), ptr("w"), length()
		acc := zerosY(unrollMem)
		forEach256(n, unrollMem, func(b block) {
			y := YMM()
			VPMOVZXWD(b.mem(w, 2), y)
			VPSLLD(U8(16), y, y)
			VFMADD231PS(b.mem(x, 4), y, acc[b.j])
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	fn("f32ToF16_256", "func(dst *uint16, src *float32, n int)")
	Doc("f32ToF16_256 rounds n float32 values (n a multiple of 8) to IEEE half precision, to nearest even; it needs F16C (VCVTPS2PH).")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		forEach256(n, unrollMem, func(b block) {
			VCVTPS2PH(U8(0), b.load(src), b.mem(dst, 2))
		})
		ret()
	}

	fn("f32ToBF16_256", "func(dst *uint16, src *float32, n int)")
	Doc("f32ToBF16_256 rounds n float32 values (n a multiple of 8) to bfloat16, to nearest even; NaNs stay NaN (quietened).")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		forEach256(n, 2, func(b block) {
			x := b.load(src)
			r := YMM()
			VPSRLD(U8(16), x, r)
			VPAND(constY("bf16One"), r, r)
			VPADDD(constY("bf16Bias"), r, r)
			VPADDD(x, r, r) // x + 0x7fff + lsb
			VPSRLD(U8(16), r, r)
			nan := YMM()
			VCMPPS(U8(3), x, x, nan) // unordered: NaN
			VPSRLD(U8(16), x, x)
			VPOR(constY("bf16Quiet"), x, x)
			VBLENDVPS(nan, x, r, r)
			// Pack the eight 16-bit results (each below 2¹⁶, so no
			// saturation) in order: VPACKUSDW works within 128-bit lanes.
			hi := XMM()
			VEXTRACTI128(U8(1), r, hi)
			VPACKUSDW(hi, r.AsX(), hi)
			VMOVDQU(hi, b.mem(dst, 2))
		})
		ret()
	}

	fn("f16ToF32_256", "func(dst *float32, src *uint16, n int)")
	Doc("f16ToF32_256 widens n IEEE half-precision values (n a multiple of 8) to float32; NaNs stay NaN (quietened).")
	{
		dst, src, n := ptr("dst"), ptr("src"), length()
		forEach256(n, 2, func(b block) {
			h := YMM()
			VPMOVZXWD(b.mem(src, 2), h)
			// em: exponent and mantissa moved to float32's positions.
			// Rebiasing the exponent (+112) makes a normal half's
			// float32; a subnormal (or zero) half with mantissa m becomes
			// 2⁻¹⁴·(1 + m/2¹⁰) that way, from which subtracting 2⁻¹⁴
			// leaves m·2⁻²⁴ exactly. No operand is ever subnormal, so no
			// microcode assist is taken.
			em := YMM()
			VPSLLD(U8(13), h, em)
			VPAND(constY("f16EM"), em, em)
			f := YMM()
			VPADDD(constY("f16Rebias"), em, f)
			sub := YMM()
			VPADDD(constY("f16SubBias"), em, sub)
			VSUBPS(constY("f16Min"), sub, sub)
			tiny := YMM()
			VMOVUPS(constY("f32MinNormal"), tiny)
			VPCMPGTD(em, tiny, tiny) // exponent 0: em < 2²³
			VBLENDVPS(tiny, sub, f, f)
			// Infinities and NaNs (exponent 31): the float32 exponent
			// 255, the mantissa kept, and NaNs quietened as VCVTPH2PS
			// does.
			inf, nan := YMM(), YMM()
			VPCMPGTD(constY("f16InfM1"), em, inf) // em ≥ Inf's bits
			VPCMPGTD(constY("f16Inf"), em, nan)   // em > Inf's bits
			VPAND(constY("f32Quiet"), nan, nan)
			VPOR(constY("f32ExpMask"), em, em)
			VPOR(nan, em, em)
			VBLENDVPS(inf, em, f, f)
			VPSLLD(U8(16), h, h)
			VPAND(constY("signBit"), h, h)
			VPOR(h, f, f)
			b.store(f, dst)
		})
		ret()
	}
}
