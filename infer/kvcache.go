package infer

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// KVCache holds the attention keys and values of every layer for Rows
// independent rows (slots), each with its own length, so that decoding one
// more token of a row costs O(its length) instead of recomputing its prefix.
// Rows are added, retired, truncated and reordered between passes without
// touching the others: a server gives each request a row and frees it with
// Clear the moment the request ends.
//
// Storage is allocated once. Per layer, row and key/value head the keys form
// a [HeadDim, MaxLen] block, feature-major: row d of it holds feature d of
// every position. Scores are then HeadDim vector operations over positions
// (scores = Σ_d q_d·K_d, out_d = p·V_d) for a decoding step, and one matrix
// product each way for a prefill.
//
// A pass writes the keys and values of its new positions with Put (once per
// layer) and then commits them with Commit. A KVCache is used by one
// goroutine at a time.
type KVCache struct {
	Layers, Rows, KVHeads, HeadDim, MaxLen int

	k, v   [][]float32 // per layer [Rows, KVHeads, HeadDim, MaxLen]
	n      []int       // committed positions per row
	tmp    []float32   // Reorder scratch: the rows' committed runs
	tmpN   []int       // and each row's length and offset in tmp
	tmpOff []int
}

// NewKVCache allocates a cache for the given shape.
func NewKVCache(layers, rows, kvHeads, headDim, maxLen int) (*KVCache, error) {
	if layers <= 0 || rows <= 0 || kvHeads <= 0 || maxLen <= 0 || headDim <= 0 {
		return nil, fmt.Errorf("infer: KVCache: layers %d, rows %d, kv heads %d, head dim %d and max length %d must be positive",
			layers, rows, kvHeads, headDim, maxLen)
	}
	per := rows * kvHeads * maxLen * headDim
	if per/rows/kvHeads/maxLen != headDim || 2*layers*per/2/layers != per {
		return nil, fmt.Errorf("infer: KVCache of %d×%d×%d×%d×%d values overflows", layers, rows, kvHeads, headDim, maxLen)
	}
	c := &KVCache{Layers: layers, Rows: rows, KVHeads: kvHeads, HeadDim: headDim, MaxLen: maxLen,
		k: make([][]float32, layers), v: make([][]float32, layers), n: make([]int, rows)}
	block := make([]float32, 2*layers*per) // one allocation for all layers
	// Put writes each new position's features MaxLen values apart, every
	// store on its own page of a cache of tens of MiB: with 4 KiB pages
	// that is a TLB miss per value (12 % of a 110M Llama's decoding step
	// measured), with 2 MiB pages a few per step.
	kernels.AdviseHugePages(block)
	for l := range layers {
		c.k[l] = block[2*l*per : (2*l+1)*per : (2*l+1)*per]
		c.v[l] = block[(2*l+1)*per : (2*l+2)*per : (2*l+2)*per]
	}
	return c, nil
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

// Keys returns the [HeadDim, MaxLen] key block of row, key/value head h of
// layer: feature d of position s is at d·MaxLen+s.
func (c *KVCache) Keys(layer, row, h int) []float32 {
	n := c.MaxLen * c.HeadDim
	o := (row*c.KVHeads + h) * n
	return c.k[layer][o : o+n : o+n]
}

// Values is Keys for the values.
func (c *KVCache) Values(layer, row, h int) []float32 {
	n := c.MaxLen * c.HeadDim
	o := (row*c.KVHeads + h) * n
	return c.v[layer][o : o+n : o+n]
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
// column slices of a fused QKV buffer. Put panics if a segment does not fit
// its row: callers check Free first.
func (c *KVCache) Put(layer int, segs []Segment, k, v []float32, ld int) {
	D, Hkv, L := c.HeadDim, c.KVHeads, c.MaxLen
	kc, vc := c.k[layer], c.v[layer]
	for _, s := range segs {
		if s.Start+s.T > L {
			panic(fmt.Sprintf("infer: KVCache.Put: row %d: %d positions past its %d", s.Row, s.Start+s.T, L))
		}
		if s.T == 1 { // decoding: one value per feature
			src := s.Off * ld
			for h := range Hkv {
				dst := (s.Row*Hkv+h)*D*L + s.Start
				kr, vr := k[src+h*D:src+h*D+D], v[src+h*D:src+h*D+D]
				for d := range D {
					kc[dst+d*L] = kr[d]
					vc[dst+d*L] = vr[d]
				}
			}
			continue
		}
		// Feature-major stores: for each feature, the segment's T new
		// positions are adjacent in the cache, so a prefill writes whole
		// lines instead of one value per line and position.
		for h := range Hkv {
			for d := range D {
				dst := (s.Row*Hkv+h)*D*L + d*L + s.Start
				kd, vd := kc[dst:dst+s.T], vc[dst:dst+s.T]
				src := s.Off*ld + h*D + d
				for t := range s.T {
					kd[t] = k[src+t*ld]
					vd[t] = v[src+t*ld]
				}
			}
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
// [0, Rows).
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
	// Only committed positions move: each row is snapshotted as
	// KVHeads·HeadDim runs of its length, then copied to its new place.
	runs, L := c.KVHeads*c.HeadDim, c.MaxLen
	c.tmpN = append(c.tmpN[:0], c.n...)
	if cap(c.tmpOff) < c.Rows {
		c.tmpOff = make([]int, c.Rows)
	}
	c.tmpOff = c.tmpOff[:c.Rows]
	total := 0
	for b, n := range c.tmpN {
		c.tmpOff[b] = total
		total += runs * n
	}
	if cap(c.tmp) < total {
		c.tmp = make([]float32, total)
	}
	for l := range c.Layers {
		for _, blk := range [][]float32{c.k[l], c.v[l]} {
			for b, n := range c.tmpN {
				o := c.tmpOff[b]
				for r := range runs {
					copy(c.tmp[o+r*n:o+(r+1)*n], blk[(b*runs+r)*L:(b*runs+r)*L+n])
				}
			}
			for i, from := range src {
				if from == i {
					continue
				}
				n, o := c.tmpN[from], c.tmpOff[from]
				for r := range runs {
					copy(blk[(i*runs+r)*L:(i*runs+r)*L+n], c.tmp[o+r*n:o+(r+1)*n])
				}
			}
		}
	}
	for i, from := range src {
		c.n[i] = c.tmpN[from]
	}
	return nil
}
