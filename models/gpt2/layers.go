package gpt2

import (
	"math"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/nn"
)

// The layers of GPT-2 as pairs of plain functions over flat row-major
// buffers, in the manner of llm.c: each *Forward writes its output and the
// values its backward needs; each *Backward takes the upstream gradient and
// accumulates into the parameter gradients. Nothing here allocates.
//
// Letters: N rows (= B·T), C width, OC output width, B batch, T sequence
// length, H heads, D = C/H head size, V vocabulary.

// rowGrain is the number of rows a worker takes at least in row-parallel
// loops; below it the loop runs on the calling goroutine.
const rowGrain = 16

// encoderForward writes out[n] = wte[ids[n]] + wpe[n mod T]. out: [B·T, C].
func encoderForward(out []float32, ids []int, wte, wpe []float32, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			n := b*T + t
			id := ids[n]
			kernels.Add(out[n*C:(n+1)*C], wte[id*C:(id+1)*C], wpe[t*C:(t+1)*C])
		}
	}
}

// encoderBackward accumulates the embedding gradients from dout [B·T, C].
func encoderBackward(dwte, dwpe, dout []float32, ids []int, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			n := b*T + t
			id := ids[n]
			d := dout[n*C : (n+1)*C]
			kernels.Axpy(1, d, dwte[id*C:(id+1)*C])
			kernels.Axpy(1, d, dwpe[t*C:(t+1)*C])
		}
	}
}

// layerNormForward normalises each of the N rows of x [N, C] into out,
// saving each row's mean and reciprocal standard deviation. When outb is
// not nil it also receives out rounded to bfloat16 [N, C], each row while
// it is in cache: the next product's operand in bfloat16 (products.mulRows).
func layerNormForward(out []float32, outb []uint16, mean, rstd, x, w, b []float32, N, C int, eps float32) {
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			mean[n], rstd[n] = kernels.LayerNorm(out[n*C:(n+1)*C], x[n*C:(n+1)*C], w, b, eps)
			if outb != nil {
				kernels.F32ToBF16(outb[n*C:(n+1)*C], out[n*C:(n+1)*C])
			}
		}
	})
}

// layerNormBackward writes dx (overwriting) and accumulates dw, db; dxb,
// when not nil, receives dx rounded to bfloat16, as layerNormForward's outb.
// Rows are split into at most kernels.Threads() contiguous parts, each
// summing its parameter gradients into its own slice of scratch (2·C values
// per part), which are then added in part order.
func layerNormBackward(dx []float32, dxb []uint16, dw, db, dout, x, w, mean, rstd, scratch []float32, N, C int) {
	parts := min(kernels.Threads(), max(N/rowGrain, 1), len(scratch)/(2*C))
	partial := scratch[:parts*2*C]
	clear(partial)
	kernels.ParallelFor(parts, 1, func(lo, hi int) {
		for part := lo; part < hi; part++ {
			pw := partial[part*2*C : part*2*C+C]
			pb := partial[part*2*C+C : (part+1)*2*C]
			for n := part * N / parts; n < (part+1)*N/parts; n++ {
				r := n * C
				kernels.LayerNormBackward(dx[r:r+C], x[r:r+C], w, dout[r:r+C], mean[n], rstd[n], pw, pb)
				if dxb != nil {
					kernels.F32ToBF16(dxb[r:r+C], dx[r:r+C])
				}
			}
		}
	})
	for part := 0; part < parts; part++ {
		kernels.Add(dw, dw, partial[part*2*C:part*2*C+C])
		kernels.Add(db, db, partial[part*2*C+C:(part+1)*2*C])
	}
}

// products runs the trainer's weight products: float32 Sgemm, or, with bf16
// set, kernels.GemmBF16 (both operands rounded to bfloat16 as they are read,
// the products of bfloat16 pairs summed in float32), op(B) repacked into pb
// before each product — the master weights change every step, and each is
// read in two layouts (x·w forward, dout·wᵀ backward). A nil *products is
// float32.
type products struct {
	bf16 bool
	pb   *kernels.PackedBF16
}

// mul computes C = op(A)·op(B) + beta·C, then ep (nil: none), as
// kernels.SgemmEpilogue with alpha 1.
func (p *products) mul(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *kernels.Epilogue) {
	if p == nil || !p.bf16 {
		kernels.SgemmEpilogue(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc, ep)
		return
	}
	if ep != nil && ep.SumsB != nil {
		// The bias gradient: column sums of the float32 op(B), as in
		// float32 (GemmBF16 would sum the bfloat16 values, one at a time).
		sums := ep.SumsB
		if transB {
			for j := range n {
				sums[j] += kernels.Sum(b[j*ldb : j*ldb+k])
			}
		} else {
			for r := range k {
				kernels.Add(sums, sums, b[r*ldb:r*ldb+n])
			}
		}
		e := *ep
		e.SumsB = nil
		ep = &e
	}
	p.pb = kernels.PackF32BF16Into(p.pb, transB, k, n, b, ldb)
	kernels.GemmBF16(transA, m, a, lda, p.pb, beta, c, ldc, ep)
}

