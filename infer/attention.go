package infer

import (
	"math"
	"sync/atomic"

	"github.com/glossa-ai/glossa/kernels"
)

// Attention is scaled dot-product attention of Heads query heads over
// KVHeads key/value heads of HeadDim features (grouped-query attention when
// KVHeads < Heads, multi-query when it is 1; query head h reads key/value
// head h/(Heads/KVHeads)):
//
//	out = softmax(q·kᵀ·Scale + bias + mask)·v
//
// The keys and values come from a KVCache, so one call serves a ragged batch
// of segments — a prefill of one row beside single-token decoding steps of
// others — and cross-attention over an encoder memory (a cache of the
// memory's keys and values) as well as self-attention.
type Attention struct {
	Heads, KVHeads, HeadDim int
	// Causal stops each query at its own position (decoders); otherwise a
	// query sees all of its segment's Keys (encoders, cross-attention).
	Causal bool
	// Scale multiplies q·k; 0 means 1/√HeadDim.
	Scale float32
	// Bias, when not nil, adds a position-dependent term to the scores (T5's
	// relative buckets, ALiBi).
	Bias PositionBias
}

// PositionBias adds an additive term to attention scores that depends on
// the query and key positions: scores[j] += bias(head, q, j) for the key
// positions j = 0 … len(scores)−1.
type PositionBias interface {
	AddBias(scores []float32, head, q int)
}

// AttendOptions are the optional inputs of one Attention.Forward call. The
// zero value (or nil) attends to every key.
type AttendOptions struct {
	// KeyMask, when not nil, holds one slice per segment marking its valid
	// keys (false: padding, never attended to); a nil slice means all.
	KeyMask [][]bool
	// Probs, when not nil, is called with the probabilities of every query
	// (segment i, head h, new position t), over key positions 0 … len(p)−1;
	// p is scratch, valid during the call. Calls come from several
	// goroutines at once.
	Probs func(seg, head, t int, p []float32)
}

// attnParallelMACs is the least work (query·key pairs times the query
// width) from which Forward spreads a call over the cores. Below it, the
// hand-off costs more than it saves: on the 2-vCPU VM Glossa is tuned on,
// stories260K's 8-row decoding step (8 heads of 8, contexts to 200) took
// 207 µs with its attention on two workers and 113 µs on one
// (BenchmarkStories260KStep in serve), and a lone GPT-2 124M row's
// attention is a few microseconds a layer beside its products.
const attnParallelMACs = 1 << 18

// smallT is the most queries of a segment taken one at a time with vector
// kernels; longer segments use two matrix products per head.
const smallT = 4

// Forward computes the attention output of every segment's new positions
// for one layer of c: q holds N rows with stride ldq (head h at columns
// h·HeadDim…), out receives N rows with stride ldo. The keys of a segment's
// new positions must already be in c (KVCache.Put). Work is spread over the
// (segment, head) pairs on all cores.
func (a *Attention) Forward(sc *Scratch, out []float32, ldo int, q []float32, ldq int, c *KVCache, layer int, segs []Segment, opts *AttendOptions) {
	at := &sc.attn
	if at.fn == nil {
		at.fn = at.worker
	}
	items := len(segs) * a.Heads
	if items == 0 {
		return
	}
	// One buffer per worker, sized for the largest pair at the cache's
	// full length, so that a growing context does not reallocate: scores,
	// the scaled queries, a half-precision cache's chunk of keys or values
	// widened to float32, and a partial output.
	scores, work := smallT*c.MaxLen, 0
	for _, s := range segs {
		if s.T > smallT {
			scores = max(scores, s.T*c.MaxLen)
		}
		work += s.T * s.Keys
	}
	need := scores + smallT*c.HeadDim + c.ViewLen() + c.HeadDim
	workers := min(kernels.Threads(), items)
	if workers > 1 && work*a.Heads*a.HeadDim < attnParallelMACs {
		workers = 1 // too little work to share: waking a core costs more
	}
	if len(at.bufs) < workers {
		at.bufs = append(at.bufs, make([][]float32, workers-len(at.bufs))...)
	}
	for w := range workers {
		if cap(at.bufs[w]) < need {
			at.bufs[w] = make([]float32, need)
		}
	}
	at.a, at.out, at.ldo, at.q, at.ldq, at.c, at.layer, at.segs, at.opts = a, out, ldo, q, ldq, c, layer, segs, opts
	at.scores = scores
	at.next.Store(0)
	at.items = items
	if workers == 1 {
		at.worker(0, 1)
	} else {
		kernels.ParallelFor(workers, 1, at.fn)
	}
	at.out, at.q, at.c, at.segs, at.opts = nil, nil, nil, nil, nil
}

// SelfForward is self-attention over the fused projections qkv of the
// segments' new positions, N rows of q | k | v ((Heads + 2·KVHeads)·HeadDim
// wide): it puts their keys and values into layer of c, then writes the
// attention output into out [N, Heads·HeadDim].
func (a *Attention) SelfForward(sc *Scratch, out, qkv []float32, c *KVCache, layer int, segs []Segment, opts *AttendOptions) {
	q, kv := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	c.Put(layer, segs, qkv[q:], qkv[q+kv:], q+2*kv)
	a.Forward(sc, out, q, qkv, q+2*kv, c, layer, segs, opts)
}

