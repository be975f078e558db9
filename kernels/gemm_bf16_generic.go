package kernels

import "math"

// gemmBF16Ref computes C = bf16(A)·op(B) + beta·C (k > 0) one element at a
// time, with VDPBF16PS's arithmetic (see GemmBF16).
func gemmBF16Ref(transA bool, m int, a []float32, lda int, pb *PackedBF16, beta float32, c []float32, ldc int) {
	k, kp, n := pb.k, pb.kp, pb.n
	arow := make([]uint16, kp)
	for i := range m {
		for p := range k {
			if transA {
				arow[p] = f32ToBF16(a[p*lda+i])
			} else {
				arow[p] = f32ToBF16(a[i*lda+p])
			}
		}
		if k < kp {
			arow[k] = 0
		}
		for j := range n {
			panel := pb.data[j/gemmBF16NR*gemmBF16NR*kp:]
			jj := 2 * (j % gemmBF16NR)
			var s float32
			if beta != 0 {
				s = beta * c[i*ldc+j]
			}
			for q := range kp / 2 {
				b := panel[q*2*gemmBF16NR+jj:]
				s = dpBF16(s, arow[2*q], arow[2*q+1], b[0], b[1])
			}
			c[i*ldc+j] = s
		}
	}
}

// dpBF16 is one lane of VDPBF16PS: s + a1·b1, then + a0·b0, each product
// exact and each sum rounded to nearest even, with subnormal inputs (s and
// the bfloat16 values) taken as zero and subnormal results flushed to zero.
func dpBF16(s float32, a0, a1, b0, b1 uint16) float32 {
	s = round32FTZ(float64(daz32(s)) + float64(bf16Widen(a1))*float64(bf16Widen(b1)))
	return round32FTZ(float64(s) + float64(bf16Widen(a0))*float64(bf16Widen(b0)))
}

// bf16Widen returns a bfloat16 value as a float32, a subnormal as zero with
// its sign.
func bf16Widen(h uint16) float32 {
	if h&0x7f80 == 0 {
		h &= 0x8000
	}
	return math.Float32frombits(uint32(h) << 16)
}

// daz32 returns x, or zero with x's sign when x is subnormal.
func daz32(x float32) float32 {
	b := math.Float32bits(x)
	if b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return x
}

// round32FTZ rounds x, the sum of a float32 and a product of two bfloat16
// values (exact in float64 whenever it matters: see below), to float32, to
// nearest even, and flushes a result below the normal range to zero with its
// sign. Tininess is judged after rounding, as x86 does: x is rounded to 24
// bits as if the exponent were unbounded, and flushed if that is below 2⁻¹²⁶.
//
// Rounding the float64 sum to float32 is the float32 sum rounded once: a sum
// of two values of at most 24 significant bits, rounded first to 53 bits and
// then to 24, is rounded correctly (53 ≥ 2·24 + 2).
func round32FTZ(x float64) float32 {
	if math.Abs(x) >= 0x1p-125 || x != x {
		return float32(x)
	}
	y := float32(x * 0x1p100) // exact scaling, then 24-bit rounding
	if math.Abs(float64(y)) < 0x1p-26 {
		return float32(math.Copysign(0, x))
	}
	return float32(float64(y) * 0x1p-100)
}
