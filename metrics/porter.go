package metrics

import "strings"

// Porter stemming (Porter, 1980, "An algorithm for suffix stripping") in
// NLTK's default mode, NLTK_EXTENSIONS, which rouge-score's use_stemmer
// uses: Martin Porter's later changes (-bli → -ble, -logi → -log, a
// two-letter vowel–consonant stem counts as *o), plus NLTK's own (a table
// of irregular forms, -ies/-ied → -ie on four-letter words, Step 1c's y → i
// only after a consonant, -alli handled first in Step 2, -fulli → -ful).
//
// Words are lower-case ASCII (rouge-score stems its [a-z0-9] tokens);
// digits count as consonants.

// porterIrregular maps NLTK's irregular forms to their stems.
var porterIrregular = map[string]string{
	"sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
	"news": "news", "innings": "inning", "inning": "inning", "outings": "outing",
	"outing": "outing", "cannings": "canning", "canning": "canning", "howe": "howe",
	"proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
}

// porterStem returns the stem of a lower-case ASCII word.
func porterStem(w string) string {
	if s, ok := porterIrregular[w]; ok {
		return s
	}
	if len(w) <= 2 {
		return w
	}
	w = step1a(w)
	w = step1b(w)
	w = step1c(w)
	w = step2(w)
	w = step3(w)
	w = step4(w)
	w = step5a(w)
	return step5b(w)
}

// consonant reports whether w[i] is a consonant: not a, e, i, o, u, and
// not a y after a consonant. (Computed forward, so that a run of y's costs
// linear time.)
func consonant(w string, i int) bool {
	c := false
	for j := 0; j <= i; j++ {
		c = isConsonantAfter(w[j], j == 0 || c)
	}
	return c
}

// isConsonantAfter reports whether letter b is a consonant when the letter
// before it is one (or b starts the word).
func isConsonantAfter(b byte, prevConsonant bool) bool {
	switch b {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		return prevConsonant
	}
	return true
}

// measure is m of [C](VC)^m[V]: the number of vowel → consonant changes.
func measure(s string) int {
	m := 0
	prev := true // before the word: as after a consonant
	for i := range len(s) {
		c := isConsonantAfter(s[i], i == 0 || prev)
		if i > 0 && !prev && c {
			m++
		}
		prev = c
	}
	return m
}

func positive(s string) bool { return measure(s) > 0 }

func measureAbove1(s string) bool { return measure(s) > 1 }

// hasVowel is *v*.
func hasVowel(s string) bool {
	prev := true
	for i := range len(s) {
		if prev = isConsonantAfter(s[i], i == 0 || prev); !prev {
			return true
		}
	}
	return false
}

// endsDouble is *d: a doubled consonant at the end.
func endsDouble(s string) bool {
	n := len(s)
	return n >= 2 && s[n-1] == s[n-2] && consonant(s, n-1)
}

// endsCVC is *o: consonant, vowel, consonant other than w, x, y at the end,
// or (NLTK) a two-letter vowel–consonant word.
func endsCVC(s string) bool {
	n := len(s)
	if n >= 3 && consonant(s, n-3) && !consonant(s, n-2) && consonant(s, n-1) && !strings.ContainsRune("wxy", rune(s[n-1])) {
		return true
	}
	return n == 2 && !consonant(s, 0) && consonant(s, 1)
}

// suffixRule replaces suffix by repl when the stem before it meets cond
// (nil: always).
type suffixRule struct {
	suffix, repl string
	cond         func(stem string) bool
}

// applyRules applies the first rule whose suffix w has; when its condition
// fails, w is left as it is (later rules are not tried).
func applyRules(w string, rules []suffixRule) string {
	for _, r := range rules {
		if stem, ok := strings.CutSuffix(w, r.suffix); ok {
			if r.cond == nil || r.cond(stem) {
				return stem + r.repl
			}
			return w
		}
	}
	return w
}

var step1aRules = []suffixRule{{"sses", "ss", nil}, {"ies", "i", nil}, {"ss", "ss", nil}, {"s", "", nil}}

// step1a removes plurals: caresses → caress, ponies → poni, cats → cat.
func step1a(w string) string {
	if len(w) == 4 && strings.HasSuffix(w, "ies") {
		return w[:1] + "ie" // NLTK: dies → die
	}
	return applyRules(w, step1aRules)
}

