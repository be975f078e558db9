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
func encoderForward(out []float32, ids []int32, wte, wpe []float32, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			n := b*T + t
			id := int(ids[n])
			kernels.Add(out[n*C:(n+1)*C], wte[id*C:(id+1)*C], wpe[t*C:(t+1)*C])
		}
	}
}

// encoderBackward accumulates the embedding gradients from dout [B·T, C].
func encoderBackward(dwte, dwpe, dout []float32, ids []int32, B, T, C int) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			n := b*T + t
			id := int(ids[n])
			d := dout[n*C : (n+1)*C]
			kernels.Axpy(1, d, dwte[id*C:(id+1)*C])
			kernels.Axpy(1, d, dwpe[t*C:(t+1)*C])
		}
	}
}

// layerNormForward normalises each of the N rows of x [N, C] into out,
// saving each row's mean and reciprocal standard deviation.
func layerNormForward(out, mean, rstd, x, w, b []float32, N, C int, eps float32) {
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			mean[n], rstd[n] = kernels.LayerNorm(out[n*C:(n+1)*C], x[n*C:(n+1)*C], w, b, eps)
		}
	})
}

// layerNormBackward writes dx (overwriting) and accumulates dw, db. The
// parameter gradients are summed over rows serially so that results do not
// depend on the thread count.
func layerNormBackward(dx, dw, db, dout, x, w, mean, rstd []float32, N, C int) {
	for n := 0; n < N; n++ {
		r := n * C
		kernels.LayerNormBackward(dx[r:r+C], x[r:r+C], w, dout[r:r+C], mean[n], rstd[n], dw, db)
	}
}

// conv1dForward is GPT-2's Conv1D (a linear layer with its weight stored
// [in, out]): out = x·w + b with x [N, C], w [C, OC], b [OC], out [N, OC].
func conv1dForward(out, x, w, b []float32, N, C, OC int) {
	kernels.Sgemm(false, false, N, OC, C, 1, x, C, w, OC, 0, out, OC)
	if b != nil {
		kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				row := out[n*OC : (n+1)*OC]
				kernels.Add(row, row, b)
			}
		})
	}
}

// conv1dBackward writes dx = dout·wᵀ (overwriting; skipped when dx is nil)
// and accumulates dw += xᵀ·dout and db += Σ_rows dout.
func conv1dBackward(dx, dw, db, dout, x, w []float32, N, C, OC int) {
	if dx != nil {
		kernels.Sgemm(false, true, N, C, OC, 1, dout, OC, w, OC, 0, dx, C)
	}
	kernels.Sgemm(true, false, C, OC, N, 1, x, C, dout, OC, 1, dw, OC)
	if db != nil {
		for n := 0; n < N; n++ {
			kernels.Add(db, db, dout[n*OC:(n+1)*OC])
		}
	}
}

// lmHeadForward computes logits = x·wteᵀ: x [N, C], wte [V, C], logits [N, V].
func lmHeadForward(logits, x, wte []float32, N, C, V int) {
	kernels.Sgemm(false, true, N, V, C, 1, x, C, wte, C, 0, logits, V)
}

// lmHeadBackward writes dx = dlogits·wte (overwriting) and accumulates
// dwte += dlogitsᵀ·x.
func lmHeadBackward(dx, dwte, dlogits, x, wte []float32, N, C, V int) {
	kernels.Sgemm(false, false, N, C, V, 1, dlogits, V, wte, C, 0, dx, C)
	kernels.Sgemm(true, false, V, C, N, 1, dlogits, V, x, C, 1, dwte, C)
}

// activationForward applies act element-wise: out = act(x).
func activationForward(act nn.Activation, out, x []float32) {
	const grain = 1 << 14
	kernels.ParallelFor(len(x), grain, func(lo, hi int) {
		switch act {
		case nn.GELU:
			kernels.GELU(out[lo:hi], x[lo:hi])
		case nn.GELUTanh:
			kernels.GELUTanh(out[lo:hi], x[lo:hi])
		case nn.ReLU:
			kernels.ReLU(out[lo:hi], x[lo:hi])
		case nn.SiLU:
			kernels.SiLU(out[lo:hi], x[lo:hi])
		}
	})
}

// activationBackward writes dx = dout·act'(x); dx may alias dout.
func activationBackward(act nn.Activation, dx, x, dout []float32) {
	const grain = 1 << 14
	kernels.ParallelFor(len(x), grain, func(lo, hi int) {
		switch act {
		case nn.GELU:
			kernels.GELUBackward(dx[lo:hi], x[lo:hi], dout[lo:hi])
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
			// p = softmax(causal(q·kᵀ/√D)), row by row over the visible keys.
			kernels.Sgemm(false, true, T, T, D, scale, q, C3, k, C3, 0, p, T)
			for i := 0; i < T; i++ {
				row := p[i*T : (i+1)*T]
				kernels.Softmax(row[:i+1], row[:i+1])
				clear(row[i+1:])
			}
			// out = p·v, written into head h's columns of out.
			kernels.Sgemm(false, false, T, D, T, 1, p, T, v, C3, 0, out[b*T*C+h*D:], C)
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
			// dp = do·vᵀ; dv = pᵀ·do.
			kernels.Sgemm(false, true, T, T, D, 1, do, C, v, C3, 0, dp, T)
			kernels.Sgemm(true, false, T, D, T, 1, p, T, do, C, 0, dv, C3)
			// Through the softmax (visible keys only): ds = p·(dp − Σ dp·p).
			for i := 0; i < T; i++ {
				row := dp[i*T : (i+1)*T]
				kernels.SoftmaxBackward(row[:i+1], p[i*T:i*T+i+1], row[:i+1])
				clear(row[i+1:])
			}
			// s = scale·q·kᵀ: dq = scale·ds·k; dk = scale·dsᵀ·q.
			kernels.Sgemm(false, false, T, D, T, scale, dp, T, k, C3, 0, dq, C3)
			kernels.Sgemm(true, false, T, D, T, scale, dp, T, q, C3, 0, dk, C3)
		}
	})
}

// crossEntropyForward writes each row's loss −log softmax(logits)[target]
// into losses (0 for ignored rows, target < 0) and returns the mean over the
// rows that are not ignored and their count. logits: [N, V].
func crossEntropyForward(losses, logits []float32, targets []int32, N, V int) (mean float32, count int) {
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			y := int(targets[n])
			if y < 0 {
				losses[n] = 0
				continue
			}
			row := logits[n*V : (n+1)*V]
			m := kernels.Max(row)
			var s float64
			for _, x := range row {
				s += math.Exp(float64(x - m))
			}
			losses[n] = float32(float64(m)+math.Log(s)) - row[y]
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

// crossEntropyBackward turns logits [N, V] into dlogits in place:
// (softmax − onehot(target))·scale, and zero rows for ignored targets.
func crossEntropyBackward(logits []float32, targets []int32, N, V int, scale float32) {
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			row := logits[n*V : (n+1)*V]
			y := int(targets[n])
			if y < 0 {
				clear(row)
				continue
			}
			kernels.Softmax(row, row)
			row[y] -= 1
			kernels.Scale(scale, row)
		}
	})
}
