package gguf

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/kernels"
)

func TestHalf(t *testing.T) {
	// Every half survives float32 and back (NaNs stay NaN).
	wide := make([]float32, 1<<16)
	bits := make([]uint16, 1<<16)
	for i := range bits {
		bits[i] = uint16(i)
	}
	kernels.F16ToF32Generic(wide, bits)
	for i, h := range bits {
		if f := halfToFloat(h); !sameBits(f, wide[i]) {
			t.Fatalf("halfToFloat(%#04x) = %g, kernels say %g", h, f, wide[i])
		}
		back := floatToHalf(wide[i])
		if wide[i] == wide[i] && back != h || wide[i] != wide[i] && back&0x7c00 != 0x7c00 {
			t.Fatalf("floatToHalf(%g) = %#04x, want %#04x", wide[i], back, h)
		}
	}
	// Random float32 values round to the nearest half, ties to even: check
	// against the two halves around them.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		f := math.Float32frombits(rng.Uint32())
		if f != f {
			continue
		}
		h := floatToHalf(f)
		checkNearestHalf(t, f, h)
	}
	for _, f := range []float32{65504, 65519.99, 65520, 1e-8, 2.98e-8, 0x1p-25, 0x1.000002p-25, 0x1p-24, 0x1.8p-24, 0x1p-14, -0x1.ffcp-15, 1.00048828125, 1.00146484375} {
		checkNearestHalf(t, f, floatToHalf(f))
		checkNearestHalf(t, -f, floatToHalf(-f))
	}
}

// checkNearestHalf checks that h is the correctly rounded half of f. (No
// t.Helper: it runs 200,000 times.)
func checkNearestHalf(t *testing.T, f float32, h uint16) {
	x := float64(f)
	got := float64(halfToFloat(h))
	if math.Abs(x) >= 65520 { // rounds to ±Inf
		if !math.IsInf(got, int(math.Copysign(1, x))) {
			t.Fatalf("floatToHalf(%g) = %g, want ±Inf", f, got)
		}
		return
	}
	if math.Signbit(got) != math.Signbit(x) {
		t.Fatalf("floatToHalf(%g) = %g: sign lost", f, got)
	}
	// The neighbours of h in the direction of f.
	for _, n := range []uint16{h - 1, h + 1} {
		if n&0x7fff >= 0x7c00 || (n^h)&0x8000 != 0 {
			continue
		}
		other := float64(halfToFloat(n))
		de, do := math.Abs(got-x), math.Abs(other-x)
		if do < de || do == de && h&1 == 1 {
			t.Fatalf("floatToHalf(%g) = %g (%#04x), but %g (%#04x) is nearer or even", f, got, h, other, n)
		}
	}
}

func TestQuantizeQ8_0EdgeCases(t *testing.T) {
	x := make([]float32, 4*QK)
	// Block 0: all zero, d = 0. Block 1: ramp −16…15, amax 16 from the first.
	for j := range QK {
		x[QK+j] = float32(j - 16)
	}
	// Block 2: a NaN among normal values: C's MAX lets it reset amax.
	for j := range QK {
		x[2*QK+j] = 1
	}
	x[2*QK+5] = float32(math.NaN())
	x[2*QK+6] = 0.5 // after the NaN, amax restarts from here: 0.5, then 1 again
	// Block 3: tiny values.
	for j := range QK {
		x[3*QK+j] = float32(j) * 1e-30
	}
	b := make([]BlockQ8_0, 4)
	QuantizeQ8_0(b, x)
	if b[0].D != 0 || b[0].Qs != [QK]int8{} {
		t.Errorf("zero block: %+v", b[0])
	}
	if b[1].Scale() != halfToFloat(floatToHalf(16.0/127)) || b[1].Qs[0] != -127 || b[1].Qs[16] != 0 || b[1].Qs[31] != 119 {
		t.Errorf("ramp block: d %g, q %v", b[1].Scale(), b[1].Qs)
	}
	if b[2].Qs[0] != 127 || b[2].Qs[6] != 64 {
		t.Errorf("NaN block: %v", b[2].Qs)
	}
	if b[3].Qs[31] != 127 || b[3].D != 0 {
		// d = 31e-30/127 underflows to a zero half: the quants still carry
		// the float32 d, as in ggml.
		t.Errorf("tiny block: d %#04x, q %v", b[3].D, b[3].Qs)
	}
	y := make([]float32, len(x))
	DequantizeQ8_0(y, b)
	for j := range QK {
		if y[j] != 0 || y[QK+j] != float32(b[1].Qs[j])*b[1].Scale() {
			t.Fatalf("dequantized %d: %g %g", j, y[j], y[QK+j])
		}
	}
}

