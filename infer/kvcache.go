package infer

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/kernels"
)

// KVType is the element type a KVCache stores keys and values in.
type KVType int

const (
	// KVDefault leaves the choice to whoever makes the cache: NewKVCache
	// and NewState take it as KVF32; model loaders document their own
	// default (a llama.cpp GGUF file decodes with KVF16, as llama.cpp does).
	KVDefault KVType = iota
	// KVF32 stores float32: attention reads the cache in place, and a
	// batched or chunked pass gives the same logits as a pass of the whole
	// sequence to float32 rounding.
	KVF32
	// KVF16 stores IEEE half precision (rounded to nearest even), llama.cpp's
	// default cache type: half the memory and bandwidth of KVF32, for a
	// relative error of at most 2⁻¹¹ in each stored key and value. Attention
	// widens a head's keys and values to float32 before using them, so the
	// queries, scores and probabilities stay float32.
	KVF16
)

var kvTypeNames = spellings{KVDefault: {"default", "", "auto"}, KVF32: {"f32", "float32", "fp32"},
	KVF16: {"f16", "float16", "fp16", "half"}}

// ParseKVType maps "f32"/"float32", "f16"/"float16"/"half" and ""/"default"
// to a KVType.
func ParseKVType(s string) (KVType, error) {
	if t, ok := kvTypeNames.parse(strings.ToLower(s)); ok {
		return KVType(t), nil
	}
	return 0, fmt.Errorf("infer: unknown KV cache type %q (want f32 or f16)", s)
}

// String returns "default", "f32" or "f16".
func (t KVType) String() string { return kvTypeNames.name(int(t), "KVType") }

// Or returns t, or def when t is KVDefault.
func (t KVType) Or(def KVType) KVType {
	if t == KVDefault {
		return def
	}
	return t
}

// KVCache holds the attention keys and values of every layer for Rows
// independent rows (slots), each with its own length, so that decoding one
// more token of a row costs O(its length) instead of recomputing its prefix.
// Rows are added, retired, truncated and reordered between passes without
// touching the others: a server gives each request a row and frees it with
// Clear the moment the request ends.
//
// A row's storage grows with the positions it holds, in chunks of KVChunk
// positions (MaxLen when smaller) allocated as they are first written (and kept by Clear for the
// row's next sequence), so a row of n positions costs about n positions of
// memory whatever MaxLen is, and growing copies nothing. Per layer, chunk
// and key/value head the keys form a [HeadDim, Chunk()] block,
// feature-major: row d of it holds feature d of the chunk's positions.
// Scores are then HeadDim vector operations over positions (scores =
// Σ_d q_d·K_d, out_d = p·V_d) for a decoding step, and one matrix product
// each way for a prefill. Values are stored as float32 or half precision
// (Type).
//
// A pass writes the keys and values of its new positions with Put (once per
// layer) and then commits them with Commit. A KVCache is used by one
// goroutine at a time.
type KVCache struct {
	Layers, Rows, KVHeads, HeadDim, MaxLen int
	// Type is KVF32 or KVF16.
	Type KVType

	chunk int // positions per chunk: KVChunk, or MaxLen when smaller
	rows  []kvRow
	n     []int   // committed positions per row
	pool  []chunk // chunks of rows that Reorder dropped, for reuse

	half []uint16 // Put's new keys or values in half precision

	moved []kvRow // Reorder scratch: the new rows
	taken []bool  // and which sources gave theirs away
	tmpN  []int   // and the old lengths
}

// KVChunk is the number of positions a KVCache allocates at a time per row
// (MaxLen when that is smaller).
const KVChunk = 64

// kvRow is the storage of one row: its chunks in position order.
type kvRow struct{ chunks []chunk }

// chunk is the storage of Chunk() positions of one row: per layer, the keys
// then the values of each key/value head as [HeadDim, Chunk()] blocks,
// [Layers, 2, KVHeads, HeadDim, Chunk()] in all, in f32 or f16 (the other
// is nil).
type chunk struct {
	f32 []float32
	f16 []uint16
}

