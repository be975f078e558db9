package gguf

import "encoding/binary"

// The K-quants group 256 elements in a super-block. Only dequantization is
// implemented; the layouts are ggml's block_q4_K and block_q6_K.
const (
	qkK        = 256
	q4KBytes   = 2 + 2 + 12 + qkK/2         // d, dmin, scales, qs
	q6KBytes   = qkK/2 + qkK/4 + qkK/16 + 2 // ql, qh, scales, d
	q6KScales  = qkK/2 + qkK/4              // offset of the scales in a Q6_K block
	q6KDOffset = q6KScales + qkK/16         // offset of d in a Q6_K block
)

// scaleMinK4 unpacks the 6-bit scale and min of sub-block j (0…7) from the
// 12 scale bytes of a Q4_K block: sub-blocks 0–3 keep theirs in the low six
// bits of bytes j and j+4; 4–7 split theirs between a nibble of byte j+4 and
// the top two bits of bytes j−4 (scale) and j (min).
func scaleMinK4(j int, q []byte) (sc, m byte) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// decodeQ4_K dequantizes Q4_K super-blocks as ggml's dequantize_row_q4_K:
// each of the 8 sub-blocks of 32 has scale d·sc and offset dmin·m, and
// x = (d·sc)·q − dmin·m with q a 4-bit quant. Each 64 elements share 32 quant
// bytes: the first 32 take the low nibbles, the next 32 the high ones. The
// product and difference are rounded separately (no fused multiply-add).
func decodeQ4_K(dst []float32, src []byte) {
	for i := range len(dst) / qkK {
		b := src[i*q4KBytes : (i+1)*q4KBytes]
		d := halfToFloat(binary.LittleEndian.Uint16(b))
		dmin := halfToFloat(binary.LittleEndian.Uint16(b[2:]))
		scales, qs := b[4:16], b[16:]
		y := dst[i*qkK : (i+1)*qkK]
		for c := range 4 { // chunks of 64 elements
			sc, m := scaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = scaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			q := qs[32*c : 32*c+32]
			yc := y[64*c : 64*c+64]
			for l, v := range q {
				yc[l] = float32(d1*float32(v&0xf)) - m1
				yc[l+32] = float32(d2*float32(v>>4)) - m2
			}
		}
	}
}

// decodeQ6_K dequantizes Q6_K super-blocks as ggml's dequantize_row_q6_K:
// a 6-bit quant is 4 low bits from ql and 2 high bits from qh, minus 32, and
// x = (d·sc)·q with one int8 scale sc per 16 elements. Each half of 128
// elements uses 64 ql bytes (low nibbles for elements 0–31 and 32–63, high
// nibbles for 64–127) and 32 qh bytes (two bits for each of the four
// quarters).
func decodeQ6_K(dst []float32, src []byte) {
	for i := range len(dst) / qkK {
		b := src[i*q6KBytes : (i+1)*q6KBytes]
		d := halfToFloat(binary.LittleEndian.Uint16(b[q6KDOffset:]))
		y := dst[i*qkK : (i+1)*qkK]
		for h := range 2 { // halves of 128 elements
			ql := b[64*h : 64*h+64]
			qh := b[qkK/2+32*h : qkK/2+32*h+32]
			sc := b[q6KScales+8*h : q6KScales+8*h+8]
			yh := y[128*h : 128*h+128]
			for l := range 32 {
				is := l / 16
				q1 := int(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				yh[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yh[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yh[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yh[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}
