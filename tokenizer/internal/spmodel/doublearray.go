package spmodel

import "encoding/binary"

// DoubleArray is a darts-clone double-array trie, the index of
// sentencepiece's pieces and precompiled charsmaps: one uint32 unit per
// node, holding its label, a has-leaf flag and the offset to its children,
// which sit at (position ^ offset) ^ label.
type DoubleArray []uint32

// Root returns the position of the root's children.
func (a DoubleArray) Root() uint32 {
	if len(a) == 0 {
		return 0
	}
	return unitOffset(a[0])
}

// Step follows byte c from the children at pos: the position of the new
// node's children, the value of the key ending there (-1 if none), and
// false when no key continues with c. It is bounds checked, so a malformed
// array read from a file gives wrong matches at worst, never a panic; a
// NUL byte matches nothing.
func (a DoubleArray) Step(pos uint32, c byte) (next uint32, value int32, ok bool) {
	if c == 0 {
		return 0, -1, false
	}
	pos ^= uint32(c)
	if int(pos) >= len(a) {
		return 0, -1, false
	}
	u := a[pos]
	if unitLabel(u) != uint32(c) {
		return 0, -1, false
	}
	pos ^= unitOffset(u)
	if !unitHasLeaf(u) {
		return pos, -1, true
	}
	if int(pos) >= len(a) {
		return 0, -1, false
	}
	return pos, int32(unitValue(a[pos])), true
}

// Keys returns every key of the array with its value.
func (a DoubleArray) Keys() map[string]uint32 {
	out := map[string]uint32{}
	var walk func(pos uint32, prefix []byte)
	walk = func(pos uint32, prefix []byte) {
		for c := 1; c < 256; c++ {
			next, v, ok := a.Step(pos, byte(c))
			if !ok {
				continue
			}
			key := append(prefix[:len(prefix):len(prefix)], byte(c))
			if v >= 0 {
				out[string(key)] = uint32(v)
			}
			walk(next, key)
		}
	}
	walk(a.Root(), nil)
	return out
}

// Fields of a darts-clone unit.
func unitHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func unitValue(u uint32) uint32  { return u & (1<<31 - 1) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// BuildDoubleArray builds a darts-clone double array of sorted, distinct,
// non-empty keys without NUL bytes with their values (< 2³¹). A node whose unit sits at
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
func BuildDoubleArray(keys []string, values []uint32) DoubleArray {
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
				panic("spmodel: too many keys for a double array")
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
			panic("spmodel: too many keys for a double array") // far more than any vocabulary or rule set
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
	return DoubleArray(units)
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
