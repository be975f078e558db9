package gguf

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ValueType is the type of a metadata value (enum gguf_type).
type ValueType uint32

// The metadata value types, numbered as in the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7 // one byte, 0 or 1
	TypeString  ValueType = 8 // uint64 byte length, then the bytes (UTF-8, no NUL)
	TypeArray   ValueType = 9 // uint32 element type, uint64 count, then the elements
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY",
	"UINT64", "INT64", "FLOAT64",
}

// fixedSizes holds the encoded size of the fixed-size types (0 for STRING
// and ARRAY).
var fixedSizes = [...]int{1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8}

// Valid reports whether t is one of the thirteen defined types.
func (t ValueType) Valid() bool { return t <= TypeFloat64 }

// String returns the specification's name of the type ("UINT32"), or
// "ValueType(n)".
func (t ValueType) String() string {
	if t.Valid() {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

// size returns the encoded size of a fixed-size type, or 0.
func (t ValueType) size() int {
	if t.Valid() {
		return fixedSizes[t]
	}
	return 0
}

// minSize returns the fewest bytes one value of type t occupies in a file.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return t.size()
}

// Value is one metadata value: a scalar, a string, or an array of values of
// one type (arrays may nest). The zero Value is a UINT8 zero. Values are
// immutable; accessors that return slices return copies. Values cannot be
// compared with ==.
type Value struct {
	_    [0]func() // not comparable: arrays hold slices
	typ  ValueType
	elem ValueType // element type of an array
	bits uint64    // scalars: unsigned values, signed ones sign-extended, IEEE bits of floats (FLOAT32 in the low 32), 0/1 for bools
	str  string
	arr  any // arrays: []uint8 []int8 []uint16 []int16 []uint32 []int32 []float32 []bool []string []uint64 []int64 []float64 []Value
}

// Type returns the value's type.
func (v Value) Type() ValueType { return v.typ }

// ArrayType returns the element type of an array; ok is false if v is not
// an array.
func (v Value) ArrayType() (elem ValueType, ok bool) { return v.elem, v.typ == TypeArray }

// Len returns the number of elements of an array, 0 for other values.
func (v Value) Len() int {
	switch a := v.arr.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

func isUnsigned(t ValueType) bool {
	return t == TypeUint8 || t == TypeUint16 || t == TypeUint32 || t == TypeUint64
}

func isSigned(t ValueType) bool {
	return t == TypeInt8 || t == TypeInt16 || t == TypeInt32 || t == TypeInt64
}

func isFloat(t ValueType) bool { return t == TypeFloat32 || t == TypeFloat64 }

// Uint returns an integer value that is not negative; ok is false for other
// types and for negative signed values.
func (v Value) Uint() (uint64, bool) {
	switch {
	case isUnsigned(v.typ):
		return v.bits, true
	case isSigned(v.typ) && int64(v.bits) >= 0:
		return v.bits, true
	}
	return 0, false
}

// Int returns an integer value that fits int64; ok is false for other types
// and for unsigned values above math.MaxInt64.
func (v Value) Int() (int64, bool) {
	switch {
	case isSigned(v.typ):
		return int64(v.bits), true
	case isUnsigned(v.typ) && v.bits <= math.MaxInt64:
		return int64(v.bits), true
	}
	return 0, false
}

// Float returns a FLOAT32 or FLOAT64 value (a FLOAT32 widened exactly), or
// an integer value converted to float64; ok is false for other types.
func (v Value) Float() (float64, bool) {
	switch {
	case v.typ == TypeFloat32:
		return float64(math.Float32frombits(uint32(v.bits))), true
	case v.typ == TypeFloat64:
		return math.Float64frombits(v.bits), true
	case isUnsigned(v.typ):
		return float64(v.bits), true
	case isSigned(v.typ):
		return float64(int64(v.bits)), true
	}
	return 0, false
}

// Bool returns a BOOL value; ok is false for other types.
func (v Value) Bool() (value, ok bool) { return v.bits != 0, v.typ == TypeBool }

// Text returns a STRING value as stored (GGUF strings are meant to be
// UTF-8, which is not enforced); ok is false for other types.
func (v Value) Text() (string, bool) { return v.str, v.typ == TypeString }

// Strings returns a copy of an array of strings; ok is false for other
// values.
func (v Value) Strings() ([]string, bool) {
	a, ok := v.arr.([]string)
	return slices.Clone(a), ok
}

// Ints returns an array of integers as int64; ok is false if v is not an
// array of an integer type or an element does not fit int64.
func (v Value) Ints() ([]int64, bool) {
	if v.typ != TypeArray || !(isSigned(v.elem) || isUnsigned(v.elem)) {
		return nil, false
	}
	out := make([]int64, v.Len())
	for i := range out {
		x, ok := v.Index(i).Int()
		if !ok {
			return nil, false
		}
		out[i] = x
	}
	return out, true
}

// Floats returns an array of FLOAT32 or FLOAT64 values as float64 (FLOAT32
// widened exactly); ok is false for other values.
func (v Value) Floats() ([]float64, bool) {
	switch a := v.arr.(type) {
	case []float32:
		out := make([]float64, len(a))
		for i, x := range a {
			out[i] = float64(x)
		}
		return out, true
	case []float64:
		return slices.Clone(a), true
	}
	return nil, false
}

// float32s returns an array of FLOAT32 values without copying; the caller
// must not modify it.
func (v Value) float32s() ([]float32, bool) {
	a, ok := v.arr.([]float32)
	return a, ok
}

// Index returns element i of an array as a Value. It panics if v is not an
// array or i is out of range, like indexing a slice.
func (v Value) Index(i int) Value {
	switch a := v.arr.(type) {
	case []uint8:
		return Value{typ: TypeUint8, bits: uint64(a[i])}
	case []int8:
		return Value{typ: TypeInt8, bits: uint64(int64(a[i]))}
	case []uint16:
		return Value{typ: TypeUint16, bits: uint64(a[i])}
	case []int16:
		return Value{typ: TypeInt16, bits: uint64(int64(a[i]))}
	case []uint32:
		return Value{typ: TypeUint32, bits: uint64(a[i])}
	case []int32:
		return Value{typ: TypeInt32, bits: uint64(int64(a[i]))}
	case []float32:
		return Value{typ: TypeFloat32, bits: uint64(math.Float32bits(a[i]))}
	case []bool:
		return boolValue(a[i])
	case []string:
		return Value{typ: TypeString, str: a[i]}
	case []uint64:
		return Value{typ: TypeUint64, bits: a[i]}
	case []int64:
		return Value{typ: TypeInt64, bits: uint64(a[i])}
	case []float64:
		return Value{typ: TypeFloat64, bits: math.Float64bits(a[i])}
	case []Value:
		return a[i]
	}
	panic("gguf: Index of a non-array " + v.typ.String() + " value")
}

// Values returns the elements of an array as Values (the way to walk nested
// arrays); ok is false if v is not an array.
func (v Value) Values() ([]Value, bool) {
	if v.typ != TypeArray {
		return nil, false
	}
	out := make([]Value, v.Len())
	for i := range out {
		out[i] = v.Index(i)
	}
	return out, true
}

func boolValue(b bool) Value {
	v := Value{typ: TypeBool}
	if b {
		v.bits = 1
	}
	return v
}

// maxShown bounds the array elements String prints.
const maxShown = 8

// String formats the value: numbers in Go syntax (FLOAT32 with the
// shortest representation that round-trips as float32), booleans as
// true/false, strings as stored, arrays as "[a b c]" with at most 8
// elements shown ("[a b c … (1000 items)]").
func (v Value) String() string {
	switch {
	case isUnsigned(v.typ):
		return strconv.FormatUint(v.bits, 10)
	case isSigned(v.typ):
		return strconv.FormatInt(int64(v.bits), 10)
	case v.typ == TypeFloat32:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(v.bits))), 'g', -1, 32)
	case v.typ == TypeFloat64:
		return strconv.FormatFloat(math.Float64frombits(v.bits), 'g', -1, 64)
	case v.typ == TypeBool:
		return strconv.FormatBool(v.bits != 0)
	case v.typ == TypeString:
		return v.str
	}
	n := v.Len()
	var b strings.Builder
	b.WriteByte('[')
	for i := range min(n, maxShown) {
		if i > 0 {
			b.WriteByte(' ')
		}
		e := v.Index(i)
		if e.typ == TypeString {
			b.WriteString(strconv.Quote(e.str))
		} else {
			b.WriteString(e.String())
		}
	}
	if n > maxShown {
		fmt.Fprintf(&b, " … (%d items)", n)
	}
	b.WriteByte(']')
	return b.String()
}

