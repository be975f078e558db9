package checkpoint

import "fmt"

// DType is the element type of a safetensors tensor. The constants follow the
// declaration order of the Rust reference's Dtype enum, which writers use to
// order tensors (larger alignment first). The zero value is not a valid dtype.
type DType uint8

// The safetensors dtypes. F8E5M2 and F8E4M3 are the 8-bit float formats
// (E4M3 being the "FN" variant without infinities).
const (
	Bool DType = iota + 1
	U8
	I8
	F8E5M2
	F8E4M3
	I16
	U16
	F16
	BF16
	I32
	U32
	F32
	F64
	I64
	U64
)

var dtypeNames = [...]string{
	Bool: "BOOL", U8: "U8", I8: "I8", F8E5M2: "F8_E5M2", F8E4M3: "F8_E4M3",
	I16: "I16", U16: "U16", F16: "F16", BF16: "BF16", I32: "I32", U32: "U32",
	F32: "F32", F64: "F64", I64: "I64", U64: "U64",
}

var dtypeSizes = [...]int{
	Bool: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
}

// ParseDType returns the dtype with the given safetensors name ("F32", "BF16", …).
func ParseDType(s string) (DType, error) {
	for d, n := range dtypeNames {
		if n != "" && n == s {
			return DType(d), nil
		}
	}
	return 0, errorf("unknown dtype %q", s)
}

// String returns the safetensors name of d ("F32"), or "DType(n)" for an
// invalid value.
func (d DType) String() string {
	if d.Valid() {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Valid reports whether d is one of the defined dtypes.
func (d DType) Valid() bool { return d >= Bool && d <= U64 }

// Size returns the size of one element in bytes, or 0 for an invalid dtype.
func (d DType) Size() int {
	if d.Valid() {
		return dtypeSizes[d]
	}
	return 0
}

// IsFloat reports whether d is a floating-point type that Float32 converts:
// F32, F16, BF16, F64, F8E5M2 or F8E4M3.
func (d DType) IsFloat() bool {
	switch d {
	case F32, F16, BF16, F64, F8E5M2, F8E4M3:
		return true
	}
	return false
}

// MarshalText encodes d as its safetensors name.
func (d DType) MarshalText() ([]byte, error) {
	if !d.Valid() {
		return nil, errorf("invalid dtype %d", uint8(d))
	}
	return []byte(dtypeNames[d]), nil
}

// UnmarshalText decodes a safetensors dtype name.
func (d *DType) UnmarshalText(b []byte) error {
	v, err := ParseDType(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
