package gguf

import (
	"fmt"
	"math"
)

// QK is the number of elements in one Q8_0 or Q4_0 block.
const QK = 32

// BlockQ8_0 is one Q8_0 block, laid out as ggml's block_q8_0 (34 bytes, no
// padding): element j of the block is float32(Qs[j])·d with d = the half-
// precision scale D.
type BlockQ8_0 struct {
	D  uint16   // scale d, IEEE half-precision bits
	Qs [QK]int8 // quants
}

// BlockQ4_0 is one Q4_0 block, laid out as ggml's block_q4_0 (18 bytes, no
// padding): element j < 16 is the low nibble of Qs[j], element j+16 its
// high nibble, and an element with nibble q is (q−8)·d with d = the half-
// precision scale D.
type BlockQ4_0 struct {
	D  uint16       // scale d, IEEE half-precision bits
	Qs [QK / 2]byte // nibbles: element j in Qs[j]&15, element j+16 in Qs[j]>>4
}

// Scale returns the block's scale d as float32.
func (b *BlockQ8_0) Scale() float32 { return halfToFloat(b.D) }

// Scale returns the block's scale d as float32.
func (b *BlockQ4_0) Scale() float32 { return halfToFloat(b.D) }

// checkBlocks panics unless n values fill nb blocks of QK exactly.
func checkBlocks(op string, n, nb int) {
	if n != nb*QK {
		panic(fmt.Sprintf("gguf: %s: %d values for %d blocks of %d", op, n, nb, QK))
	}
}

// QuantizeQ8_0 quantizes src into Q8_0 blocks exactly as llama.cpp's
// reference quantizer quantize_row_q8_0_ref (the one its converters and
// llama-quantize use without an importance matrix): per block of 32, in
// float32 arithmetic, amax = max |x|, d = amax/127, q = round(x·(1/d)) half
// away from zero (q = 0 when d = 0), with d stored as half precision. The
// quants are computed from the float32 d, not the rounded one.
// len(src) must be 32·len(dst); QuantizeQ8_0 panics otherwise.
func QuantizeQ8_0(dst []BlockQ8_0, src []float32) {
	checkBlocks("QuantizeQ8_0", len(src), len(dst))
	for i := range dst {
		x := src[i*QK : (i+1)*QK : (i+1)*QK]
		var amax float32
		for _, v := range x {
			a := float32(math.Abs(float64(v)))
			if !(amax > a) { // C's MAX(amax, a), NaN included
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		b := &dst[i]
		b.D = floatToHalf(d)
		for j, v := range x {
			x0 := float32(v * id) // rounded to float32: no fused multiply-add
			b.Qs[j] = int8(math.Round(float64(x0)))
		}
	}
}

// QuantizeQ4_0 quantizes src into Q4_0 blocks exactly as llama.cpp's
// reference quantizer quantize_row_q4_0_ref: per block of 32, max = the
// signed value of largest magnitude (the first one on ties), d = max/−8,
// and with id = 1/d (0 when d = 0) each quant is q = min(15,
// int8(x·id + 8.5)), truncating toward zero, all in float32; element j goes
// in the low nibble of byte j, element j+16 in its high nibble. Note that
// the largest-magnitude element maps to q = 0 and the other end of the range
// reaches only q = 15, i.e. +7·|d|.
// len(src) must be 32·len(dst); QuantizeQ4_0 panics otherwise.
func QuantizeQ4_0(dst []BlockQ4_0, src []float32) {
	checkBlocks("QuantizeQ4_0", len(src), len(dst))
	for i := range dst {
		x := src[i*QK : (i+1)*QK : (i+1)*QK]
		var amax, mx float32
		for _, v := range x {
			if a := float32(math.Abs(float64(v))); amax < a {
				amax, mx = a, v
			}
		}
		d := mx / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		b := &dst[i]
		b.D = floatToHalf(d)
		for j := range QK / 2 {
			b.Qs[j] = nibble(x[j], id) | nibble(x[j+QK/2], id)<<4
		}
	}
}

// nibble is one Q4_0 quant: MIN(15, (int8_t)(x*id + 8.5f)) in C. The
// conversion truncates toward zero; the result is 0…15 for finite input.
func nibble(x, id float32) byte {
	t := float32(x*id) + 8.5 // two float32 roundings, as in C
	q := int8(t)
	if q > 15 {
		q = 15
	}
	return byte(q)
}

// DequantizeQ8_0 expands Q8_0 blocks into dst as llama.cpp's
// dequantize_row_q8_0 does: x = float32(q)·d, one float32 product per
// element. len(dst) must be 32·len(src); DequantizeQ8_0 panics otherwise.
func DequantizeQ8_0(dst []float32, src []BlockQ8_0) {
	checkBlocks("DequantizeQ8_0", len(dst), len(src))
	for i := range src {
		b := &src[i]
		d := halfToFloat(b.D)
		y := dst[i*QK : (i+1)*QK : (i+1)*QK]
		for j, q := range b.Qs {
			y[j] = float32(q) * d
		}
	}
}

// DequantizeQ4_0 expands Q4_0 blocks into dst as llama.cpp's
// dequantize_row_q4_0 does: x = float32(q−8)·d. len(dst) must be
// 32·len(src); DequantizeQ4_0 panics otherwise.
func DequantizeQ4_0(dst []float32, src []BlockQ4_0) {
	checkBlocks("DequantizeQ4_0", len(dst), len(src))
	for i := range src {
		b := &src[i]
		d := halfToFloat(b.D)
		y := dst[i*QK : (i+1)*QK : (i+1)*QK]
		for j, q := range b.Qs {
			y[j] = float32(int(q&15)-8) * d
			y[j+QK/2] = float32(int(q>>4)-8) * d
		}
	}
}
