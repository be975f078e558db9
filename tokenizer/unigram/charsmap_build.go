package unigram

import (
	"encoding/binary"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// This file builds precompiled charsmaps for trained models: the nmt_nfkc
// rules from Go's Unicode tables, compiled into a darts-clone double array
// that both this package and sentencepiece read.

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

// nmtNFKCRules returns sentencepiece's nmt_nfkc normalization as rewrite
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
func nmtNFKCRules() map[string]string {
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

// nmtNFKCCharsmap compiles the nmt_nfkc rules into a precompiled charsmap.
func nmtNFKCCharsmap() []byte {
	return compileCharsmap(nmtNFKCRules())
}

// compileCharsmap builds a precompiled charsmap from rewrite rules (keys
// without NUL bytes).
func compileCharsmap(rules map[string]string) []byte {
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
	units := buildDoubleArray(keys, values)
	out := binary.LittleEndian.AppendUint32(nil, uint32(4*len(units)))
	for _, u := range units {
		out = binary.LittleEndian.AppendUint32(out, u)
	}
	return append(out, blob...)
}

// buildDoubleArray builds a darts-clone double array of sorted, distinct,
// non-empty keys with their values (< 2³¹). A node whose unit sits at
// position p and whose children start at base b stores offset p^b; the
// child labelled c sits at b^c and a key ending at the node stores its
// value in a leaf unit at b (label 0). Bases are never shared, so a lookup
// cannot stray into another node's children; the array is a whole number of
// 256-unit blocks, so every b^c a lookup computes is inside it.
//
// As in darts-clone, identical subtrees (same labels, values and
// descendants, common at the ends of keys) are stored once: sharing a base
// is safe exactly when the children are the same. Free positions are kept
// in a circular list and only the last few blocks are searched for a base;
// older blocks are closed.
func buildDoubleArray(keys []string, values []uint32) []uint32 {
	const window = 16 // blocks searched for a free base
	type item struct {
		pos    uint32 // where the node's unit is
		lo, hi int    // its keys
		depth  int
	}
	var (
		units      []uint32
		used, base []bool
		next, prev []uint32 // the circular list of free positions
		head       = ^uint32(0)
	)
	unlink := func(p uint32) {
		if next[p] == p {
			head = ^uint32(0)
		} else {
			next[prev[p]], prev[next[p]] = next[p], prev[p]
			if head == p {
				head = next[p]
			}
		}
		used[p] = true
	}
	addBlock := func() uint32 {
		start := uint32(len(units))
		if start >= window*256 {
			// Close the block that leaves the window.
			for p := start - window*256; p < start-window*256+256; p++ {
				if !used[p] {
					unlink(p)
				}
			}
		}
		for p := start; p < start+256; p++ {
			units, used, base = append(units, 0), append(used, false), append(base, false)
			next, prev = append(next, 0), append(prev, 0)
			if head == ^uint32(0) {
				head, next[p], prev[p] = p, p, p
			} else {
				last := prev[head]
				next[last], prev[p], next[p], prev[head] = p, last, head, p
			}
		}
		return start
	}
	addBlock()
	unlink(0) // the root
	fits := func(b uint32, labels []uint32) bool {
		if base[b] {
			return false
		}
		for _, l := range labels {
			if used[b^l] {
				return false
			}
		}
		return true
	}
	subtree := subtreeIDs(keys, values)
	placed := map[int32]uint32{} // subtree → its base
	queue := []item{{0, 0, len(keys), 0}}
	var labels []uint32
	for q := 0; q < len(queue); q++ {
		it := queue[q]
		id := subtree[[2]int{it.lo, it.depth}]
		if b, ok := placed[id]; ok {
			units[it.pos] |= (it.pos ^ b) << 10
			if len(keys[it.lo]) == it.depth {
				units[it.pos] |= 1 << 8
			}
			if it.pos^b >= 1<<21 {
				panic("unigram: charsmap too large for a double array")
			}
			continue
		}
		labels = labels[:0]
		lo := it.lo
		leaf := lo < it.hi && len(keys[lo]) == it.depth
		if leaf {
			labels = append(labels, 0)
			lo++
		}
		for i := lo; i < it.hi; {
			c := keys[i][it.depth]
			labels = append(labels, uint32(c))
			for i < it.hi && keys[i][it.depth] == c {
				i++
			}
		}
		if len(labels) == 0 {
			continue
		}
		b, found := uint32(0), false
		if head != ^uint32(0) {
			for p := head; ; {
				if cand := p ^ labels[0]; fits(cand, labels) {
					b, found = cand, true
					break
				}
				if p = next[p]; p == head {
					break
				}
			}
		}
		if !found {
			b = addBlock() ^ labels[0]
		}
		base[b] = true
		placed[id] = b
		for _, l := range labels {
			unlink(b ^ l)
		}
		offset := it.pos ^ b
		if offset >= 1<<21 {
			panic("unigram: charsmap too large for a double array") // the rule sets compiled here are far smaller
		}
		units[it.pos] |= offset << 10
		if leaf {
			units[it.pos] |= 1 << 8
			units[b] = values[it.lo] | 1<<31
		}
		for i := lo; i < it.hi; {
			c := keys[i][it.depth]
			j := i
			for j < it.hi && keys[j][it.depth] == c {
				j++
			}
			child := b ^ uint32(c)
			units[child] = uint32(c)
			queue = append(queue, item{child, i, j, it.depth + 1})
			i = j
		}
	}
	return units
}

// subtreeIDs numbers the nodes of the trie of sorted keys (a node is the
// keys [lo, hi) sharing a prefix of length depth, named by lo and depth)
// so that two nodes get the same number exactly when their subtrees are
// identical: the same value ending there and the same labelled children.
func subtreeIDs(keys []string, values []uint32) map[[2]int]int32 {
	ids := map[[2]int]int32{}
	intern := map[string]int32{}
	var walk func(lo, hi, depth int) int32
	walk = func(lo, hi, depth int) int32 {
		first := lo
		sig := []byte{0}
		if len(keys[lo]) == depth {
			sig = binary.LittleEndian.AppendUint32([]byte{1}, values[lo])
			lo++
		}
		for i := lo; i < hi; {
			c := keys[i][depth]
			j := i
			for j < hi && keys[j][depth] == c {
				j++
			}
			sig = binary.LittleEndian.AppendUint32(append(sig, c), uint32(walk(i, j, depth+1)))
			i = j
		}
		id, ok := intern[string(sig)]
		if !ok {
			id = int32(len(intern))
			intern[string(sig)] = id
		}
		ids[[2]int{first, depth}] = id
		return id
	}
	if len(keys) > 0 {
		walk(0, len(keys), 0)
	}
	return ids
}
