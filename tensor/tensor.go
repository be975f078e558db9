package tensor

import (
	"fmt"
	"slices"
	"strings"
)

// Tensor is an n-dimensional array of float32: a strided view of a flat
// storage slice. Element (i0, i1, …) lives at data[offset + Σ ik·strides[k]].
//
// Views (Reshape of contiguous data, Permute, Transpose, Slice, Select,
// Expand, Unsqueeze, Squeeze) share storage with their source and never copy;
// writing through one is visible through the other. Tensors are not safe for
// concurrent mutation; concurrent reads are fine.
type Tensor struct {
	data    []float32
	shape   Shape
	strides []int
	offset  int
	// dims backs shape and strides for ranks up to inlineRank, so that a
	// tensor header (including every view) is a single allocation.
	dims [2 * inlineRank]int
}

// inlineRank is the largest rank whose shape and strides live in the
// tensor header itself.
const inlineRank = 6

// header returns a tensor over data with n dimensions; the caller fills in
// shape and strides.
func header(data []float32, n, offset int) *Tensor {
	t := &Tensor{data: data, offset: offset}
	if n <= inlineRank {
		t.shape = Shape(t.dims[:n:n])
		t.strides = t.dims[inlineRank : inlineRank+n : inlineRank+n]
	} else {
		t.shape = make(Shape, n)
		t.strides = make([]int, n)
	}
	return t
}

// dense returns a contiguous row-major tensor of the given shape over data.
func dense(data []float32, shape []int, offset int) *Tensor {
	t := header(data, len(shape), offset)
	copy(t.shape, shape)
	t.setContiguousStrides()
	return t
}

func (t *Tensor) setContiguousStrides() {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		t.strides[i] = s
		s *= t.shape[i]
	}
}

// New returns a zero-filled, contiguous tensor of the given shape. No
// dimensions means a scalar. It panics with a *ShapeError on a negative
// dimension.
func New(shape ...int) *Tensor {
	checkDims("new", shape)
	return dense(make([]float32, Shape(shape).Numel()), shape, 0)
}

// Zeros is New: a zero-filled contiguous tensor.
func Zeros(shape ...int) *Tensor { return New(shape...) }

// Ones returns a contiguous tensor of ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Full returns a contiguous tensor with every element set to v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	if v != 0 {
		for i := range t.data {
			t.data[i] = v
		}
	}
	return t
}

// Scalar returns a 0-dimensional tensor holding v.
func Scalar(v float32) *Tensor { return dense([]float32{v}, nil, 0) }

// ZerosLike returns a zero-filled contiguous tensor with t's shape.
func ZerosLike(t *Tensor) *Tensor { return New(t.shape...) }

// FromData wraps data, without copying, as a contiguous tensor of the given
// shape (a scalar when no dimensions are given). It returns a *ShapeError
// when len(data) differs from the shape's element count.
func FromData(data []float32, shape ...int) (*Tensor, error) {
	for _, d := range shape {
		if d < 0 {
			return nil, shapeErr("from-data", "negative dimension", shape)
		}
	}
	if n := Shape(shape).Numel(); n != len(data) {
		return nil, shapeErr("from-data", fmt.Sprintf("%d values for %d elements", len(data), n), shape)
	}
	return dense(data, shape, 0), nil
}

// MustFromData is FromData for literals in tests and examples: it panics on
// a length mismatch.
func MustFromData(data []float32, shape ...int) *Tensor {
	t, err := FromData(data, shape...)
	if err != nil {
		panic(err)
	}
	return t
}

// Arange returns the 1-D tensor [start, start+step, …] of the values below
// stop (above it for a negative step), like numpy.arange. It panics if step
// is 0.
func Arange(start, stop, step float32) *Tensor {
	if step == 0 {
		panic(shapeErr("arange", "zero step"))
	}
	n := 0
	if (step > 0 && stop > start) || (step < 0 && stop < start) {
		n = int((float64(stop) - float64(start) + float64(step) - sign(step)*1e-12) / float64(step))
	}
	t := New(n)
	for i := range t.data {
		t.data[i] = start + float32(i)*step
	}
	return t
}

func sign(x float32) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// Shape returns t's dimensions. The slice belongs to t: do not modify it.
func (t *Tensor) Shape() Shape { return t.shape }

// Strides returns t's strides in elements. The slice belongs to t: do not
// modify it.
func (t *Tensor) Strides() []int { return t.strides }

// NDim returns the number of dimensions (0 for a scalar).
func (t *Tensor) NDim() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int { return t.shape[normAxis("dim", i, len(t.shape), t.shape)] }

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return t.shape.Numel() }

// IsContiguous reports whether t's elements are laid out densely in
// row-major order (dimensions of size 1 may have any stride).
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

// Data returns the elements of a contiguous tensor in row-major order. The
// slice aliases t's storage. It panics with a *ShapeError if t is not
// contiguous; call Contiguous first when unsure.
func (t *Tensor) Data() []float32 {
	if !t.IsContiguous() {
		panic(shapeErr("data", "tensor is not contiguous", t.shape))
	}
	return t.data[t.offset : t.offset+t.Numel()]
}

