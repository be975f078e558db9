package autograd

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// AttentionOptions configures ScaledDotProductAttention. The zero value is
// unmasked attention with scale 1/√D and no dropout.
type AttentionOptions struct {
	// Causal masks key j for query i when j > i + S − T (T queries, S keys):
	// the usual lower-triangular mask when T == S, and the right alignment a
	// KV cache needs when the T queries are the last T of S positions.
	Causal bool
	// KeyPadding, when non-nil, has B·S entries in [B, S] row-major order;
	// true marks a padding key that no query attends to (PyTorch's
	// key_padding_mask convention).
	KeyPadding []bool
	// Mask, when non-nil, is added to the scores; it must broadcast to
	// [B, H, T, S] (use −Inf to forbid a position).
	Mask *tensor.Tensor
	// Scale multiplies q·k; 0 means 1/√D.
	Scale float32
	// DropoutP is the probability of zeroing an attention weight (with the
	// survivors scaled by 1/(1−p)); it needs RNG. 0 disables dropout.
	DropoutP float32
	// RNG draws the dropout mask.
	RNG *tensor.RNG
	// ReturnProbs makes ScaledDotProductAttention return the attention
	// probabilities [B, H, T, S] (before dropout).
	ReturnProbs bool
}

// headMat locates head matrices of a [B, H', N, D] tensor whose last
// dimension is dense: element (b, h, i, d) is at off + b·sb + h·sh + i·ld + d.
type headMat struct {
	data       []float32
	off        int
	sb, sh, ld int
}

func headsOf(t *tensor.Tensor) headMat {
	st := t.Strides()
	sh := t.Shape()
	if sh[3] > 1 && st[3] != 1 || (sh[2] > 1 && st[2] < sh[3]) {
		t = t.Contiguous()
		st = t.Strides()
	}
	data, off := t.Storage()
	ld := st[2]
	if sh[2] <= 1 {
		ld = max(sh[3], 1)
	}
	return headMat{data: data, off: off, sb: st[0], sh: st[1], ld: ld}
}

func (m headMat) at(b, h int) []float32 { return m.data[m.off+b*m.sb+h*m.sh:] }

