package unigram

import "sort"

// trie maps byte strings (vocabulary pieces) to ids. Nodes are numbered in
// breadth-first order; a node's outgoing edges are a contiguous run of
// (label, child) pairs sorted by label. The root's edges are a direct table.
type trie struct {
	root  [256]int32 // child of the root for each first byte, -1 if none
	start []int32    // node → index of its first edge
	end   []int32    // node → index past its last edge
	label []byte     // edge labels
	child []int32    // edge targets
	value []int32    // node → id of the key ending there, -1 if none
}

// buildTrie builds a trie of keys; ids[i] is the value of keys[i]. The
// first of several equal keys keeps its id. Empty keys are ignored.
func buildTrie(keys []string, ids []int32) *trie {
	type kv struct {
		key string
		id  int32
	}
	kvs := make([]kv, 0, len(keys))
	for i, k := range keys {
		if k != "" {
			kvs = append(kvs, kv{k, ids[i]})
		}
	}
	sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].key < kvs[j].key })
	t := &trie{}
	for i := range t.root {
		t.root[i] = -1
	}
	type item struct {
		node, lo, hi, depth int
	}
	newNode := func() int {
		t.start = append(t.start, 0)
		t.end = append(t.end, 0)
		t.value = append(t.value, -1)
		return len(t.value) - 1
	}
	queue := []item{{newNode(), 0, len(kvs), 0}}
	for q := 0; q < len(queue); q++ {
		it := queue[q]
		lo := it.lo
		for lo < it.hi && len(kvs[lo].key) == it.depth {
			if t.value[it.node] < 0 {
				t.value[it.node] = kvs[lo].id
			}
			lo++
		}
		t.start[it.node] = int32(len(t.label))
		for lo < it.hi {
			b := kvs[lo].key[it.depth]
			hi := lo + 1
			for hi < it.hi && kvs[hi].key[it.depth] == b {
				hi++
			}
			c := newNode()
			t.label = append(t.label, b)
			t.child = append(t.child, int32(c))
			if it.node == 0 {
				t.root[b] = int32(c)
			}
			queue = append(queue, item{c, lo, hi, it.depth + 1})
			lo = hi
		}
		t.end[it.node] = int32(len(t.label))
	}
	return t
}

// next follows the edge labelled b from node (0 is the root); -1 if none.
func (t *trie) next(node int32, b byte) int32 {
	if node == 0 {
		return t.root[b]
	}
	lo, hi := t.start[node], t.end[node]
	if hi-lo <= 8 {
		for i := lo; i < hi; i++ {
			if t.label[i] == b {
				return t.child[i]
			}
		}
		return -1
	}
	for lo < hi {
		mid := int32(uint32(lo+hi) >> 1)
		switch l := t.label[mid]; {
		case l == b:
			return t.child[mid]
		case l < b:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return -1
}

// longestPrefix returns the length of the longest key that prefixes s and
// its id, or 0, -1.
func (t *trie) longestPrefix(s string) (n int, id int32) {
	id = -1
	node := int32(0)
	for i := 0; i < len(s); i++ {
		if node = t.next(node, s[i]); node < 0 {
			break
		}
		if v := t.value[node]; v >= 0 {
			n, id = i+1, v
		}
	}
	return n, id
}
