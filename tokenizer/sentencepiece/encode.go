package sentencepiece

import "unicode/utf8"

// symbol is one piece during merging: a node of a doubly linked list over
// the initial symbols, in text order.
type symbol struct {
	id         int32 // -1: dropped (no token for it)
	start, end int32 // bytes of the original text it covers
	prev, next int32
	wordStart  bool // no merge across its left edge (Metaspace split)
}

// candidate is a possible merge of the symbol at pos with its successor.
type candidate struct {
	prio        float64 // lower merges first: -score or rank
	pos         int32
	left, right int32 // the ids when the candidate was made
	id          int32 // the merged piece
}

// candHeap is a binary min-heap ordered by (prio, pos): the best merge,
// leftmost first among equals, as llama2.c's scan and HF's queue choose.
type candHeap []candidate

func (h candHeap) less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio < h[j].prio
	}
	return h[i].pos < h[j].pos
}

func (h *candHeap) push(c candidate) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *candHeap) pop() candidate {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s.less(l, m) {
			m = l
		}
		if r < n && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// minScore is llama2.c's starting best score: merges scoring at or below it
// are never chosen.
const minScore = -1e10

// pairOf returns the merge of pieces a and b, if any.
func (m *Model) pairOf(a, b int32) (prio float64, id int32, ok bool) {
	if a < 0 || b < 0 {
		return 0, -1, false
	}
	if m.canon != nil {
		a, b = m.canon[a], m.canon[b]
	}
	pm, ok := m.pairs[[2]int32{a, b}]
	return pm.prio, pm.id, ok
}

// scorePairs builds the merge table of the score-driven flavours: llama2.c
// and SentencePiece merge two adjacent pieces whenever their concatenated
// text is a piece, the highest score first. Every split of every piece into
// two pieces is such a pair; enumerating them once at load time turns each
// candidate lookup during encoding into one map access on two ids, instead
// of building and hashing the concatenated string.
func (m *Model) scorePairs() {
	m.canon = make([]int32, len(m.pieces))
	for id, s := range m.surface {
		m.canon[id] = int32(id)
		if c, ok := m.lookup[s]; ok {
			m.canon[id] = c
		}
	}
	m.pairs = make(map[[2]int32]pairMerge)
	for s, id := range m.lookup {
		score := float64(m.scores[id])
		if m.kind == flavourLlama2C && !(score > minScore) {
			continue // never beats run.c's initial best score
		}
		for k := 1; k < len(s); k++ {
			a, okA := m.lookup[s[:k]]
			b, okB := m.lookup[s[k:]]
			if okA && okB {
				m.pairs[[2]int32{a, b}] = pairMerge{prio: -score, id: id}
			}
		}
	}
}

// initial splits text into the starting symbols: BOS (llama2.c flavour, if
// asked), the dummy prefix, then one symbol per character, with byte
// fallback or <unk> for characters that are not pieces.
func (m *Model) initial(text string, bos bool) []symbol {
	syms := make([]symbol, 0, len(text)+2)
	add := func(id int32, start, end int, wordStart bool) {
		syms = append(syms, symbol{id: id, start: int32(start), end: int32(end), wordStart: wordStart})
	}
	if bos && m.kind == flavourLlama2C {
		add(int32(m.bos), 0, 0, false)
	}
	if text == "" {
		return syms
	}
	if m.kind == flavourLlama2C {
		// run.c: dummy prefix " "; then groups of one lead byte and up to
		// three continuation bytes, looked up whole or emitted as bytes.
		if id, ok := m.lookup[" "]; ok {
			add(id, 0, 0, false)
		} else {
			add(m.byteIDs[' '], 0, 0, false)
		}
		start, n := 0, 0
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c&0xC0 != 0x80 {
				n = 0
			}
			if n == 0 {
				start = i
			}
			n++
			if i+1 < len(text) && text[i+1]&0xC0 == 0x80 && n < 4 {
				continue
			}
			if id, ok := m.lookup[text[start:i+1]]; ok {
				add(id, start, i+1, m.chunked && text[start] == ' ' && start > 0 && text[start-1] != ' ')
			} else {
				for j := start; j <= i; j++ {
					add(m.byteIDs[text[j]], j, j+1, false)
				}
			}
			n = 0
		}
		return syms
	}
	// Hugging Face: Prepend("▁") + Replace(" ", "▁") (or Metaspace), then
	// one symbol per character with byte fallback.
	first := true
	if m.prefix {
		if id, ok := m.lookup[" "]; ok {
			add(id, 0, 0, true)
		} else {
			m.addUnknown(&syms, " ", 0, 0, true)
		}
		first = false
	}
	for i := 0; i < len(text); {
		size := 1
		if text[i] >= 0x80 {
			_, size = utf8.DecodeRuneInString(text[i:])
		}
		if m.user != nil {
			if n, id := m.matchUser(text[i:]); n > 0 {
				add(int32(id), i, i+n, first || (m.split && text[i] == ' '))
				first = false
				i += n
				continue
			}
		}
		ch := text[i : i+size]
		ws := first || ((m.split || m.chunked && i > 0 && text[i-1] != ' ') && ch == " ")
		first = false
		if id, ok := m.lookup[ch]; ok {
			add(id, i, i+size, ws)
		} else {
			m.addUnknown(&syms, ch, i, i+size, ws)
		}
		i += size
	}
	return syms
}

