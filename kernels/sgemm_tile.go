package kernels

import (
	"math"
	"unsafe"
)

// The packed layout of the AMX variant (see kernels/_asm/sgemm/amx.go for
// the maths): a micro-panel of 32 rows of op(A), or 32 columns of op(B),
// holds the depth in chunks of 32 steps; a chunk holds three parts (every
// value x split as x = x₀ + x₁ + x₂ into bfloat16s), each as two 16×32 bf16
// tiles. The panels live in []float32 buffers like the other variants',
// two bfloat16 to a float32 slot.
const (
	tileDepth       = 32                // depth steps of a chunk
	tileChunkBF16   = 3 * 2 * 16 * 32   // bfloat16 values in a chunk
	tileChunkSlots  = tileChunkBF16 / 2 // float32 slots of a chunk
	tilePartBF16    = 2 * 16 * 32       // bfloat16 values of one part of a chunk
	tileHalfBF16    = 16 * 32           // bfloat16 values of one tile
	tileRowBF16     = 32                // bfloat16 values of one tile row
	tileScratchSize = 32 * 32           // float32 values of the merge tile
)

// tileChunks returns the chunks that hold depth kc.
func tileChunks(kc int) int { return (kc + tileDepth - 1) / tileDepth }

// tilePanel is the sgemmKernels.panel of the AMX variant: float32 slots of
// one packed micro-panel of depth kc.
func tilePanel(kc int) int { return tileChunks(kc) * tileChunkSlots }

// bf16Slots views float32 storage as the bfloat16 values it holds.
func bf16Slots(s []float32) []uint16 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&s[0])), 2*len(s))
}

// splitBF16 splits x into three bfloat16 values whose sum is x: the first
// two take the next eight significant bits each, rounded to nearest, the
// third is the rest. ±Inf and NaN keep
// their value in the first part (the others are zero), and a finite x that
// would round to infinity is truncated instead. Parts that fall below
// bfloat16's normal range are lost (AMX flushes them to zero anyway).
func splitBF16(x float32) (hi, mid, lo uint16) {
	b := math.Float32bits(x)
	if b&0x7f800000 == 0x7f800000 {
		return f32ToBF16(x), 0, 0
	}
	hi = f32ToBF16(x)
	if hi&0x7fff == 0x7f80 {
		hi = uint16(b >> 16)
	}
	r := x - math.Float32frombits(uint32(hi)<<16) // exact
	mid = f32ToBF16(r)
	// What is left has at most 8 significant bits: a bfloat16 already,
	// unless it is subnormal (then truncated; AMX flushes it anyway).
	lo = uint16(math.Float32bits(r-math.Float32frombits(uint32(mid)<<16)) >> 16)
	return hi, mid, lo
}

// tilePackFast, when not nil, packs whole chunks of whole panels in
// assembly: kind 0 op(A) = A, 1 op(A) = Aᵀ, 2 op(B) = B, 3 op(B) = Bᵀ; src
// points at the panel's first value, ld is the row stride. The transposed
// kinds gather with 32-bit offsets: callers keep 15·ld ≤ MaxInt32. It is
// set on amd64, where the AMX variant runs.
var tilePackFast func(kind, chunks int, src []float32, ld int, dst []float32)

// tilePackWhole packs the whole chunks of depth kc of one full panel (src
// at its first value, stride ld) with tilePackFast and returns how many it
// packed: 0 when there are no assembly packers, or when a transposed
// source's stride is too large for the gathers' 32-bit offsets.
func tilePackWhole(kind int, trans bool, src []float32, ld, kc int, d []float32) int {
	chunks := kc / tileDepth
	if tilePackFast == nil || chunks == 0 || (trans && 15*ld > math.MaxInt32) {
		return 0
	}
	tilePackFast(kind, chunks, src, ld, d)
	return chunks
}