// ValueOf converts a Go value to a metadata Value. The Go type chooses the
// GGUF type: uint8, int8, uint16, int16, uint32, int32, float32, bool,
// string, uint64, int64 and float64 map to the scalar of that name; a slice
// of one of them to an array of it; a Value is returned as it is, and a
// []Value becomes an array whose elements must all have the same type (the
// way to build nested arrays). int, uint and other types are rejected,
// since GGUF readers such as llama.cpp check exact types.
func ValueOf(x any) (Value, error) {
	switch x := x.(type) {
	case Value:
		return x, nil
	case uint8:
		return Value{typ: TypeUint8, bits: uint64(x)}, nil
	case int8:
		return Value{typ: TypeInt8, bits: uint64(int64(x))}, nil
	case uint16:
		return Value{typ: TypeUint16, bits: uint64(x)}, nil
	case int16:
		return Value{typ: TypeInt16, bits: uint64(int64(x))}, nil
	case uint32:
		return Value{typ: TypeUint32, bits: uint64(x)}, nil
	case int32:
		return Value{typ: TypeInt32, bits: uint64(int64(x))}, nil
	case float32:
		return Value{typ: TypeFloat32, bits: uint64(math.Float32bits(x))}, nil
	case bool:
		return boolValue(x), nil
	case string:
		return Value{typ: TypeString, str: x}, nil
	case uint64:
		return Value{typ: TypeUint64, bits: x}, nil
	case int64:
		return Value{typ: TypeInt64, bits: uint64(x)}, nil
	case float64:
		return Value{typ: TypeFloat64, bits: math.Float64bits(x)}, nil
	case []uint8:
		return arrayOf(TypeUint8, slices.Clone(x)), nil
	case []int8:
		return arrayOf(TypeInt8, slices.Clone(x)), nil
	case []uint16:
		return arrayOf(TypeUint16, slices.Clone(x)), nil
	case []int16:
		return arrayOf(TypeInt16, slices.Clone(x)), nil
	case []uint32:
		return arrayOf(TypeUint32, slices.Clone(x)), nil
	case []int32:
		return arrayOf(TypeInt32, slices.Clone(x)), nil
	case []float32:
		return arrayOf(TypeFloat32, slices.Clone(x)), nil
	case []bool:
		return arrayOf(TypeBool, slices.Clone(x)), nil
	case []string:
		return arrayOf(TypeString, slices.Clone(x)), nil
	case []uint64:
		return arrayOf(TypeUint64, slices.Clone(x)), nil
	case []int64:
		return arrayOf(TypeInt64, slices.Clone(x)), nil
	case []float64:
		return arrayOf(TypeFloat64, slices.Clone(x)), nil
	case []Value:
		elem := TypeArray
		if len(x) > 0 {
			elem = x[0].typ
		}
		for i, e := range x {
			if e.typ != elem {
				return Value{}, fmt.Errorf("gguf: array element %d is %v, element 0 is %v", i, e.typ, elem)
			}
		}
		if elem != TypeArray && len(x) > 0 {
			// An array of scalars or strings: store it in its typed form.
			return typedArray(elem, x), nil
		}
		return arrayOf(TypeArray, slices.Clone(x)), nil
	}
	return Value{}, fmt.Errorf("gguf: no GGUF type for Go %T (use a sized type such as uint32 or int32)", x)
}

