package kernels

import "math"

// This file declares the precision conversions used when loading checkpoints
// stored in bfloat16 or IEEE half precision, and a dot product with bfloat16
// weights for decoding straight from such checkpoints. Values in those
// formats are passed as their raw bit patterns ([]uint16), as they sit in the
// file. dst and src must have the same length.

// BF16ToF32 widens bfloat16 values to float32. The conversion is exact: a
// bfloat16 is the upper half of a float32.
func BF16ToF32(dst []float32, src []uint16) { vec.bf16ToF32(dst, src) }

// F16ToF32 widens IEEE 754 half-precision values to float32. The conversion
// is exact for every finite value, subnormals included, and for ±Inf;
// signalling NaNs come out quiet, keeping sign and payload, as x86's VCVTPH2PS
// does.
func F16ToF32(dst []float32, src []uint16) { vec.f16ToF32(dst, src) }

// F32ToBF16 rounds float32 values to bfloat16, to nearest with ties to even;
// values beyond the largest bfloat16 become ±Inf and NaNs stay NaN (quiet,
// with the sign and upper payload bits kept).
func F32ToBF16(dst []uint16, src []float32) { vec.f32ToBF16(dst, src) }

// F32ToF16 rounds float32 values to IEEE 754 half precision, to nearest
// with ties to even, as x86's VCVTPS2PH does: values beyond the largest half
// become ±Inf, values below its normal range become subnormals (or ±0), and
// NaNs stay NaN (quiet, with the sign and upper payload bits kept). It stores
// the keys and values of a half-precision KV cache.
func F32ToF16(dst []uint16, src []float32) { vec.f32ToF16(dst, src) }

// DotBF16 returns Σ x[i]·w[i] for float32 activations x and bfloat16 weights
// w (len(w) must equal len(x)). The weights are widened exactly; the products
// and sums are float32.
func DotBF16(x []float32, w []uint16) float32 { return vec.dotBF16(x, w) }

// BF16ToF32Generic is the portable BF16ToF32.
func BF16ToF32Generic(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// F16ToF32Generic is the portable F16ToF32.
func F16ToF32Generic(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = f16ToF32(h)
	}
}

// F32ToF16Generic is the portable F32ToF16.
func F32ToF16Generic(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = floatToHalfBits(f)
	}
}

// HalfToFloat widens one IEEE 754 half-precision value to float32,
// exactly (NaNs made quiet): the scalar F16ToF32, for block scales and the
// like.
func HalfToFloat(h uint16) float32 { return f16ToF32(h) }

// f16ToF32 widens one half-precision value.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0: // ±0 and subnormals: mant·2⁻²⁴, exact in float32
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	case exp == 0x1f && mant == 0:
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0x1f: // NaN, made quiet
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// F32ToBF16Generic is the portable F32ToBF16.
func F32ToBF16Generic(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = f32ToBF16(f)
	}
}

// f32ToBF16 rounds one float32 to bfloat16, to nearest even.
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// DotBF16Generic is the portable DotBF16.
func DotBF16Generic(x []float32, w []uint16) float32 {
	w = w[:len(x)]
	var s float32
	for i, v := range x {
		s += v * math.Float32frombits(uint32(w[i])<<16)
	}
	return s
}