// NewKVCache returns an empty float32 cache for the given shape; rows
// allocate storage as they grow.
func NewKVCache(layers, rows, kvHeads, headDim, maxLen int) (*KVCache, error) {
	return NewKVCacheOf(KVF32, layers, rows, kvHeads, headDim, maxLen)
}

// NewKVCacheOf is NewKVCache storing values of type t (KVDefault: KVF32).
func NewKVCacheOf(t KVType, layers, rows, kvHeads, headDim, maxLen int) (*KVCache, error) {
	t = t.Or(KVF32)
	if t != KVF32 && t != KVF16 {
		return nil, fmt.Errorf("infer: KVCache of type %v", t)
	}
	if layers <= 0 || rows <= 0 || kvHeads <= 0 || maxLen <= 0 || headDim <= 0 {
		return nil, fmt.Errorf("infer: KVCache: layers %d, rows %d, kv heads %d, head dim %d and max length %d must be positive",
			layers, rows, kvHeads, headDim, maxLen)
	}
	perPos := 2 * layers * kvHeads * headDim
	if perPos/2/layers/kvHeads != headDim || perPos*maxLen/maxLen != perPos || perPos*maxLen*rows/rows != perPos*maxLen {
		return nil, fmt.Errorf("infer: KVCache of %d×%d×%d×%d×%d values overflows", layers, rows, kvHeads, headDim, maxLen)
	}
	return &KVCache{Layers: layers, Rows: rows, KVHeads: kvHeads, HeadDim: headDim, MaxLen: maxLen, Type: t,
		chunk: min(KVChunk, maxLen), rows: make([]kvRow, rows), n: make([]int, rows)}, nil
}

// Len reports the committed positions of row.
func (c *KVCache) Len(row int) int { return c.n[row] }

// Free reports how many more positions row can take.
func (c *KVCache) Free(row int) int { return c.MaxLen - c.n[row] }

// Clear empties row (its storage is kept for the next sequence).
func (c *KVCache) Clear(row int) { c.n[row] = 0 }

// Reset empties every row.
func (c *KVCache) Reset() { clear(c.n) }

// Truncate keeps the first n positions of row (n ≤ Len(row)): a session that
// rewinds to a shared prefix keeps what it computed for it.
func (c *KVCache) Truncate(row, n int) error {
	if row < 0 || row >= c.Rows {
		return fmt.Errorf("infer: KVCache.Truncate: row %d outside [0, %d)", row, c.Rows)
	}
	if n < 0 || n > c.n[row] {
		return fmt.Errorf("infer: KVCache.Truncate(%d) of a row with %d positions", n, c.n[row])
	}
	c.n[row] = n
	return nil
}

// Chunk reports the positions of a chunk: KVChunk, or MaxLen when smaller.
func (c *KVCache) Chunk() int { return c.chunk }

// Capacity reports the positions row's storage holds now (a multiple of
// Chunk).
func (c *KVCache) Capacity(row int) int { return len(c.rows[row].chunks) * c.chunk }

// Bytes reports the memory the rows' storage takes now (spare chunks
// included).
func (c *KVCache) Bytes() int {
	n := 0
	for _, r := range c.rows {
		n += len(r.chunks)
	}
	n += len(c.pool)
	size := 4
	if c.Type == KVF16 {
		size = 2
	}
	return n * c.chunkLen() * size
}

// chunkLen is the number of values in a chunk.
func (c *KVCache) chunkLen() int { return 2 * c.Layers * c.KVHeads * c.HeadDim * c.chunk }

// block returns the offset in a chunk of the [HeadDim, Chunk()] block of
// layer, key (kv 0) or value (kv 1), head h.
func (c *KVCache) block(layer, kv, h int) int {
	return ((layer*2+kv)*c.KVHeads + h) * c.HeadDim * c.chunk
}