// arrayOf wraps a typed slice as an array value.
func arrayOf(elem ValueType, a any) Value { return Value{typ: TypeArray, elem: elem, arr: a} }

// typedArray turns scalar Values of type elem into the typed slice.
func typedArray(elem ValueType, x []Value) Value {
	switch elem {
	case TypeUint8:
		return arrayOf(elem, mapValues(x, func(v Value) uint8 { return uint8(v.bits) }))
	case TypeInt8:
		return arrayOf(elem, mapValues(x, func(v Value) int8 { return int8(v.bits) }))
	case TypeUint16:
		return arrayOf(elem, mapValues(x, func(v Value) uint16 { return uint16(v.bits) }))
	case TypeInt16:
		return arrayOf(elem, mapValues(x, func(v Value) int16 { return int16(v.bits) }))
	case TypeUint32:
		return arrayOf(elem, mapValues(x, func(v Value) uint32 { return uint32(v.bits) }))
	case TypeInt32:
		return arrayOf(elem, mapValues(x, func(v Value) int32 { return int32(v.bits) }))
	case TypeFloat32:
		return arrayOf(elem, mapValues(x, func(v Value) float32 { return math.Float32frombits(uint32(v.bits)) }))
	case TypeBool:
		return arrayOf(elem, mapValues(x, func(v Value) bool { return v.bits != 0 }))
	case TypeString:
		return arrayOf(elem, mapValues(x, func(v Value) string { return v.str }))
	case TypeUint64:
		return arrayOf(elem, mapValues(x, func(v Value) uint64 { return v.bits }))
	case TypeInt64:
		return arrayOf(elem, mapValues(x, func(v Value) int64 { return int64(v.bits) }))
	case TypeFloat64:
		return arrayOf(elem, mapValues(x, func(v Value) float64 { return math.Float64frombits(v.bits) }))
	}
	panic("gguf: typedArray of " + elem.String())
}

func mapValues[T any](x []Value, f func(Value) T) []T {
	out := make([]T, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return out
}
