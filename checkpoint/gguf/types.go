package gguf

import (
	"fmt"
	"math"
	"math/bits"
)

// Type is a ggml tensor type (enum ggml_type): how the elements of a tensor
// are stored. Elements are grouped in blocks of BlockSize along the row
// (ne[0]); a block takes BlockBytes bytes. Plain types (F32, F16, BF16, the
// integers) have blocks of one element.
type Type uint32

// The ggml tensor types, numbered as in ggml.h. Numbers 4, 5 and 31–33,
// 36–38 belonged to types that ggml has removed.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2 // blocks of 32: fp16 scale d, 16 bytes of 4-bit quants; x = (q−8)·d
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8 // blocks of 32: fp16 scale d, 32 int8 quants; x = q·d
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12 // super-blocks of 256: fp16 d, dmin, 12 bytes of 6-bit scales/mins, 128 bytes of 4-bit quants
	Q5_K    Type = 13
	Q6_K    Type = 14 // super-blocks of 256: 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales, fp16 d
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

// typeTraits is the storage layout of one type.
type typeTraits struct {
	name       string
	blockSize  int // elements per block
	blockBytes int // bytes per block
}

// types holds ggml's type_traits (block size, type size); the zero entry
// marks an unknown number.
var types = [...]typeTraits{
	F32:     {"F32", 1, 4},
	F16:     {"F16", 1, 2},
	Q4_0:    {"Q4_0", 32, 18},
	Q4_1:    {"Q4_1", 32, 20},
	Q5_0:    {"Q5_0", 32, 22},
	Q5_1:    {"Q5_1", 32, 24},
	Q8_0:    {"Q8_0", 32, 34},
	Q8_1:    {"Q8_1", 32, 36},
	Q2_K:    {"Q2_K", 256, 84},
	Q3_K:    {"Q3_K", 256, 110},
	Q4_K:    {"Q4_K", 256, 144},
	Q5_K:    {"Q5_K", 256, 176},
	Q6_K:    {"Q6_K", 256, 210},
	Q8_K:    {"Q8_K", 256, 292},
	IQ2_XXS: {"IQ2_XXS", 256, 66},
	IQ2_XS:  {"IQ2_XS", 256, 74},
	IQ3_XXS: {"IQ3_XXS", 256, 98},
	IQ1_S:   {"IQ1_S", 256, 50},
	IQ4_NL:  {"IQ4_NL", 32, 18},
	IQ3_S:   {"IQ3_S", 256, 110},
	IQ2_S:   {"IQ2_S", 256, 82},
	IQ4_XS:  {"IQ4_XS", 256, 136},
	I8:      {"I8", 1, 1},
	I16:     {"I16", 1, 2},
	I32:     {"I32", 1, 4},
	I64:     {"I64", 1, 8},
	F64:     {"F64", 1, 8},
	IQ1_M:   {"IQ1_M", 256, 56},
	BF16:    {"BF16", 1, 2},
	TQ1_0:   {"TQ1_0", 256, 54},
	TQ2_0:   {"TQ2_0", 256, 66},
	MXFP4:   {"MXFP4", 32, 17},
}

// traits returns t's layout; ok is false for a number ggml does not define.
func (t Type) traits() (typeTraits, bool) {
	if int(t) < len(types) && types[t].blockSize != 0 {
		return types[t], true
	}
	return typeTraits{}, false
}

// Known reports whether t is a type ggml defines (so its storage size is
// known), whether or not this package can convert it.
func (t Type) Known() bool {
	_, ok := t.traits()
	return ok
}

// String returns ggml's name of the type ("Q8_0"), or "Type(n)" for an
// unknown number.
func (t Type) String() string {
	if tr, ok := t.traits(); ok {
		return tr.name
	}
	return fmt.Sprintf("Type(%d)", uint32(t))
}

// ParseType returns the type with ggml's name s ("F32", "Q4_0", …).
func ParseType(s string) (Type, error) {
	for i, tr := range types {
		if tr.blockSize != 0 && tr.name == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("gguf: unknown tensor type %q", s)
}

// BlockSize returns the number of elements in one block (1 for plain types,
// 32 for Q4_0/Q8_0, 256 for the K-quants), or 0 for an unknown type.
func (t Type) BlockSize() int {
	tr, _ := t.traits()
	return tr.blockSize
}

// BlockBytes returns the size of one block in bytes, or 0 for an unknown
// type.
func (t Type) BlockBytes() int {
	tr, _ := t.traits()
	return tr.blockBytes
}

// CanFloat32 reports whether this package converts t to float32 (Float32,
// Decode): F32, F16, BF16, F64, Q8_0, Q4_0, Q4_K and Q6_K.
func (t Type) CanFloat32() bool {
	switch t {
	case F32, F16, BF16, F64, Q8_0, Q4_0, Q4_K, Q6_K:
		return true
	}
	return false
}

// CanEncode reports whether Encode and the Writer produce t from float32:
// F32, F16, BF16, Q8_0, Q4_0 and Q6_K.
func (t Type) CanEncode() bool {
	switch t {
	case F32, F16, BF16, Q8_0, Q4_0, Q6_K:
		return true
	}
	return false
}

// Bytes returns the storage size of n elements of type t. It fails if t is
// unknown, n is negative or not a multiple of the block size, or the size
// overflows int64.
func (t Type) Bytes(n int64) (int64, error) {
	tr, ok := t.traits()
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n < 0 || n%int64(tr.blockSize) != 0 {
		return 0, fmt.Errorf("%d elements are not a whole number of %s blocks of %d", n, tr.name, tr.blockSize)
	}
	hi, lo := bits.Mul64(uint64(n/int64(tr.blockSize)), uint64(tr.blockBytes))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, fmt.Errorf("%d elements of %s overflow the byte count", n, tr.name)
	}
	return int64(lo), nil
}
