package gguf

import (
	"encoding/binary"
	"math"
)

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is
// below it quantizes to zeros.
const groupMaxEps = 1e-15

// nearestInt rounds x to the nearest integer, ties to even, the way ggml's
// nearest_int does it (adding 1.5·2²³ in float32 and reading the mantissa);
// |x| must be at most 2²² − 1.
func nearestInt(x float32) int {
	v := float32(x + 12582912)
	return int(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// qxQuants quantizes the group x to signed levels in [−nmax, nmax) with one
// scale, as ggml's make_qx_quants with rmse_type 1 (weights x²): the scale
// −nmax/max is refined over 18 neighbouring candidates, keeping the one
// that maximises (Σ w·x·l)² / Σ w·l². It stores level + nmax in L and
// returns the scale. Every product is rounded to float32 as ggml's C does.
func qxQuants(x []float32, L []int8, nmax int) float32 {
	var vmax, amax float32 // the value of largest magnitude, and its magnitude
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, vmax = a, v
		}
	}
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	level := func(iscale, v float32) int {
		return min(nmax-1, max(-nmax, nearestInt(float32(iscale*v))))
	}
	sums := func(iscale float32) (sumlx, suml2 float32) {
		for _, v := range x {
			l := float32(level(iscale, v))
			w := float32(v * v)
			sumlx += float32(float32(w*v) * l)
			suml2 += float32(float32(w*l) * l)
		}
		return sumlx, suml2
	}
	iscale := float32(-float32(nmax) / vmax)
	for i, v := range x {
		L[i] = int8(level(iscale, v) + nmax)
	}
	sumlx, suml2 := sums(iscale)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := float32(scale * sumlx)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale := float32(-float32(float32(nmax)+float32(0.1*float32(is))) / vmax)
		sumlx, suml2 := sums(iscale)
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				L[i] = int8(level(iscale, v) + nmax)
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

// quantizeQ6_K writes len(src)/256 Q6_K super-blocks to dst as ggml's
// quantize_row_q6_K_ref: sixteen groups of 16 with a scale each
// (make_qx_quants, 32 levels), the scales quantized to int8 against a
// half-precision super-block scale d = max_scale / −128, then every value
// requantized to 6 bits with its group's rounded scale; the low 4 bits go
// to ql and the high 2 to qh (see decodeQ6_K for the layout).
func quantizeQ6_K(dst []byte, src []float32) {
	var L [qkK]int8
	var scales [qkK / 16]float32
	for i := range len(src) / qkK {
		x := src[i*qkK : (i+1)*qkK]
		b := dst[i*q6KBytes : (i+1)*q6KBytes]
		var maxScale, maxAbs float32
		for ib := range scales {
			s := qxQuants(x[16*ib:16*ib+16], L[16*ib:16*ib+16], 32)
			scales[ib] = s
			if a := float32(math.Abs(float64(s))); a > maxAbs {
				maxAbs, maxScale = a, s
			}
		}
		if maxAbs < groupMaxEps {
			clear(b)
			continue
		}
		iscale := float32(-128 / maxScale)
		d := floatToHalf(float32(1 / iscale))
		binary.LittleEndian.PutUint16(b[q6KDOffset:], d)
		sc := b[q6KScales:q6KDOffset]
		for ib, s := range scales {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*s)))))
		}
		dh := halfToFloat(d)
		for j := range scales {
			dj := float32(dh * float32(int8(sc[j])))
			if dj == 0 {
				continue
			}
			for ii := range 16 {
				l := nearestInt(float32(x[16*j+ii] / dj))
				L[16*j+ii] = int8(max(-32, min(31, l)) + 32)
			}
		}
		ql, qh := b[:qkK/2], b[qkK/2:q6KScales]
		for h := range 2 {
			Lh := L[128*h : 128*h+128]
			qlh, qhh := ql[64*h:64*h+64], qh[32*h:32*h+32]
			for l := range 32 {
				q1, q2, q3, q4 := byte(Lh[l])&0xf, byte(Lh[l+32])&0xf, byte(Lh[l+64])&0xf, byte(Lh[l+96])&0xf
				qlh[l] = q1 | q3<<4
				qlh[l+32] = q2 | q4<<4
				qhh[l] = byte(Lh[l])>>4 | (byte(Lh[l+32])>>4)<<2 | (byte(Lh[l+64])>>4)<<4 | (byte(Lh[l+96])>>4)<<6
			}
		}
	}
}
