package nn

import "fmt"

// KVCache holds the attention keys and values of every layer of a decoder for
// a batch of B sequences of up to MaxLen positions, so that decoding one more
// token costs O(length) instead of recomputing the whole prefix.
//
// Storage is allocated once, in NewKVCache: per layer two blocks laid out
// [B, KVHeads, HeadDim, MaxLen], feature-major: the keys of one head form a
// [HeadDim, MaxLen] matrix whose row d holds feature d of every position. With
// the small head dimensions of decoders, attention then runs as HeadDim
// vector operations over the positions (scores = Σ_d q_d·K_d, out_d = p·V_d)
// instead of many HeadDim-long dot products. A forward pass writes its T new positions with Put
// (one call per layer), then commits them with Advance, which also records
// which of the new slots hold real tokens: batched prompts are left-padded to a
// common length and the padding slots must never be attended to.
//
// All rows share one length (left padding aligns them), so slot s of every row
// belongs to the same step. A KVCache is not safe for concurrent mutation.
type KVCache struct {
	Layers, Batch, KVHeads, MaxLen, HeadDim int

	k, v  [][]float32 // per layer, [B, KVHeads, HeadDim, MaxLen]
	valid []bool      // [B, MaxLen]: slot holds a real token (not padding)
	n     int         // committed positions
	tmp   []float32   // Reorder scratch, one row of one layer
	tmpV  []bool
}

// NewKVCache allocates a cache for the given decoder shape.
func NewKVCache(layers, batch, kvHeads, maxLen, headDim int) (*KVCache, error) {
	if layers <= 0 || batch <= 0 || kvHeads <= 0 || maxLen <= 0 || headDim <= 0 {
		return nil, fmt.Errorf("nn: KVCache: layers %d, batch %d, kv heads %d, max length %d and head dim %d must be positive",
			layers, batch, kvHeads, maxLen, headDim)
	}
	per := batch * kvHeads * maxLen * headDim
	c := &KVCache{Layers: layers, Batch: batch, KVHeads: kvHeads, MaxLen: maxLen, HeadDim: headDim,
		k: make([][]float32, layers), v: make([][]float32, layers), valid: make([]bool, batch*maxLen)}
	block := make([]float32, 2*layers*per) // one allocation for all layers
	for l := range layers {
		c.k[l] = block[2*l*per : (2*l+1)*per : (2*l+1)*per]
		c.v[l] = block[(2*l+1)*per : (2*l+2)*per : (2*l+2)*per]
	}
	return c, nil
}

// Len reports the number of committed positions (equal for every row).
func (c *KVCache) Len() int { return c.n }

// Free reports how many more positions fit.
func (c *KVCache) Free() int { return c.MaxLen - c.n }

// Reset empties the cache without freeing its storage.
func (c *KVCache) Reset() {
	c.n = 0
	clear(c.valid)
}

// Truncate drops the positions from n on, so that the cache holds the first
// n (n ≤ Len()) and the next Put writes slot n: a session that rewinds to a
// shared prefix keeps what it computed for that prefix.
func (c *KVCache) Truncate(n int) error {
	if n < 0 || n > c.n {
		return fmt.Errorf("nn: KVCache.Truncate(%d) with %d positions", n, c.n)
	}
	for b := range c.Batch {
		clear(c.valid[b*c.MaxLen+n : b*c.MaxLen+c.n])
	}
	c.n = n
	return nil
}