// mulRows is mul with op(A) = A (not transposed) whose bfloat16 rounding ab
// (raw bits, the same stride) the op that wrote A wrote alongside it: in
// bfloat16 the product reads ab (kernels.GemmBF16Rows, the same results as
// rounding a) instead of converting a. With ab nil, an odd k or in float32
// it is mul.
func (p *products) mulRows(transB bool, m, n, k int, a []float32, ab []uint16, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *kernels.Epilogue) {
	if p == nil || !p.bf16 || ab == nil || k%2 != 0 || (ep != nil && ep.SumsB != nil) {
		p.mul(false, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, ep)
		return
	}
	p.pb = kernels.PackF32BF16Into(p.pb, transB, k, n, b, ldb)
	kernels.GemmBF16Rows(m, ab, lda, p.pb, beta, c, ldc, ep)
}

// conv1dForward is GPT-2's Conv1D (a linear layer with its weight stored
// [in, out]): out = x·w + b with x [N, C], w [C, OC], b [OC], out [N, OC].
// xb, when not nil, is x rounded to bfloat16 (see products.mulRows).
//
// The bias is added by the product's epilogue, to each strip of out while it
// is still in cache (the same sums, in the same order, as a separate pass).
func conv1dForward(p *products, out, x []float32, xb []uint16, w, b []float32, N, C, OC int) {
	var ep *kernels.Epilogue
	if b != nil {
		ep = &kernels.Epilogue{Bias: b}
	}
	p.mulRows(false, N, OC, C, x, xb, C, w, OC, 0, out, OC, ep)
}

// mlpUpForward computes the MLP's first layer and activation: pre = x·w + b
// and out = act(pre), x [N, C], w [C, F]; xb, when not nil, is x rounded to
// bfloat16, and outb receives out rounded to bfloat16 (both may be nil).
// For an activation that saves its derivative (the exact GELU) the
// activation and the rounding run in the product's epilogue, on each strip
// of pre while it is in cache, and leave act'(pre) in pre.
func mlpUpForward(p *products, act nn.Activation, out []float32, outb []uint16, pre, x []float32, xb []uint16, w, b []float32, N, C, F int) {
	if !savesDerivative(act) {
		conv1dForward(p, pre, x, xb, w, b, N, C, F)
		activationForward(act, out, pre)
		if outb != nil {
			toBF16(outb, out)
		}
		return
	}
	ep := &kernels.Epilogue{Bias: b, Act: geluKeepingDerivative, Out: out, LdOut: F, BF16: outb, LdBF16: F}
	p.mulRows(false, N, F, C, x, xb, C, w, F, 0, pre, F, ep)
}

// toBF16 rounds x to bfloat16 into dst, in parallel.
func toBF16(dst []uint16, x []float32) {
	const grain = 1 << 14
	kernels.ParallelFor(len(x), grain, func(lo, hi int) {
		kernels.F32ToBF16(dst[lo:hi], x[lo:hi])
	})
}

// geluKeepingDerivative is the epilogue activation of mlpUpForward: GELU
// into dst, GELU' in place of x.
func geluKeepingDerivative(dst, x []float32) { kernels.GELUWithDerivative(dst, x, x) }

// residualConv1dForward computes out = res + (x·w + b), the projection back
// into the residual stream: the bias and res are added by the product's
// epilogue, to each strip of out while it is in cache. res, out: [N, OC];
// xb, when not nil, is x rounded to bfloat16.
func residualConv1dForward(p *products, out, res, x []float32, xb []uint16, w, b []float32, N, C, OC int) {
	ep := &kernels.Epilogue{Bias: b, Residual: res, LdResidual: OC}
	p.mulRows(false, N, OC, C, x, xb, C, w, OC, 0, out, OC, ep)
}