// packRowsTile is the packRows of the AMX variant: rows [i0, i0+mc) and
// depth [p0, p0+kc) of op(A) into 32-row micro-panels, zero-padded to whole
// panels and chunks.
func packRowsTile(dst, a []float32, lda int, transA bool, i0, mc, p0, kc int) {
	panel := tilePanel(kc)
	for t := 0; t*32 < mc; t++ {
		d := dst[t*panel : (t+1)*panel]
		rows, c0 := min(32, mc-t*32), 0
		if rows == 32 {
			i := i0 + t*32
			kind, at := 0, i*lda+p0
			if transA {
				kind, at = 1, p0*lda+i
			}
			c0 = tilePackWhole(kind, transA, a[at:], lda, kc, d)
		}
		packRowsTileGeneric(d, a, lda, transA, i0+t*32, rows, p0, kc, c0)
	}
}

// packRowsTileGeneric packs chunks [c0, …) of one 32-row panel: rows
// [i0, i0+rows) (rows ≤ 32) and depth [p0, p0+kc) of op(A).
func packRowsTileGeneric(d, a []float32, lda int, transA bool, i0, rows, p0, kc, c0 int) {
	u := bf16Slots(d)
	chunks := tileChunks(kc)
	for r := 0; r < 32; r++ {
		half, rr := r/16, r%16
		for c := c0; c < chunks; c++ {
			base := c*tileChunkBF16 + half*tileHalfBF16 + rr*tileRowBF16
			row0 := u[base : base+tileRowBF16 : base+tileRowBF16]
			row1 := u[base+tilePartBF16 : base+tilePartBF16+tileRowBF16 : base+tilePartBF16+tileRowBF16]
			row2 := u[base+2*tilePartBF16 : base+2*tilePartBF16+tileRowBF16 : base+2*tilePartBF16+tileRowBF16]
			n := 0
			if r < rows {
				n = min(tileDepth, kc-c*tileDepth)
			}
			i, p := i0+r, p0+c*tileDepth
			for q := 0; q < n; q++ {
				var x float32
				if transA {
					x = a[(p+q)*lda+i]
				} else {
					x = a[i*lda+p+q]
				}
				row0[q], row1[q], row2[q] = splitBF16(x)
			}
			clear(row0[n:])
			clear(row1[n:])
			clear(row2[n:])
		}
	}
}

// packColsTile is the packCols of the AMX variant: micro-panels [lo, hi)
// of the 32-column panels of depth [p0, p0+kc) and columns [j0, j0+nc) of
// op(B), in the pair-interleaved tile layout, zero-padded.
func packColsTile(dst, b []float32, ldb int, transB bool, p0, kc, j0, nc, lo, hi int, sums []float32) {
	addPanelSums(sums, b, ldb, transB, p0, kc, j0, nc, 32, lo, hi)
	panel := tilePanel(kc)
	for t := lo; t < hi; t++ {
		d := dst[t*panel : (t+1)*panel]
		cols, c0 := min(32, nc-t*32), 0
		if cols == 32 {
			j := j0 + t*32
			kind, at := 2, p0*ldb+j
			if transB {
				kind, at = 3, j*ldb+p0
			}
			c0 = tilePackWhole(kind, transB, b[at:], ldb, kc, d)
		}
		packColsTileGeneric(d, b, ldb, transB, p0, kc, j0+t*32, cols, c0)
	}
}

// packColsTileGeneric packs chunks [c0, …) of one 32-column panel: depth
// [p0, p0+kc) and columns [j0, j0+cols) (cols ≤ 32) of op(B).
func packColsTileGeneric(d, b []float32, ldb int, transB bool, p0, kc, j0, cols, c0 int) {
	u := bf16Slots(d)
	chunks := tileChunks(kc)
	for c := c0; c < chunks; c++ {
		for q := 0; q < tileDepth; q++ {
			p := c*tileDepth + q
			rr, e := q/2, q%2
			for col := 0; col < 32; col++ {
				var x float32
				if col < cols && p < kc {
					j := j0 + col
					if transB {
						x = b[j*ldb+p0+p]
					} else {
						x = b[(p0+p)*ldb+j]
					}
				}
				half, n := col/16, col%16
				at := c*tileChunkBF16 + half*tileHalfBF16 + rr*tileRowBF16 + 2*n + e
				u[at], u[at+tilePartBF16], u[at+2*tilePartBF16] = splitBF16(x)
			}
		}
	}
}