func TestQuantizeQ4_0EdgeCases(t *testing.T) {
	x := make([]float32, 3*QK)
	// Block 0: ties in |x|: +0.5 comes first, so max = 0.5 and d = −1/16.
	for j := range QK {
		x[j] = 0.5 * float32(j%3-1) // -0.5, 0, 0.5, ...
	}
	x[0], x[1] = 0.5, -0.5
	// Block 1: ramp where the largest magnitude is negative.
	for j := range QK {
		x[QK+j] = float32(j-20) / 20 // −1 … 0.55
	}
	b := make([]BlockQ4_0, 3)
	QuantizeQ4_0(b, x)
	if b[0].Scale() != -1.0/16 {
		t.Errorf("tie block: d = %g, want −1/16", b[0].Scale())
	}
	if q0, q1 := b[0].Qs[0]&15, b[0].Qs[1]&15; q0 != 0 || q1 != 15 {
		t.Errorf("tie block: q(0.5) = %d, q(−0.5) = %d, want 0 and 15 (clipped)", q0, q1)
	}
	// d = 0/−8 is −0, stored as the half −0 (0x8000) just as ggml does.
	if b[2].D != 0x8000 || b[2].Qs != [16]byte{0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88} {
		t.Errorf("zero block: %+v (quants must be 8 = zero)", b[2])
	}
	y := make([]float32, len(x))
	DequantizeQ4_0(y, b)
	d := b[1].Scale()
	for j := range QK {
		if e := math.Abs(float64(y[QK+j] - x[QK+j])); e > math.Abs(float64(d))*0.5001 {
			t.Errorf("ramp element %d: %g, want %g (d %g)", j, y[QK+j], x[QK+j], d)
		}
	}
}

// TestDequantizeLayout decodes hand-made blocks, checking the element order.
func TestDequantizeLayout(t *testing.T) {
	var q8 BlockQ8_0
	q8.D = 0x4000 // 2
	for j := range QK {
		q8.Qs[j] = int8(j - 16)
	}
	var q4 BlockQ4_0
	q4.D = 0xbc00 // −1
	for j := range QK / 2 {
		q4.Qs[j] = byte(j) | byte(15-j)<<4
	}
	y8 := make([]float32, QK)
	DequantizeQ8_0(y8, []BlockQ8_0{q8})
	y4 := make([]float32, QK)
	DequantizeQ4_0(y4, []BlockQ4_0{q4})
	for j := range QK {
		if y8[j] != float32(2*(j-16)) {
			t.Errorf("Q8_0 element %d = %g", j, y8[j])
		}
		want := -float32(j - 8) // low nibbles: j
		if j >= 16 {
			want = -float32(15 - (j - 16) - 8) // high nibbles: 15 − (j−16)
		}
		if y4[j] != want {
			t.Errorf("Q4_0 element %d = %g, want %g", j, y4[j], want)
		}
	}
	// Decode from bytes agrees with the block functions.
	raw8 := binary.LittleEndian.AppendUint16(nil, q8.D)
	for _, q := range q8.Qs {
		raw8 = append(raw8, byte(q))
	}
	raw4 := append(binary.LittleEndian.AppendUint16(nil, q4.D), q4.Qs[:]...)
	for _, tc := range []struct {
		typ  Type
		raw  []byte
		want []float32
	}{{Q8_0, raw8, y8}, {Q4_0, raw4, y4}} {
		got := make([]float32, QK)
		if err := Decode(got, tc.raw, tc.typ); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Decode %v = %v, %v", tc.typ, got, err)
		}
	}
}

// packQ4_K builds a Q4_K block from 6-bit scales and mins per sub-block of
// 32 and 4-bit quants, following the packing of ggml's quantize_row_q4_K.
func packQ4_K(d, dmin uint16, sc, m [8]byte, q [256]byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, d)
	b = binary.LittleEndian.AppendUint16(b, dmin)
	var s [12]byte
	for j := range 4 {
		s[j] = sc[j] | (sc[j+4]>>4)<<6
		s[j+4] = m[j] | (m[j+4]>>4)<<6
		s[j+8] = sc[j+4]&15 | (m[j+4]&15)<<4
	}
	b = append(b, s[:]...)
	for c := range 4 {
		for l := range 32 {
			b = append(b, q[64*c+l]|q[64*c+32+l]<<4)
		}
	}
	return b
}

// packQ6_K builds a Q6_K block from 6-bit quants (0…63, value q−32) and an
// int8 scale per 16 elements, following ggml's quantize_row_q6_K.
func packQ6_K(d uint16, sc [16]int8, q [256]byte) []byte {
	ql := make([]byte, 128)
	qh := make([]byte, 64)
	for h := range 2 {
		for l := range 32 {
			e := 128*h + l
			ql[64*h+l] = q[e]&15 | (q[e+64]&15)<<4
			ql[64*h+l+32] = q[e+32]&15 | (q[e+96]&15)<<4
			qh[32*h+l] = q[e]>>4 | (q[e+32]>>4)<<2 | (q[e+64]>>4)<<4 | (q[e+96]>>4)<<6
		}
	}
	b := append(ql, qh...)
	for _, s := range sc {
		b = append(b, byte(s))
	}
	return binary.LittleEndian.AppendUint16(b, d)
}

