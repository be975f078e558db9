package tensor

import "fmt"

// ConcatShape returns the shape of Concat(axis, shapes...) or a *ShapeError.
func ConcatShape(axis int, shapes ...Shape) (Shape, error) {
	if len(shapes) == 0 {
		return nil, shapeErr("concat", "no inputs")
	}
	first := shapes[0]
	if axis < 0 {
		axis += len(first)
	}
	if axis < 0 || axis >= len(first) {
		return nil, shapeErr("concat", fmt.Sprintf("axis %d out of range", axis), shapes...)
	}
	out := first.Clone()
	out[axis] = 0
	for _, s := range shapes {
		if len(s) != len(first) {
			return nil, shapeErr("concat", "ranks differ", shapes...)
		}
		for i := range s {
			if i != axis && s[i] != first[i] {
				return nil, shapeErr("concat", fmt.Sprintf("dimension %d differs", i), shapes...)
			}
		}
		out[axis] += s[axis]
	}
	return out, nil
}

// Concat joins tensors along axis; all other dimensions must match.
func Concat(axis int, ts ...*Tensor) *Tensor {
	shapes := make([]Shape, len(ts))
	for i, t := range ts {
		shapes[i] = t.shape
	}
	sh, err := ConcatShape(axis, shapes...)
	if err != nil {
		panic(err)
	}
	out := New(sh...)
	ConcatInto(out, axis, ts...)
	return out
}

// ConcatInto writes Concat(axis, ts...) into dst (any strided view of the
// right shape).
func ConcatInto(dst *Tensor, axis int, ts ...*Tensor) {
	if len(ts) == 0 {
		panic(shapeErr("concat", "no inputs"))
	}
	axis = normAxis("concat", axis, len(dst.shape), dst.shape)
	start := 0
	for _, t := range ts {
		n := 0
		if axis < len(t.shape) {
			n = t.shape[axis]
		}
		if start+n > dst.shape[axis] {
			panic(shapeErr("concat", "inputs exceed destination", dst.shape, t.shape))
		}
		dst.Slice(axis, start, start+n).CopyFrom(t)
		start += n
	}
	if start != dst.shape[axis] {
		panic(shapeErr("concat", "inputs do not fill destination", dst.shape))
	}
}

// Split returns views of t cut along axis into pieces of the given sizes,
// which must add up to the axis length.
func Split(t *Tensor, axis int, sizes ...int) []*Tensor {
	axis = normAxis("split", axis, len(t.shape), t.shape)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(shapeErr("split", fmt.Sprintf("sizes %v", sizes), t.shape))
		}
		total += s
	}
	if total != t.shape[axis] {
		panic(shapeErr("split", fmt.Sprintf("sizes %v do not add up to axis %d", sizes, axis), t.shape))
	}
	out := make([]*Tensor, len(sizes))
	start := 0
	for i, s := range sizes {
		out[i] = t.Slice(axis, start, start+s)
		start += s
	}
	return out
}

// Chunk splits t along axis into n views of equal size; the axis length must
// be divisible by n.
func Chunk(t *Tensor, axis, n int) []*Tensor {
	ax := normAxis("chunk", axis, len(t.shape), t.shape)
	if n <= 0 || t.shape[ax]%n != 0 {
		panic(shapeErr("chunk", fmt.Sprintf("%d chunks of axis %d", n, ax), t.shape))
	}
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = t.shape[ax] / n
	}
	return Split(t, ax, sizes...)
}
