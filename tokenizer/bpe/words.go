package bpe

import "math/bits"

// shortWords maps words of up to 8 bytes to a token id. The word's bytes,
// packed little-endian into a uint64 with its length, are the whole key, so
// a lookup is one hash and usually one memory access with no string
// comparison. It holds the single-token words that most pre-tokens are.
// It is read-only after construction.
type shortWords struct {
	slots []shortSlot
	shift uint
}

type shortSlot struct {
	key uint64 // packed bytes
	n   int32  // length in bytes; 0 marks an empty slot
	id  int32
}

// packWord packs w (at most 8 bytes) into a uint64.
func packWord(w string) uint64 {
	var k uint64
	for i := len(w) - 1; i >= 0; i-- {
		k = k<<8 | uint64(w[i])
	}
	return k
}

func newShortWords(n int) shortWords {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return shortWords{slots: make([]shortSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

func (t *shortWords) index(key uint64, n int) uint64 {
	return ((key ^ uint64(n)<<59) * 0x9E3779B97F4A7C15) >> t.shift
}

// put adds w (1 to 8 bytes) → id.
func (t *shortWords) put(w string, id int32) {
	key, n := packWord(w), int32(len(w))
	mask := uint64(len(t.slots) - 1)
	for i := t.index(key, len(w)); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.n == 0 || (s.key == key && s.n == n) {
			*s = shortSlot{key: key, n: n, id: id}
			return
		}
	}
}

// get looks up w, which must be 1 to 8 bytes long.
func (t *shortWords) get(w string) (int32, bool) {
	if len(t.slots) == 0 {
		return -1, false
	}
	key, n := packWord(w), int32(len(w))
	mask := uint64(len(t.slots) - 1)
	for i := t.index(key, len(w)); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == key && s.n == n {
			return s.id, true
		}
		if s.n == 0 {
			return -1, false
		}
	}
}