// Storage returns the backing slice and the offset of element (0, …, 0),
// for code that drives kernels directly over strided views (with Strides).
// Element idx lives at data[offset + Σ idx[k]·Strides()[k]].
func (t *Tensor) Storage() (data []float32, offset int) { return t.data, t.offset }

// Values returns a fresh copy of t's elements in row-major order.
func (t *Tensor) Values() []float32 {
	out := make([]float32, t.Numel())
	copyStrided(out, t)
	return out
}

// Item returns the value of a one-element tensor; it panics otherwise.
func (t *Tensor) Item() float32 {
	if t.Numel() != 1 {
		panic(shapeErr("item", "tensor has more than one element", t.shape))
	}
	return t.data[t.offset]
}

func (t *Tensor) index(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic(shapeErr(op, fmt.Sprintf("%d indices", len(idx)), t.shape))
	}
	off := t.offset
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(shapeErr(op, fmt.Sprintf("index %v out of range", idx), t.shape))
		}
		off += v * t.strides[i]
	}
	return off
}

// At returns the element at the given indices (one per dimension).
func (t *Tensor) At(idx ...int) float32 { return t.data[t.index("at", idx)] }

// Set writes v at the given indices (one per dimension).
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.index("set", idx)] = v }

// Fill sets every element of t (through the view) to v.
func (t *Tensor) Fill(v float32) {
	if t.IsContiguous() {
		d := t.Data()
		for i := range d {
			d[i] = v
		}
		return
	}
	forEachOffset(t, func(off int) { t.data[off] = v })
}

// Zero sets every element of t to 0.
func (t *Tensor) Zero() {
	if t.IsContiguous() {
		clear(t.Data())
		return
	}
	t.Fill(0)
}

// Clone returns a contiguous copy of t that shares nothing with it.
func (t *Tensor) Clone() *Tensor {
	out := New(t.shape...)
	copyStrided(out.data, t)
	return out
}

// Contiguous returns t itself when it is contiguous and a contiguous copy
// otherwise.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// CopyFrom copies src into t element by element; src must broadcast to t's
// shape. t and src must not overlap (unless they are the same view).
func (t *Tensor) CopyFrom(src *Tensor) {
	binaryInto("copy", opCopy, t, src, src)
}

// resolveShape resolves a single -1 in sh (in place) against n elements.
func resolveShape(op string, from, sh Shape) {
	n := from.Numel()
	neg := -1
	prod := 1
	for i, d := range sh {
		switch {
		case d == -1 && neg < 0:
			neg = i
		case d < 0:
			panic(shapeErr(op, "invalid target shape", from, sh))
		default:
			prod *= d
		}
	}
	if neg >= 0 {
		if prod == 0 || n%prod != 0 {
			panic(shapeErr(op, "cannot infer -1", from, sh))
		}
		sh[neg] = n / prod
		prod *= sh[neg]
	}
	if prod != n {
		panic(shapeErr(op, "element counts differ", from, sh))
	}
}

// Reshape returns a tensor with the same elements in row-major order and the
// given shape; one dimension may be -1 and is then inferred. It is a view
// when t is contiguous and a copy otherwise.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	src := t
	if !t.IsContiguous() {
		// Validate before copying.
		resolveShape("reshape", t.shape, Shape(shape).Clone())
		src = t.Clone()
	}
	out := header(src.data, len(shape), src.offset)
	copy(out.shape, shape)
	resolveShape("reshape", t.shape, out.shape)
	out.setContiguousStrides()
	return out
}

// Permute returns a view with the dimensions reordered: dimension i of the
// result is dimension axes[i] of t.
func (t *Tensor) Permute(axes ...int) *Tensor {
	n := len(t.shape)
	if len(axes) != n {
		panic(shapeErr("permute", fmt.Sprintf("axes %v", axes), t.shape))
	}
	out := header(t.data, n, t.offset)
	var seen uint64
	for i, a := range axes {
		a = normAxis("permute", a, n, t.shape)
		if a < 64 && seen&(1<<a) != 0 || a >= 64 && slices.Contains(axes[:i], a) {
			panic(shapeErr("permute", fmt.Sprintf("repeated axis in %v", axes), t.shape))
		}
		if a < 64 {
			seen |= 1 << a
		}
		out.shape[i], out.strides[i] = t.shape[a], t.strides[a]
	}
	return out
}

// Transpose returns a view with dimensions a and b swapped (negative axes
// count from the end).
func (t *Tensor) Transpose(a, b int) *Tensor {
	n := len(t.shape)
	a = normAxis("transpose", a, n, t.shape)
	b = normAxis("transpose", b, n, t.shape)
	out := t.view(t.offset)
	out.shape[a], out.shape[b] = out.shape[b], out.shape[a]
	out.strides[a], out.strides[b] = out.strides[b], out.strides[a]
	return out
}

// T returns the view swapping the last two dimensions.
func (t *Tensor) T() *Tensor { return t.Transpose(-2, -1) }