// ScaledDotProductAttention computes softmax(scale·q·kᵀ + masks)·v for
// q [B, H, T, D] and k, v [B, Hkv, S, D] (Hkv dividing H: grouped-query
// attention when Hkv < H), returning [B, H, T, D]. Inputs may be strided
// views (e.g. a permuted [B, T, H, D]) as long as D is dense. It is fused:
// one Sgemm pair per (batch, head), parallel across heads, with a
// hand-written backward. Rows whose keys are all masked produce zeros. It
// also returns the probabilities when opts.ReturnProbs is set (nil
// otherwise); they stay valid until the graph is Reset.
func ScaledDotProductAttention(q, k, v *Var, opts AttentionOptions) (*Var, *tensor.Tensor) {
	qs, ks, vs := q.Value.Shape(), k.Value.Shape(), v.Value.Shape()
	if len(qs) != 4 || len(ks) != 4 || !ks.Equal(vs) || qs[0] != ks[0] || qs[3] != ks[3] || ks[1] == 0 || qs[1]%ks[1] != 0 {
		panic(&tensor.ShapeError{Op: "attention", Shapes: []tensor.Shape{qs, ks, vs}, Msg: "want q [B, H, T, D], k and v [B, Hkv, S, D] with Hkv dividing H"})
	}
	B, H, T, D := qs[0], qs[1], qs[2], qs[3]
	Hkv, S := ks[1], ks[2]
	group := H / Hkv
	if opts.KeyPadding != nil && len(opts.KeyPadding) != B*S {
		panic(&tensor.ShapeError{Op: "attention", Shapes: []tensor.Shape{qs, ks}, Msg: fmt.Sprintf("key padding has %d entries, want B·S = %d", len(opts.KeyPadding), B*S)})
	}
	var maskT *tensor.Tensor
	if opts.Mask != nil {
		if _, err := tensor.BroadcastShapes(opts.Mask.Shape(), tensor.Shape{B, H, T, S}); err != nil || opts.Mask.NDim() > 4 {
			panic(&tensor.ShapeError{Op: "attention", Shapes: []tensor.Shape{opts.Mask.Shape(), {B, H, T, S}}, Msg: "mask does not broadcast to [B, H, T, S]"})
		}
		maskT = opts.Mask.Expand(B, H, T, S)
	}
	scale := opts.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(D)))
	}
	dropP := opts.DropoutP
	if dropP > 0 && opts.RNG == nil {
		panic("autograd: attention: dropout needs an RNG")
	}
	g := graphOf(q, k, v)
	needGrad := tracking(g, q, k, v)
	qm, km, vm := headsOf(q.Value), headsOf(k.Value), headsOf(v.Value)
	out := g.alloc(tensor.Shape{B, H, T, D})
	od := out.Data()
	TS := T * S

	// Probabilities are kept whole only when backward or the caller needs
	// them; otherwise each worker reuses one [T, S] block.
	keepP := needGrad || opts.ReturnProbs
	var probs, drop []float32
	if keepP {
		probs = g.floats(B * H * TS)
	}
	if dropP > 0 {
		drop = g.floats(B * H * TS)
		if dropP >= 1 {
			clear(drop)
		} else {
			opts.RNG.DropoutMask(drop, dropP)
		}
	}
	nGroups := B * Hkv
	nw := max(1, min(kernels.Threads(), nGroups))
	var scratch []float32
	if !keepP || dropP > 0 {
		scratch = g.get(nw * TS)
	}
	var md []float32
	var mst []int
	var moff int
	if maskT != nil {
		md, moff = maskT.Storage()
		mst = maskT.Strides()
	}
	negInf := float32(math.Inf(-1))
	splitRows(nGroups, TS, nw, func(w, lo, hi int) {
		for gi := lo; gi < hi; gi++ {
			b, hk := gi/Hkv, gi%Hkv
			for h := hk * group; h < (hk+1)*group; h++ {
				bh := b*H + h
				var p []float32
				if keepP {
					p = probs[bh*TS : (bh+1)*TS]
				} else {
					p = scratch[w*TS : (w+1)*TS]
				}
				kernels.Sgemm(false, true, T, S, D, scale, qm.at(b, h), qm.ld, km.at(b, hk), km.ld, 0, p, S)
				for i := 0; i < T; i++ {
					row := p[i*S : (i+1)*S]
					if md != nil {
						base := moff + b*mst[0] + h*mst[1] + i*mst[2]
						if mst[3] == 1 {
							kernels.Add(row, row, md[base:base+S])
						} else {
							for j := range row {
								row[j] += md[base+j*mst[3]]
							}
						}
					}
					if opts.KeyPadding != nil {
						pad := opts.KeyPadding[b*S : (b+1)*S]
						for j, m := range pad {
							if m {
								row[j] = negInf
							}
						}
					}
					if opts.Causal {
						for j := max(0, i+S-T+1); j < S; j++ {
							row[j] = negInf
						}
					}
					tensor.SoftmaxRow(row, row)
				}
				pv := p
				if dropP > 0 {
					pv = scratch[w*TS : (w+1)*TS]
					kernels.Mul(pv, p, drop[bh*TS:(bh+1)*TS])
				}
				kernels.Sgemm(false, false, T, D, S, 1, pv, S, vm.at(b, hk), vm.ld, 0, od[bh*T*D:], D)
			}
		}
	})
	if scratch != nil {
		g.put(scratch)
	}
	var retP *tensor.Tensor
	if opts.ReturnProbs {
		retP = tensor.MustFromData(probs, B, H, T, S)
	}
	res := record(g, out, func(gr *tensor.Tensor) {
		dO := gr.Data()
		var dq, dk, dv []float32
		var betaQ float32
		if q.requiresGrad {
			t, beta := gradBeta(q)
			dq, betaQ = t.Data(), beta
		}
		if k.requiresGrad {
			dk = gradZeroed(k).Data()
		}
		if v.requiresGrad {
			dv = gradZeroed(v).Data()
		}
		SD := S * D
		scr := g.get(nw * 2 * TS)
		splitRows(nGroups, TS, nw, func(w, lo, hi int) {
			dp := scr[w*2*TS : w*2*TS+TS]
			pdw := scr[w*2*TS+TS : (w+1)*2*TS]
			for gi := lo; gi < hi; gi++ {
				b, hk := gi/Hkv, gi%Hkv
				for h := hk * group; h < (hk+1)*group; h++ {
					bh := b*H + h
					p := probs[bh*TS : (bh+1)*TS]
					pv := p
					if dropP > 0 {
						pv = pdw
						kernels.Mul(pv, p, drop[bh*TS:(bh+1)*TS])
					}
					dOh := dO[bh*T*D:]
					if dv != nil { // dV += P̃ᵀ·dO
						kernels.Sgemm(true, false, S, D, T, 1, pv, S, dOh, D, 1, dv[gi*SD:], D)
					}
					if dq == nil && dk == nil {
						continue
					}
					// dP̃ = dO·Vᵀ; dP = dP̃ ⊙ dropout mask; dS = softmax'(P)·dP·scale
					kernels.Sgemm(false, true, T, S, D, 1, dOh, D, vm.at(b, hk), vm.ld, 0, dp, S)
					if dropP > 0 {
						kernels.Mul(dp, dp, drop[bh*TS:(bh+1)*TS])
					}
					for i := 0; i < T; i++ {
						r := dp[i*S : (i+1)*S]
						kernels.SoftmaxBackward(r, p[i*S:(i+1)*S], r)
						kernels.Scale(scale, r)
					}
					if dq != nil { // dQ = dS·K
						kernels.Sgemm(false, false, T, D, S, 1, dp, S, km.at(b, hk), km.ld, betaQ, dq[bh*T*D:], D)
					}
					if dk != nil { // dK += dSᵀ·Q
						kernels.Sgemm(true, false, S, D, T, 1, dp, S, qm.at(b, h), qm.ld, 1, dk[gi*SD:], D)
					}
				}
			}
		})
		g.put(scr)
	}, q, k, v)
	return res, retP
}
