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
	// One score buffer per worker, sized for the largest pair at the
	// cache's full length, so that a growing context does not reallocate.
	need, work := c.MaxLen+c.HeadDim, 0 // scores, and the scaled query
	for _, s := range segs {
		if s.T > smallT {
			need = max(need, s.T*c.MaxLen)
		}
		work += s.T * s.Keys
	}
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
	at.next.Store(0)
	at.items = items
	if workers == 1 {
		at.worker(0, 1)
	} else {
		kernels.ParallelFor(workers, 1, at.fn)
	}
	at.out, at.q, at.c, at.segs, at.opts = nil, nil, nil, nil, nil
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

// pair computes head h of segment si.
func (at *attnScratch) pair(buf []float32, si, h int) {
	a, s, c := at.a, at.segs[si], at.c
	D, L := a.HeadDim, c.MaxLen
	kvh := h / (a.Heads / a.KVHeads)
	K, V := c.Keys(at.layer, s.Row, kvh), c.Values(at.layer, s.Row, kvh)
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
	n := s.Keys
	visible := func(t int) int {
		if a.Causal {
			return min(n, s.Start+t+1)
		}
		return n
	}
	if s.T <= smallT {
		for t := range s.T {
			qr := at.q[(s.Off+t)*at.ldq+h*D:][:D]
			o := at.out[(s.Off+t)*at.ldo+h*D:][:D]
			nt := visible(t)
			// p = (scale·q)·K over the first nt columns of the [D, L]
			// block, then out = V·p: one strided vector-matrix and one
			// matrix-vector kernel call each, rather than D small ones.
			p, qs := buf[:nt], buf[L:L+D]
			clear(p)
			for d, qd := range qr {
				qs[d] = qd * scale
			}
			kernels.VecMatAddStride(p, qs, K[:(D-1)*L+nt], L)
			if at.finish(p, h, s.Start+t, mask) {
				kernels.MatVecStride(o, p, V[:(D-1)*L+nt], L)
			} else {
				clear(o)
			}
			if probs != nil {
				probs(si, h, t, p)
			}
		}
		return
	}
	// P = q·K·scale [T, n]; softmax over each row's visible prefix; out = P·Vᵀ.
	P := buf[:s.T*n]
	qh := at.q[s.Off*at.ldq+h*D:]
	kernels.Sgemm(false, false, s.T, n, D, scale, qh, at.ldq, K, L, 0, P, n)
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
	kernels.Sgemm(false, true, s.T, D, n, 1, P, n, V, L, 0, at.out[s.Off*at.ldo+h*D:], at.ldo)
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
