package autograd

import (
	"github.com/glossa-ai/glossa/tensor"
)

// MatMul returns a @ b over the last two dimensions with broadcast batch
// dimensions, as tensor.MatMul. Transposed views (tensor T/Transpose of a
// Var's value, or the Transpose op) cost no copy.
func MatMul(a, b *Var) *Var {
	g := graphOf(a, b)
	sh, err := tensor.MatMulShape(a.Value.Shape(), b.Value.Shape())
	if err != nil {
		panic(err)
	}
	out := g.alloc(sh)
	tensor.MatMulInto(out, a.Value, b.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		if a.requiresGrad {
			// dA = dC @ Bᵀ
			bT := b.Value.T()
			full, _ := tensor.MatMulShape(gr.Shape(), bT.Shape())
			if full.Equal(a.Value.Shape()) {
				dst, beta := gradBeta(a)
				tensor.Gemm(dst, gr, bT, 1, beta)
			} else {
				tmp := g.allocTemp(full)
				tensor.MatMulInto(tmp, gr, bT)
				accumulate(a, tmp)
				g.releaseTemp(tmp)
			}
		}
		if b.requiresGrad {
			// dB = Aᵀ @ dC
			aT := a.Value.T()
			full, _ := tensor.MatMulShape(aT.Shape(), gr.Shape())
			switch {
			case full.Equal(b.Value.Shape()):
				dst, beta := gradBeta(b)
				tensor.Gemm(dst, aT, gr, 1, beta)
			case b.Value.NDim() == 2:
				// Shared weight: fold the batch into the contraction.
				k, n := b.Value.Dim(0), b.Value.Dim(1)
				af := a.Value.Reshape(-1, k)
				gf := gr.Reshape(-1, n)
				dst, beta := gradBeta(b)
				tensor.Gemm(dst, af.T(), gf, 1, beta)
			default:
				tmp := g.allocTemp(full)
				tensor.MatMulInto(tmp, aT, gr)
				accumulate(b, tmp)
				g.releaseTemp(tmp)
			}
		}
	}, a, b)
}

// Linear returns x @ wᵀ + bias for x [..., in], w [out, in] (PyTorch's
// nn.Linear layout) and bias [out] or nil.
func Linear(x, w, bias *Var) *Var { return linear(x, w, bias, false) }

// LinearT returns x @ w + bias for x [..., in], w [in, out] (GPT-2's Conv1D
// layout) and bias [out] or nil.
func LinearT(x, w, bias *Var) *Var { return linear(x, w, bias, true) }

func linear(x, w, bias *Var, wT bool) *Var {
	var bv *tensor.Tensor
	if bias != nil {
		bv = bias.Value
	}
	sh, err := tensor.LinearShape(x.Value.Shape(), w.Value.Shape(), shapeOf(bias), wT)
	if err != nil {
		panic(err)
	}
	g := graphOf(x, w, bias)
	if g.BF16() {
		return linearBF16(g, x, w, bias, wT, sh)
	}
	out := g.alloc(sh)
	if wT {
		tensor.LinearTInto(out, x.Value, w.Value, bv)
	} else {
		tensor.LinearInto(out, x.Value, w.Value, bv)
	}
	parents := []*Var{x, w}
	if bias != nil {
		parents = append(parents, bias)
	}
	return record(g, out, func(gr *tensor.Tensor) {
		nOut := sh[len(sh)-1]
		in := x.Value.Dim(-1)
		gf := gr.Reshape(-1, nOut) // [rows, out]
		if x.requiresGrad {
			dst, beta := gradBeta(x)
			wm := w.Value // dX = dY @ W  (W [out, in]) or dY @ Wᵀ (W [in, out])
			if wT {
				wm = wm.T()
			}
			tensor.Gemm(dst.Reshape(-1, in), gf, wm, 1, beta)
		}
		if w.requiresGrad {
			xf := x.Value.Reshape(-1, in) // [rows, in]
			dst, beta := gradBeta(w)
			if wT {
				tensor.Gemm(dst, xf.T(), gf, 1, beta) // [in, out]
			} else {
				tensor.Gemm(dst, gf.T(), xf, 1, beta) // [out, in]
			}
		}
		if bias != nil && bias.requiresGrad {
			tensor.AccumulateInto(gradZeroed(bias), gf)
		}
	}, parents...)
}

func shapeOf(v *Var) tensor.Shape {
	if v == nil {
		return nil
	}
	return v.Value.Shape()
}
