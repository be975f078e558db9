package autograd

import (
	"github.com/glossa-ai/glossa/tensor"
)

// view returns a Var whose value is a view of x.Value and whose gradient
// maps back with back (a view of the upstream gradient shaped like x).
func view(x *Var, value *tensor.Tensor, back func(gr *tensor.Tensor) *tensor.Tensor) *Var {
	return record(x.graph, value, func(gr *tensor.Tensor) { accumulate(x, back(gr)) }, x)
}

// Reshape returns x with a new shape (one dimension may be -1); a view when
// x's value is contiguous.
func Reshape(x *Var, shape ...int) *Var {
	sh := x.Value.Shape().Clone()
	src := x.Value
	if !src.IsContiguous() {
		// Copy into a pooled buffer rather than letting tensor allocate.
		c := x.graph.alloc(sh)
		c.CopyFrom(src)
		src = c
	}
	return view(x, src.Reshape(shape...), func(gr *tensor.Tensor) *tensor.Tensor { return gr.Reshape(sh...) })
}

// Permute returns the view of x with dimensions reordered (dimension i of
// the result is axes[i] of x).
func Permute(x *Var, axes ...int) *Var {
	v := x.Value.Permute(axes...)
	inv := make([]int, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += len(axes)
		}
		inv[a] = i
	}
	return view(x, v, func(gr *tensor.Tensor) *tensor.Tensor { return gr.Permute(inv...) })
}

// Transpose returns the view of x with dimensions a and b swapped.
func Transpose(x *Var, a, b int) *Var {
	return view(x, x.Value.Transpose(a, b), func(gr *tensor.Tensor) *tensor.Tensor { return gr.Transpose(a, b) })
}

// Slice returns the view of indices [start, end) of x along axis.
func Slice(x *Var, axis, start, end int) *Var {
	v := x.Value.Slice(axis, start, end)
	return record(x.graph, v, func(gr *tensor.Tensor) {
		dst := gradZeroed(x).Slice(axis, start, end)
		tensor.AddInto(dst, dst, gr)
	}, x)
}

// Select returns the view of x at index i along axis, without that axis.
func Select(x *Var, axis, i int) *Var {
	v := x.Value.Select(axis, i)
	return record(x.graph, v, func(gr *tensor.Tensor) {
		dst := gradZeroed(x).Select(axis, i)
		tensor.AddInto(dst, dst, gr)
	}, x)
}

// Expand returns x broadcast to shape (see tensor.Tensor.Expand); the
// gradient sums over the repeated dimensions.
func Expand(x *Var, shape ...int) *Var {
	return view(x, x.Value.Expand(shape...), func(gr *tensor.Tensor) *tensor.Tensor { return gr })
}

// Unsqueeze inserts a dimension of size 1 at axis.
func Unsqueeze(x *Var, axis int) *Var {
	sh := x.Value.Shape().Clone()
	return view(x, x.Value.Unsqueeze(axis), func(gr *tensor.Tensor) *tensor.Tensor { return gr.Reshape(sh...) })
}

// Squeeze removes axis, which must have size 1.
func Squeeze(x *Var, axis int) *Var {
	sh := x.Value.Shape().Clone()
	return view(x, x.Value.Squeeze(axis), func(gr *tensor.Tensor) *tensor.Tensor { return gr.Reshape(sh...) })
}

// Contiguous returns x with a dense value (x itself when already dense).
func Contiguous(x *Var) *Var {
	if x.Value.IsContiguous() {
		return x
	}
	out := x.graph.alloc(x.Value.Shape())
	out.CopyFrom(x.Value)
	return view(x, out, func(gr *tensor.Tensor) *tensor.Tensor { return gr })
}

// Concat joins vs along axis.
func Concat(axis int, vs ...*Var) *Var {
	shapes := make([]tensor.Shape, len(vs))
	for i, v := range vs {
		shapes[i] = v.Value.Shape()
	}
	sh, err := tensor.ConcatShape(axis, shapes...)
	if err != nil {
		panic(err)
	}
	g := graphOf(vs...)
	out := g.alloc(sh)
	ts := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		ts[i] = v.Value
	}
	tensor.ConcatInto(out, axis, ts...)
	ax := normAxis(axis, len(sh))
	return record(g, out, func(gr *tensor.Tensor) {
		start := 0
		for _, v := range vs {
			n := v.Value.Dim(ax)
			accumulate(v, gr.Slice(ax, start, start+n))
			start += n
		}
	}, vs...)
}

// Split cuts x along axis into views of the given sizes, which must add up
// to the axis length.
func Split(x *Var, axis int, sizes ...int) []*Var {
	parts := tensor.Split(x.Value, axis, sizes...)
	out := make([]*Var, len(parts))
	start := 0
	for i, p := range parts {
		lo, hi := start, start+sizes[i]
		out[i] = record(x.graph, p, func(gr *tensor.Tensor) {
			dst := gradZeroed(x).Slice(axis, lo, hi)
			tensor.AddInto(dst, dst, gr)
		}, x)
		start = hi
	}
	return out
}