// conv1dBackward writes dx = dout·wᵀ (overwriting; skipped when dx is nil),
// multiplied element-wise by dxScale [N, C] when that is not nil (the saved
// derivative of the activation before this layer, applied to each strip of
// dx while it is in cache), and accumulates dw += xᵀ·dout and db +=
// Σ_rows dout, the latter while the weight-gradient product packs dout
// (Epilogue.SumsB; in bfloat16, a pass of float32 sums over dout). doutb,
// when not nil, is dout rounded to bfloat16, and dxb receives dx rounded to
// bfloat16 (from the epilogue, while each strip is in cache).
func conv1dBackward(p *products, dx []float32, dxb []uint16, dxScale, dw, db, dout []float32, doutb []uint16, x, w []float32, N, C, OC int) {
	if dx != nil {
		var ep *kernels.Epilogue
		if dxScale != nil || dxb != nil {
			ep = &kernels.Epilogue{Scale: dxScale, LdScale: C, BF16: dxb, LdBF16: C}
		}
		p.mulRows(true, N, C, OC, dout, doutb, OC, w, OC, 0, dx, C, ep)
	}
	var ep *kernels.Epilogue
	if db != nil {
		ep = &kernels.Epilogue{SumsB: db}
	}
	p.mul(true, false, C, OC, N, x, C, dout, OC, 1, dw, OC, ep)
}

// lmHeadForward computes logits = x·wteᵀ: x [N, C], wte [V, C], logits [N, V];
// xb, when not nil, is x rounded to bfloat16.
func lmHeadForward(p *products, logits, x []float32, xb []uint16, wte []float32, N, C, V int) {
	p.mulRows(true, N, V, C, x, xb, C, wte, C, 0, logits, V, nil)
}

// lmHeadBackward writes dx = dlogits·wte (overwriting) and accumulates
// dwte += dlogitsᵀ·x.
func lmHeadBackward(p *products, dx, dwte, dlogits, x, wte []float32, N, C, V int) {
	p.mul(false, false, N, C, V, dlogits, V, wte, C, 0, dx, C, nil)
	p.mul(true, false, V, C, N, dlogits, V, x, C, 1, dwte, C, nil)
}

// activationForward applies act element-wise: out = act(x). For the exact
// GELU it also overwrites x with GELU'(x), all the backward needs of it
// (kernels.GELUWithDerivative, see savesDerivative): the normal tail is then
// computed once per element for both passes.
func activationForward(act nn.Activation, out, x []float32) {
	const grain = 1 << 14
	kernels.ParallelFor(len(x), grain, func(lo, hi int) {
		switch act {
		case nn.GELU:
			kernels.GELUWithDerivative(out[lo:hi], x[lo:hi], x[lo:hi])
		case nn.GELUTanh:
			kernels.GELUTanh(out[lo:hi], x[lo:hi])
		case nn.ReLU:
			kernels.ReLU(out[lo:hi], x[lo:hi])
		case nn.SiLU:
			kernels.SiLU(out[lo:hi], x[lo:hi])
		}
	})
}

// savesDerivative reports whether activationForward leaves act'(x) in
// place of x; the backward is then a product by it (an epilogue's Scale)
// and activationBackward is not called.
func savesDerivative(act nn.Activation) bool { return act == nn.GELU }

// activationBackward writes dx = dout·act'(x); dx may alias dout. It takes
// the activations that do not save their derivative.
func activationBackward(act nn.Activation, dx, x, dout []float32) {
	const grain = 1 << 14
	kernels.ParallelFor(len(x), grain, func(lo, hi int) {
		switch act {
		case nn.GELUTanh:
			kernels.GELUTanhBackward(dx[lo:hi], x[lo:hi], dout[lo:hi])
		case nn.ReLU:
			for i := lo; i < hi; i++ {
				if x[i] <= 0 {
					dx[i] = 0
				} else {
					dx[i] = dout[i]
				}
			}
		case nn.SiLU:
			kernels.SiLUBackward(dx[lo:hi], x[lo:hi], dout[lo:hi])
		}
	})
}

// attnBlock is the number of query rows processed together in attention:
// row block [r0, r1) only needs keys [0, r1), so the upper triangle of the
// score matrix is skipped block by block.
const attnBlock = 64

// attentionForward computes causal multi-head self-attention from the packed
// projections qkv [B·T, 3C] (q | k | v along the row, heads split as [H, D]
// inside each third). It writes the softmax probabilities att [B, H, T, T]
// (zero above the diagonal) and the merged head outputs out [B·T, C].
func attentionForward(out, att, qkv []float32, B, T, C, H int) {
	D := C / H
	scale := float32(1 / math.Sqrt(float64(D)))
	C3 := 3 * C
	kernels.ParallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			q := qkv[b*T*C3+h*D:]
			k, v := q[C:], q[2*C:]
			p := att[bh*T*T : (bh+1)*T*T]
			o := out[b*T*C+h*D:]
			for r0 := 0; r0 < T; r0 += attnBlock {
				r1 := min(r0+attnBlock, T)
				// p = softmax(causal(q·kᵀ/√D)) for rows [r0, r1), keys [0, r1):
				// only scores on and below the diagonal j = i + r0 are wanted,
				// and p is zero above it.
				scores := kernels.Triangle{Diag: r0, LowerC: true}
				probs := kernels.Triangle{Diag: r0, ALower: true}
				kernels.SgemmTriangle(scores, false, true, r1-r0, r1, D, scale, q[r0*C3:], C3, k, C3, 0, p[r0*T:], T)
				for i := r0; i < r1; i++ {
					row := p[i*T : (i+1)*T]
					kernels.Softmax(row[:i+1], row[:i+1])
					clear(row[i+1:])
				}
				// out = p·v, into head h's columns of out.
				kernels.SgemmTriangle(probs, false, false, r1-r0, D, r1, 1, p[r0*T:], T, v, C3, 0, o[r0*C:], C)
			}
		}
	})
}

