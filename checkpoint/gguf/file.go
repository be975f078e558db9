package gguf

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/glossa-ai/glossa/checkpoint"
)

var _ checkpoint.Reader = (*File)(nil)

// Path returns the path the file was opened from ("" for Parse).
func (f *File) Path() string { return f.path }

// Version returns the GGUF version of the file (2 or 3).
func (f *File) Version() int { return int(f.version) }

// Alignment returns the alignment of tensor data in bytes
// (general.alignment, DefaultAlignment when absent).
func (f *File) Alignment() int { return f.alignment }

// DataOffset returns the offset of the data section from the start of the
// file; a tensor's data begins DataOffset() + Tensor.Offset bytes in.
func (f *File) DataOffset() int64 { return f.dataStart }

// ---------------------------------------------------------------------------
// Tensors

// Names returns the tensor names in sorted order. The caller may modify the
// returned slice.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.tensors) }

// Tensors returns the tensor descriptions in file order. The caller may
// modify the returned slice and shapes.
func (f *File) Tensors() []Tensor {
	out := slices.Clone(f.tensors)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// Tensor describes the named tensor; ok is false if there is none. The
// returned Shape is a copy.
func (f *File) Tensor(name string) (Tensor, bool) {
	i, ok := f.byName[name]
	if !ok {
		return Tensor{}, false
	}
	t := f.tensors[i]
	t.Shape = slices.Clone(t.Shape)
	return t, true
}

// Type returns the named tensor's type; ok is false if there is none.
func (f *File) Type(name string) (Type, bool) {
	i, ok := f.byName[name]
	if !ok {
		return 0, false
	}
	return f.tensors[i].Type, true
}

// Info describes the named tensor as checkpoint.Reader does: Shape is
// row-major (outermost first, the reverse of GGUF's ne[]), Begin and End
// are byte offsets in the data section. DType is checkpoint.F32, F16, BF16,
// I8, I16, I32, I64 or F64 for those types, and zero (invalid) for quantized
// types, which have no safetensors dtype: use Type for them. Float32
// dequantizes them all the same.
func (f *File) Info(name string) (checkpoint.TensorInfo, bool) {
	t, ok := f.Tensor(name)
	if !ok {
		return checkpoint.TensorInfo{}, false
	}
	return checkpoint.TensorInfo{Name: t.Name, DType: dtypeOf(t.Type), Shape: t.Shape,
		Begin: t.Offset, End: t.Offset + t.Size}, true
}

// dtypeOf maps the plain ggml types to safetensors dtypes (0 for the rest).
func dtypeOf(t Type) checkpoint.DType {
	switch t {
	case F32:
		return checkpoint.F32
	case F16:
		return checkpoint.F16
	case BF16:
		return checkpoint.BF16
	case F64:
		return checkpoint.F64
	case I8:
		return checkpoint.I8
	case I16:
		return checkpoint.I16
	case I32:
		return checkpoint.I32
	case I64:
		return checkpoint.I64
	}
	return 0
}

// lookup returns the tensor and its bytes.
func (f *File) lookup(name string) (*Tensor, []byte, error) {
	if f.closed {
		return nil, nil, &Error{File: f.path, Tensor: name, Err: checkpoint.ErrClosed}
	}
	i, ok := f.byName[name]
	if !ok {
		return nil, nil, &Error{File: f.path, Tensor: name, Err: checkpoint.ErrMissingTensor}
	}
	t := &f.tensors[i]
	begin := f.dataStart + t.Offset
	end := begin + t.Size
	if t.Size == 0 {
		return t, []byte{}, nil
	}
	return t, f.data[begin:end:end], nil
}

// Bytes returns the raw little-endian bytes of the named tensor, in ggml's
// layout for its type (for quantized types, consecutive blocks along each
// row). The slice aliases the file's memory: it is read-only (writing to a
// memory-mapped file faults) and valid until Close.
func (f *File) Bytes(name string) ([]byte, error) {
	_, b, err := f.lookup(name)
	return b, err
}

// Float32 returns a new slice holding the named tensor as float32, in
// row-major order: F16, BF16 widened exactly, F64 rounded, Q8_0, Q4_0, Q4_K
// and Q6_K dequantized as ggml does. Other types fail with an error matching
// checkpoint.ErrDType.
func (f *File) Float32(name string) ([]float32, error) {
	t, b, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if !t.Type.CanFloat32() {
		return nil, &Error{File: f.path, Tensor: name, Err: sentinelf(checkpoint.ErrDType, "type %v cannot be converted to float32", t.Type)}
	}
	dst := make([]float32, t.NumElements())
	decode(dst, b, t.Type)
	return dst, nil
}

// Float32Into converts the named tensor into dst as Float32 does; len(dst)
// must equal the tensor's element count. It does not allocate.
func (f *File) Float32Into(dst []float32, name string) error {
	t, b, err := f.lookup(name)
	if err != nil {
		return err
	}
	if !t.Type.CanFloat32() {
		return &Error{File: f.path, Tensor: name, Err: sentinelf(checkpoint.ErrDType, "type %v cannot be converted to float32", t.Type)}
	}
	if n := t.NumElements(); int64(len(dst)) != n {
		return &Error{File: f.path, Tensor: name, Err: fmt.Errorf("destination has %d elements, tensor %v has %d", len(dst), t.Shape, n)}
	}
	decode(dst, b, t.Type)
	return nil
}

// Float32View returns the named F32 tensor's data without copying, when the
// host is little-endian and the data is 4-byte aligned (always so with the
// default alignment). ok is false otherwise, or if the tensor is missing or
// not F32; use Float32 then. The view aliases the file's memory: it is
// read-only and valid until Close.
func (f *File) Float32View(name string) (view []float32, ok bool) {
	t, b, err := f.lookup(name)
	if err != nil || t.Type != F32 || !littleEndian() || !aligned(b, 4) {
		return nil, false
	}
	if len(b) == 0 {
		return []float32{}, true
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), true
}

// Q8_0Blocks returns the blocks of the named Q8_0 tensor, row after row
// (a [rows, cols] tensor has cols/32 blocks per row), for arithmetic on the
// quantized values. On a little-endian host with data aligned to 2 bytes
// (always so with an alignment of at least 2) the slice aliases the file's
// memory, zero copy: it is read-only and valid until Close. Otherwise it is
// a copy. A tensor of another type fails with an error matching
// checkpoint.ErrDType.
func (f *File) Q8_0Blocks(name string) ([]BlockQ8_0, error) {
	t, b, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if t.Type != Q8_0 {
		return nil, &Error{File: f.path, Tensor: name, Err: sentinelf(checkpoint.ErrDType, "type %v, want Q8_0", t.Type)}
	}
	if v, ok := blockView[BlockQ8_0](b, 34); ok {
		return v, nil
	}
	return copyQ8_0(b), nil
}

// Q4_0Blocks returns the blocks of the named Q4_0 tensor as Q8_0Blocks
// does.
func (f *File) Q4_0Blocks(name string) ([]BlockQ4_0, error) {
	t, b, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if t.Type != Q4_0 {
		return nil, &Error{File: f.path, Tensor: name, Err: sentinelf(checkpoint.ErrDType, "type %v, want Q4_0", t.Type)}
	}
	if v, ok := blockView[BlockQ4_0](b, 18); ok {
		return v, nil
	}
	return copyQ4_0(b), nil
}

// Close releases the file's memory mapping. Later reads fail with an error
// matching checkpoint.ErrClosed; metadata stays readable. Close is
// idempotent.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if f.release != nil {
		if err := f.release(); err != nil {
			return &Error{File: f.path, Err: fmt.Errorf("unmap: %w", err)}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Metadata

// Keys returns the metadata keys in file order.
func (f *File) Keys() []string {
	out := make([]string, len(f.kvs))
	for i, p := range f.kvs {
		out[i] = p.key
	}
	return out
}

// Value returns the metadata value under key; ok is false if there is none.
func (f *File) Value(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.kvs[i].value, true
}

// Metadata returns the scalar metadata (numbers, booleans, strings) as
// strings, formatted by Value.String; arrays are left out (the tokenizer's
// vocabulary would dominate). Use Value for typed access.
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.kvs))
	for _, p := range f.kvs {
		if p.value.typ != TypeArray {
			m[p.key] = p.value.String()
		}
	}
	return m
}

