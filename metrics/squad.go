package metrics

import (
	"strings"
	"unicode"
)

// NormalizeAnswer normalises a QA answer as the SQuAD evaluation script's
// normalize_answer: lower case, ASCII punctuation (Python's
// string.punctuation) removed, the words a, an and the removed, whitespace
// collapsed.
func NormalizeAnswer(s string) string {
	s = pyLower(s)
	s = strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsPunct(r) || unicode.IsSymbol(r)) {
			return -1
		}
		return r
	}, s)
	return strings.Join(pyFields(removeArticles(s)), " ")
}

// removeArticles replaces every a, an or the standing between word
// boundaries by a space, as re.sub(r"\b(a|an|the)\b", " ", s) does (a word
// character is a letter, a number or '_', as in Python's re).
func removeArticles(s string) string {
	var b strings.Builder
	word := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }
	start := -1 // start of the current word
	flush := func(end int) {
		if w := s[start:end]; w == "a" || w == "an" || w == "the" {
			b.WriteByte(' ')
		} else {
			b.WriteString(w)
		}
		start = -1
	}
	for i, r := range s {
		switch {
		case word(r) && start < 0:
			start = i
		case !word(r):
			if start >= 0 {
				flush(i)
			}
			b.WriteRune(r)
		}
	}
	if start >= 0 {
		flush(len(s))
	}
	return b.String()
}

// ExactMatch is 1 when pred equals one of golds after NormalizeAnswer,
// else 0 (SQuAD's exact_match, the best over the gold answers).
func ExactMatch(pred string, golds ...string) float64 {
	p := NormalizeAnswer(pred)
	for _, g := range golds {
		if p == NormalizeAnswer(g) {
			return 1
		}
	}
	return 0
}

// TokenF1 is SQuAD's token-overlap F1 between pred and the best-matching
// gold answer: normalised, split on whitespace, the bag-of-words overlap.
// An empty answer scores 1 against an empty answer and 0 against any other
// (SQuAD v2.0's rule for unanswerable questions).
func TokenF1(pred string, golds ...string) float64 {
	pt := pyFields(NormalizeAnswer(pred))
	best := 0.0
	for _, g := range golds {
		gt := pyFields(NormalizeAnswer(g))
		if len(pt) == 0 || len(gt) == 0 {
			if len(pt) == len(gt) {
				best = max(best, 1)
			}
			continue
		}
		gc := map[string]int{}
		for _, t := range gt {
			gc[t]++
		}
		common := 0
		for _, t := range pt {
			if gc[t] > 0 {
				gc[t]--
				common++
			}
		}
		if common == 0 {
			continue
		}
		p := float64(common) / float64(len(pt))
		r := float64(common) / float64(len(gt))
		best = max(best, 2*p*r/(p+r))
	}
	return best
}
