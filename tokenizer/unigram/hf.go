package unigram

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
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
	cmap    *spmodel.Charsmap
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

// hfBufs is the pipeline's scratch: two buffers the normalizers write to
// in turn, an arena for the words pre-tokenizers rewrite, and two word
// lists. Words returned by pretokenize live in these buffers.
type hfBufs struct {
	buf           [2]aligned
	arena         aligned // s and orig grow independently, one word after another
	words, words2 []aligned
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
			emit(out, replacementChar, int32(i))
		} else {
			emit(out, text[i:i+size], int32(i))
		}
		i += size
	}
	out.orig = append(out.orig, int32(len(text)))
}

// emit appends repl to dst, every byte aligned with original offset o.
func emit[T ~string | ~[]byte](dst *aligned, repl T, o int32) {
	dst.s = append(dst.s, repl...)
	for range len(repl) {
		dst.orig = append(dst.orig, o)
	}
}

// charLen is the length of the first character of s (s non-empty).
func charLen(s []byte) int {
	if s[0] < utf8.RuneSelf {
		return 1
	}
	_, size := utf8.DecodeRune(s)
	return size
}

// apply runs the normalizer on in. It writes the result to dst (reset
// first) and reports true, or returns in itself or a part of it and false.
func (n *hfNormalizer) apply(dst *aligned, in aligned) (aligned, bool) {
	dst.reset()
	s := in.s
	switch n.kind {
	case "Precompiled":
		for i := 0; i < len(s); {
			if l, repl := spmodel.LongestRule(n.cmap, s[i:]); l > 0 {
				emit(dst, repl, in.orig[i])
				i += l
				continue
			}
			l := charLen(s[i:])
			dst.s = append(dst.s, s[i:i+l]...)
			dst.orig = append(dst.orig, in.orig[i:i+l]...)
			i += l
		}
	case "Replace":
		if n.re != nil {
			last := 0
			for _, loc := range n.re.FindAllIndex(s, -1) {
				if loc[1] == loc[0] {
					continue
				}
				dst.s = append(dst.s, s[last:loc[0]]...)
				dst.orig = append(dst.orig, in.orig[last:loc[0]]...)
				emit(dst, n.content, in.orig[loc[0]])
				last = loc[1]
			}
			dst.s = append(dst.s, s[last:]...)
			dst.orig = append(dst.orig, in.orig[last:len(s)]...)
			break
		}
		if n.pattern == "" {
			return in, false
		}
		for i := 0; i < len(s); {
			if bytes.HasPrefix(s[i:], []byte(n.pattern)) {
				emit(dst, n.content, in.orig[i])
				i += len(n.pattern)
				continue
			}
			dst.s = append(dst.s, s[i])
			dst.orig = append(dst.orig, in.orig[i])
			i++
		}
	case "NFC", "NFD", "NFKC", "NFKD":
		var it norm.Iter
		it.Init(n.form, s)
		for !it.Done() {
			p := it.Pos()
			emit(dst, it.Next(), in.orig[p])
		}
	case "Lowercase":
		for i := 0; i < len(s); {
			l := charLen(s[i:])
			if l == 1 {
				c := s[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst.s = append(dst.s, c)
				dst.orig = append(dst.orig, in.orig[i])
			} else {
				emit(dst, strings.ToLower(string(s[i:i+l])), in.orig[i])
			}
			i += l
		}
	case "StripAccents":
		for i := 0; i < len(s); {
			r, l := utf8.DecodeRune(s[i:])
			if !unicode.Is(unicode.Mn, r) {
				dst.s = append(dst.s, s[i:i+l]...)
				dst.orig = append(dst.orig, in.orig[i:i+l]...)
			}
			i += l
		}
	case "Strip":
		lo, hi := 0, len(s)
		if n.left {
			lo = len(s) - len(bytes.TrimLeftFunc(s, unicode.IsSpace))
		}
		if n.right {
			hi = lo + len(bytes.TrimRightFunc(s[lo:], unicode.IsSpace))
		}
		return aligned{s: s[lo:hi], orig: in.orig[lo : hi+1]}, false
	case "Prepend":
		if len(s) == 0 {
			return in, false
		}
		emit(dst, n.content, in.orig[0])
		dst.s = append(dst.s, s...)
		dst.orig = append(dst.orig, in.orig[:len(s)]...)
	default:
		return in, false
	}
	dst.orig = append(dst.orig, in.orig[len(s)])
	return *dst, true
}

// apply appends the words each word of words becomes to out; rewritten
// words go to the arena.
func (p *hfPreTokenizer) apply(out, words []aligned, arena *aligned) []aligned {
	for _, w := range words {
		switch p.kind {
		case "WhitespaceSplit", "Whitespace":
			out = splitWords(out, w, p.kind == "Whitespace")
		case "Metaspace":
			ms, mo := len(arena.s), len(arena.orig)
			if p.prepend && len(w.s) > 0 && !bytes.HasPrefix(w.s, []byte(p.replacement)) {
				emit(arena, p.replacement, w.orig[0])
			}
			for i, c := range w.s {
				if c == ' ' {
					emit(arena, p.replacement, w.orig[i])
				} else {
					arena.s = append(arena.s, c)
					arena.orig = append(arena.orig, w.orig[i])
				}
			}
			arena.orig = append(arena.orig, w.orig[len(w.s)])
			w = aligned{s: arena.s[ms:], orig: arena.orig[mo:]}
			if !p.split {
				out = append(out, w)
				continue
			}
			// Split before each replacement character (merged with what
			// follows it).
			rep := []byte(p.replacement)
			begin := 0
			for i := 1; i < len(w.s); i++ {
				if bytes.HasPrefix(w.s[i:], rep) {
					out = append(out, aligned{s: w.s[begin:i], orig: w.orig[begin : i+1]})
					begin = i
				}
			}
			if begin < len(w.s) {
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
	for i := 0; i < len(w.s); {
		r, size := rune(w.s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(w.s[i:])
		}
		c := class(r)
		if begin >= 0 && c != cur {
			out = append(out, aligned{s: w.s[begin:i], orig: w.orig[begin : i+1]})
			begin = -1
		}
		if begin < 0 && c != 0 {
			begin, cur = i, c
		}
		i += size
	}
	if begin >= 0 {
		out = append(out, aligned{s: w.s[begin:], orig: w.orig[begin:]})
	}
	return out
}

// pretokenize normalizes text and cuts it into the words the model
// segments (valid until st is reused).
func (p *hfPipeline) pretokenize(text string, st *scratch) []aligned {
	b := &st.hf
	start(text, &b.buf[0])
	cur, which := b.buf[0], 0
	for i := range p.norms {
		out, wrote := p.norms[i].apply(&b.buf[1-which], cur)
		if wrote {
			which = 1 - which
		}
		cur = out
	}
	b.arena.reset()
	words := append(b.words[:0], cur)
	other := b.words2[:0]
	for i := range p.pres {
		other = p.pres[i].apply(other[:0], words, &b.arena)
		words, other = other, words
	}
	b.words, b.words2 = words, other
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
				if v, ok := m.ids[string(piece)]; ok {
					id, known = int32(v), true
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
	root := m.da.Root()
	for start := 0; start < size; {
		till := best[start].score64
		_, mblen := utf8.DecodeRune(s[start:])
		single := false
		pos := root
		for k := start; k < size; k++ {
			var id int32
			var ok bool
			if pos, id, ok = m.da.Step(pos, s[k]); !ok {
				break
			}
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
