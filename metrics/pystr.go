package metrics

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isPySpace reports whether r is whitespace for Python's str.split and
// str.strip: Go's unicode.IsSpace plus the ASCII separators U+001C–U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// pyFields splits s around runs of Python whitespace (str.split()).
func pyFields(s string) []string { return strings.FieldsFunc(s, isPySpace) }

// pyRStrip removes trailing Python whitespace (str.rstrip()).
func pyRStrip(s string) string { return strings.TrimRightFunc(s, isPySpace) }

// pyLower lower-cases s as Python's str.lower does: the simple case mapping
// of every character, except 'İ' (U+0130), which becomes "i̇" (i and a
// combining dot above), and 'Σ', which becomes the final form 'ς' at the end
// of a word (Unicode's Final_Sigma condition).
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(s, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma reports Unicode's Final_Sigma condition for the Σ at byte i of
// s: a cased letter comes before it and none after it, skipping
// case-ignorable characters on both sides.
func finalSigma(s string, i int) bool {
	before := false
	for j := i; j > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		j -= size
		if caseIgnorable(r) {
			continue
		}
		before = cased(r)
		break
	}
	if !before {
		return false
	}
	for _, r := range s[i+len("Σ"):] {
		if caseIgnorable(r) {
			continue
		}
		return !cased(r)
	}
	return true
}

// cased approximates Unicode's Cased property (letters with case).
func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt) || unicode.In(r, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable approximates Unicode's Case_Ignorable property: marks,
// format characters, modifier letters and symbols, and the apostrophes and
// periods that may sit inside words.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', '·', '’', '‘', '\u00ad':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
