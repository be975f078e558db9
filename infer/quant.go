package infer

import (
	"fmt"
	"sync/atomic"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/kernels"
)

// Quantized weights: llama.cpp's Q8_0 and Q4_0 blocks, [out, in] row by
// row (in/32 blocks a row), exactly as a GGUF file stores them, so a
// matrix read from a mapped file is used where it lies. A product
// quantizes the rows of x to Q8_0 once (kernels.QuantizeQ8_0, llama.cpp's
// activation quantizer) and takes int8 dot products block by block
// (kernels.MatMulQ8_0 / MatMulQ4_0): up to a few rows with the
// matrix-vector kernels, which stream the weight once; more rows with the
// many-row kernels, which multiply each weight block with 8 or 16 rows at
// once.

// quantWeight is a Q8_0 or Q4_0 matrix [out, in] in one or more parts of
// contiguous rows (the matrices a LinearCat puts side by side, each where
// its checkpoint holds it).
type quantWeight struct {
	in, out  int
	f        Format // Q8_0 or Q4_0
	rowBytes int
	parts    []quantPart
	chunks   []quantChunk // the parallel product's work items
}

// quantPart is rows [start, start+rows) of a quantized matrix.
type quantPart struct {
	start, rows int
	data        []byte
}

// quantChunk is rows [lo, hi) of part.
type quantChunk struct{ part, lo, hi int }

// blockBytes returns the bytes of one block of f.
func blockBytes(f Format) int {
	if f == Q4_0 {
		return kernels.Q4_0BlockBytes
	}
	return kernels.Q8_0BlockBytes
}

// Q8_0Weight returns w, in·out/32 Q8_0 blocks in llama.cpp's layout (34
// bytes each: a half-precision scale, 32 int8; rows [out, in] of in/32
// blocks), as a Weight that aliases it. in must be a multiple of 32.
func Q8_0Weight(w []byte, in, out int) Weight {
	return newQuantWeight(Q8_0, in, out, [][]byte{w}, []int{out})
}

// Q4_0Weight returns w, in·out/32 Q4_0 blocks in llama.cpp's layout (18
// bytes each: a half-precision scale, then element j in the low nibble of
// byte j and element j+16 in its high nibble), as a Weight that aliases it.
func Q4_0Weight(w []byte, in, out int) Weight {
	return newQuantWeight(Q4_0, in, out, [][]byte{w}, []int{out})
}

// newQuantWeight returns the matrix of the given parts, parts[i] holding
// rows[i] rows of in values in format f.
func newQuantWeight(f Format, in, out int, parts [][]byte, rows []int) *quantWeight {
	if in%kernels.QK != 0 {
		panic(fmt.Sprintf("infer: a %v matrix with rows of %d values, not a multiple of %d", f, in, kernels.QK))
	}
	w := &quantWeight{in: in, out: out, f: f, rowBytes: in / kernels.QK * blockBytes(f)}
	start := 0
	for i, p := range parts {
		if len(p) != rows[i]*w.rowBytes {
			panic(fmt.Sprintf("infer: %v part of %d bytes for %d rows of %d", f, len(p), rows[i], in))
		}
		w.parts = append(w.parts, quantPart{start: start, rows: rows[i], data: p})
		start += rows[i]
	}
	if start != out {
		panic(fmt.Sprintf("infer: %v parts of %d rows for %d outputs", f, start, out))
	}
	// Chunks of about matvecChunkBytes, a multiple of 4 rows (the
	// kernels' pass), never straddling parts.
	chunk := max(4, matvecChunkBytes/max(w.rowBytes, 1)&^3)
	for i, p := range w.parts {
		for lo := 0; lo < p.rows; lo += chunk {
			w.chunks = append(w.chunks, quantChunk{part: i, lo: lo, hi: min(p.rows, lo+chunk)})
		}
	}
	return w
}

