package autograd

import (
	"math"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// par runs fn over [0, n) in parallel chunks when n is large.
func par(n int, fn func(lo, hi int)) {
	const grain = 1 << 15
	if n < 2*grain {
		fn(0, n)
		return
	}
	kernels.ParallelFor(n, grain, fn)
}

func broadcastShape(op string, a, b *Var) tensor.Shape {
	sh, err := tensor.BroadcastShapes(a.Value.Shape(), b.Value.Shape())
	if err != nil {
		panic(&tensor.ShapeError{Op: op, Shapes: []tensor.Shape{a.Value.Shape(), b.Value.Shape()}, Msg: "shapes do not broadcast"})
	}
	return sh
}

// Add returns a + b with broadcasting.
func Add(a, b *Var) *Var {
	g := graphOf(a, b)
	out := g.alloc(broadcastShape("add", a, b))
	tensor.AddInto(out, a.Value, b.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		accumulate(a, gr)
		accumulate(b, gr)
	}, a, b)
}

// Sub returns a − b with broadcasting.
func Sub(a, b *Var) *Var {
	g := graphOf(a, b)
	out := g.alloc(broadcastShape("sub", a, b))
	tensor.SubInto(out, a.Value, b.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		accumulate(a, gr)
		if b.requiresGrad {
			tmp := g.allocTemp(gr.Shape())
			tensor.NegInto(tmp, gr)
			accumulate(b, tmp)
			g.releaseTemp(tmp)
		}
	}, a, b)
}

// Mul returns a · b element-wise with broadcasting.
func Mul(a, b *Var) *Var {
	g := graphOf(a, b)
	out := g.alloc(broadcastShape("mul", a, b))
	tensor.MulInto(out, a.Value, b.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		mulGrad(g, a, gr, b.Value)
		mulGrad(g, b, gr, a.Value)
	}, a, b)
}

// mulGrad accumulates reduce(gr · other) into v.Grad.
func mulGrad(g *Graph, v *Var, gr, other *tensor.Tensor) {
	if !v.requiresGrad {
		return
	}
	if v.Value.Shape().Equal(gr.Shape()) {
		accumulateWith(v, func(dst *tensor.Tensor) { tensor.MulInto(dst, gr, other) })
		return
	}
	tmp := g.allocTemp(gr.Shape())
	tensor.MulInto(tmp, gr, other)
	accumulate(v, tmp)
	g.releaseTemp(tmp)
}

// Div returns a / b element-wise with broadcasting.
func Div(a, b *Var) *Var {
	g := graphOf(a, b)
	out := g.alloc(broadcastShape("div", a, b))
	tensor.DivInto(out, a.Value, b.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		if a.requiresGrad {
			tmp := g.allocTemp(gr.Shape())
			tensor.DivInto(tmp, gr, b.Value)
			accumulate(a, tmp)
			g.releaseTemp(tmp)
		}
		if b.requiresGrad {
			// d(a/b)/db = −out/b
			tmp := g.allocTemp(gr.Shape())
			tensor.MulInto(tmp, gr, out)
			tensor.DivInto(tmp, tmp, b.Value)
			tensor.NegInto(tmp, tmp)
			accumulate(b, tmp)
			g.releaseTemp(tmp)
		}
	}, a, b)
}

// AddScalar returns x + s.
func AddScalar(x *Var, s float32) *Var {
	g := x.graph
	out := g.alloc(x.Value.Shape())
	tensor.AddScalarInto(out, x.Value, s)
	return record(g, out, func(gr *tensor.Tensor) { accumulate(x, gr) }, x)
}

// MulScalar returns x · s.
func MulScalar(x *Var, s float32) *Var {
	g := x.graph
	out := g.alloc(x.Value.Shape())
	tensor.MulScalarInto(out, x.Value, s)
	return record(g, out, func(gr *tensor.Tensor) {
		accumulateWith(x, func(dst *tensor.Tensor) { tensor.MulScalarInto(dst, gr, s) })
	}, x)
}

// Neg returns −x.
func Neg(x *Var) *Var { return MulScalar(x, -1) }

