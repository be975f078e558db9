package data

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SplitSentences cuts text into sentences with simple rules, meant for
// pretraining text where an occasional wrong cut costs little:
//
//   - A sentence ends after a run of terminal punctuation: '.', '!', '?',
//     '…', and the CJK full-width '。', '！', '？', '．' (plus '｡').
//   - Closing quotes and brackets right after the punctuation (" ' ” ’ ) ]
//     」 』 ） 》 〉) stay with the sentence that ends.
//   - After Latin punctuation ('.', '!', '?', '…') the sentence ends only if
//     whitespace or the end of text follows, so "3.14", "e.g.x" and URLs are
//     not cut; a '.' ending a single-letter word ("J. Smith") or a
//     common abbreviation ("Mr.", "Dr.", "etc.", "e.g.", "i.e.", "vs.", ...)
//     does not end a sentence.
//   - After CJK punctuation the sentence ends immediately: CJK text has no
//     spaces between sentences.
//
// Sentences are trimmed of surrounding whitespace; empty ones are dropped.
func SplitSentences(text string) []string {
	var out []string
	start := 0
	emit := func(end int) {
		if s := strings.TrimSpace(text[start:end]); s != "" {
			out = append(out, s)
		}
		start = end
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isTerminal(r) {
			i += size
			continue
		}
		cjk := isCJKTerminal(r)
		// Consume the run of terminal punctuation and closers.
		j := i + size
		for j < len(text) {
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			if isTerminal(r2) {
				cjk = cjk || isCJKTerminal(r2)
				j += s2
				continue
			}
			if isCloser(r2) {
				j += s2
				continue
			}
			break
		}
		switch {
		case cjk:
			emit(j)
		case j == len(text):
			emit(j)
		default:
			next, _ := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(next) && !(r == '.' && j == i+size && isAbbreviation(text[start:i])) {
				emit(j)
			}
		}
		i = j
	}
	emit(len(text))
	return out
}

func isTerminal(r rune) bool {
	switch r {
	case '.', '!', '?', '…':
		return true
	}
	return isCJKTerminal(r)
}

func isCJKTerminal(r rune) bool {
	switch r {
	case '。', '！', '？', '．', '｡':
		return true
	}
	return false
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', '”', '’', ')', ']', '」', '』', '）', '》', '〉', '»':
		return true
	}
	return false
}

// abbreviations are lower-case words (without the final '.') after which a
// period does not end a sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "sr": true, "jr": true, "st": true,
	"vs": true, "etc": true, "e.g": true, "i.e": true, "cf": true, "no": true, "fig": true, "al": true,
	"inc": true, "ltd": true, "co": true, "approx": true, "dept": true, "mt": true,
}

// isAbbreviation reports whether the word ending prefix (just before a
// period) is a single letter or a listed abbreviation.
func isAbbreviation(prefix string) bool {
	k := strings.LastIndexFunc(prefix, func(r rune) bool { return unicode.IsSpace(r) || r == '(' || r == '"' })
	word := prefix[k+1:]
	if k >= 0 {
		_, sz := utf8.DecodeRuneInString(prefix[k:])
		word = prefix[k+sz:]
	}
	if word == "" {
		return false
	}
	if utf8.RuneCountInString(word) == 1 {
		r, _ := utf8.DecodeRuneInString(word)
		return unicode.IsLetter(r)
	}
	return abbreviations[strings.ToLower(word)]
}
