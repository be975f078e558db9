package unigram

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/glossa-ai/glossa/tokenizer"
)

// This file is the Hugging Face flavour's pipeline: normalizers and
// pre-tokenizers that keep the alignment with the original text, the
// Unigram model over each pre-token, and the decoder chain.

// aligned is a text with, for each byte, the offset in the original text of
// the character that produced it, and one more entry for the end (as
// normalized, see there). Sub-slices of an aligned text are aligned texts.
type aligned = normalized

// hfNormalizer is one tokenizer.json normalizer.
type hfNormalizer struct {
	kind    string // Precompiled, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Prepend
	cmap    *charsmap
	pattern string         // Replace with a string pattern
	re      *regexp.Regexp // Replace with a regex pattern
	content string         // Replace's replacement, Prepend's prefix
	form    norm.Form
	left    bool // Strip
	right   bool
}

// hfPreTokenizer is one tokenizer.json pre-tokenizer.
type hfPreTokenizer struct {
	kind        string // Metaspace, WhitespaceSplit, Whitespace
	replacement string // Metaspace
	prepend     bool
	split       bool
}

// hfDecoder is one tokenizer.json decoder.
type hfDecoder struct {
	kind        string // Metaspace, Replace, ByteFallback, Fuse, Strip
	replacement string // Metaspace
	prepend     bool
	pattern     string // Replace
	content     string
	left, right int // Strip
	stripChar   string
}

// hfPipeline is what a tokenizer.json runs around its Unigram model.
type hfPipeline struct {
	norms    []hfNormalizer
	pres     []hfPreTokenizer
	decs     []hfDecoder
	noDecode bool // no decoder section: tokens are joined with spaces
}

// start copies text into out, replacing each byte of malformed UTF-8 by
// U+FFFD, with the identity alignment.
func start(text string, out *aligned) {
	out.reset()
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			out.s = append(out.s, c)
			out.orig = append(out.orig, int32(i))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			out.s = append(out.s, replacementChar...)
		} else {
			out.s = append(out.s, text[i:i+size]...)
		}
		for k := len(out.orig); k < len(out.s); k++ {
			out.orig = append(out.orig, int32(i))
		}
		i += size
	}
	out.orig = append(out.orig, int32(len(text)))
}

// rewrite builds a new aligned text from in: f is called at each position
// with the rest of the text and returns the replacement of its first
// consumed bytes (consumed >= 1); replacement bytes align with the start
// of what they replace.
func rewrite(in aligned, f func(rest string) (repl string, consumed int)) aligned {
	var out aligned
	out.s = make([]byte, 0, len(in.s))
	out.orig = make([]int32, 0, len(in.s)+1)
	s := string(in.s)
	for i := 0; i < len(s); {
		repl, n := f(s[i:])
		out.s = append(out.s, repl...)
		for range len(repl) {
			out.orig = append(out.orig, in.orig[i])
		}
		i += n
	}
	out.orig = append(out.orig, in.orig[len(s)])
	return out
}

// firstChar returns the first character of s (s non-empty).
func firstChar(s string) string {
	_, size := utf8.DecodeRuneInString(s)
	return s[:size]
}

func (n *hfNormalizer) apply(in aligned) aligned {
	switch n.kind {
	case "Precompiled":
		return rewrite(in, func(rest string) (string, int) {
			if l, repl := n.cmap.longest(rest); l > 0 {
				return repl, l
			}
			c := firstChar(rest)
			return c, len(c)
		})
	case "Replace":
		if n.re != nil {
			s := string(in.s)
			var out aligned
			last := 0
			for _, loc := range n.re.FindAllStringIndex(s, -1) {
				if loc[1] == loc[0] {
					continue
				}
				out.s = append(out.s, s[last:loc[0]]...)
				out.orig = append(out.orig, in.orig[last:loc[0]]...)
				out.s = append(out.s, n.content...)
				for range len(n.content) {
					out.orig = append(out.orig, in.orig[loc[0]])
				}
				last = loc[1]
			}
			out.s = append(out.s, s[last:]...)
			out.orig = append(out.orig, in.orig[last:]...)
			return out
		}
		if n.pattern == "" {
			return in
		}
		return rewrite(in, func(rest string) (string, int) {
			if strings.HasPrefix(rest, n.pattern) {
				return n.content, len(n.pattern)
			}
			c := firstChar(rest)
			return c, len(c)
		})
	case "NFC", "NFD", "NFKC", "NFKD":
		s := string(in.s)
		var it norm.Iter
		it.InitString(n.form, s)
		var out aligned
		for !it.Done() {
			p := it.Pos()
			seg := it.Next()
			out.s = append(out.s, seg...)
			for range len(seg) {
				out.orig = append(out.orig, in.orig[p])
			}
		}
		out.orig = append(out.orig, in.orig[len(s)])
		return out
	case "Lowercase":
		return rewrite(in, func(rest string) (string, int) {
			c := firstChar(rest)
			return strings.ToLower(c), len(c)
		})
	case "StripAccents":
		return rewrite(in, func(rest string) (string, int) {
			r, size := utf8.DecodeRuneInString(rest)
			if unicode.Is(unicode.Mn, r) {
				return "", size
			}
			return rest[:size], size
		})
	case "Strip":
		s := string(in.s)
		lo, hi := 0, len(s)
		if n.left {
			lo = len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
		}
		if n.right {
			hi = lo + len(strings.TrimRightFunc(s[lo:], unicode.IsSpace))
		}
		return aligned{s: in.s[lo:hi], orig: in.orig[lo : hi+1]}
	case "Prepend":
		if len(in.s) == 0 {
			return in
		}
		var out aligned
		out.s = append([]byte(n.content), in.s...)
		for range len(n.content) {
			out.orig = append(out.orig, in.orig[0])
		}
		out.orig = append(out.orig, in.orig...)
		return out
	}
	return in
}

