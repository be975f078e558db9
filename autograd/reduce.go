package autograd

import (
	"github.com/glossa-ai/glossa/tensor"
)

func normAxis(axis, n int) int {
	if axis < 0 {
		axis += n
	}
	return axis
}

// keepShape is shape with axis set to 1.
func keepShape(shape tensor.Shape, axis int) tensor.Shape {
	sh := shape.Clone()
	sh[axis] = 1
	return sh
}

// Sum returns the sum of x over axis (negative counts from the end); with
// keepdim the axis stays with size 1.
func Sum(x *Var, axis int, keepdim bool) *Var { return sumMean(x, axis, keepdim, false) }

// Mean returns the mean of x over axis; see Sum.
func Mean(x *Var, axis int, keepdim bool) *Var { return sumMean(x, axis, keepdim, true) }

func sumMean(x *Var, axis int, keepdim, mean bool) *Var {
	ax := normAxis(axis, x.Value.NDim())
	if ax < 0 || ax >= x.Value.NDim() {
		panic(&tensor.ShapeError{Op: "sum", Shapes: []tensor.Shape{x.Value.Shape()}, Msg: "axis out of range"})
	}
	sh := x.Value.Shape().Clone()
	if keepdim {
		sh[ax] = 1
	} else {
		sh = append(sh[:ax], sh[ax+1:]...)
	}
	out := x.graph.alloc(sh)
	if mean {
		tensor.MeanInto(out, x.Value, ax)
	} else {
		tensor.SumInto(out, x.Value, ax)
	}
	return record(x.graph, out, func(gr *tensor.Tensor) {
		gk := gr.Reshape(keepShape(x.Value.Shape(), ax)...)
		accumulateWith(x, func(dst *tensor.Tensor) {
			dst.CopyFrom(gk)
			if mean {
				tensor.MulScalarInto(dst, dst, 1/float32(x.Value.Dim(ax)))
			}
		})
	}, x)
}

// SumAll returns the sum of all elements of x as a scalar.
func SumAll(x *Var) *Var {
	out := tensor.Scalar(tensor.SumAll(x.Value))
	return record(x.graph, out, func(gr *tensor.Tensor) {
		v := gr.Item()
		accumulateWith(x, func(dst *tensor.Tensor) { dst.Fill(v) })
	}, x)
}

// MeanAll returns the mean of all elements of x as a scalar.
func MeanAll(x *Var) *Var {
	out := tensor.Scalar(tensor.MeanAll(x.Value))
	n := float32(x.Value.Numel())
	return record(x.graph, out, func(gr *tensor.Tensor) {
		v := gr.Item() / n
		accumulateWith(x, func(dst *tensor.Tensor) { dst.Fill(v) })
	}, x)
}

// Max returns the maximum of x over axis; the gradient flows to the first
// maximal element of each slice.
func Max(x *Var, axis int, keepdim bool) *Var {
	out := tensor.Max(x.Value, axis, keepdim)
	ax := normAxis(axis, x.Value.NDim())
	var idx []int
	if tracking(x.graph, x) {
		idx = tensor.ArgMax(x.Value, ax)
	}
	return record(x.graph, out, func(gr *tensor.Tensor) {
		sh := x.Value.Shape()
		outer := tensor.Shape(sh[:ax]).Numel()
		n := sh[ax]
		inner := tensor.Shape(sh[ax+1:]).Numel()
		gs := gr.Data()
		accumulateWith(x, func(dst *tensor.Tensor) {
			d := dst.Data()
			clear(d)
			for o := 0; o < outer; o++ {
				for i := 0; i < inner; i++ {
					d[(o*n+idx[o*inner+i])*inner+i] = gs[o*inner+i]
				}
			}
		})
	}, x)
}
