package checkpoint

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/glossa-ai/glossa/kernels"
)

// littleEndian reports whether the host stores integers little-endian, the
// byte order of every checkpoint format read here.
func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

// float32Bytes returns the memory of x as bytes.
func float32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// aligned reports whether b starts at a multiple of n bytes.
func aligned(b []byte, n uintptr) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%n == 0
}

// chunk bounds the scratch buffer used to convert unaligned 16-bit data.
const chunk = 1024

// toFloat32 converts src, little-endian elements of the floating-point dtype
// dt, into dst. len(dst) must equal len(src)/dt.Size(). F32, F16, BF16 and
// the 8-bit floats convert exactly; F64 rounds to nearest.
func toFloat32(dst []float32, src []byte, dt DType) {
	le := littleEndian()
	switch dt {
	case F32:
		if le {
			copy(float32Bytes(dst), src)
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16, BF16:
		widen := kernels.BF16ToF32
		if dt == F16 {
			widen = kernels.F16ToF32
		}
		if le && aligned(src, 2) && len(dst) > 0 {
			widen(dst, unsafe.Slice((*uint16)(unsafe.Pointer(&src[0])), len(dst)))
			return
		}
		var buf [chunk]uint16
		for start := 0; start < len(dst); start += chunk {
			n := min(chunk, len(dst)-start)
			for i := range n {
				buf[i] = binary.LittleEndian.Uint16(src[2*(start+i):])
			}
			widen(dst[start:start+n], buf[:n])
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	case F8E5M2:
		// E5M2 is the upper byte of an IEEE half.
		var buf [chunk]uint16
		for start := 0; start < len(dst); start += chunk {
			n := min(chunk, len(dst)-start)
			for i := range n {
				buf[i] = uint16(src[start+i]) << 8
			}
			kernels.F16ToF32(dst[start:start+n], buf[:n])
		}
	case F8E4M3:
		for i, b := range src[:len(dst)] {
			dst[i] = e4m3ToF32(b)
		}
	default:
		panic("checkpoint: toFloat32 on " + dt.String()) // callers check IsFloat
	}
}

// e4m3ToF32 widens one float8 E4M3FN value (1 sign, 4 exponent bits with
// bias 7, 3 mantissa bits; no infinities, S.1111.111 is NaN).
func e4m3ToF32(b byte) float32 {
	sign := uint32(b>>7) << 31
	exp := uint32(b>>3) & 0xf
	mant := uint32(b) & 7
	switch {
	case exp == 0xf && mant == 7:
		return math.Float32frombits(sign | 0x7fc00000)
	case exp == 0: // ±0 and subnormals: mant·2⁻⁹
		f := float32(mant) * (1.0 / 512)
		return math.Float32frombits(math.Float32bits(f) | sign)
	default:
		return math.Float32frombits(sign | (exp+127-7)<<23 | mant<<20)
	}
}
