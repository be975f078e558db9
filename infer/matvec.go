package infer

import (
	"sync/atomic"

	"github.com/glossa-ai/glossa/kernels"
)

// matvecMaxRows is the most rows a product of an unpacked weight (dense
// float32, bfloat16) takes through the matrix-vector kernels, which stream
// the weight from memory once per call, each chunk of it serving every row
// from L2. Past four rows the blocked product, packing included, is faster
// (measured on GPT-2's tied 50257×768 head: at 8 rows 7.0 ms against 9.1).
const matvecMaxRows = 4

// Scratch is the per-goroutine working memory of Linear products and
// Attention: the state of parallel loops, per-worker score buffers and the
// tiles of widened weights. Its
// zero value is ready to use; it grows on demand and is then reused without
// allocation. A Scratch is used by one goroutine at a time.
type Scratch struct {
	mv   matvec
	qmv  qmatvec
	qx   kernels.Q8Rows // a quantized product's rows of x
	attn attnScratch
	tile []float32
	tmp  []float32
	half []float32 // x rounded to half precision (F16 products)
}

// grow returns *buf resliced to n values, reallocating only when too short.
func (sc *Scratch) grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// matvec computes y = beta·y + x·Wᵀ for N ≤ matvecMaxRows rows with W
// [out, in] float32 (w) or bfloat16 (wt), then ep's bias and activation.
func (sc *Scratch) matvec(y, x, w []float32, wt []uint16, N, in, out int, beta float32, ep *kernels.Epilogue) {
	dst := y
	if beta != 0 {
		dst = sc.grow(&sc.tmp, N*out)
	}
	sc.mv.run(dst, x, w, wt, N, in, out)
	for r := range N {
		row := y[r*out : (r+1)*out]
		if beta != 0 {
			if beta != 1 {
				kernels.Scale(beta, row)
			}
			kernels.Add(row, row, dst[r*out:(r+1)*out])
		}
		epilogue(ep, row)
	}
}

// epilogue applies ep's bias and then its activation (either may be nil,
// as ep may) to one output row.
func epilogue(ep *kernels.Epilogue, row []float32) {
	if ep == nil {
		return
	}
	if ep.Bias != nil {
		kernels.Add(row, row, ep.Bias)
	}
	if ep.Act != nil {
		ep.Act(row, row)
	}
}

// matvec computes y [N, out] = x [N, in]·Wᵀ for W [out, in], float32 (w) or
// bfloat16 (wt), with kernels.MatVec / MatVecBF16: the products of
// decoding, where every weight is streamed from memory once per token.
//
// It cuts W into chunks of contiguous rows of about matvecChunkBytes that
// the workers take in turn from a shared counter, rather than into one
// fixed share per core: on a machine whose cores are also busy with other
// work, a worker the OS deschedules for a while then holds up no more than
// its current chunk. Each chunk (small enough to stay in L2) serves all N
// rows of x in turn. Arguments live in the struct and the loop body is bound
// once, so a call allocates nothing.
type matvec struct {
	y, x       []float32
	w          []float32
	wt         []uint16
	N, in, out int

	chunk, chunks int          // rows of W per chunk, and their number
	next          atomic.Int64 // the next chunk to take

	fn func(lo, hi int) // mv.worker, bound on first use
}

// matvecChunkBytes is the size of the chunks of W the workers take: large
// enough that a chunk's start-up (the prefetchers ramping up, the kernel's
// prefetch running past the end) is a small part of it, small enough that
// there are many per core in all but the smallest layers.
const matvecChunkBytes = 256 << 10

func (mv *matvec) run(y, x, w []float32, wt []uint16, N, in, out int) {
	if mv.fn == nil {
		mv.fn = mv.worker
	}
	mv.y, mv.x, mv.w, mv.wt, mv.N, mv.in, mv.out = y, x, w, wt, N, in, out
	rowBytes := 4 * in
	if wt != nil {
		rowBytes = 2 * in
	}
	mv.chunk = max(4, matvecChunkBytes/max(rowBytes, 1)&^3)
	mv.chunks = (out + mv.chunk - 1) / mv.chunk
	mv.next.Store(0)
	kernels.ParallelFor(min(kernels.Threads(), mv.chunks), 1, mv.fn)
	mv.y, mv.x, mv.w, mv.wt = nil, nil, nil, nil
}

// worker computes chunks of outputs until none is left.
func (mv *matvec) worker(_, _ int) {
	in, out := mv.in, mv.out
	for {
		c := int(mv.next.Add(1)) - 1
		if c >= mv.chunks {
			return
		}
		lo, hi := c*mv.chunk, min((c+1)*mv.chunk, out)
		for r := range mv.N {
			x, y := mv.x[r*in:(r+1)*in], mv.y[r*out+lo:r*out+hi]
			if mv.wt != nil {
				kernels.MatVecBF16(y, x, mv.wt[lo*in:hi*in])
			} else {
				kernels.MatVec(y, x, mv.w[lo*in:hi*in])
			}
		}
	}
}
