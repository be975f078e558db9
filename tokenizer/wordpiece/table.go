package wordpiece

import "unicode/utf8"

// table is a read-only open-addressing hash table from token bytes to ids,
// built for WordPiece's greedy search. Its hash is a polynomial prefix hash:
// the hashes of all prefixes of a word come from one left-to-right pass, so
// trying word[start:end] for every end costs one probe each, and a miss
// usually ends at an empty slot or a hash mismatch without touching key
// bytes. Keys longer than maxLen cannot match, which bounds the search.
type table struct {
	slots  []slot
	mask   uint64
	arena  []byte // all keys, back to back
	maxLen int    // longest key in bytes
}

type slot struct {
	tag      uint32 // high bits of the mixed hash, low bit set; 0 marks an empty slot
	id       int32
	off, len uint32 // key bytes in arena
}

// tagOf is the part of a mixed hash a slot keeps; the index uses the low bits.
func tagOf(h uint64) uint32 { return uint32(h>>32) | 1 }

const (
	hashSeed = 0x9e3779b97f4a7c15
	hashMul  = 0x100000001b3 // FNV-1a's 64-bit prime: odd, spreads bytes
)

// step extends a prefix hash by one byte.
func step(h uint64, c byte) uint64 { return (h ^ uint64(c)) * hashMul }

// mix finalizes a prefix hash (murmur3's fmix64).
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func hashBytes(b string) uint64 {
	h := uint64(hashSeed)
	for i := 0; i < len(b); i++ {
		h = step(h, b[i])
	}
	return mix(h)
}

// newTable builds a table of the given keys and ids.
func newTable(keys map[string]int) *table {
	size := 16
	for size < 2*len(keys) {
		size *= 2
	}
	t := &table{slots: make([]slot, size), mask: uint64(size - 1)}
	for k, id := range keys {
		h := hashBytes(k)
		i := h & t.mask
		for t.slots[i].tag != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = slot{tag: tagOf(h), off: uint32(len(t.arena)), len: uint32(len(k)), id: int32(id)}
		t.arena = append(t.arena, k...)
		t.maxLen = max(t.maxLen, len(k))
	}
	return t
}

// lookup finds key, whose mixed hash is h.
func (t *table) lookup(key []byte, h uint64) (int, bool) {
	tag := tagOf(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.tag == 0 {
			return 0, false
		}
		if s.tag == tag && int(s.len) == len(key) && string(t.arena[s.off:s.off+s.len]) == string(key) {
			return int(s.id), true
		}
	}
}

// longest returns the id and end of the longest key that equals
// word[start:end] for an end at a character boundary, or -1.
// hashes is scratch space.
func (t *table) longest(word []byte, start int, hashes *[]uint64) (id, end int) {
	limit := min(len(word), start+t.maxLen)
	hs := (*hashes)[:0]
	h := uint64(hashSeed)
	for i := start; i < limit; i++ {
		h = step(h, word[i])
		hs = append(hs, h) // hs[k] hashes word[start : start+k+1]
	}
	*hashes = hs
	for end = limit; end > start; end-- {
		if end < len(word) && !utf8.RuneStart(word[end]) {
			continue // not a character boundary
		}
		if id, ok := t.lookup(word[start:end], mix(hs[end-start-1])); ok {
			return id, end
		}
	}
	return -1, start
}
