package train

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
)

// NormalizeAnswer normalises a QA answer as the SQuAD evaluation script
// does: lower case, punctuation removed, the articles a/an/the removed,
// whitespace collapsed.
func NormalizeAnswer(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if r < 128 && unicode.IsPunct(r) || r < 128 && unicode.IsSymbol(r) {
			return -1
		}
		return r
	}, s)
	words := strings.Fields(s)
	out := words[:0]
	for _, w := range words {
		if w != "a" && w != "an" && w != "the" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// ExactMatch is 1 when pred equals any gold answer after NormalizeAnswer,
// else 0.
func ExactMatch(pred string, golds ...string) float64 {
	p := NormalizeAnswer(pred)
	for _, g := range golds {
		if p == NormalizeAnswer(g) {
			return 1
		}
	}
	return 0
}

// TokenF1 is the SQuAD token-overlap F1 between pred and the best-matching
// gold answer (normalised, whitespace tokens, bag-of-words overlap).
func TokenF1(pred string, golds ...string) float64 {
	pt := strings.Fields(NormalizeAnswer(pred))
	best := 0.0
	for _, g := range golds {
		gt := strings.Fields(NormalizeAnswer(g))
		if len(pt) == 0 || len(gt) == 0 {
			if len(pt) == len(gt) {
				best = max(best, 1)
			}
			continue
		}
		common := overlap(count(pt, 1), count(gt, 1))
		if common == 0 {
			continue
		}
		p := float64(common) / float64(len(pt))
		r := float64(common) / float64(len(gt))
		best = max(best, 2*p*r/(p+r))
	}
	return best
}

// count returns the n-gram counts of toks (n-grams joined by "\x00").
func count(toks []string, n int) map[string]int {
	m := map[string]int{}
	for i := 0; i+n <= len(toks); i++ {
		m[strings.Join(toks[i:i+n], "\x00")]++
	}
	return m
}

// overlap returns Σ min(a[g], b[g]) (clipped counts).
func overlap(a, b map[string]int) int {
	n := 0
	for g, c := range a {
		n += min(c, b[g])
	}
	return n
}

// The mteval-v13a tokenizer rules, as sacreBLEU's default "13a".
var (
	re13aPunct    = regexp.MustCompile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])")
	re13aPeriodA  = regexp.MustCompile(`([^0-9])([\.,])`)
	re13aPeriodB  = regexp.MustCompile(`([\.,])([^0-9])`)
	re13aDigitDsh = regexp.MustCompile(`([0-9])(-)`)
	html13a       = strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">")
)

// Tokenize13a splits s into tokens with the mteval-v13a rules that
// sacreBLEU uses by default: ASCII punctuation and symbols become tokens,
// and '.' or ',' split off unless between digits.
func Tokenize13a(s string) []string {
	s = strings.ReplaceAll(s, "<skipped>", "")
	s = strings.ReplaceAll(s, "-\n", "")
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.Contains(s, "&") {
		s = html13a.Replace(s)
	}
	s = " " + s + " "
	s = re13aPunct.ReplaceAllString(s, " ${1} ")
	s = re13aPeriodA.ReplaceAllString(s, "${1} ${2} ")
	s = re13aPeriodB.ReplaceAllString(s, " ${1} ${2}")
	s = re13aDigitDsh.ReplaceAllString(s, "${1} ${2} ")
	return strings.Fields(s)
}

// BLEU is a corpus BLEU score (0–100, sacreBLEU's scale) with its parts.
type BLEU struct {
	Score      float64
	Precisions [4]float64 // modified n-gram precisions, 0–100 (after smoothing)
	BP         float64    // brevity penalty
	HypLen     int
	RefLen     int
}

// String formats like sacreBLEU: "BLEU = 27.30 60.0/33.3/20.0/12.5 (BP = 1.000 ratio = 1.000 hyp_len = 10 ref_len = 10)".
func (b BLEU) String() string {
	ratio := 0.0
	if b.RefLen > 0 {
		ratio = float64(b.HypLen) / float64(b.RefLen)
	}
	return fmt.Sprintf("BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
		b.Score, b.Precisions[0], b.Precisions[1], b.Precisions[2], b.Precisions[3], b.BP, ratio, b.HypLen, b.RefLen)
}