// unaryOp computes out = fwd(x) and, on backward, x.Grad += bwd(dst, x, out,
// grad) where all slices are dense and of equal length.
func unaryOp(x *Var, fwd func(dst, x *tensor.Tensor), bwd func(dx, x, y, dy []float32)) *Var {
	g := x.graph
	out := g.alloc(x.Value.Shape())
	fwd(out, x.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		xs := x.Value.Contiguous().Data()
		ys, dy := out.Data(), gr.Data()
		accumulateWith(x, func(dst *tensor.Tensor) {
			dx := dst.Data()
			par(len(dx), func(lo, hi int) { bwd(dx[lo:hi], xs[lo:hi], ys[lo:hi], dy[lo:hi]) })
		})
	}, x)
}

// Exp returns eˣ.
func Exp(x *Var) *Var {
	return unaryOp(x, tensor.ExpInto, func(dx, _, y, dy []float32) { kernels.Mul(dx, y, dy) })
}

// Log returns the natural logarithm of x.
func Log(x *Var) *Var {
	return unaryOp(x, tensor.LogInto, func(dx, x, _, dy []float32) {
		for i, v := range x {
			dx[i] = dy[i] / v
		}
	})
}

// Sqrt returns √x.
func Sqrt(x *Var) *Var {
	return unaryOp(x, tensor.SqrtInto, func(dx, _, y, dy []float32) {
		for i, v := range y {
			dx[i] = dy[i] * 0.5 / v
		}
	})
}

// Pow returns xᵖ for a constant exponent p.
func Pow(x *Var, p float32) *Var {
	return unaryOp(x, func(dst, x *tensor.Tensor) { tensor.PowInto(dst, x, p) }, func(dx, x, _, dy []float32) {
		pm1 := float64(p - 1)
		for i, v := range x {
			dx[i] = dy[i] * p * float32(math.Pow(float64(v), pm1))
		}
	})
}

// Tanh returns tanh(x).
func Tanh(x *Var) *Var {
	return unaryOp(x, tensor.TanhInto, func(dx, _, y, dy []float32) {
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	})
}

// Sigmoid returns 1/(1+e⁻ˣ).
func Sigmoid(x *Var) *Var {
	return unaryOp(x, tensor.SigmoidInto, func(dx, _, y, dy []float32) {
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	})
}

// ReLU returns max(x, 0); its gradient at 0 is 0.
func ReLU(x *Var) *Var {
	return unaryOp(x, tensor.ReLUInto, func(dx, x, _, dy []float32) { kernels.ReLUBackward(dx, x, dy) })
}

// GELU returns the exact (erf) GELU of x.
func GELU(x *Var) *Var {
	return unaryOp(x, tensor.GELUInto, func(dx, x, _, dy []float32) { kernels.GELUBackward(dx, x, dy) })
}

// GELUTanh returns the tanh-approximated GELU of x (GPT-2's gelu_new).
func GELUTanh(x *Var) *Var {
	return unaryOp(x, tensor.GELUTanhInto, func(dx, x, _, dy []float32) { kernels.GELUTanhBackward(dx, x, dy) })
}

// SiLU returns x·σ(x).
func SiLU(x *Var) *Var {
	return unaryOp(x, tensor.SiLUInto, func(dx, x, _, dy []float32) { kernels.SiLUBackward(dx, x, dy) })
}

// MaskedFill returns x with value wherever mask (a constant broadcastable
// to x's shape) is non-zero; no gradient flows to the filled positions.
func MaskedFill(x *Var, mask *tensor.Tensor, value float32) *Var {
	g := x.graph
	out := g.alloc(x.Value.Shape())
	tensor.MaskedFillInto(out, x.Value, mask, value)
	return record(g, out, func(gr *tensor.Tensor) {
		accumulateWith(x, func(dst *tensor.Tensor) { tensor.MaskedFillInto(dst, gr, mask, 0) })
	}, x)
}

// Dropout zeroes each element of x with probability p, drawing the mask
// from rng, and scales the others by 1/(1−p). With p <= 0 it returns x.
func Dropout(x *Var, p float32, rng *tensor.RNG) *Var {
	if p <= 0 {
		return x
	}
	g := x.graph
	sh := x.Value.Shape()
	mask := g.alloc(sh)
	if p >= 1 {
		mask.Zero()
	} else {
		rng.DropoutMask(mask.Data(), p)
	}
	out := g.alloc(sh)
	tensor.MulInto(out, x.Value, mask)
	return record(g, out, func(gr *tensor.Tensor) {
		accumulateWith(x, func(dst *tensor.Tensor) { tensor.MulInto(dst, gr, mask) })
	}, x)
}