// apply splits each word of words further, or rewrites it.
func (p *hfPreTokenizer) apply(words []aligned) []aligned {
	var out []aligned
	for _, w := range words {
		switch p.kind {
		case "WhitespaceSplit", "Whitespace":
			out = splitWords(out, w, p.kind == "Whitespace")
		case "Metaspace":
			w = rewrite(w, func(rest string) (string, int) {
				if rest[0] == ' ' {
					return p.replacement, 1
				}
				c := firstChar(rest)
				return c, len(c)
			})
			if p.prepend && len(w.s) > 0 && !strings.HasPrefix(string(w.s), p.replacement) {
				var pw aligned
				pw.s = append([]byte(p.replacement), w.s...)
				for range len(p.replacement) {
					pw.orig = append(pw.orig, w.orig[0])
				}
				pw.orig = append(pw.orig, w.orig...)
				w = pw
			}
			if !p.split {
				out = append(out, w)
				continue
			}
			// Split before each replacement character (merged with what
			// follows it).
			s := string(w.s)
			begin := 0
			for i := 1; i < len(s); i++ {
				if strings.HasPrefix(s[i:], p.replacement) {
					out = append(out, aligned{s: w.s[begin:i], orig: w.orig[begin : i+1]})
					begin = i
				}
			}
			if begin < len(s) {
				out = append(out, aligned{s: w.s[begin:], orig: w.orig[begin:]})
			}
		default:
			out = append(out, w)
		}
	}
	return out
}

// splitWords appends the words of w: runs of non-whitespace
// (WhitespaceSplit), or with punct, runs of word characters and runs of
// other non-space characters (Whitespace, \w+|[^\w\s]+).
func splitWords(out []aligned, w aligned, punct bool) []aligned {
	s := string(w.s)
	class := func(r rune) int {
		switch {
		case unicode.IsSpace(r):
			return 0
		case !punct || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			return 1
		}
		return 2
	}
	begin, cur := -1, 0
	for i, r := range s {
		c := class(r)
		if begin >= 0 && c != cur {
			out = append(out, aligned{s: w.s[begin:i], orig: w.orig[begin : i+1]})
			begin = -1
		}
		if begin < 0 && c != 0 {
			begin, cur = i, c
		}
	}
	if begin >= 0 {
		out = append(out, aligned{s: w.s[begin:], orig: w.orig[begin:]})
	}
	return out
}

// pretokenize normalizes text and cuts it into the words the model segments.
func (p *hfPipeline) pretokenize(text string, st *scratch) []aligned {
	start(text, &st.norm)
	a := st.norm
	for i := range p.norms {
		a = p.norms[i].apply(a)
	}
	words := []aligned{a}
	for i := range p.pres {
		words = p.pres[i].apply(words)
	}
	return words
}

