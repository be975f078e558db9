package sentencepiece

import "unicode/utf8"

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

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
func (m *Model) pairOf(a, b int32, buf *[]byte) (prio float64, id int32, ok bool) {
	if a < 0 || b < 0 {
		return 0, -1, false
	}
	if m.kind == flavourHF {
		pm, ok := m.pairs[[2]int32{a, b}]
		return float64(pm.rank), pm.id, ok
	}
	*buf = append(append((*buf)[:0], m.surface[a]...), m.surface[b]...)
	id, ok = m.lookup[string(*buf)]
	if !ok || !(float64(m.scores[id]) > minScore) {
		return 0, -1, false
	}
	return -float64(m.scores[id]), id, true
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
				add(id, start, i+1, false)
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
			_, size = decodeRune(text[i:])
		}
		ch := text[i : i+size]
		ws := first || (m.split && ch == " ")
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

// encode merges the symbols of text and returns them in order.
func (m *Model) encode(text string, bos bool) []symbol {
	syms := m.initial(text, bos)
	n := len(syms)
	if n < 2 {
		return syms
	}
	var buf []byte
	h := make(candHeap, 0, n)
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
		if prio, id, ok := m.pairOf(syms[i].id, syms[j].id, &buf); ok {
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
	out := syms[:0]
	for i := int32(0); i >= 0; {
		next := syms[i].next
		out = append(out, syms[i])
		i = next
	}
	return out
}