func (w *quantWeight) Dims() (int, int) { return w.in, w.out }
func (w *quantWeight) Format() Format   { return w.f }
func (w *quantWeight) Bytes() int       { return w.out * w.rowBytes }

// mul quantizes x once, then runs the chunks of rows on the workers, each
// chunk taking all N rows of x in turn while it is in cache.
func (w *quantWeight) mul(sc *Scratch, y, x []float32, N int, beta float32, ep *kernels.Epilogue) {
	sc.qx.Quantize(x, N, w.in)
	if beta != 0 && beta != 1 {
		for r := range N {
			kernels.Scale(beta, y[r*w.out:(r+1)*w.out])
		}
	}
	sc.qmv.run(w, y, &sc.qx, beta != 0)
	for r := range N {
		epilogue(ep, y[r*w.out:(r+1)*w.out])
	}
}

// qmatvec is the parallel loop of quantized products: workers take chunks
// of rows from a shared counter, as matvec does (a worker the OS
// deschedules then holds up only its chunk). Arguments live in the struct
// and the loop body is bound once, so a call allocates nothing.
type qmatvec struct {
	w    *quantWeight
	y    []float32
	x    *kernels.Q8Rows
	add  bool
	next atomic.Int64
	fn   func(lo, hi int)
}

func (mv *qmatvec) run(w *quantWeight, y []float32, x *kernels.Q8Rows, add bool) {
	if mv.fn == nil {
		mv.fn = mv.worker
	}
	mv.w, mv.y, mv.x, mv.add = w, y, x, add
	mv.next.Store(0)
	kernels.ParallelFor(min(kernels.Threads(), len(w.chunks)), 1, mv.fn)
	mv.w, mv.y, mv.x = nil, nil, nil
}

func (mv *qmatvec) worker(_, _ int) {
	w := mv.w
	for {
		c := int(mv.next.Add(1)) - 1
		if c >= len(w.chunks) {
			return
		}
		ch := w.chunks[c]
		p := &w.parts[ch.part]
		data := p.data[ch.lo*w.rowBytes : ch.hi*w.rowBytes]
		y := mv.y[p.start+ch.lo:]
		if w.f == Q4_0 {
			kernels.MatMulQ4_0(y, w.out, data, ch.hi-ch.lo, mv.x, mv.add)
		} else {
			kernels.MatMulQ8_0(y, w.out, data, ch.hi-ch.lo, mv.x, mv.add)
		}
	}
}

// quantize returns w [rows, cols] (row-major float32) as blocks of f,
// quantized with llama.cpp's reference quantizers (the ones its converters
// and llama-quantize use), rows split between the workers.
func quantize(f Format, w []float32, rows, cols int) []byte {
	t, bb := gguf.Q8_0, kernels.Q8_0BlockBytes
	if f == Q4_0 {
		t, bb = gguf.Q4_0, kernels.Q4_0BlockBytes
	}
	rowBytes := cols / kernels.QK * bb
	out := make([]byte, rows*rowBytes)
	kernels.ParallelFor(rows, 64, func(lo, hi int) {
		for r0 := lo; r0 < hi; r0 += 64 {
			r1 := min(hi, r0+64)
			b, err := gguf.Encode(t, w[r0*cols:r1*cols])
			if err != nil {
				panic(err) // cols is a multiple of 32: Encode cannot fail
			}
			copy(out[r0*rowBytes:r1*rowBytes], b)
		}
	})
	return out
}

// dequantizeRow writes row id of the blocks q (rows of C values, format f)
// to dst [C].
func dequantizeRow(dst []float32, q []byte, f Format, id, C int) {
	rowBytes := C / kernels.QK * blockBytes(f)
	row := q[id*rowBytes : (id+1)*rowBytes]
	if f == Q4_0 {
		kernels.DequantizeQ4_0(dst[:C], row)
		return
	}
	kernels.DequantizeQ8_0(dst[:C], row)
}
