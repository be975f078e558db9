package gguf

import (
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// halfToFloat widens an IEEE 754 half-precision value (the block scales of
// the quantized types) to float32, exactly.
func halfToFloat(h uint16) float32 { return kernels.HalfToFloat(h) }

// floatToHalf rounds a float32 to half precision, to nearest with ties to
// even, as ggml's GGML_FP32_TO_FP16 (F16C's VCVTPS2PH with rounding mode 0)
// does: values beyond the half range become ±Inf, values below it round
// through the subnormals to ±0, and NaNs stay NaN (quiet, sign and upper
// payload bits kept).
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	case exp > 127+15: // beyond the largest finite half, before rounding
		return sign | 0x7c00
	case exp >= 127-14: // normal half range
		// Keep 10 mantissa bits; round the 13 dropped ones to nearest even.
		// A carry out of the mantissa correctly bumps the exponent (up to Inf).
		h := uint32(exp-127+15)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	case exp >= 127-25: // subnormal half (or rounds up to the smallest one)
		m := mant | 0x800000                  // implicit bit
		shift := uint32(-exp + 127 - 14 + 13) // 14..24
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || rest == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	default: // below half the smallest subnormal: ±0
		return sign
	}
}