// step1b removes -eed, -ed and -ing: agreed → agree, plastered → plaster,
// hopping → hop, filing → file.
func step1b(w string) string {
	if stem, ok := strings.CutSuffix(w, "ied"); ok { // NLTK: died → die, spied → spi
		if len(w) == 4 {
			return stem + "ie"
		}
		return stem + "i"
	}
	if stem, ok := strings.CutSuffix(w, "eed"); ok {
		if positive(stem) {
			return stem + "ee"
		}
		return w
	}
	var stem string
	found := false
	for _, suf := range []string{"ed", "ing"} {
		if s, ok := strings.CutSuffix(w, suf); ok && hasVowel(s) {
			stem, found = s, true
			break
		}
	}
	if !found {
		return w
	}
	for _, suf := range []string{"at", "bl", "iz"} {
		if strings.HasSuffix(stem, suf) {
			return stem + "e"
		}
	}
	if endsDouble(stem) {
		if strings.ContainsRune("lsz", rune(stem[len(stem)-1])) {
			return stem
		}
		return stem[:len(stem)-1]
	}
	if measure(stem) == 1 && endsCVC(stem) {
		return stem + "e"
	}
	return stem
}

// step1c turns a final y after a consonant into i (NLTK's condition):
// happy → happi, but enjoy and by stay.
func step1c(w string) string {
	if stem, ok := strings.CutSuffix(w, "y"); ok && len(stem) > 1 && consonant(stem, len(stem)-1) {
		return stem + "i"
	}
	return w
}

var step2Rules = []suffixRule{
	{"ational", "ate", positive}, {"tional", "tion", positive}, {"enci", "ence", positive},
	{"anci", "ance", positive}, {"izer", "ize", positive}, {"bli", "ble", positive},
	{"alli", "al", positive}, {"entli", "ent", positive}, {"eli", "e", positive},
	{"ousli", "ous", positive}, {"ization", "ize", positive}, {"ation", "ate", positive},
	{"ator", "ate", positive}, {"alism", "al", positive}, {"iveness", "ive", positive},
	{"fulness", "ful", positive}, {"ousness", "ous", positive}, {"aliti", "al", positive},
	{"iviti", "ive", positive}, {"biliti", "ble", positive}, {"fulli", "ful", positive},
	// The l of -logi stays with the stem, so that short stems (geology)
	// work like archaeology.
	{"logi", "log", func(s string) bool { return positive(s + "l") }},
}

// step2 maps double suffixes to single ones: relational → relate,
// digitizer → digitize, hopefulness → hopeful.
func step2(w string) string {
	if stem, ok := strings.CutSuffix(w, "alli"); ok && positive(stem) {
		return step2(stem + "al")
	}
	return applyRules(w, step2Rules)
}

var step3Rules = []suffixRule{
	{"icate", "ic", positive}, {"ative", "", positive}, {"alize", "al", positive},
	{"iciti", "ic", positive}, {"ical", "ic", positive}, {"ful", "", positive}, {"ness", "", positive},
}

// step3 deals with -ic-, -full, -ness: triplicate → triplic, hopeful →
// hope, goodness → good.
func step3(w string) string { return applyRules(w, step3Rules) }

var step4Rules = []suffixRule{
	{"al", "", measureAbove1}, {"ance", "", measureAbove1}, {"ence", "", measureAbove1},
	{"er", "", measureAbove1}, {"ic", "", measureAbove1}, {"able", "", measureAbove1},
	{"ible", "", measureAbove1}, {"ant", "", measureAbove1}, {"ement", "", measureAbove1},
	{"ment", "", measureAbove1}, {"ent", "", measureAbove1},
	{"ion", "", func(s string) bool { return measure(s) > 1 && (s[len(s)-1] == 's' || s[len(s)-1] == 't') }},
	{"ou", "", measureAbove1}, {"ism", "", measureAbove1}, {"ate", "", measureAbove1},
	{"iti", "", measureAbove1}, {"ous", "", measureAbove1}, {"ive", "", measureAbove1},
	{"ize", "", measureAbove1},
}

// step4 takes off -ant, -ence and the like when m > 1: revival → reviv,
// adoption → adopt.
func step4(w string) string { return applyRules(w, step4Rules) }

// step5a removes a final e when m > 1, or m = 1 and not *o: probate →
// probat, cease → ceas, but rate stays.
func step5a(w string) string {
	if stem, ok := strings.CutSuffix(w, "e"); ok {
		if m := measure(stem); m > 1 || m == 1 && !endsCVC(stem) {
			return stem
		}
	}
	return w
}

// step5b turns a final ll into l when m > 1: controll → control.
func step5b(w string) string {
	if strings.HasSuffix(w, "ll") && measure(w[:len(w)-1]) > 1 {
		return w[:len(w)-1]
	}
	return w
}
