package unigram

import (
	"math"
	"unicode/utf8"
)

// This file holds the lattice algorithms of training: forward-backward for
// the expected piece counts (E step), Viterbi, and the two best
// segmentations of a piece (pruning). Positions are character indices.

// latNode is one lattice node: the characters [begin, end) of a word as
// piece id (-1: an unknown character).
type latNode struct {
	begin, end int32
	id         int32
	score      float64
}

// trainModel is the vocabulary during training: pieces and log
// probabilities, with a trie over them.
type trainModel struct {
	pieces   []string
	scores   []float64
	trie     *trie
	minScore float64
}

func newTrainModel(pieces []string, scores []float64) *trainModel {
	ids := make([]int32, len(pieces))
	for i := range ids {
		ids[i] = int32(i)
	}
	m := &trainModel{pieces: pieces, scores: scores, trie: buildTrie(pieces, ids), minScore: math.Inf(1)}
	for _, s := range scores {
		m.minScore = min(m.minScore, s)
	}
	return m
}

// lattice is the set of nodes of one word, in order of their begin.
type lattice struct {
	nodes []latNode
	n     int     // characters
	at    []int32 // byte offset → character index (-1 inside a character)
}

// build fills the lattice of w: every piece that matches at each character,
// and an unknown node where no single-character piece does.
func (l *lattice) build(m *trainModel, w string) {
	l.nodes = l.nodes[:0]
	if cap(l.at) < len(w)+1 {
		l.at = make([]int32, len(w)+1)
	}
	l.at = l.at[:len(w)+1]
	for i := range l.at {
		l.at[i] = -1
	}
	n := int32(0)
	for i := range w {
		l.at[i] = n
		n++
	}
	l.at[len(w)] = n
	l.n = int(n)
	unk := m.minScore - unkPenalty
	for i := 0; i < len(w); {
		b := l.at[i]
		_, size := utf8.DecodeRuneInString(w[i:])
		single := false
		node := int32(0)
		for k := i; k < len(w); k++ {
			if node = m.trie.next(node, w[k]); node < 0 {
				break
			}
			id := m.trie.value[node]
			if id < 0 || l.at[k+1] < 0 {
				continue
			}
			l.nodes = append(l.nodes, latNode{begin: b, end: l.at[k+1], id: id, score: m.scores[id]})
			if k+1-i == size {
				single = true
			}
		}
		if !single {
			l.nodes = append(l.nodes, latNode{begin: b, end: b + 1, id: -1, score: unk})
		}
		i += size
	}
}

// logAdd returns log(exp(x) + exp(y)).
func logAdd(x, y float64) float64 {
	if x < y {
		x, y = y, x
	}
	if math.IsInf(y, -1) || x > y+50 {
		return x
	}
	return x + math.Log1p(math.Exp(y-x))
}

// marginals adds freq times the expected count of every piece in the word
// to expected, and returns the word's log likelihood log Z.
func (l *lattice) marginals(freq float64, expected []float64, alpha, beta []float64) float64 {
	for i := range alpha[:l.n+1] {
		alpha[i], beta[i] = math.Inf(-1), math.Inf(-1)
	}
	alpha[0], beta[l.n] = 0, 0
	for _, nd := range l.nodes {
		alpha[nd.end] = logAdd(alpha[nd.end], alpha[nd.begin]+nd.score)
	}
	for i := len(l.nodes) - 1; i >= 0; i-- {
		nd := &l.nodes[i]
		beta[nd.begin] = logAdd(beta[nd.begin], nd.score+beta[nd.end])
	}
	z := alpha[l.n]
	for _, nd := range l.nodes {
		if nd.id >= 0 {
			expected[nd.id] += freq * math.Exp(alpha[nd.begin]+nd.score+beta[nd.end]-z)
		}
	}
	return z
}

// viterbi appends the ids of the best segmentation to out (-1 for unknown
// characters).
func (l *lattice) viterbi(out []int32, best []float64, back []int32) []int32 {
	for i := range best[:l.n+1] {
		best[i], back[i] = math.Inf(-1), -1
	}
	best[0] = 0
	for k, nd := range l.nodes {
		if c := best[nd.begin] + nd.score; c > best[nd.end] {
			best[nd.end], back[nd.end] = c, int32(k)
		}
	}
	mark := len(out)
	for p := l.n; p > 0; {
		nd := l.nodes[back[p]]
		out = append(out, nd.id)
		p = int(nd.begin)
	}
	for i, j := mark, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// hyp is one of the two best segmentations of a prefix: its score, last
// node, and which of the two hypotheses at the node's begin it extends.
type hyp struct {
	score float64
	node  int32
	prev  int8
}

// twoBest returns the best and second-best segmentations of the lattice
// (the second nil if there is only one).
func (l *lattice) twoBest() (first, second []int32) {
	top := make([][2]hyp, l.n+1)
	cnt := make([]int8, l.n+1)
	cnt[0] = 1
	top[0][0] = hyp{node: -1}
	for k, nd := range l.nodes {
		for r := int8(0); r < cnt[nd.begin]; r++ {
			h := hyp{score: top[nd.begin][r].score + nd.score, node: int32(k), prev: r}
			t, c := &top[nd.end], cnt[nd.end]
			switch {
			case c < 2:
				t[c] = h
				cnt[nd.end]++
				if c == 1 && t[1].score > t[0].score {
					t[0], t[1] = t[1], t[0]
				}
			case h.score > t[0].score:
				t[1], t[0] = t[0], h
			case h.score > t[1].score:
				t[1] = h
			}
		}
	}
	path := func(r int8) []int32 {
		var ids []int32
		for p := l.n; p > 0; {
			h := top[p][r]
			nd := l.nodes[h.node]
			ids = append(ids, nd.id)
			p, r = int(nd.begin), h.prev
		}
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
		return ids
	}
	if l.n == 0 || cnt[l.n] == 0 {
		return nil, nil
	}
	first = path(0)
	if cnt[l.n] > 1 {
		second = path(1)
	}
	return first, second
}