// Keys returns the keys of chunk ch of row (positions ch·Chunk() …), key/
// value head h of layer, as a float32 [HeadDim, Chunk()] block: feature d of
// position ch·Chunk()+s is at d·Chunk()+s. A float32 cache returns its own
// storage; a half-precision one widens the keys of the chunk's first n
// positions into buf, which must hold ViewLen values, and returns that
// (the rest of it is not written). The block is valid until the next Put
// or Reorder; ch must be below Capacity(row)/Chunk().
func (c *KVCache) Keys(layer, row, h, ch, n int, buf []float32) []float32 {
	return c.view(layer, 0, row, h, ch, n, buf)
}

// Values is Keys for the values.
func (c *KVCache) Values(layer, row, h, ch, n int, buf []float32) []float32 {
	return c.view(layer, 1, row, h, ch, n, buf)
}

// ViewLen reports the size of the buffer Keys and Values need: 0 for a
// float32 cache, HeadDim·Chunk() for a half-precision one.
func (c *KVCache) ViewLen() int {
	if c.Type == KVF32 {
		return 0
	}
	return c.HeadDim * c.chunk
}

func (c *KVCache) view(layer, kv, row, h, ch, n int, buf []float32) []float32 {
	ck := c.rows[row].chunks[ch]
	o := c.block(layer, kv, h)
	size := c.HeadDim * c.chunk
	if ck.f32 != nil {
		return ck.f32[o : o+size : o+size]
	}
	m := (c.HeadDim-1)*c.chunk + min(n, c.chunk) // through position n−1 of the last feature
	kernels.F16ToF32(buf[:m], ck.f16[o:o+m])
	return buf[:size:size]
}

// grow gives row storage for at least need positions.
func (c *KVCache) grow(row, need int) {
	r := &c.rows[row]
	for len(r.chunks)*c.chunk < need {
		r.chunks = append(r.chunks, c.newChunk())
	}
}

// newChunk returns a spare chunk, or a new one.
func (c *KVCache) newChunk() chunk {
	if k := len(c.pool) - 1; k >= 0 {
		ck := c.pool[k]
		c.pool = c.pool[:k]
		return ck
	}
	if c.Type == KVF16 {
		return chunk{f16: make([]uint16, c.chunkLen())}
	}
	return chunk{f32: make([]float32, c.chunkLen())}
}

// Segment is one row's share of a pass: T new positions Start … Start+T−1
// of cache row Row, held in rows Off … Off+T−1 of the pass's [N, ·]
// buffers, attending to keys [0, Keys) (causal attention stops each query at
// its own position).
type Segment struct {
	Row, Off, T, Start, Keys int
}

// Plan fills segs (reusing its storage) for a pass that appends counts[i]
// positions to row rows[i], in that order: Off runs over the rows, Start is
// the row's length and Keys = Start + T. It returns the pass's total rows N.
func (c *KVCache) Plan(segs []Segment, rows, counts []int) ([]Segment, int) {
	segs = segs[:0]
	N := 0
	for i, r := range rows {
		s := Segment{Row: r, Off: N, T: counts[i], Start: c.n[r]}
		s.Keys = s.Start + s.T
		segs = append(segs, s)
		N += s.T
	}
	return segs, N
}

