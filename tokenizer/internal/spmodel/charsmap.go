package spmodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Charsmap is SentencePiece's precompiled normalization table (the
// "precompiled_charsmap" of a NormalizerSpec, the Precompiled normalizer of a
// tokenizer.json): a little-endian uint32 size, a darts-clone double-array
// trie of that many bytes mapping input byte strings to offsets, then a blob
// of NUL-terminated replacement strings those offsets point into. nmt_nfkc
// is NFKC plus a few NMT-specific rules compiled into such a table.
type Charsmap struct {
	trie       DoubleArray // input → offset of the replacement
	normalized string      // the replacement strings
}

// ParseCharsmap decodes a precompiled charsmap. Every lookup is bounds
// checked, so a malformed trie gives wrong matches at worst, never a panic.
func ParseCharsmap(blob []byte) (*Charsmap, error) {
	if len(blob) <= 4 {
		return nil, errors.New("precompiled charsmap: too short")
	}
	size := binary.LittleEndian.Uint32(blob)
	if uint64(size) >= uint64(len(blob)) {
		return nil, fmt.Errorf("precompiled charsmap: trie size %d exceeds the %d-byte blob", size, len(blob))
	}
	blob = blob[4:]
	c := &Charsmap{trie: make(DoubleArray, size/4), normalized: string(blob[size:])}
	for i := range c.trie {
		c.trie[i] = binary.LittleEndian.Uint32(blob[4*i:])
	}
	if len(c.trie) == 0 {
		return nil, errors.New("precompiled charsmap: empty trie")
	}
	return c, nil
}

// Longest returns the length of the longest rule input that prefixes s
// and its replacement; n is 0 when no rule matches.
func (c *Charsmap) Longest(s string) (n int, repl string) { return LongestRule(c, s) }

// LongestRule is Charsmap.Longest for strings and byte slices.
func LongestRule[T ~string | ~[]byte](c *Charsmap, s T) (n int, repl string) {
	pos := c.trie.Root()
	best := -1
	for i := 0; i < len(s); i++ {
		next, v, ok := c.trie.Step(pos, s[i])
		if !ok {
			break
		}
		pos = next
		if v >= 0 {
			n, best = i+1, int(v)
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

// Rules returns every rule of the charsmap: input → replacement.
func (c *Charsmap) Rules() map[string]string {
	out := map[string]string{}
	for k := range c.trie.Keys() {
		_, out[k] = c.Longest(k)
	}
	return out
}

// nmtSpace are the characters nmt_nfkc writes as a space, nmtRemove those it
// deletes (control characters), nmtKeep those it leaves alone although
// NFKC changes them (the full-width tilde, common in Japanese text).
var (
	nmtSpace = []rune{0x0009, 0x000A, 0x000C, 0x000D, 0x1680, 0x200B, 0x200C, 0x200E, 0x200F, 0x2028, 0x2029,
		0x2581, 0xFEFF, 0xFFFD}
	nmtRemove = []rune{0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008, 0x000B, 0x000E, 0x000F,
		0x0010, 0x0011, 0x0012, 0x0013, 0x0014, 0x0015, 0x0016, 0x0017, 0x0018, 0x0019, 0x001A, 0x001B, 0x001C,
		0x001D, 0x001E, 0x001F, 0x007F, 0x008F, 0x009F}
	nmtKeep = []rune{0xFF5E}
)

// NMTNFKCRules returns sentencepiece's nmt_nfkc normalization as rewrite
// rules (input → output) in the way its builder derives them:
//
//   - every code point that NFKC changes, mapped to its NFKC form;
//   - every sequence that NFKC composes into one character: the
//     character's NFKD decomposition, with each part also replaced by any
//     code point that NFKC maps to that part (so compatibility jamo compose
//     like conjoining ones), mapped to the composed form;
//   - the NMT overrides above.
//
// The Unicode version is Go's, so characters newer than sentencepiece's
// tables normalize where sentencepiece's model would leave them.
func NMTNFKCRules() map[string]string {
	rules := map[string]string{}
	variants := map[rune][]rune{} // x → code points whose NFKC is x
	var decomposed []string
	var buf [utf8.UTFMax]byte
	for r := rune(1); r <= utf8.MaxRune; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		s := string(buf[:utf8.EncodeRune(buf[:], r)])
		if norm.NFKC.IsNormalString(s) && norm.NFKD.IsNormalString(s) {
			continue
		}
		n := norm.NFKC.String(s)
		if n != s {
			rules[s] = n
			if x, size := utf8.DecodeRuneInString(n); size == len(n) {
				variants[x] = append(variants[x], r)
			}
		}
		if d := norm.NFKD.String(s); d != s && utf8.RuneCountInString(d) >= 2 {
			decomposed = append(decomposed, d)
		}
	}
	for _, d := range decomposed {
		c := norm.NFC.String(d)
		if _, size := utf8.DecodeRuneInString(c); c == d || size != len(c) {
			continue // nothing composes, or not into one character
		}
		parts := []rune(d)
		var expand func(i int, prefix string)
		expand = func(i int, prefix string) {
			if i == len(parts) {
				if prefix != c {
					if _, ok := rules[prefix]; !ok && norm.NFKC.String(prefix) == c {
						rules[prefix] = c
					}
				}
				return
			}
			expand(i+1, prefix+string(parts[i]))
			for _, v := range variants[parts[i]] {
				expand(i+1, prefix+string(v))
			}
		}
		expand(0, "")
	}
	for _, r := range nmtSpace {
		rules[string(r)] = " "
	}
	for _, r := range nmtRemove {
		rules[string(r)] = ""
	}
	for _, r := range nmtKeep {
		delete(rules, string(r))
	}
	return rules
}

// NMTNFKC compiles the nmt_nfkc rules into a precompiled charsmap.
func NMTNFKC() []byte {
	return CompileCharsmap(NMTNFKCRules())
}

// CompileCharsmap builds a precompiled charsmap from rewrite rules (keys
// with a NUL byte are left out).
func CompileCharsmap(rules map[string]string) []byte {
	keys := make([]string, 0, len(rules))
	for k := range rules {
		if k != "" && !strings.Contains(k, "\x00") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	// The replacement strings, each NUL-terminated, shared when equal.
	var blob []byte
	offset := map[string]uint32{}
	values := make([]uint32, len(keys))
	for i, k := range keys {
		v := rules[k]
		o, ok := offset[v]
		if !ok {
			o = uint32(len(blob))
			offset[v] = o
			blob = append(append(blob, v...), 0)
		}
		values[i] = o
	}
	units := BuildDoubleArray(keys, values)
	out := binary.LittleEndian.AppendUint32(nil, uint32(4*len(units)))
	for _, u := range units {
		out = binary.LittleEndian.AppendUint32(out, u)
	}
	return append(out, blob...)
}