// attnScratch holds the arguments and per-worker buffers of a Forward call,
// bound once so that a call allocates nothing.
type attnScratch struct {
	a        *Attention
	out, q   []float32
	ldo, ldq int
	c        *KVCache
	layer    int
	segs     []Segment
	opts     *AttendOptions
	items    int
	scores   int // the score part of each worker's buffer
	next     atomic.Int64
	bufs     [][]float32
	fn       func(lo, hi int)
}

// worker takes (segment, head) pairs until none is left; lo is its buffer.
func (at *attnScratch) worker(lo, _ int) {
	a := at.a
	H := a.Heads
	for {
		i := int(at.next.Add(1)) - 1
		if i >= at.items {
			return
		}
		si, h := i/H, i%H
		at.pair(at.bufs[lo], si, h)
	}
}

// pair computes head h of segment si, chunk by chunk of the cache row.
func (at *attnScratch) pair(buf []float32, si, h int) {
	a, s, c := at.a, at.segs[si], at.c
	D, n, L := a.HeadDim, s.Keys, c.Chunk()
	kvh := h / (a.Heads / a.KVHeads)
	chunks := (n + L - 1) / L
	cb := buf[at.scores+smallT*D:] // a chunk widened to float32
	tmp := cb[c.ViewLen():][:D]
	scale := a.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(D)))
	}
	var mask []bool
	var probs func(seg, head, t int, p []float32)
	if at.opts != nil {
		if at.opts.KeyMask != nil {
			mask = at.opts.KeyMask[si]
		}
		probs = at.opts.Probs
	}
	visible := func(t int) int {
		if a.Causal {
			return min(n, s.Start+t+1)
		}
		return n
	}
	if s.T <= smallT {
		// p_t = (scale·q_t)·K over each query's visible keys, then
		// out_t = V·p_t: per chunk, one strided vector-matrix and one
		// matrix-vector kernel call, rather than D small ones.
		var ok [smallT]bool
		for t := range s.T {
			clear(buf[t*c.MaxLen:][:visible(t)])
			qs := buf[at.scores+t*D:][:D]
			for d, qd := range at.q[(s.Off+t)*at.ldq+h*D:][:D] {
				qs[d] = qd * scale
			}
		}
		for ch := range chunks {
			lo := ch * L
			K := c.Keys(at.layer, s.Row, kvh, ch, min(n-lo, L), cb)
			for t := range s.T {
				if w := min(visible(t)-lo, L); w > 0 {
					kernels.VecMatAddStride(buf[t*c.MaxLen+lo:][:w], buf[at.scores+t*D:][:D], K[:(D-1)*L+w], L)
				}
			}
		}
		for t := range s.T {
			o := at.out[(s.Off+t)*at.ldo+h*D:][:D]
			ok[t] = at.finish(buf[t*c.MaxLen:][:visible(t)], h, s.Start+t, mask)
			clear(o)
		}
		for ch := range chunks {
			lo := ch * L
			V := c.Values(at.layer, s.Row, kvh, ch, min(n-lo, L), cb)
			for t := range s.T {
				w := min(visible(t)-lo, L)
				if !ok[t] || w <= 0 {
					continue
				}
				o := at.out[(s.Off+t)*at.ldo+h*D:][:D]
				kernels.MatVecStride(tmp, buf[t*c.MaxLen+lo:][:w], V[:(D-1)*L+w], L)
				kernels.Add(o, o, tmp)
			}
		}
		if probs != nil {
			for t := range s.T {
				probs(si, h, t, buf[t*c.MaxLen:][:visible(t)])
			}
		}
		return
	}
	// P = q·K·scale [T, n]; softmax over each row's visible prefix; out = P·Vᵀ.
	P := buf[:s.T*n]
	qh := at.q[s.Off*at.ldq+h*D:]
	for ch := range chunks {
		lo := ch * L
		w := min(n-lo, L)
		K := c.Keys(at.layer, s.Row, kvh, ch, w, cb)
		kernels.Sgemm(false, false, s.T, w, D, scale, qh, at.ldq, K, L, 0, P[lo:], n)
	}
	for t := range s.T {
		row := P[t*n : (t+1)*n]
		nt := visible(t)
		if !at.finish(row[:nt], h, s.Start+t, mask) {
			clear(row[:nt])
		}
		clear(row[nt:])
		if probs != nil {
			probs(si, h, t, row[:nt])
		}
	}
	out := at.out[s.Off*at.ldo+h*D:]
	for ch := range chunks {
		lo := ch * L
		w := min(n-lo, L)
		V := c.Values(at.layer, s.Row, kvh, ch, w, cb)
		beta := float32(1)
		if ch == 0 {
			beta = 0
		}
		kernels.Sgemm(false, true, s.T, D, w, 1, P[lo:], n, V, L, beta, out, at.ldo)
	}
}

// finish adds the position bias and key mask to the scores p of query
// position qpos and turns them into probabilities in place; it reports false
// when no key is visible (p is then left for the caller to clear).
func (at *attnScratch) finish(p []float32, h, qpos int, mask []bool) bool {
	if at.a.Bias != nil {
		at.a.Bias.AddBias(p, h, qpos)
	}
	if mask != nil {
		neg := float32(math.Inf(-1))
		any := false
		for j, ok := range mask[:len(p)] {
			if !ok {
				p[j] = neg
			} else {
				any = true
			}
		}
		if !any {
			return false
		}
	}
	if len(p) == 0 {
		return false
	}
	kernels.Softmax(p, p)
	return true
}