// Slice returns the view of indices [start, end) along axis.
func (t *Tensor) Slice(axis, start, end int) *Tensor {
	axis = normAxis("slice", axis, len(t.shape), t.shape)
	if start < 0 || end < start || end > t.shape[axis] {
		panic(shapeErr("slice", fmt.Sprintf("range [%d, %d) on axis %d", start, end, axis), t.shape))
	}
	out := t.view(t.offset + start*t.strides[axis])
	out.shape[axis] = end - start
	return out
}

// Select returns the view at index i along axis, with that axis removed.
func (t *Tensor) Select(axis, i int) *Tensor {
	axis = normAxis("select", axis, len(t.shape), t.shape)
	if i < 0 || i >= t.shape[axis] {
		panic(shapeErr("select", fmt.Sprintf("index %d on axis %d", i, axis), t.shape))
	}
	out := header(t.data, len(t.shape)-1, t.offset+i*t.strides[axis])
	copy(out.shape, t.shape[:axis])
	copy(out.shape[axis:], t.shape[axis+1:])
	copy(out.strides, t.strides[:axis])
	copy(out.strides[axis:], t.strides[axis+1:])
	return out
}

// Expand returns a broadcast view of t with the given shape: dimensions of
// size 1 (and new leading ones) repeat with stride 0; -1 keeps a dimension.
// Writing to an expanded view writes the shared element.
func (t *Tensor) Expand(shape ...int) *Tensor {
	n := len(shape)
	if n < len(t.shape) {
		panic(shapeErr("expand", fmt.Sprintf("to %v", shape), t.shape))
	}
	out := header(t.data, n, t.offset)
	sh, st := out.shape, out.strides
	for i := 0; i < n; i++ {
		j := i - (n - len(t.shape))
		d := shape[i]
		if j < 0 {
			if d < 0 {
				panic(shapeErr("expand", fmt.Sprintf("to %v", shape), t.shape))
			}
			sh[i] = d
			continue
		}
		switch {
		case d == -1 || d == t.shape[j]:
			sh[i], st[i] = t.shape[j], t.strides[j]
		case t.shape[j] == 1 && d >= 0:
			sh[i] = d
		default:
			panic(shapeErr("expand", fmt.Sprintf("to %v", shape), t.shape))
		}
	}
	return out
}

// Unsqueeze returns a view with a dimension of size 1 inserted at axis
// (which may equal NDim; negative counts from the end of the result).
func (t *Tensor) Unsqueeze(axis int) *Tensor {
	axis = normAxis("unsqueeze", axis, len(t.shape)+1, t.shape)
	st := 1
	if axis < len(t.shape) {
		st = t.strides[axis] * t.shape[axis]
	}
	out := header(t.data, len(t.shape)+1, t.offset)
	copy(out.shape, t.shape[:axis])
	copy(out.strides, t.strides[:axis])
	out.shape[axis], out.strides[axis] = 1, st
	copy(out.shape[axis+1:], t.shape[axis:])
	copy(out.strides[axis+1:], t.strides[axis:])
	return out
}

// Squeeze returns a view without dimension axis, which must have size 1.
func (t *Tensor) Squeeze(axis int) *Tensor {
	axis = normAxis("squeeze", axis, len(t.shape), t.shape)
	if t.shape[axis] != 1 {
		panic(shapeErr("squeeze", fmt.Sprintf("axis %d has size %d", axis, t.shape[axis]), t.shape))
	}
	return t.Select(axis, 0)
}

// view returns a new header over t's storage with t's shape and strides and
// the given offset.
func (t *Tensor) view(offset int) *Tensor {
	out := header(t.data, len(t.shape), offset)
	copy(out.shape, t.shape)
	copy(out.strides, t.strides)
	return out
}

// String formats t with its shape and, for up to 64 elements, its values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.shape)
	if t.Numel() <= 64 {
		fmt.Fprintf(&b, " %v", t.Values())
	}
	return b.String()
}

// forEachOffset calls fn with the storage offset of every element of t in
// row-major order.
func forEachOffset(t *Tensor, fn func(off int)) {
	n := len(t.shape)
	if t.Numel() == 0 {
		return
	}
	if n == 0 {
		fn(t.offset)
		return
	}
	idx := make([]int, n)
	off := t.offset
	last := n - 1
	for {
		for i := 0; i < t.shape[last]; i++ {
			fn(off + i*t.strides[last])
		}
		k := last - 1
		for ; k >= 0; k-- {
			idx[k]++
			off += t.strides[k]
			if idx[k] < t.shape[k] {
				break
			}
			off -= idx[k] * t.strides[k]
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// copyStrided copies t's elements in row-major order into dst.
func copyStrided(dst []float32, t *Tensor) {
	if t.IsContiguous() {
		copy(dst, t.data[t.offset:t.offset+t.Numel()])
		return
	}
	dstT := dense(dst[:t.Numel()], t.shape, 0)
	binaryInto("copy", opCopy, dstT, t, t)
}
