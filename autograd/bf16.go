package autograd

import (
	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// This file holds the bfloat16 mixed-precision products of Linear and
// LinearT, used when the graph has SetBF16 on (see there).

// SetBF16 switches bfloat16 mixed precision on or off for the ops drawing
// from g, and returns the previous setting. With it on, the three products
// of every Linear and LinearT — the forward x·wᵀ, the input gradient dy·w
// and the weight gradient dyᵀ·x — run kernels.GemmBF16: both operands are
// rounded to bfloat16 (to nearest even) as they are read and the products
// of bfloat16 pairs are summed in float32, which is what PyTorch's
// torch.autocast("cpu", dtype=torch.bfloat16) does to linear layers, and
// so what Hugging Face Trainer's --bf16 gives on CPU. Everything else stays
// float32: the parameters (the master weights) and their gradients, the
// bias and its gradient, attention (MatMul and ScaledDotProductAttention),
// LayerNorm, softmax, the losses, and the optimizer, which reads only
// those. kernels.GemmBF16's results do not depend on the machine, the
// thread count or the blocking, so a run in bfloat16 repeats itself and
// resumes exactly, as in float32. On a CPU without AVX-512 BF16 the
// products run GemmBF16's AVX2+FMA kernels, or elsewhere its generic twin,
// much more slowly: the same results either way.
// A nil Graph cannot switch it on (SetBF16 then reports false and does
// nothing).
func (g *Graph) SetBF16(on bool) (prev bool) {
	if g == nil {
		return false
	}
	prev = g.bf16
	g.bf16 = on
	return prev
}

// BF16 reports whether g runs its linear layers in bfloat16 mixed
// precision (SetBF16).
func (g *Graph) BF16() bool { return g != nil && g.bf16 }

// mulBF16 computes c = bf16(op(A))·bf16(op(B)) + beta·c, then ep (nil:
// none), for row-major float32 matrices: op(A) is m×k (A stored k×m with
// stride lda when transA), op(B) k×n (stored n×k with stride ldb when
// transB), c m×n with stride ldc. op(B) is rounded and packed into the
// graph's reusable buffer first.
func (g *Graph) mulBF16(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *kernels.Epilogue) {
	g.packed = kernels.PackF32BF16Into(g.packed, transB, k, n, b, ldb)
	kernels.GemmBF16(transA, m, a, lda, g.packed, beta, c, ldc, ep)
}

// linearBF16 is linear (Linear when wT is false, LinearT when true) with
// bfloat16 products; out has the result's shape sh.
func linearBF16(g *Graph, x, w, bias *Var, wT bool, sh tensor.Shape) *Var {
	in, nOut := x.Value.Dim(-1), sh[len(sh)-1]
	rows := sh.Numel() / max(nOut, 1)
	xm := x.Value.Contiguous() // [rows, in]; no copy when x is already dense
	wm := w.Value.Contiguous() // [out, in], or [in, out] for LinearT
	out := g.alloc(sh)
	var bv []float32
	var ep *kernels.Epilogue
	if bias != nil {
		bv = bias.Value.Contiguous().Data()
		ep = &kernels.Epilogue{Bias: bv}
	}
	if out.Numel() > 0 {
		// out = x·op(w): op(w) = wᵀ ([out, in] read transposed) for Linear.
		g.mulBF16(false, !wT, rows, nOut, in, xm.Data(), max(in, 1), wm.Data(), max(wm.Dim(1), 1), 0, out.Data(), max(nOut, 1), ep)
	}
	parents := []*Var{x, w}
	if bias != nil {
		parents = append(parents, bias)
	}
	return record(g, out, func(gr *tensor.Tensor) {
		if rows == 0 || nOut == 0 {
			return
		}
		gf := gr.Reshape(-1, nOut).Contiguous() // [rows, out]
		gd := gf.Data()
		if x.requiresGrad {
			dst, beta := gradBeta(x)
			if in > 0 {
				// dx = dy·w for Linear (w [out, in]), dy·wᵀ for LinearT (w [in, out]).
				g.mulBF16(false, wT, rows, in, nOut, gd, nOut, wm.Data(), max(wm.Dim(1), 1), beta, dst.Data(), in, nil)
			} else if beta == 0 {
				clear(dst.Data())
			}
		}
		if w.requiresGrad {
			dst, beta := gradBeta(w)
			if in > 0 {
				if wT {
					// dw [in, out] += xᵀ·dy
					g.mulBF16(true, false, in, nOut, rows, xm.Data(), in, gd, nOut, beta, dst.Data(), nOut, nil)
				} else {
					// dw [out, in] += dyᵀ·x
					g.mulBF16(true, false, nOut, in, rows, gd, nOut, xm.Data(), in, beta, dst.Data(), in, nil)
				}
			}
		}
		if bias != nil && bias.requiresGrad {
			tensor.AccumulateInto(gradZeroed(bias), gf)
		}
	}, parents...)
}