func TestDequantizeKQuants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 20 {
		var sc, m [8]byte
		var q4 [256]byte
		for j := range 8 {
			sc[j], m[j] = byte(rng.IntN(64)), byte(rng.IntN(64))
		}
		for j := range q4 {
			q4[j] = byte(rng.IntN(16))
		}
		d, dmin := floatToHalf(float32(rng.Float64()*0.01)), floatToHalf(float32(rng.Float64()*0.01))
		raw := packQ4_K(d, dmin, sc, m, q4)
		if len(raw) != Q4_K.BlockBytes() {
			t.Fatalf("Q4_K block of %d bytes", len(raw))
		}
		got := make([]float32, 256)
		if err := Decode(got, raw, Q4_K); err != nil {
			t.Fatal(err)
		}
		for e := range 256 {
			s := e / 32
			want := float64(halfToFloat(d))*float64(sc[s])*float64(q4[e]) - float64(halfToFloat(dmin))*float64(m[s])
			if math.Abs(float64(got[e])-want) > 1e-6*math.Abs(want)+1e-9 {
				t.Fatalf("trial %d: Q4_K element %d = %g, want %g", trial, e, got[e], want)
			}
		}

		var sc6 [16]int8
		var q6 [256]byte
		for j := range sc6 {
			sc6[j] = int8(rng.IntN(256) - 128)
		}
		for j := range q6 {
			q6[j] = byte(rng.IntN(64))
		}
		d6 := floatToHalf(float32(rng.Float64() * 0.01))
		raw = packQ6_K(d6, sc6, q6)
		if len(raw) != Q6_K.BlockBytes() {
			t.Fatalf("Q6_K block of %d bytes", len(raw))
		}
		if err := Decode(got, raw, Q6_K); err != nil {
			t.Fatal(err)
		}
		for e := range 256 {
			want := float64(halfToFloat(d6)) * float64(sc6[e/16]) * float64(int(q6[e])-32)
			if math.Abs(float64(got[e])-want) > 1e-6*math.Abs(want)+1e-9 {
				t.Fatalf("trial %d: Q6_K element %d = %g, want %g", trial, e, got[e], want)
			}
		}
	}
}

func TestDecodeEncodeErrors(t *testing.T) {
	if err := Decode(make([]float32, 32), make([]byte, 10), Q8_0); err == nil {
		t.Error("Decode with the wrong byte count succeeded")
	}
	if err := Decode(make([]float32, 33), make([]byte, 34), Q8_0); err == nil {
		t.Error("Decode of a partial block succeeded")
	}
	if err := Decode(make([]float32, 32), make([]byte, 22), Q5_0); !errors.Is(err, checkpoint.ErrDType) {
		t.Errorf("Decode of Q5_0: %v", err)
	}
	if _, err := Encode(Q4_K, make([]float32, 256)); !errors.Is(err, checkpoint.ErrDType) {
		t.Errorf("Encode as Q4_K: %v", err)
	}
	if _, err := Encode(Q8_0, make([]float32, 31)); err == nil {
		t.Error("Encode of a partial Q8_0 block succeeded")
	}
	for name, f := range map[string]func(){
		"QuantizeQ8_0":   func() { QuantizeQ8_0(make([]BlockQ8_0, 1), make([]float32, 31)) },
		"QuantizeQ4_0":   func() { QuantizeQ4_0(make([]BlockQ4_0, 2), make([]float32, 32)) },
		"DequantizeQ8_0": func() { DequantizeQ8_0(make([]float32, 1), make([]BlockQ8_0, 1)) },
		"DequantizeQ4_0": func() { DequantizeQ4_0(make([]float32, 64), make([]BlockQ4_0, 1)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with mismatched lengths did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestTypes(t *testing.T) {
	for _, tc := range []struct {
		typ          Type
		name         string
		block, bytes int
	}{{F32, "F32", 1, 4}, {F16, "F16", 1, 2}, {BF16, "BF16", 1, 2}, {Q8_0, "Q8_0", 32, 34}, {Q4_0, "Q4_0", 32, 18},
		{Q4_K, "Q4_K", 256, 144}, {Q6_K, "Q6_K", 256, 210}, {MXFP4, "MXFP4", 32, 17}} {
		if tc.typ.String() != tc.name || tc.typ.BlockSize() != tc.block || tc.typ.BlockBytes() != tc.bytes {
			t.Errorf("%v: %d, %d", tc.typ, tc.typ.BlockSize(), tc.typ.BlockBytes())
		}
		if p, err := ParseType(tc.name); err != nil || p != tc.typ {
			t.Errorf("ParseType(%s) = %v, %v", tc.name, p, err)
		}
	}
	if Type(4).Known() || Type(4).String() != "Type(4)" || Type(1000).BlockSize() != 0 {
		t.Error("removed type 4 is known")
	}
	if _, err := ParseType("Q4_2"); err == nil {
		t.Error("ParseType(Q4_2) succeeded")
	}
	if n, err := Q8_0.Bytes(64); err != nil || n != 68 {
		t.Errorf("Q8_0.Bytes(64) = %d, %v", n, err)
	}
	if _, err := Q8_0.Bytes(33); err == nil {
		t.Error("Q8_0.Bytes(33) succeeded")
	}
}