// Put writes the keys and values of T new positions of one layer into slots
// Len() … Len()+T−1. k and v are [B, T, KVHeads·HeadDim] row-major, the layout
// a projection produces; rowStride is the distance between consecutive
// (b, t) rows in k and v (≥ KVHeads·HeadDim, so k and v may be column slices
// of a fused QKV buffer). Put panics if T exceeds Free(): callers check.
func (c *KVCache) Put(layer, T int, k, v []float32, rowStride int) {
	if T > c.Free() {
		panic(fmt.Sprintf("nn: KVCache.Put: %d positions but only %d free", T, c.Free()))
	}
	D, Hkv, L := c.HeadDim, c.KVHeads, c.MaxLen
	kc, vc := c.k[layer], c.v[layer]
	for b := range c.Batch {
		for t := range T {
			src := (b*T + t) * rowStride
			for h := range Hkv {
				dst := (b*Hkv+h)*D*L + c.n + t
				for d := range D {
					kc[dst+d*L] = k[src+h*D+d]
					vc[dst+d*L] = v[src+h*D+d]
				}
			}
		}
	}
}

// Advance commits T positions written by Put. mask, when not nil, is [B, T]
// and marks the slots that hold real tokens; nil means all of them do.
func (c *KVCache) Advance(T int, mask []bool) {
	for b := range c.Batch {
		row := c.valid[b*c.MaxLen+c.n : b*c.MaxLen+c.n+T]
		if mask == nil {
			for i := range row {
				row[i] = true
			}
		} else {
			copy(row, mask[b*T:(b+1)*T])
		}
	}
	c.n += T
}

// Keys returns the [HeadDim, MaxLen] key block of row b, kv head h of a
// layer: feature d of slot s is at d·MaxLen+s. Slots below Len() (plus any
// positions just Put) are meaningful.
func (c *KVCache) Keys(layer, b, h int) []float32 {
	n := c.MaxLen * c.HeadDim
	o := (b*c.KVHeads + h) * n
	return c.k[layer][o : o+n : o+n]
}

// Values is Keys for the values.
func (c *KVCache) Values(layer, b, h int) []float32 {
	n := c.MaxLen * c.HeadDim
	o := (b*c.KVHeads + h) * n
	return c.v[layer][o : o+n : o+n]
}

// Valid returns row b's [MaxLen] slot mask: true where a committed slot holds a
// real token.
func (c *KVCache) Valid(b int) []bool { return c.valid[b*c.MaxLen : (b+1)*c.MaxLen] }

// Reorder makes row i a copy of row src[i] for every row, as beam search does
// when beams are re-ranked. src must have Batch entries in [0, Batch).
func (c *KVCache) Reorder(src []int) error {
	if len(src) != c.Batch {
		return fmt.Errorf("nn: KVCache.Reorder: %d sources for %d rows", len(src), c.Batch)
	}
	for _, s := range src {
		if s < 0 || s >= c.Batch {
			return fmt.Errorf("nn: KVCache.Reorder: source row %d out of range [0, %d)", s, c.Batch)
		}
	}
	// Only the committed positions move: each row is snapshotted as
	// KVHeads·HeadDim runs of Len() values, then copied to its new place.
	runs, n, L := c.KVHeads*c.HeadDim, c.n, c.MaxLen
	if len(c.tmp) < c.Batch*runs*n {
		c.tmp = make([]float32, c.Batch*runs*L) // enough for every later length
	}
	for l := range c.Layers {
		for _, blk := range [][]float32{c.k[l], c.v[l]} {
			for b := range c.Batch {
				for r := range runs {
					o := (b*runs + r) * L
					copy(c.tmp[(b*runs+r)*n:(b*runs+r+1)*n], blk[o:o+n])
				}
			}
			for i, from := range src {
				if from == i { // unchanged: only row i itself is written
					continue
				}
				for r := range runs {
					o := (i*runs + r) * L
					copy(blk[o:o+n], c.tmp[(from*runs+r)*n:(from*runs+r+1)*n])
				}
			}
		}
	}
	if len(c.tmpV) < len(c.valid) {
		c.tmpV = make([]bool, len(c.valid))
	}
	copy(c.tmpV, c.valid)
	for i, s := range src {
		copy(c.valid[i*c.MaxLen:(i+1)*c.MaxLen], c.tmpV[s*c.MaxLen:(s+1)*c.MaxLen])
	}
	return nil
}
