package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/kernels"
)

// Decode converts src, the stored bytes of len(dst) elements of type t, to
// float32 in dst: F32, F16 and BF16 exactly, F64 rounded to nearest, and
// Q8_0, Q4_0, Q4_K and Q6_K dequantized as ggml does. len(src) must be the
// storage size of len(dst) elements (t.Bytes). Other types fail with an
// error matching checkpoint.ErrDType.
func Decode(dst []float32, src []byte, t Type) error {
	if !t.CanFloat32() {
		return sentinelf(checkpoint.ErrDType, "tensor type %v cannot be converted to float32", t)
	}
	want, err := t.Bytes(int64(len(dst)))
	if err != nil {
		return err
	}
	if int64(len(src)) != want {
		return fmt.Errorf("gguf: %d bytes of %v for %d elements, want %d", len(src), t, len(dst), want)
	}
	decode(dst, src, t)
	return nil
}

// chunk bounds the scratch buffers of conversions (a multiple of every
// block size).
const chunk = 4096

// decode is Decode after the checks.
func decode(dst []float32, src []byte, t Type) {
	le := binary.LittleEndian
	switch t {
	case F32:
		if littleEndian() && len(dst) > 0 {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst)), src)
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case F16, BF16:
		widen := kernels.BF16ToF32
		if t == F16 {
			widen = kernels.F16ToF32
		}
		if littleEndian() && aligned(src, 2) && len(dst) > 0 {
			widen(dst, unsafe.Slice((*uint16)(unsafe.Pointer(&src[0])), len(dst)))
			return
		}
		var buf [chunk]uint16
		for start := 0; start < len(dst); start += chunk {
			n := min(chunk, len(dst)-start)
			for i := range n {
				buf[i] = le.Uint16(src[2*(start+i):])
			}
			widen(dst[start:start+n], buf[:n])
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	case Q8_0:
		for i := range len(dst) / QK {
			b := src[i*34 : (i+1)*34]
			d := halfToFloat(le.Uint16(b))
			y := dst[i*QK : (i+1)*QK]
			for j, q := range b[2:] {
				y[j] = float32(int8(q)) * d
			}
		}
	case Q4_0:
		for i := range len(dst) / QK {
			b := src[i*18 : (i+1)*18]
			d := halfToFloat(le.Uint16(b))
			y := dst[i*QK : (i+1)*QK]
			for j, q := range b[2:] {
				y[j] = float32(int(q&15)-8) * d
				y[j+QK/2] = float32(int(q>>4)-8) * d
			}
		}
	case Q4_K:
		decodeQ4_K(dst, src)
	case Q6_K:
		decodeQ6_K(dst, src)
	default:
		panic("gguf: decode of " + t.String()) // callers check CanFloat32
	}
}

// Encode converts src to the stored bytes of type t: F32 as is, F16 and
// BF16 rounded to nearest even, Q8_0, Q4_0 and Q6_K quantized exactly as
// llama.cpp's reference quantizers (QuantizeQ8_0, QuantizeQ4_0,
// quantize_row_q6_K_ref). len(src) must be a multiple of the block size
// (32, or 256 for Q6_K). Other types fail with
// an error matching checkpoint.ErrDType.
func Encode(t Type, src []float32) ([]byte, error) {
	if !t.CanEncode() {
		return nil, sentinelf(checkpoint.ErrDType, "cannot encode float32 as %v", t)
	}
	n, err := t.Bytes(int64(len(src)))
	if err != nil {
		return nil, fmt.Errorf("gguf: encode: %w", err)
	}
	dst := make([]byte, n)
	var s scratch
	s.encode(dst, src, t)
	return dst, nil
}

// scratch holds the buffers of encode, so that a Writer streaming many
// chunks allocates them once.
type scratch struct {
	u16 []uint16
	q8  []BlockQ8_0
	q4  []BlockQ4_0
}