// CorpusBLEU computes sacreBLEU-style corpus BLEU: 13a tokenisation,
// clipped 1–4-gram counts pooled over the corpus (each hypothesis n-gram
// clipped by its maximum count in any of its references), the geometric
// mean of the four precisions with "exp" smoothing (the k-th zero
// precision becomes 1/(2^k · total)), and the brevity penalty
// exp(1 − r/c) when the hypothesis length c is below the reference length
// r (per sentence, the reference closest in length, the shorter on ties).
// refs[i] holds the references of hyps[i].
func CorpusBLEU(hyps []string, refs [][]string) (BLEU, error) {
	var b BLEU
	if len(hyps) != len(refs) {
		return b, fmt.Errorf("train: BLEU: %d hypotheses but %d reference sets", len(hyps), len(refs))
	}
	var correct, total [4]int
	for i, h := range hyps {
		if len(refs[i]) == 0 {
			return b, fmt.Errorf("train: BLEU: hypothesis %d has no reference", i)
		}
		ht := Tokenize13a(h)
		b.HypLen += len(ht)
		closest := -1
		maxRef := make([]map[string]int, 4)
		for n := range 4 {
			maxRef[n] = map[string]int{}
		}
		for _, r := range refs[i] {
			rt := Tokenize13a(r)
			d, dc := abs(len(rt)-len(ht)), abs(closest-len(ht))
			if closest < 0 || d < dc || d == dc && len(rt) < closest {
				closest = len(rt)
			}
			for n := range 4 {
				for g, c := range count(rt, n+1) {
					maxRef[n][g] = max(maxRef[n][g], c)
				}
			}
		}
		b.RefLen += closest
		for n := range 4 {
			hc := count(ht, n+1)
			correct[n] += overlap(hc, maxRef[n])
			total[n] += max(0, len(ht)-n)
		}
	}
	if b.HypLen == 0 {
		return b, nil
	}
	logSum := 0.0
	smooth := 1.0
	for n := range 4 {
		if total[n] == 0 {
			return b, nil // no n-grams of this order: BLEU is 0
		}
		if correct[n] == 0 {
			smooth *= 2
			b.Precisions[n] = 100 / (smooth * float64(total[n]))
		} else {
			b.Precisions[n] = 100 * float64(correct[n]) / float64(total[n])
		}
		logSum += math.Log(b.Precisions[n] / 100)
	}
	b.BP = 1
	if b.HypLen < b.RefLen {
		b.BP = math.Exp(1 - float64(b.RefLen)/float64(b.HypLen))
	}
	b.Score = 100 * b.BP * math.Exp(logSum/4)
	return b, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ROUGE holds ROUGE-1, ROUGE-2 and ROUGE-L scores.
type ROUGE struct {
	R1, R2, RL Scores
}

var reRougeNonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// TokenizeROUGE lower-cases s, replaces every run of characters other than
// a–z and 0–9 by a space and splits, as the rouge-score package's default
// tokenizer (without stemming).
func TokenizeROUGE(s string) []string {
	return strings.Fields(reRougeNonAlnum.ReplaceAllString(strings.ToLower(s), " "))
}

// RougeScores computes ROUGE-1/2 (clipped n-gram overlap) and ROUGE-L
// (longest common subsequence) precision, recall and F1 of a hypothesis
// against one reference.
func RougeScores(hyp, ref string) ROUGE {
	h, r := TokenizeROUGE(hyp), TokenizeROUGE(ref)
	ngram := func(n int) Scores {
		hc, rc := count(h, n), count(r, n)
		o := int64(overlap(hc, rc))
		return prf(o, int64(max(0, len(h)-n+1))-o, int64(max(0, len(r)-n+1))-o)
	}
	l := int64(lcs(h, r))
	return ROUGE{R1: ngram(1), R2: ngram(2), RL: prf(l, int64(len(h))-l, int64(len(r))-l)}
}

// lcs returns the length of the longest common subsequence.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// CorpusROUGE averages RougeScores over pairs (hyps[i], refs[i]).
func CorpusROUGE(hyps, refs []string) (ROUGE, error) {
	var out ROUGE
	if len(hyps) != len(refs) || len(hyps) == 0 {
		return out, fmt.Errorf("train: ROUGE: %d hypotheses and %d references (need equal, non-zero)", len(hyps), len(refs))
	}
	add := func(dst *Scores, s Scores) {
		dst.Precision += s.Precision / float64(len(hyps))
		dst.Recall += s.Recall / float64(len(hyps))
		dst.F1 += s.F1 / float64(len(hyps))
	}
	for i := range hyps {
		s := RougeScores(hyps[i], refs[i])
		add(&out.R1, s.R1)
		add(&out.R2, s.R2)
		add(&out.RL, s.RL)
	}
	return out, nil
}