// matchUser finds the longest user-defined piece that starts text.
func (m *Model) matchUser(text string) (n, id int) {
	for l := min(m.userMaxLen, len(text)); l > 0; l-- {
		if id, ok := m.user[text[:l]]; ok {
			return l, id
		}
	}
	return 0, -1
}

// addUnknown appends byte-fallback pieces for ch, or <unk> (fused with a
// preceding <unk> when the model says so), or nothing without an <unk>.
func (m *Model) addUnknown(syms *[]symbol, ch string, start, end int, wordStart bool) {
	all := true
	for j := 0; j < len(ch); j++ {
		if m.byteIDs[ch[j]] < 0 {
			all = false
			break
		}
	}
	if all && len(ch) > 0 {
		for j := 0; j < len(ch); j++ {
			*syms = append(*syms, symbol{id: m.byteIDs[ch[j]], start: int32(start + j), end: int32(start + j + 1), wordStart: wordStart && j == 0})
		}
		return
	}
	if m.unk < 0 {
		*syms = append(*syms, symbol{id: -1, start: int32(start), end: int32(end), wordStart: wordStart})
		return
	}
	if s := *syms; m.fuseUnk && len(s) > 0 && s[len(s)-1].id == m.unk && !wordStart {
		s[len(s)-1].end = int32(end)
		return
	}
	*syms = append(*syms, symbol{id: m.unk, start: int32(start), end: int32(end), wordStart: wordStart})
}

// encode merges the symbols of text and returns them in order. Symbols
// marked wordStart begin independent chunks: no merge crosses them, so each
// chunk is merged on its own, with a small, cache-friendly queue.
func (m *Model) encode(text string, bos bool) []symbol {
	syms := m.initial(text, bos)
	if m.byteAlone {
		for i := range syms {
			if id := syms[i].id; id >= 0 && m.isByte[id] {
				syms[i].wordStart = true
				if i+1 < len(syms) {
					syms[i+1].wordStart = true
				}
			}
		}
	}
	var h candHeap
	// Long texts repeat their words: remember each chunk's merge, keyed by
	// its text, for the length of this call.
	var memo map[string][]symbol
	if len(text) >= memoMinText && m.chunked && m.user == nil {
		memo = make(map[string][]symbol)
	}
	out := syms[:0]
	start := 0
	for i := 1; i <= len(syms); i++ {
		if i < len(syms) && !syms[i].wordStart {
			continue
		}
		chunk := syms[start:i]
		// Chunk 0 may hold BOS or the dummy prefix, which cover no text.
		cacheable := memo != nil && start > 0
		var key string
		if cacheable {
			key = text[chunk[0].start:chunk[len(chunk)-1].end]
			if done, ok := memo[key]; ok {
				shift := chunk[0].start
				for _, s := range done {
					s.start += shift
					s.end += shift
					out = append(out, s)
				}
				start = i
				continue
			}
		}
		// merged lies within syms[start:i] and out never runs past start,
		// so appending moves symbols left only.
		merged := m.mergeChunk(chunk, &h)
		if cacheable {
			rel := make([]symbol, len(merged))
			for j, s := range merged {
				s.start -= merged[0].start
				s.end -= merged[0].start
				rel[j] = s
			}
			memo[key] = rel
		}
		out = append(out, merged...)
		start = i
	}
	return out
}

