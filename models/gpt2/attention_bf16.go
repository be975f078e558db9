package gpt2

import (
	"math"
	"sync"

	"github.com/glossa-ai/glossa/kernels"
)

// Attention in bfloat16 mixed precision: the four products of the forward
// pass and the backward pass (q·kᵀ, p·v; do·vᵀ, pᵀ·do, ds·k, dsᵀ·q) run
// kernels.GemmBF16 — both operands rounded to bfloat16, products summed in
// float32 — as torch.matmul does under CPU autocast, while the scores, the
// softmax and its gradient stay float32. Each (batch, head) pair runs its
// row blocks on one worker, as in float32, so the results do not depend on
// the thread count.

// attnPacks are one worker's packed right-hand operands for attention's
// bfloat16 products, reused from head to head: keys holds a head's kᵀ
// (forward) or vᵀ (backward) over all its positions, packed once per head
// because that transposed packing is the slow one, and view the keys of
// the current row block; b is repacked for each product.
type attnPacks struct {
	b, keys *kernels.PackedBF16
	view    kernels.PackedBF16
	ep      kernels.Epilogue // the output's rounding to bfloat16
}

// attnPackPool recycles attnPacks between the workers of one trainer.
type attnPackPool struct{ pool sync.Pool }

func (p *attnPackPool) get() *attnPacks {
	if x, ok := p.pool.Get().(*attnPacks); ok {
		return x
	}
	return new(attnPacks)
}

func (p *attnPackPool) put(x *attnPacks) { p.pool.Put(x) }

// attnForward is attentionForward with attention's products in bfloat16
// when p says so; outb (bfloat16 only, may be nil) then receives out
// rounded to bfloat16.
func attnForward(p *products, pool *attnPackPool, out []float32, outb []uint16, att, qkv []float32, B, T, C, H int) {
	if p == nil || !p.bf16 {
		attentionForward(out, att, qkv, B, T, C, H)
		return
	}
	attentionForwardBF16(pool, out, outb, att, qkv, B, T, C, H)
}

// attnBackward is attentionBackward with attention's products in bfloat16
// when p says so; dqkvb (bfloat16 only, may be nil) then receives dqkv
// rounded to bfloat16.
func attnBackward(p *products, pool *attnPackPool, dqkv []float32, dqkvb []uint16, scratch, dout, att, qkv []float32, B, T, C, H int) {
	if p == nil || !p.bf16 {
		attentionBackward(dqkv, scratch, dout, att, qkv, B, T, C, H)
		return
	}
	attentionBackwardBF16(pool, dqkv, dqkvb, scratch, dout, att, qkv, B, T, C, H)
}

// attentionForwardBF16 is attentionForward with bfloat16 products. Row
// block [r0, r1) multiplies against keys [0, r1) only; the scores above the
// diagonal it computes inside the block are replaced by the zeros of p.
// The 1/√D scale is applied to the float32 scores before the softmax. outb,
// when not nil, receives out rounded to bfloat16 by the epilogue of p·v.
func attentionForwardBF16(pool *attnPackPool, out []float32, outb []uint16, att, qkv []float32, B, T, C, H int) {
	D := C / H
	scale := float32(1 / math.Sqrt(float64(D)))
	C3 := 3 * C
	kernels.ParallelFor(B*H, 1, func(lo, hi int) {
		pk := pool.get()
		defer pool.put(pk)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			q := qkv[b*T*C3+h*D:]
			k, v := q[C:], q[2*C:]
			p := att[bh*T*T : (bh+1)*T*T]
			o := out[b*T*C+h*D:]
			pk.keys = kernels.PackF32BF16Into(pk.keys, true, D, T, k, C3)
			for r0 := 0; r0 < T; r0 += attnBlock {
				r1 := min(r0+attnBlock, T)
				// s = q·kᵀ for rows [r0, r1), keys [0, r1); p = softmax(causal(scale·s)).
				pk.view = pk.keys.Columns(r1)
				kernels.GemmBF16(false, r1-r0, q[r0*C3:], C3, &pk.view, 0, p[r0*T:], T, nil)
				for i := r0; i < r1; i++ {
					row := p[i*T : (i+1)*T]
					kernels.Scale(scale, row[:i+1])
					kernels.Softmax(row[:i+1], row[:i+1])
					clear(row[i+1:])
				}
				// out = p·v over keys [0, r1), into head h's columns of out.
				pk.b = kernels.PackF32BF16Into(pk.b, false, r1, D, v, C3)
				var ep *kernels.Epilogue
				if outb != nil {
					pk.ep = kernels.Epilogue{BF16: outb[(b*T+r0)*C+h*D:], LdBF16: C}
					ep = &pk.ep
				}
				kernels.GemmBF16(false, r1-r0, p[r0*T:], T, pk.b, 0, o[r0*C:], C, ep)
			}
		}
	})
}

// attentionBackwardBF16 is attentionBackward with bfloat16 products. The
// softmax's gradient ds is multiplied by the 1/√D scale in float32 before
// it is rounded for the products that give dq and dk. dqkvb, when not nil,
// receives each head's dq, dk and dv rounded to bfloat16 once they are
// complete, while they are in cache.
func attentionBackwardBF16(pool *attnPackPool, dqkv []float32, dqkvb []uint16, scratch, dout, att, qkv []float32, B, T, C, H int) {
	D := C / H
	scale := float32(1 / math.Sqrt(float64(D)))
	C3 := 3 * C
	kernels.ParallelFor(B*H, 1, func(lo, hi int) {
		pk := pool.get()
		defer pool.put(pk)
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
			pk.keys = kernels.PackF32BF16Into(pk.keys, true, D, T, v, C3)
			for r0 := last; r0 >= 0; r0 -= attnBlock {
				r1 := min(r0+attnBlock, T)
				beta := float32(1)
				if r0 == last {
					beta = 0
				}
				// dp = do·vᵀ over keys [0, r1); dv[:r1] += pᵀ·do.
				pk.view = pk.keys.Columns(r1)
				kernels.GemmBF16(false, r1-r0, do[r0*C:], C, &pk.view, 0, dp[r0*T:], T, nil)
				pk.b = kernels.PackF32BF16Into(pk.b, false, r1-r0, D, do[r0*C:], C)
				kernels.GemmBF16(true, r1, p[r0*T:], T, pk.b, beta, dv, C3, nil)
				// Through the softmax (visible keys only), then the scale:
				// ds = scale·p·(dp − Σ dp·p).
				for i := r0; i < r1; i++ {
					row := dp[i*T : i*T+r1]
					kernels.SoftmaxBackward(row[:i+1], p[i*T:i*T+i+1], row[:i+1])
					kernels.Scale(scale, row[:i+1])
					clear(row[i+1:])
				}
				// dq = ds·k; dk[:r1] += dsᵀ·q.
				pk.b = kernels.PackF32BF16Into(pk.b, false, r1, D, k, C3)
				kernels.GemmBF16(false, r1-r0, dp[r0*T:], T, pk.b, 0, dq[r0*C3:], C3, nil)
				pk.b = kernels.PackF32BF16Into(pk.b, false, r1-r0, D, q[r0*C3:], C3)
				kernels.GemmBF16(true, r1, dp[r0*T:], T, pk.b, beta, dk, C3, nil)
			}
			if dqkvb != nil {
				for t := range T {
					for part := range 3 { // dq, dk, dv
						i := (b*T+t)*C3 + part*C + h*D
						kernels.F32ToBF16(dqkvb[i:i+D], dqkv[i:i+D])
					}
				}
			}
		}
	})
}
