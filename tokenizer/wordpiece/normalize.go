package wordpiece

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/glossa-ai/glossa/tokenizer"
)

// This file is BERT's "basic tokenizer": Hugging Face's BertNormalizer
// (clean text, isolate CJK ideographs, strip accents, lower-case, in that
// order) fused with BertPreTokenizer (split on whitespace, isolate
// punctuation). It walks the original text once, so every normalized byte
// keeps the byte span of the original character it came from.

// asciiClass says what the basic tokenizer does with an ASCII byte.
type asciiClass uint8

const (
	asciiWord  asciiClass = iota // part of a word
	asciiSpace                   // separates words
	asciiPunct                   // a word of its own
	asciiDrop                    // removed by clean_text
)

// asciiTable builds the per-byte classes for the given normalizer options.
func asciiTable(clean bool) [utf8.RuneSelf]asciiClass {
	var t [utf8.RuneSelf]asciiClass
	for c := range utf8.RuneSelf {
		r := rune(c)
		switch {
		case clean && (c == 0 || isControl(r)):
			t[c] = asciiDrop
		case unicode.IsSpace(r):
			t[c] = asciiSpace
		case isPunct(r):
			t[c] = asciiPunct
		}
	}
	return t
}

// isControl reports the characters clean_text removes besides NUL and
// U+FFFD: categories Cc, Cf, Co, Cs and unassigned code points (Cn), but not
// tab, newline and carriage return. Line and paragraph separators (Zl, Zp)
// are whitespace, not control.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return !unicode.IsGraphic(r) && r != 0x2028 && r != 0x2029
}

// isPunct is BERT's punctuation: every ASCII symbol that is not a letter,
// digit or space (so "$", "+", "^", "`" count), plus Unicode category P.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return r > ' ' && r < 0x7f && !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}
	return unicode.IsPunct(r)
}

// isCJK reports the CJK ideograph blocks BERT isolates (its
// _is_chinese_char ranges): Unified Ideographs, Extension A–E,
// Compatibility Ideographs and their Supplement. Hangul, kana and CJK
// punctuation are not included.
func isCJK(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF ||
		r >= 0x3400 && r <= 0x4DBF ||
		r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F ||
		r >= 0x2B740 && r <= 0x2B81F ||
		r >= 0x2B820 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF ||
		r >= 0x2F800 && r <= 0x2FA1F
}

// lower lower-cases one character as Rust's char::to_lowercase does: the
// Unicode default mapping, whose only multi-character result is U+0130
// (İ → i + combining dot above).
func lower(dst []rune, r rune) []rune {
	if r == 0x130 {
		return append(dst, 'i', 0x307)
	}
	return append(dst, unicode.ToLower(r))
}

// wordBuf accumulates the normalized bytes of one word and, per byte, the
// original span [start, end) of the character it came from. While the word
// is a run of unchanged-length ASCII bytes (the common case) the spans are
// implicit: byte j comes from origin+j.
type wordBuf struct {
	b          []byte
	origin     int
	mapped     bool // start and end hold the spans
	start, end []int32
}

func (w *wordBuf) reset() {
	w.b, w.start, w.end, w.mapped = w.b[:0], w.start[:0], w.end[:0], false
}

// spanStart and spanEnd return the original span of normalized byte j.
func (w *wordBuf) spanStart(j int) int {
	if w.mapped {
		return int(w.start[j])
	}
	return w.origin + j
}

func (w *wordBuf) spanEnd(j int) int {
	if w.mapped {
		return int(w.end[j])
	}
	return w.origin + j + 1
}

// materialize switches to explicit spans.
func (w *wordBuf) materialize() {
	if w.mapped {
		return
	}
	for j := range w.b {
		w.start = append(w.start, int32(w.origin+j))
		w.end = append(w.end, int32(w.origin+j+1))
	}
	w.mapped = true
}

// addByte appends an ASCII byte that stands for original byte i.
func (w *wordBuf) addByte(c byte, i int) {
	if len(w.b) == 0 {
		w.origin = i
	}
	if !w.mapped && i == w.origin+len(w.b) {
		w.b = append(w.b, c)
		return
	}
	w.materialize()
	w.b = append(w.b, c)
	w.start = append(w.start, int32(i))
	w.end = append(w.end, int32(i+1))
}

// addRune appends a normalized character that came from original [start, end).
func (w *wordBuf) addRune(r rune, start, end int) {
	w.materialize()
	n := len(w.b)
	w.b = utf8.AppendRune(w.b, r)
	for range len(w.b) - n {
		w.start = append(w.start, int32(start))
		w.end = append(w.end, int32(end))
	}
}

// scratch is the per-call working memory of Tokenize.
type scratch struct {
	word   wordBuf
	runes  []rune // normalized form of one original character
	nfd    []byte
	hashes []uint64 // prefix hashes for table.longest
}

