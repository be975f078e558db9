package bpe

import (
	"container/heap"
	"math"
	"math/bits"
)

// This file holds the byte-pair merge loop. A word (one pre-token) starts as
// one symbol per byte; the adjacent pair whose merge has the lowest rank (the
// earliest line of vocab.bpe) is merged, leftmost first among equal pairs,
// until no adjacent pair has a merge. This is GPT-2's encoder.py algorithm:
// merging one occurrence at a time, leftmost first, gives the same result as
// its "merge every occurrence of the best pair" step.
//
// Short words, the common case, use a rank scan over two small arrays (no
// pointers, cache friendly). Long words switch to a doubly linked list with a
// min-heap of candidate pairs, O(n log n) instead of O(n²).

// noRank marks a pair that has no merge.
const noRank = math.MaxUint32

// heapThreshold is the word length (in symbols) from which the heap-based
// merge replaces the quadratic scan.
const heapThreshold = 96

// pairTable maps a pair of token ids to the rank of its merge and the id of
// the merged token: an open-addressing hash table with linear probing, keyed
// by the two ids packed into one uint64. It is read-only after construction.
type pairTable struct {
	slots []pairSlot
	shift uint // 64 - log2(len(slots))
}

type pairSlot struct {
	key  uint64 // emptyKey when unused
	rank uint32
	id   int32
}

const emptyKey = math.MaxUint64

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newPairTable makes a table for n merges with a load factor of at most 1/2.
func newPairTable(n int) pairTable {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	t := pairTable{slots: make([]pairSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for i := range t.slots {
		t.slots[i].key = emptyKey
	}
	return t
}

func (t *pairTable) index(key uint64) uint64 { return (key * 0x9E3779B97F4A7C15) >> t.shift }

// insert adds a merge unless the pair already has one (the first, lowest
// rank wins, as in the reference implementations). It reports whether it added.
func (t *pairTable) insert(a, b int32, rank uint32, id int32) bool {
	key := pairKey(a, b)
	mask := uint64(len(t.slots) - 1)
	for i := t.index(key); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == key {
			return false
		}
		if s.key == emptyKey {
			*s = pairSlot{key: key, rank: rank, id: id}
			return true
		}
	}
}

// get returns the rank and result of merging a and b, or noRank.
func (t *pairTable) get(a, b int32) (rank uint32, id int32) {
	if a < 0 || b < 0 || len(t.slots) == 0 {
		return noRank, -1
	}
	key := pairKey(a, b)
	mask := uint64(len(t.slots) - 1)
	for i := t.index(key); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == key {
			return s.rank, s.id
		}
		if s.key == emptyKey {
			return noRank, -1
		}
	}
}

// merger holds the scratch space of the merge loop; one merger serves one
// goroutine and is reused from word to word.
type merger struct {
	syms  []int32  // current symbols (token ids; -1 for a byte without a token)
	ranks []uint32 // ranks[i]: rank of merging syms[i] and syms[i+1]
	ids   []int32  // ids[i]: the token that merge yields
	// heap variant
	prev, next []int32
	h          pairHeap
}

// merge runs BPE over syms in place and returns the merged symbols.
func (t *pairTable) merge(mg *merger, syms []int32) []int32 {
	if len(syms) >= heapThreshold {
		return t.mergeHeap(mg, syms)
	}
	return t.mergeScan(mg, syms)
}

// mergeScan is the quadratic merge for short words.
func (t *pairTable) mergeScan(mg *merger, syms []int32) []int32 {
	n := len(syms)
	if n < 2 {
		return syms
	}
	mg.ranks = grow(mg.ranks, n-1)
	mg.ids = grow(mg.ids, n-1)
	ranks, ids := mg.ranks[:n-1], mg.ids[:n-1]
	for i := 0; i < n-1; i++ {
		ranks[i], ids[i] = t.get(syms[i], syms[i+1])
	}
	for n > 1 {
		best, bi := uint32(noRank), -1
		for i, r := range ranks[:n-1] {
			if r < best {
				best, bi = r, i
			}
		}
		if bi < 0 {
			break
		}
		// Merge syms[bi] and syms[bi+1]; drop symbol bi+1 and pair bi+1.
		syms[bi] = ids[bi]
		copy(syms[bi+1:], syms[bi+2:n])
		if bi+2 < n {
			copy(ranks[bi+1:], ranks[bi+2:n-1])
			copy(ids[bi+1:], ids[bi+2:n-1])
		}
		n--
		if bi > 0 {
			ranks[bi-1], ids[bi-1] = t.get(syms[bi-1], syms[bi])
		}
		if bi < n-1 {
			ranks[bi], ids[bi] = t.get(syms[bi], syms[bi+1])
		}
	}
	return syms[:n]
}

// pairCand is a candidate merge of the symbol at pos with its successor.
type pairCand struct {
	rank       uint32
	pos        int32
	left, rght int32 // the two symbols when the candidate was made
	id         int32
}

type pairHeap []pairCand

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCand)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeHeap is the O(n log n) merge for long words. Symbols live in a linked
// list over their original positions, so position order is text order and
// "leftmost" is "smallest position". Stale heap entries are recognised by
// comparing the recorded symbols with the current ones.
func (t *pairTable) mergeHeap(mg *merger, syms []int32) []int32 {
	n := len(syms)
	mg.prev = grow(mg.prev, n)
	mg.next = grow(mg.next, n)
	prev, next := mg.prev[:n], mg.next[:n]
	h := mg.h[:0]
	for i := range n {
		prev[i], next[i] = int32(i-1), int32(i+1)
		if i < n-1 {
			if r, id := t.get(syms[i], syms[i+1]); r != noRank {
				h = append(h, pairCand{rank: r, pos: int32(i), left: syms[i], rght: syms[i+1], id: id})
			}
		}
	}
	next[n-1] = -1
	heap.Init(&h)
	push := func(i int32) {
		if i < 0 || next[i] < 0 {
			return
		}
		j := next[i]
		if r, id := t.get(syms[i], syms[j]); r != noRank {
			heap.Push(&h, pairCand{rank: r, pos: i, left: syms[i], rght: syms[j], id: id})
		}
	}
	for h.Len() > 0 {
		c := heap.Pop(&h).(pairCand)
		i := c.pos
		j := next[i]
		if syms[i] != c.left || j < 0 || syms[j] != c.rght {
			continue // stale: one side was merged away since
		}
		syms[i] = c.id
		syms[j] = -2 // dead; never equals a recorded symbol
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		push(prev[i])
		push(i)
	}
	mg.h = h
	// Compact the list.
	k := 0
	for i := int32(0); i >= 0; i = next[i] {
		syms[k] = syms[i]
		k++
	}
	return syms[:k]
}

// grow returns s with length at least n, reusing its array when possible.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/2)
}
