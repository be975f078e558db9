package infer

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"unsafe"

	"github.com/glossa-ai/glossa/checkpoint"
)

// Tensors is an in-memory checkpoint: float32 tensors by name. It
// implements checkpoint.Reader (with zero-copy Float32View), so a model
// built in memory — trained here, converted from llama2.c — loads through
// the same Builder calls as a safetensors file.
type Tensors map[string]Tensor

// Tensor is one float32 tensor of a Tensors checkpoint.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Add stores data under name with the given shape.
func (ts Tensors) Add(name string, data []float32, shape ...int) {
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("infer: Tensors.Add %s: %d values for shape %v", name, len(data), shape))
	}
	ts[name] = Tensor{Shape: shape, Data: data}
}

// Names returns the tensor names in sorted order.
func (ts Tensors) Names() []string {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Info describes the named tensor.
func (ts Tensors) Info(name string) (checkpoint.TensorInfo, bool) {
	t, ok := ts[name]
	if !ok {
		return checkpoint.TensorInfo{}, false
	}
	return checkpoint.TensorInfo{Name: name, DType: checkpoint.F32, Shape: t.Shape, End: int64(4 * len(t.Data))}, true
}

// Float32 returns a copy of the named tensor.
func (ts Tensors) Float32(name string) ([]float32, error) {
	t, ok := ts[name]
	if !ok {
		return nil, fmt.Errorf("infer: %s: %w", name, checkpoint.ErrMissingTensor)
	}
	return slices.Clone(t.Data), nil
}

// Float32Into copies the named tensor into dst.
func (ts Tensors) Float32Into(dst []float32, name string) error {
	t, ok := ts[name]
	if !ok {
		return fmt.Errorf("infer: %s: %w", name, checkpoint.ErrMissingTensor)
	}
	if len(dst) != len(t.Data) {
		return fmt.Errorf("infer: %s: %d values into %d", name, len(t.Data), len(dst))
	}
	copy(dst, t.Data)
	return nil
}

// Float32View returns the named tensor itself.
func (ts Tensors) Float32View(name string) ([]float32, bool) {
	t, ok := ts[name]
	return t.Data, ok
}

// Bytes is not supported: the tensors are not serialised.
func (ts Tensors) Bytes(name string) ([]byte, error) {
	return nil, fmt.Errorf("infer: %s: in-memory tensors have no bytes: %w", name, checkpoint.ErrDType)
}

// Metadata returns nil.
func (ts Tensors) Metadata() map[string]string { return nil }

// Close does nothing.
func (ts Tensors) Close() error { return nil }

// uint16View returns raw, little-endian 16-bit values, as a []uint16 that
// aliases it, when the host is little-endian and raw is 2-byte aligned.
func uint16View(raw []byte) ([]uint16, bool) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 || uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%2 != 0 {
		return nil, false
	}
	if len(raw) == 0 {
		return []uint16{}, true
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&raw[0])), len(raw)/2), true
}

// Release closes *src, the checkpoint a model's weights alias, and clears
// it, so that a second call does nothing; so does a nil *src.
func Release(src *io.Closer) error {
	if *src == nil {
		return nil
	}
	err := (*src).Close()
	*src = nil
	return err
}