// normalizeRune appends the normalized form of the original character r
// (whose UTF-8 is src) to dst: accents stripped (NFD, then no Mn) and
// lower-cased as the options say.
func (m *Model) normalizeRune(s *scratch, dst []rune, r rune, src string) []rune {
	if !m.stripAccents {
		if m.lowercase {
			return lower(dst, r)
		}
		return append(dst, r)
	}
	s.nfd = norm.NFD.AppendString(s.nfd[:0], src)
	for i := 0; i < len(s.nfd); {
		d, size := utf8.DecodeRune(s.nfd[i:])
		i += size
		if unicode.Is(unicode.Mn, d) {
			continue
		}
		if m.lowercase {
			dst = lower(dst, d)
		} else {
			dst = append(dst, d)
		}
	}
	return dst
}

// Tokenize splits text into WordPiece tokens with byte offsets into text.
func (m *Model) Tokenize(text string) []tokenizer.Token {
	return m.AppendTokens(make([]tokenizer.Token, 0, len(text)/4+4), text)
}

// AppendTokens is Tokenize appending to out (tokenizer.TokenAppender).
func (m *Model) AppendTokens(out []tokenizer.Token, text string) []tokenizer.Token {
	s := m.pool.Get().(*scratch)
	defer m.pool.Put(s)
	m.words(text, s, func(w *wordBuf) { out = m.wordPiece(w, &s.hashes, out) })
	return out
}

// words runs the basic tokenizer over text and calls emit with each
// normalized word; emit must not keep w.
func (m *Model) words(text string, s *scratch, emit func(w *wordBuf)) {
	w := &s.word
	w.reset()
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			switch m.ascii[c] {
			case asciiWord:
				w.addByte(m.asciiLower[c], i)
			case asciiSpace:
				if len(w.b) > 0 {
					emit(w)
					w.reset()
				}
			case asciiPunct:
				if len(w.b) > 0 {
					emit(w)
					w.reset()
				}
				w.addByte(c, i)
				emit(w)
				w.reset()
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		start, end := i, i+size
		i = end
		// CJK ideographs are never control characters, so they can be
		// tested first; only the compatibility ones change under NFD.
		if m.chineseChars && isCJK(r) {
			if len(w.b) > 0 {
				emit(w)
				w.reset()
			}
			if m.stripAccents && (r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800) {
				s.runes = m.normalizeRune(s, s.runes[:0], r, text[start:end])
				for _, nr := range s.runes {
					w.addRune(nr, start, end)
				}
			} else {
				w.addRune(r, start, end)
			}
			emit(w)
			w.reset()
			continue
		}
		if m.cleanText && (r == utf8.RuneError || isControl(r)) {
			continue // U+FFFD and invalid bytes (decoded as U+FFFD) go too
		}
		if unicode.IsSpace(r) {
			if len(w.b) > 0 {
				emit(w)
				w.reset()
			}
			continue
		}
		s.runes = m.normalizeRune(s, s.runes[:0], r, text[start:end])
		for _, nr := range s.runes {
			switch {
			case unicode.IsSpace(nr):
				if len(w.b) > 0 {
					emit(w)
					w.reset()
				}
			case isPunct(nr):
				if len(w.b) > 0 {
					emit(w)
					w.reset()
				}
				w.addRune(nr, start, end)
				emit(w)
				w.reset()
			default:
				w.addRune(nr, start, end)
			}
		}
	}
	if len(w.b) > 0 {
		emit(w)
		w.reset()
	}
}

// wordPiece splits one normalized word greedily, longest match first, and
// appends its tokens to out. A word longer than MaxInputCharsPerWord
// characters, or with a part no vocabulary entry matches, becomes a single
// unknown token.
func (m *Model) wordPiece(w *wordBuf, hashes *[]uint64, out []tokenizer.Token) []tokenizer.Token {
	word := w.b
	last := len(word) - 1
	if len(word) > m.maxChars && utf8.RuneCount(word) > m.maxChars {
		return append(out, tokenizer.Token{ID: m.unkID, Text: m.unk, Start: w.spanStart(0), End: w.spanEnd(last)})
	}
	mark := len(out)
	for start := 0; start < len(word); {
		var id, end int
		if start == 0 {
			id, end = m.full.longest(word, 0, hashes)
		} else {
			id, end = m.cont.longest(word, start, hashes)
		}
		if id < 0 {
			out = out[:mark]
			return append(out, tokenizer.Token{ID: m.unkID, Text: m.unk, Start: w.spanStart(0), End: w.spanEnd(last)})
		}
		out = append(out, tokenizer.Token{ID: id, Text: m.tokens[id], Start: w.spanStart(start), End: w.spanEnd(end - 1)})
		start = end
	}
	return out
}