// attentionBackward writes dqkv [B·T, 3C] (overwriting) from dout [B·T, C],
// using the saved probabilities att and the projections qkv. scratch holds
// B·H·T·T values.
func attentionBackward(dqkv, scratch, dout, att, qkv []float32, B, T, C, H int) {
	D := C / H
	scale := float32(1 / math.Sqrt(float64(D)))
	C3 := 3 * C
	kernels.ParallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			q := qkv[b*T*C3+h*D:]
			k, v := q[C:], q[2*C:]
			dq := dqkv[b*T*C3+h*D:]
			dk, dv := dq[C:], dq[2*C:]
			do := dout[b*T*C+h*D:]
			p := att[bh*T*T : (bh+1)*T*T]
			dp := scratch[bh*T*T : (bh+1)*T*T]
			// Row blocks from the last, which covers every key, so that its
			// products initialise dk and dv (beta 0) and the others add.
			last := (T - 1) / attnBlock * attnBlock
			for r0 := last; r0 >= 0; r0 -= attnBlock {
				r1 := min(r0+attnBlock, T)
				beta := float32(1)
				if r0 == last {
					beta = 0
				}
				// dp = do·vᵀ; dv += pᵀ·do. Causal structure: dp is wanted, and p
				// and ds are non-zero, on and below the diagonal j = i + r0 only.
				scores := kernels.Triangle{Diag: r0, LowerC: true}
				probs := kernels.Triangle{Diag: r0, ALower: true}
				probsT := kernels.Triangle{Diag: -r0, AUpper: true}
				kernels.SgemmTriangle(scores, false, true, r1-r0, r1, D, 1, do[r0*C:], C, v, C3, 0, dp[r0*T:], T)
				kernels.SgemmTriangle(probsT, true, false, r1, D, r1-r0, 1, p[r0*T:], T, do[r0*C:], C, beta, dv, C3)
				// Through the softmax (visible keys only): ds = p·(dp − Σ dp·p).
				for i := r0; i < r1; i++ {
					row := dp[i*T : i*T+r1]
					kernels.SoftmaxBackward(row[:i+1], p[i*T:i*T+i+1], row[:i+1])
					clear(row[i+1:])
				}
				// s = scale·q·kᵀ: dq = scale·ds·k; dk += scale·dsᵀ·q.
				kernels.SgemmTriangle(probs, false, false, r1-r0, D, r1, scale, dp[r0*T:], T, k, C3, 0, dq[r0*C3:], C3)
				kernels.SgemmTriangle(probsT, true, false, r1, D, r1-r0, scale, dp[r0*T:], T, q[r0*C3:], C3, beta, dk, C3)
			}
		}
	})
}

// crossEntropyForward writes log softmax(logits) into logp and each row's
// loss −logp[target] into losses (0 for ignored rows, target < 0), and
// returns the mean over the rows that are not ignored and their count.
// logits, logp: [N, V].
func crossEntropyForward(losses, logp, logits []float32, targets []int, N, V int) (mean float32, count int) {
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			row := logp[n*V : (n+1)*V]
			kernels.LogSoftmax(row, logits[n*V:(n+1)*V])
			if y := targets[n]; y >= 0 {
				losses[n] = -row[y]
			} else {
				losses[n] = 0
			}
		}
	})
	var sum float64
	for n := 0; n < N; n++ {
		if targets[n] >= 0 {
			sum += float64(losses[n])
			count++
		}
	}
	if count == 0 {
		return 0, 0
	}
	return float32(sum / float64(count)), count
}

// crossEntropyBackward writes dlogits [N, V] from the saved log-probabilities:
// (softmax − onehot(target))·scale, and zero rows for ignored targets.
// dlogits may alias logp.
func crossEntropyBackward(dlogits, logp []float32, targets []int, N, V int, scale float32) {
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			row := dlogits[n*V : (n+1)*V]
			y := targets[n]
			if y < 0 {
				clear(row)
				continue
			}
			kernels.Exp(row, logp[n*V:(n+1)*V])
			row[y] -= 1
			kernels.Scale(scale, row)
		}
	})
}