// scanMax is the chunk length up to which mergeScan replaces the queue.
const scanMax = 24

// mergeScan is mergeChunk for short chunks: a rescan of at most scanMax-1
// pair slots per merge beats a priority queue there. The best pair is the
// first one with the lowest priority, as in llama2.c's loop.
func (m *Model) mergeScan(syms []symbol) []symbol {
	var prio [scanMax]float64
	var ids [scanMax]int32
	var ok [scanMax]bool
	n := len(syms)
	pair := func(i int) {
		ok[i] = false
		if !syms[i+1].wordStart {
			prio[i], ids[i], ok[i] = m.pairOf(syms[i].id, syms[i+1].id)
		}
	}
	for i := range n - 1 {
		pair(i)
	}
	for n > 1 {
		best := -1
		for i := range n - 1 {
			if ok[i] && (best < 0 || prio[i] < prio[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		syms[best].id, syms[best].end = ids[best], syms[best+1].end
		copy(syms[best+1:n], syms[best+2:n])
		copy(prio[best+1:n-1], prio[best+2:n])
		copy(ids[best+1:n-1], ids[best+2:n])
		copy(ok[best+1:n-1], ok[best+2:n])
		n--
		if best > 0 {
			pair(best - 1)
		}
		if best < n-1 {
			pair(best)
		}
	}
	return syms[:n]
}

// memoMinText is the text length from which encode memoizes chunks.
const memoMinText = 2048

// mergeChunk runs the merge loop over syms (indices local to the chunk) and
// returns the merged symbols, compacted at the front of syms.
func (m *Model) mergeChunk(syms []symbol, hp *candHeap) []symbol {
	n := len(syms)
	if n < 2 {
		return syms
	}
	if n <= scanMax {
		return m.mergeScan(syms)
	}
	return m.mergeHeap(syms, hp)
}

// mergeHeap is mergeChunk for long chunks: a linked list of symbols and a
// priority queue of candidate merges, O(n log n).
func (m *Model) mergeHeap(syms []symbol, hp *candHeap) []symbol {
	n := len(syms)
	h := (*hp)[:0]
	for i := range syms {
		syms[i].prev, syms[i].next = int32(i-1), int32(i+1)
	}
	syms[n-1].next = -1
	try := func(i int32) {
		if i < 0 {
			return
		}
		j := syms[i].next
		if j < 0 || syms[j].wordStart {
			return
		}
		if prio, id, ok := m.pairOf(syms[i].id, syms[j].id); ok {
			h.push(candidate{prio: prio, pos: i, left: syms[i].id, right: syms[j].id, id: id})
		}
	}
	for i := range n - 1 {
		try(int32(i))
	}
	for len(h) > 0 {
		c := h.pop()
		l := &syms[c.pos]
		j := l.next
		if l.id != c.left || j < 0 || syms[j].id != c.right {
			continue // stale
		}
		r := &syms[j]
		l.id, l.end = c.id, r.end
		r.id = -2 // dead
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.pos
		}
		try(l.prev)
		try(c.pos)
	}
	*hp = h
	k := 0
	for i := int32(0); i >= 0; {
		next := syms[i].next
		syms[k] = syms[i]
		k++
		i = next
	}
	return syms[:k]
}
