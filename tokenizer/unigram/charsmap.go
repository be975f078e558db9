package unigram

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// charsmap is SentencePiece's precompiled normalization table (the
// "precompiled_charsmap" of a NormalizerSpec, the Precompiled normalizer of a
// tokenizer.json): a little-endian uint32 size, a darts-clone double-array
// trie of that many bytes mapping input byte strings to offsets, then a blob
// of NUL-terminated replacement strings those offsets point into. nmt_nfkc
// is NFKC plus a few NMT-specific rules compiled into such a table.
type charsmap struct {
	units      []uint32 // the double array
	normalized string   // the replacement strings
}

// parseCharsmap decodes a precompiled charsmap. Every lookup is bounds
// checked, so a malformed trie gives wrong matches at worst, never a panic.
func parseCharsmap(blob []byte) (*charsmap, error) {
	if len(blob) <= 4 {
		return nil, errors.New("precompiled charsmap: too short")
	}
	size := binary.LittleEndian.Uint32(blob)
	if uint64(size) >= uint64(len(blob)) {
		return nil, fmt.Errorf("precompiled charsmap: trie size %d exceeds the %d-byte blob", size, len(blob))
	}
	blob = blob[4:]
	c := &charsmap{units: make([]uint32, size/4), normalized: string(blob[size:])}
	for i := range c.units {
		c.units[i] = binary.LittleEndian.Uint32(blob[4*i:])
	}
	if len(c.units) == 0 {
		return nil, errors.New("precompiled charsmap: empty trie")
	}
	return c, nil
}

// Fields of a darts-clone unit.
func unitHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func unitValue(u uint32) uint32  { return u & (1<<31 - 1) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
func (c *charsmap) unit(i uint32) (uint32, bool) {
	if int(i) >= len(c.units) {
		return 0, false
	}
	return c.units[i], true
}

// longest returns the length of the longest key of the trie that prefixes
// s and its replacement; n is 0 when no key matches. Among keys of equal
// length the first found wins, as in SentencePiece's NormalizePrefix.
func (c *charsmap) longest(s string) (n int, repl string) { return longestRule(c, s) }

// longestRule is charsmap.longest for strings and byte slices.
func longestRule[T ~string | ~[]byte](c *charsmap, s T) (n int, repl string) {
	pos := unitOffset(c.units[0])
	best := -1
	for i := 0; i < len(s); i++ {
		b := uint32(s[i])
		pos ^= b
		u, ok := c.unit(pos)
		if !ok || unitLabel(u) != b {
			break
		}
		pos ^= unitOffset(u)
		if unitHasLeaf(u) {
			leaf, ok := c.unit(pos)
			if !ok {
				break
			}
			if i+1 > n {
				n, best = i+1, int(unitValue(leaf))
			}
		}
	}
	if n == 0 || best >= len(c.normalized) {
		return 0, ""
	}
	end := best
	for end < len(c.normalized) && c.normalized[end] != 0 {
		end++
	}
	return n, c.normalized[best:end]
}
