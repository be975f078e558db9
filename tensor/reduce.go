package tensor

import (
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// reduceDims splits contiguous x around axis into [outer, n, inner].
func reduceDims(op string, x *Tensor, axis int) (ax, outer, n, inner int) {
	ax = normAxis(op, axis, len(x.shape), x.shape)
	outer = Shape(x.shape[:ax]).Numel()
	n = x.shape[ax]
	inner = Shape(x.shape[ax+1:]).Numel()
	return
}

// reducedShape is x's shape with axis removed or, with keepdim, set to 1.
func reducedShape(x Shape, ax int, keepdim bool) Shape {
	sh := x.Clone()
	if keepdim {
		sh[ax] = 1
		return sh
	}
	return append(sh[:ax], sh[ax+1:]...)
}

// Sum returns the sum of x over axis (negative counts from the end); with
// keepdim the axis stays with size 1.
func Sum(x *Tensor, axis int, keepdim bool) *Tensor {
	ax, _, _, _ := reduceDims("sum", x, axis)
	out := New(reducedShape(x.shape, ax, keepdim)...)
	sumInto(out.data, x, ax)
	return out
}

// Mean returns the mean of x over axis; see Sum.
func Mean(x *Tensor, axis int, keepdim bool) *Tensor {
	out := Sum(x, axis, keepdim)
	ax := normAxis("mean", axis, len(x.shape), x.shape)
	if n := x.shape[ax]; n > 0 {
		kernels.Scale(1/float32(n), out.data)
	} else {
		out.Fill(float32(math.NaN()))
	}
	return out
}

// SumInto writes Sum(x, axis, keepdim) into dst, a contiguous tensor of
// the reduced shape (with or without the kept axis).
func SumInto(dst, x *Tensor, axis int) {
	ax, _, _, _ := reduceDims("sum", x, axis)
	if !dst.IsContiguous() || dst.Numel() != x.Numel()/max(x.shape[ax], 1) || (x.shape[ax] == 0 && dst.Numel() != 0) {
		panic(shapeErr("sum", "destination does not have the reduced shape", dst.shape, x.shape))
	}
	d := dst.Data()
	clear(d)
	sumInto(d, x, ax)
}

// MeanInto writes Mean(x, axis, keepdim) into dst; see SumInto.
func MeanInto(dst, x *Tensor, axis int) {
	SumInto(dst, x, axis)
	ax := normAxis("mean", axis, len(x.shape), x.shape)
	kernels.Scale(1/float32(x.shape[ax]), dst.Data())
}

// sumInto adds the sums over axis ax of x into dst (which must be zeroed by
// the caller for a plain sum).
func sumInto(dst []float32, x *Tensor, ax int) {
	_, outer, n, inner := reduceDims("sum", x, ax)
	s := x.Contiguous().Data()
	if inner == 1 {
		kernels.ParallelFor(outer, rowGrain(n), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				dst[o] = kernels.Sum(s[o*n : (o+1)*n])
			}
		})
		return
	}
	for o := 0; o < outer; o++ {
		d := dst[o*inner : (o+1)*inner]
		for j := 0; j < n; j++ {
			kernels.Add(d, d, s[(o*n+j)*inner:(o*n+j+1)*inner])
		}
	}
}

// Max returns the maximum of x over axis; see Sum. The axis must not be
// empty.
func Max(x *Tensor, axis int, keepdim bool) *Tensor {
	ax, outer, n, inner := reduceDims("max", x, axis)
	if n == 0 {
		panic(shapeErr("max", "empty axis", x.shape))
	}
	out := New(reducedShape(x.shape, ax, keepdim)...)
	idx := argMax(x, ax)
	s := x.Contiguous().Data()
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			out.data[o*inner+i] = s[(o*n+idx[o*inner+i])*inner+i]
		}
	}
	return out
}

// ArgMax returns, for every position of the other axes in row-major order,
// the index of the largest element along axis (the first on ties; NaN counts
// as largest). The axis must not be empty.
func ArgMax(x *Tensor, axis int) []int {
	ax, _, n, _ := reduceDims("argmax", x, axis)
	if n == 0 {
		panic(shapeErr("argmax", "empty axis", x.shape))
	}
	return argMax(x, ax)
}

func argMax(x *Tensor, ax int) []int {
	_, outer, n, inner := reduceDims("argmax", x, ax)
	s := x.Contiguous().Data()
	idx := make([]int, outer*inner)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			best, bi := float32(math.Inf(-1)), 0
			for j := 0; j < n; j++ {
				v := s[(o*n+j)*inner+i]
				if v > best || (v != v && best == best) {
					best, bi = v, j
					if v != v {
						break
					}
				}
			}
			idx[o*inner+i] = bi
		}
	}
	return idx
}

// SumAll returns the sum of all elements (accumulated in float64).
func SumAll(x *Tensor) float32 {
	s := x.Contiguous().Data()
	var acc float64
	const chunk = 4096
	for i := 0; i < len(s); i += chunk {
		acc += float64(kernels.Sum(s[i:min(i+chunk, len(s))]))
	}
	return float32(acc)
}

// MeanAll returns the mean of all elements (NaN for an empty tensor).
func MeanAll(x *Tensor) float32 {
	n := x.Numel()
	if n == 0 {
		return float32(math.NaN())
	}
	return float32(float64(SumAll(x)) / float64(n))
}

// MaxAll returns the largest element (−Inf for an empty tensor).
func MaxAll(x *Tensor) float32 { return kernels.Max(x.Contiguous().Data()) }