// appendHF is Hugging Face's Unigram tokenize over each pre-token: Viterbi
// in float64, runs of <unk> fused, and pieces that are not in the
// vocabulary (fused runs) spelt in bytes when byte_fallback is set.
func (m *Model) appendHF(dst []tokenizer.Token, text string, st *scratch) []tokenizer.Token {
	for _, w := range m.hf.pretokenize(text, st) {
		s := w.s
		if len(s) == 0 {
			continue
		}
		segs := m.viterbiHF(s, st)
		for i := 0; i < len(segs); i++ {
			g := segs[i]
			end := g.end
			if g.id == m.unk && m.unk >= 0 {
				for i+1 < len(segs) && segs[i+1].id == m.unk {
					i++
					end = segs[i].end
				}
			}
			begin, last := int(w.orig[g.start]), int(w.orig[end])
			piece := s[g.start:end]
			id, known := g.id, end == g.end && g.id != m.unk
			if !known {
				if v, ok := m.trie.lookup(string(piece)); ok {
					id, known = v, true
				}
			}
			if !known && m.hasHFBytes(piece) {
				for _, b := range piece {
					id := m.byteIDs[b]
					dst = append(dst, tokenizer.Token{ID: int(id), Text: m.pieces[id], Start: begin, End: last})
				}
				continue
			}
			if id < 0 {
				continue // no <unk>: the text has no token
			}
			tok := tokenizer.Token{ID: int(id), Text: m.pieces[id], Start: begin, End: last}
			if !known {
				tok.Text = string(piece)
			}
			dst = append(dst, tok)
		}
	}
	return dst
}

// hasHFBytes reports whether byte fallback can spell piece.
func (m *Model) hasHFBytes(piece []byte) bool {
	if m.hf == nil || !m.hfBytes {
		return false
	}
	for _, b := range piece {
		if m.byteIDs[b] < 0 {
			return false
		}
	}
	return true
}

// viterbiHF is Hugging Face's encode_optimized: sentencepiece's search in
// float64 over every piece of the vocabulary (control pieces included).
func (m *Model) viterbiHF(s []byte, st *scratch) []seg {
	size := len(s)
	best := st.resetBest(size + 1)
	unkScore := m.minScore - unkPenalty
	t := m.trie
	for start := 0; start < size; {
		till := best[start].score64
		_, mblen := utf8.DecodeRune(s[start:])
		single := false
		node := int32(0)
		for k := start; k < size; k++ {
			if node = t.next(node, s[k]); node < 0 {
				break
			}
			id := t.value[node]
			if id < 0 {
				continue
			}
			tgt := &best[k+1]
			if c := m.scores[id] + till; tgt.start < 0 || c > tgt.score64 {
				tgt.score64, tgt.start, tgt.id = c, int32(start), id
			}
			if k+1-start == mblen {
				single = true
			}
		}
		if !single {
			tgt := &best[start+mblen]
			if c := unkScore + till; tgt.start < 0 || c > tgt.score64 {
				tgt.score64, tgt.start, tgt.id = c, int32(start), m.unk
			}
		}
		start += mblen
	}
	st.segs = backtrack(best, st.segs[:0])
	return st.segs
}

// decodeHF runs the tokenizer.json decoder over the pieces of ids.
func (m *Model) decodeHF(ids []int, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if skipSpecial && m.special[id] {
			continue
		}
		toks = append(toks, m.pieces[id])
	}
	p := m.hf
	if p.noDecode {
		return strings.Join(toks, " ")
	}
	for i := range p.decs {
		toks = p.decs[i].apply(toks)
	}
	return strings.Join(toks, "")
}

func (d *hfDecoder) apply(toks []string) []string {
	switch d.kind {
	case "Metaspace":
		for i, t := range toks {
			if i == 0 && d.prepend {
				toks[i] = strings.ReplaceAll(t, d.replacement, "")
			} else {
				toks[i] = strings.ReplaceAll(t, d.replacement, " ")
			}
		}
	case "Replace":
		if d.pattern != "" {
			for i, t := range toks {
				toks[i] = strings.ReplaceAll(t, d.pattern, d.content)
			}
		}
	case "ByteFallback":
		var out []string
		var pending []byte
		flush := func() {
			if len(pending) == 0 {
				return
			}
			if utf8.Valid(pending) {
				out = append(out, string(pending))
			} else {
				for range pending {
					out = append(out, replacementChar)
				}
			}
			pending = pending[:0]
		}
		for _, t := range toks {
			if b, ok := byteValue(t); ok {
				pending = append(pending, b)
				continue
			}
			flush()
			out = append(out, t)
		}
		flush()
		return out
	case "Fuse":
		return []string{strings.Join(toks, "")}
	case "Strip":
		for i, t := range toks {
			for range d.left {
				t = strings.TrimPrefix(t, d.stripChar)
			}
			for range d.right {
				t = strings.TrimSuffix(t, d.stripChar)
			}
			toks[i] = t
		}
	}
	return toks
}
