package kernels

import (
	"fmt"
	"math"
)

// QuantizeQ8_0Generic is the portable QuantizeQ8_0.
func QuantizeQ8_0Generic(q []int8, d []float32, s []int32, x []float32) {
	nb := checkQuantRow("QuantizeQ8_0", len(x), len(q), len(d))
	quantizeGeneric(q, d, s[:nb], x)
}

func quantizeGeneric(q []int8, d []float32, s []int32, x []float32) {
	nb := len(x) / QK
	for b := range nb {
		xs := x[b*QK : (b+1)*QK : (b+1)*QK]
		var amax float32
		for _, v := range xs {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax = a
			}
		}
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		d[b] = roundHalf(amax / 127)
		qs := q[b*QK : (b+1)*QK : (b+1)*QK]
		var sum int32
		for j, v := range xs {
			qs[j] = satInt8(float32(v * id))
			sum += int32(qs[j])
		}
		s[b] = sum
	}
}

// satInt8 rounds v to the nearest integer, ties to even, and saturates it
// to int8 as VCVTPS2DQ and VPMOVSDB do (NaN gives −128).
func satInt8(v float32) int8 {
	switch r := math.RoundToEven(float64(v)); {
	case r >= 127:
		return 127
	case r >= -128:
		return int8(r)
	}
	return -128
}

// roundHalf rounds f to IEEE half precision (to nearest, ties to even, as
// VCVTPS2PH with rounding mode 0) and widens it back.
func roundHalf(f float32) float32 { return halfBitsToFloat(floatToHalfBits(f)) }

// floatToHalfBits rounds a float32 to half precision, to nearest even;
// values beyond the half range become ±Inf, NaNs stay NaN.
func floatToHalfBits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff:
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	case exp > 127+15:
		return sign | 0x7c00
	case exp >= 127-14: // normal: keep 10 mantissa bits, round the 13 dropped
		h := uint32(exp-127+15)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++ // a carry out of the mantissa bumps the exponent, up to Inf
		}
		return sign | uint16(h)
	case exp >= 127-25: // subnormal half
		m := mant | 0x800000
		shift := uint32(-exp + 127 - 14 + 13)
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || rest == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	return sign
}

// halfBitsToFloat widens a half-precision value to float32 exactly.
func halfBitsToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0:
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	case exp == 0x1f && mant == 0:
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// blockScale returns the half-precision scale at the start of a block.
func blockScale(b []byte) float32 { return halfBitsToFloat(uint16(b[0]) | uint16(b[1])<<8) }

// MatVecQ8_0Generic is the portable MatVecQ8_0, accumulating in the same
// order as the assembly (llama.cpp's).
func MatVecQ8_0Generic(y []float32, w []byte, x *Q8Rows, n int) {
	checkMatVecQ("MatVecQ8_0", len(y), len(w), x, n, Q8_0BlockBytes)
	q, d, s := x.row(n)
	matVecQ8Generic(y, w, q, d, s, false)
}

// MatVecQ4_0Generic is the portable MatVecQ4_0.
func MatVecQ4_0Generic(y []float32, w []byte, x *Q8Rows, n int) {
	checkMatVecQ("MatVecQ4_0", len(y), len(w), x, n, Q4_0BlockBytes)
	q, d, s := x.row(n)
	matVecQ4Generic(y, w, q, d, s, false)
}