// Put writes the keys and values of every segment's new positions for one
// layer: k and v hold N rows (row Off+t of a segment is its position
// Start+t) of KVHeads·HeadDim values with row stride ld, so they may be
// column slices of a fused QKV buffer. A row's storage grows as needed. Put
// panics if a segment does not fit in MaxLen: callers check Free first.
func (c *KVCache) Put(layer int, segs []Segment, k, v []float32, ld int) {
	D, Hkv := c.HeadDim, c.KVHeads
	HD := Hkv * D
	for _, s := range segs {
		if s.Start+s.T > c.MaxLen {
			panic(fmt.Sprintf("infer: KVCache.Put: row %d: %d positions past its %d", s.Row, s.Start+s.T, c.MaxLen))
		}
		c.grow(s.Row, s.Start+s.T)
		chunks := c.rows[s.Row].chunks
		if c.Type == KVF16 && cap(c.half) < s.T*HD {
			c.half = make([]uint16, s.T*HD)
		}
		for kv, src := range [2][]float32{k, v} {
			var hs []uint16
			if c.Type == KVF16 {
				// Round the segment's rows with the SIMD kernel, then
				// scatter them.
				hs = c.half[:s.T*HD]
				for t := range s.T {
					kernels.F32ToF16(hs[t*HD:(t+1)*HD], src[(s.Off+t)*ld:][:HD])
				}
			}
			// The positions of each chunk the segment touches.
			for t0 := 0; t0 < s.T; {
				pos := s.Start + t0
				ch, at := pos/c.chunk, pos%c.chunk
				n := min(s.T-t0, c.chunk-at)
				ck := chunks[ch]
				for h := range Hkv {
					o := c.block(layer, kv, h) + at
					if ck.f32 != nil {
						scatter(ck.f32[o:], c.chunk, src[(s.Off+t0)*ld+h*D:], ld, n, D)
					} else {
						scatter(ck.f16[o:], c.chunk, hs[t0*HD+h*D:], HD, n, D)
					}
				}
				t0 += n
			}
		}
	}
}

// scatter writes T positions of D features, feature d of position t at
// src[t·ld+d], into a feature-major block from its column 0 on (blk starts
// at that column; its rows are L apart). For several positions it
// writes each feature's positions together, whole lines rather than one
// value per line and position.
func scatter[E float32 | uint16](blk []E, L int, src []E, ld, T, D int) {
	if T == 1 {
		for d, x := range src[:D] {
			blk[d*L] = x
		}
		return
	}
	for d := range D {
		dst := blk[d*L:][:T]
		for t := range dst {
			dst[t] = src[t*ld+d]
		}
	}
}

// Commit makes the positions written by Put part of their rows.
func (c *KVCache) Commit(segs []Segment) {
	for _, s := range segs {
		c.n[s.Row] = s.Start + s.T
	}
}

// Reorder makes row i a copy of what was row src[i] for every row, as beam
// search does when beams are re-ranked. src must have Rows entries in
// [0, Rows). The first row to take a source takes its storage as it is,
// without a copy; further copies of a source copy its committed positions
// into spare chunks (those of rows no longer referenced first).
func (c *KVCache) Reorder(src []int) error {
	if len(src) != c.Rows {
		return fmt.Errorf("infer: KVCache.Reorder: %d sources for %d rows", len(src), c.Rows)
	}
	identity := true
	for i, s := range src {
		if s < 0 || s >= c.Rows {
			return fmt.Errorf("infer: KVCache.Reorder: source row %d outside [0, %d)", s, c.Rows)
		}
		identity = identity && s == i
	}
	if identity {
		return nil
	}
	c.taken = append(c.taken[:0], make([]bool, c.Rows)...)
	c.moved = append(c.moved[:0], make([]kvRow, c.Rows)...)
	for i, from := range src {
		if !c.taken[from] {
			c.taken[from] = true
			c.moved[i] = c.rows[from]
		}
	}
	for r, taken := range c.taken {
		if !taken {
			c.pool = append(c.pool, c.rows[r].chunks...)
		}
	}
	for i, from := range src {
		if c.moved[i].chunks != nil || c.rows[from].chunks == nil {
			continue // took the source's storage, or there is nothing to copy
		}
		n := c.n[from]
		var r kvRow
		for ch := 0; ch*c.chunk < n; ch++ {
			dst, sc := c.newChunk(), c.rows[from].chunks[ch]
			if sc.f32 != nil {
				copy(dst.f32, sc.f32)
			} else {
				copy(dst.f16, sc.f16)
			}
			r.chunks = append(r.chunks, dst)
		}
		c.moved[i] = r
	}
	c.tmpN = append(c.tmpN[:0], c.n...)
	for i, from := range src {
		c.n[i] = c.tmpN[from]
	}
	copy(c.rows, c.moved)
	clear(c.moved)
	return nil
}