// encode writes src as type t into dst, which has exactly the storage size.
func (s *scratch) encode(dst []byte, src []float32, t Type) {
	le := binary.LittleEndian
	for start := 0; start < len(src); start += chunk {
		x := src[start:min(start+chunk, len(src))]
		switch t {
		case F32:
			out := dst[4*start:]
			for i, v := range x {
				le.PutUint32(out[4*i:], math.Float32bits(v))
			}
		case F16:
			out := dst[2*start:]
			for i, v := range x {
				le.PutUint16(out[2*i:], floatToHalf(v))
			}
		case BF16:
			if cap(s.u16) < len(x) {
				s.u16 = make([]uint16, chunk)
			}
			h := s.u16[:len(x)]
			kernels.F32ToBF16(h, x)
			out := dst[2*start:]
			for i, v := range h {
				le.PutUint16(out[2*i:], v)
			}
		case Q8_0:
			if cap(s.q8) < len(x)/QK {
				s.q8 = make([]BlockQ8_0, chunk/QK)
			}
			blocks := s.q8[:len(x)/QK]
			QuantizeQ8_0(blocks, x)
			out := dst[start/QK*34:]
			for i := range blocks {
				b := out[34*i : 34*(i+1)]
				le.PutUint16(b, blocks[i].D)
				for j, q := range blocks[i].Qs {
					b[2+j] = byte(q)
				}
			}
		case Q4_0:
			if cap(s.q4) < len(x)/QK {
				s.q4 = make([]BlockQ4_0, chunk/QK)
			}
			blocks := s.q4[:len(x)/QK]
			QuantizeQ4_0(blocks, x)
			out := dst[start/QK*18:]
			for i := range blocks {
				b := out[18*i : 18*(i+1)]
				le.PutUint16(b, blocks[i].D)
				copy(b[2:], blocks[i].Qs[:])
			}
		case Q6_K:
			quantizeQ6_K(dst[start/qkK*q6KBytes:], x)
		default:
			panic("gguf: encode as " + t.String()) // callers check CanEncode
		}
	}
}

// littleEndian reports whether the host stores integers little-endian, the
// byte order of GGUF files.
func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

// aligned reports whether b starts at a multiple of n bytes.
func aligned(b []byte, n uintptr) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%n == 0
}

// The block structs must match ggml's layouts byte for byte for the
// zero-copy views.
var (
	_ [34 - unsafe.Sizeof(BlockQ8_0{})]struct{}
	_ [unsafe.Sizeof(BlockQ8_0{}) - 34]struct{}
	_ [18 - unsafe.Sizeof(BlockQ4_0{})]struct{}
	_ [unsafe.Sizeof(BlockQ4_0{}) - 18]struct{}
)

// blockView reinterprets b as blocks of type B (of size bytes each) without
// copying when the host is little-endian and b is 2-byte aligned; ok is
// false otherwise.
func blockView[B BlockQ8_0 | BlockQ4_0](b []byte, size int) ([]B, bool) {
	if !littleEndian() || !aligned(b, 2) {
		return nil, false
	}
	if len(b) == 0 {
		return []B{}, true
	}
	return unsafe.Slice((*B)(unsafe.Pointer(&b[0])), len(b)/size), true
}

// copyQ8_0 decodes Q8_0 blocks from bytes (the fallback of blockView).
func copyQ8_0(b []byte) []BlockQ8_0 {
	out := make([]BlockQ8_0, len(b)/34)
	for i := range out {
		p := b[34*i:]
		out[i].D = binary.LittleEndian.Uint16(p)
		for j := range QK {
			out[i].Qs[j] = int8(p[2+j])
		}
	}
	return out
}

// copyQ4_0 decodes Q4_0 blocks from bytes (the fallback of blockView).
func copyQ4_0(b []byte) []BlockQ4_0 {
	out := make([]BlockQ4_0, len(b)/18)
	for i := range out {
		p := b[18*i:]
		out[i].D = binary.LittleEndian.Uint16(p)
		copy(out[i].Qs[:], p[2:18])
	}
	return out
}