// String returns the STRING value under key; ok is false if the key is
// absent or holds another type.
func (f *File) String(key string) (string, bool) {
	v, _ := f.Value(key)
	return v.Text()
}

// Uint returns the non-negative integer under key, whatever its integer
// type; ok is false if the key is absent, not an integer or negative.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// Int returns the integer under key, whatever its integer type; ok is false
// if the key is absent, not an integer or above math.MaxInt64.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	return v.Int()
}

// Float returns the number under key as float64 (see Value.Float); ok is
// false if the key is absent or not a number.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Bool returns the BOOL value under key; ok is false if the key is absent
// or holds another type.
func (f *File) Bool(key string) (value, ok bool) {
	v, ok := f.Value(key)
	if !ok {
		return false, false
	}
	return v.Bool()
}

// Strings returns a copy of the array of strings under key; ok is false if
// the key is absent or holds another type.
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.Value(key)
	if !ok {
		return nil, false
	}
	return v.Strings()
}

// Floats returns the array of FLOAT32 or FLOAT64 under key as float64; ok
// is false if the key is absent or holds another type.
func (f *File) Floats(key string) ([]float64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return nil, false
	}
	return v.Floats()
}

// Ints returns the array of integers under key as int64; ok is false if the
// key is absent, holds another type or an element above math.MaxInt64.
func (f *File) Ints(key string) ([]int64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return nil, false
	}
	return v.Ints()
}