// matVecQ8Generic accumulates as llama.cpp's vec_dot_q8_0_q8_0 on x86:
// 8 float32 lanes (lane l takes elements 4l…4l+3 of every block), each a
// multiply-add of the lane's int32 sum with d_w·d_x, reduced as
// hsum_float_8.
func matVecQ8Generic(y []float32, w []byte, q []int8, d []float32, _ []int32, add bool) {
	nb := len(d)
	row := nb * Q8_0BlockBytes
	for o := range y {
		wr := w[o*row : (o+1)*row]
		var acc [8]float32
		for b := range nb {
			blk := wr[b*Q8_0BlockBytes : (b+1)*Q8_0BlockBytes]
			xs := q[b*QK : (b+1)*QK : (b+1)*QK]
			s := blockScale(blk) * d[b]
			for l := range acc {
				var sum int32
				for j := 4 * l; j < 4*l+4; j++ {
					sum += int32(int8(blk[2+j])) * int32(xs[j])
				}
				acc[l] = fma32(float32(sum), s, acc[l])
			}
		}
		v := hsum8(acc)
		if add {
			v += y[o]
		}
		y[o] = v
	}
}

// hsum8 adds 8 lanes as llama.cpp's hsum_float_8: x = hi + lo, then
// (x₀ + x₂) + (x₁ + x₃).
func hsum8(a [8]float32) float32 {
	x0, x1, x2, x3 := a[4]+a[0], a[5]+a[1], a[6]+a[2], a[7]+a[3]
	return (x0 + x2) + (x1 + x3)
}

// fma32 returns a·b + c rounded once to float32 but for the rare double
// rounding through float64 (the product itself is exact in float64).
func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }

// matVecQ4Generic accumulates as llama.cpp's repacked Q4_0 kernels: per
// block, the whole int32 sum multiply-added with d_w·d_x.
func matVecQ4Generic(y []float32, w []byte, q []int8, d []float32, _ []int32, add bool) {
	nb := len(d)
	row := nb * Q4_0BlockBytes
	for o := range y {
		wr := w[o*row : (o+1)*row]
		var s float32
		for b := range nb {
			blk := wr[b*Q4_0BlockBytes : (b+1)*Q4_0BlockBytes]
			xs := q[b*QK : (b+1)*QK : (b+1)*QK]
			var sum int32
			for j := range QK / 2 {
				v := blk[2+j]
				sum += (int32(v&15)-8)*int32(xs[j]) + (int32(v>>4)-8)*int32(xs[j+QK/2])
			}
			s = fma32(float32(sum), blockScale(blk)*d[b], s)
		}
		if add {
			s += y[o]
		}
		y[o] = s
	}
}

// DequantizeQ8_0 expands len(dst)/32 Q8_0 blocks of src into dst: element
// j of a block is float32(q[j])·d, as llama.cpp's dequantize_row_q8_0.
func DequantizeQ8_0(dst []float32, src []byte) {
	nb := checkDequant("DequantizeQ8_0", len(dst), len(src), Q8_0BlockBytes)
	for b := range nb {
		blk := src[b*Q8_0BlockBytes : (b+1)*Q8_0BlockBytes]
		s := blockScale(blk)
		out := dst[b*QK : (b+1)*QK : (b+1)*QK]
		for j := range out {
			out[j] = float32(int8(blk[2+j])) * s
		}
	}
}

// DequantizeQ4_0 expands len(dst)/32 Q4_0 blocks of src into dst: element
// j is float32(n−8)·d, as llama.cpp's dequantize_row_q4_0.
func DequantizeQ4_0(dst []float32, src []byte) {
	nb := checkDequant("DequantizeQ4_0", len(dst), len(src), Q4_0BlockBytes)
	for b := range nb {
		blk := src[b*Q4_0BlockBytes : (b+1)*Q4_0BlockBytes]
		s := blockScale(blk)
		out := dst[b*QK : (b+1)*QK : (b+1)*QK]
		for j := range QK / 2 {
			v := blk[2+j]
			out[j] = float32(int(v&15)-8) * s
			out[j+QK/2] = float32(int(v>>4)-8) * s
		}
	}
}

func checkDequant(op string, n, nsrc, size int) int {
	if n%QK != 0 || nsrc < n/QK*size {
		panic(fmt.Sprintf("kernels: %s: %d values (whole blocks of %d) from %d bytes", op, n, QK, nsrc))
	}
	return n / QK
}
