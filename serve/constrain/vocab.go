package constrain

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Vocab is what each token id of a model appends to the text: its bytes.
// Special tokens (BOS, EOS, control pieces) have none and are never allowed
// by a Matcher, except the stop tokens it is given once the output is
// complete. A Vocab is immutable and safe for concurrent use.
type Vocab struct {
	pieces [][]byte
	order  []int32 // ids with bytes, sorted by their bytes
	maxLen int     // longest piece
}

// NewVocab returns the vocabulary whose token id i appends pieces[i] (nil or
// empty for special tokens). It keeps pieces.
func NewVocab(pieces [][]byte) *Vocab {
	v := &Vocab{pieces: pieces}
	for id, p := range pieces {
		if len(p) > 0 {
			v.order = append(v.order, int32(id))
			v.maxLen = max(v.maxLen, len(p))
		}
	}
	slices.SortFunc(v.order, func(a, b int32) int { return bytes.Compare(pieces[a], pieces[b]) })
	return v
}

// Size is the number of ids.
func (v *Vocab) Size() int { return len(v.pieces) }

// Piece returns the bytes of id (nil for a special token or an id outside
// the vocabulary).
func (v *Vocab) Piece(id int) []byte {
	if id < 0 || id >= len(v.pieces) {
		return nil
	}
	return v.pieces[id]
}

// maxCache bounds the allowed-token sets an Index keeps.
const maxCache = 4096

// Index pairs a Schema with a Vocab and caches, per automaton state, the set
// of tokens that may come next. It is safe for concurrent use; one Index
// serves every request with the same schema on the same model.
type Index struct {
	schema *Schema
	vocab  *Vocab

	mu    sync.Mutex
	cache map[string][]uint64
	hits  int
	miss  int
}

// NewIndex returns an index of s over v.
func NewIndex(s *Schema, v *Vocab) *Index {
	return &Index{schema: s, vocab: v, cache: map[string][]uint64{}}
}

// CacheStats reports the lookups of allowed sets that were cached and that
// were computed.
func (ix *Index) CacheStats() (hits, misses int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.hits, ix.miss
}

// Matcher is the constraint state of one sequence: the automaton after the
// tokens so far. It implements the scheduler's Constraint. It is used by one
// goroutine at a time.
type Matcher struct {
	ix    *Index
	stops []int
	cur   state
	bufs  []state // the walk's states by prefix length
	key   []byte
	ended bool // a stop token was taken
}

// NewMatcher returns a matcher at the start of the output. stops are the
// ids that end the sequence (EOS): they are allowed once the output is
// complete.
func (ix *Index) NewMatcher(stops []int) *Matcher {
	return &Matcher{ix: ix, stops: slices.Clone(stops), cur: newState(ix.schema.root),
		bufs: make([]state, ix.vocab.maxLen+1)}
}

// Accepting reports whether the output so far is a complete value.
func (m *Matcher) Accepting() bool { return m.ended || m.cur.accepting() }

// Done reports that the output is complete and nothing may follow it (or a
// stop token was taken).
func (m *Matcher) Done() bool { return m.ended || m.cur.finished() }

// Feed advances over raw bytes (tests, or text forced into the output).
func (m *Matcher) Feed(b []byte) error {
	var next state
	for i, c := range b {
		if !stepState(&m.cur, c, &next) {
			return fmt.Errorf("%w: byte %d (%q) of %q", errNoToken, i, c, b)
		}
		m.cur, next = next, m.cur
	}
	return nil
}

// Advance records the chosen token.
func (m *Matcher) Advance(id int) error {
	if slices.Contains(m.stops, id) {
		if !m.cur.accepting() {
			return fmt.Errorf("%w: stop token %d before the output is complete", errNoToken, id)
		}
		m.ended = true
		return nil
	}
	p := m.ix.vocab.Piece(id)
	if len(p) == 0 {
		return fmt.Errorf("%w: token %d has no text", errNoToken, id)
	}
	if err := m.Feed(p); err != nil {
		return fmt.Errorf("token %d: %w", id, err)
	}
	return nil
}

// Mask sets to −Inf the logits of the tokens that cannot come next and
// returns how many remain. Stop tokens remain once the output is complete.
func (m *Matcher) Mask(logits []float32) int {
	ninf := float32(math.Inf(-1))
	if m.ended {
		for i := range logits {
			logits[i] = ninf
		}
		return 0
	}
	bits := m.allowed()
	stop := m.cur.accepting()
	n := 0
	for id := range logits {
		if (id < len(m.ix.vocab.pieces) && bits[id>>6]&(1<<(id&63)) != 0) || (stop && slices.Contains(m.stops, id)) {
			n++
			continue
		}
		logits[id] = ninf
	}
	return n
}

// allowed returns the bit set of tokens the current state allows (not
// counting stop tokens).
func (m *Matcher) allowed() []uint64 {
	m.key = m.cur.appendKey(m.key[:0])
	ix := m.ix
	ix.mu.Lock()
	bits, ok := ix.cache[string(m.key)]
	if ok {
		ix.hits++
	} else {
		ix.miss++
	}
	ix.mu.Unlock()
	if ok {
		return bits
	}
	bits = m.walk()
	ix.mu.Lock()
	if len(ix.cache) >= maxCache {
		clear(ix.cache)
	}
	ix.cache[string(m.key)] = bits
	ix.mu.Unlock()
	return bits
}

// walk computes the allowed set by feeding every token's bytes from the
// current state, in sorted order: a token reuses the states of the prefix
// it shares with the previous one, and a prefix that failed rules out every
// following token that starts with it.
func (m *Matcher) walk() []uint64 {
	v := m.ix.vocab
	bits := make([]uint64, (len(v.pieces)+63)/64)
	m.bufs[0].copyFrom(&m.cur)
	var prev []byte
	ok := 0 // m.bufs[0..ok] hold the states after prev[:ok]
	for _, id := range v.order {
		p := v.pieces[id]
		l := commonPrefix(prev, p)
		prev = p
		if l > ok {
			continue // p starts with the byte at which prev failed
		}
		d := l
		for d < len(p) && stepState(&m.bufs[d], p[d], &m.bufs[d+1]) {
			d++
		}
		ok = d
		if d == len(p) {
			bits[id>>6] |= 1 << (id & 63)
		}
	}
	return bits
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
