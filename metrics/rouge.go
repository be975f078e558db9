package metrics

import (
	"errors"
	"fmt"
	"strings"
)

// Score is a precision, a recall and their harmonic mean F (rouge-score's
// fmeasure), each in [0, 1].
type Score struct {
	Precision, Recall, F float64
}

// newScore returns the score of p and r with F = 2pr/(p+r) (0 when both
// are 0), computed as rouge-score does.
func newScore(p, r float64) Score {
	s := Score{Precision: p, Recall: r}
	if p+r > 0 {
		s.F = 2 * p * r / (p + r)
	}
	return s
}

// ROUGEOptions configure ROUGE. The zero value (and nil) is rouge-score's
// default.
type ROUGEOptions struct {
	// Stem applies the Porter stemmer (NLTK's) to tokens longer than three
	// characters, as rouge-score's use_stemmer (ROUGE-1.5.5's -m).
	Stem bool
}

func (o *ROUGEOptions) stem() bool { return o != nil && o.Stem }

// ROUGE holds the ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum scores of a
// prediction (or their means over a corpus).
type ROUGE struct {
	R1, R2, RL, RLsum Score
}

// String formats the F-measures ×100: "ROUGE-1 44.44 ROUGE-2 28.57 ROUGE-L
// 44.44 ROUGE-Lsum 44.44".
func (r ROUGE) String() string {
	return fmt.Sprintf("ROUGE-1 %.2f ROUGE-2 %.2f ROUGE-L %.2f ROUGE-Lsum %.2f",
		100*r.R1.F, 100*r.R2.F, 100*r.RL.F, 100*r.RLsum.F)
}

// TokenizeROUGE splits s as rouge-score's default tokenizer: lower case
// (Python's str.lower), every run of characters other than a–z and 0–9 a
// separator, and with stem the Porter stem of each token longer than three
// characters.
func TokenizeROUGE(s string, stem bool) []string {
	s = pyLower(s)
	var toks []string
	for i := 0; i < len(s); {
		if !isROUGEChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isROUGEChar(s[j]) {
			j++
		}
		t := s[i:j]
		if stem && len(t) > 3 {
			t = porterStem(t)
		}
		if t != "" {
			toks = append(toks, t)
		}
		i = j
	}
	return toks
}

// isROUGEChar reports [a-z0-9]. Bytes of multi-byte UTF-8 characters are
// never in it, so scanning bytes splits exactly as the regular expression
// over characters does.
func isROUGEChar(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// Rouge scores a prediction hyp against one reference ref (rouge-score's
// RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"]).score(ref,
// hyp); note the order). ROUGE-N's precision counts the prediction's
// n-grams, its recall the reference's, matches clipped; ROUGE-L uses the
// longest common subsequence; ROUGE-Lsum treats each line (split on "\n")
// as a sentence and takes the summary-level union LCS, counting each token
// at most as often as it occurs on both sides (ROUGE-1.5.5's rule). opts
// may be nil.
func Rouge(hyp, ref string, opts *ROUGEOptions) ROUGE {
	st := opts.stem()
	h, r := TokenizeROUGE(hyp, st), TokenizeROUGE(ref, st)
	return ROUGE{
		R1:    ngramScore(h, r, 1),
		R2:    ngramScore(h, r, 2),
		RL:    lcsScore(h, r),
		RLsum: summaryLCS(sentenceTokens(hyp, st), sentenceTokens(ref, st)),
	}
}

// RougeMulti scores hyp against several references as rouge-score's
// score_multi: for each ROUGE type, the scores of the reference with the
// highest F (the first of equals).
func RougeMulti(hyp string, refs []string, opts *ROUGEOptions) (ROUGE, error) {
	if len(refs) == 0 {
		return ROUGE{}, fmt.Errorf("metrics: ROUGE: %w", ErrNoReference)
	}
	var best ROUGE
	pick := func(dst *Score, s Score, first bool) {
		if first || s.F > dst.F {
			*dst = s
		}
	}
	for i, ref := range refs {
		s := Rouge(hyp, ref, opts)
		pick(&best.R1, s.R1, i == 0)
		pick(&best.R2, s.R2, i == 0)
		pick(&best.RL, s.RL, i == 0)
		pick(&best.RLsum, s.RLsum, i == 0)
	}
	return best, nil
}

// CorpusROUGE averages RougeMulti(hyps[i], refs[i]) over a corpus:
// precision, recall and F separately, each the plain mean over examples
// (what rouge-score's BootstrapAggregator estimates as its "mid" value;
// this mean is exact and deterministic).
func CorpusROUGE(hyps []string, refs [][]string, opts *ROUGEOptions) (ROUGE, error) {
	var out ROUGE
	if len(hyps) != len(refs) {
		return out, fmt.Errorf("metrics: ROUGE: %d predictions but %d reference sets", len(hyps), len(refs))
	}
	if len(hyps) == 0 {
		return out, errors.New("metrics: ROUGE: no predictions")
	}
	var sum [4]Score
	for i := range hyps {
		s, err := RougeMulti(hyps[i], refs[i], opts)
		if err != nil {
			return out, fmt.Errorf("metrics: ROUGE: prediction %d: %w", i, ErrNoReference)
		}
		for k, x := range []Score{s.R1, s.R2, s.RL, s.RLsum} {
			sum[k].Precision += x.Precision
			sum[k].Recall += x.Recall
			sum[k].F += x.F
		}
	}
	n := float64(len(hyps))
	mean := func(s Score) Score { return Score{s.Precision / n, s.Recall / n, s.F / n} }
	return ROUGE{R1: mean(sum[0]), R2: mean(sum[1]), RL: mean(sum[2]), RLsum: mean(sum[3])}, nil
}

// sentenceTokens splits text on "\n", drops empty lines and tokenizes
// each, as rouge-score's rougeLsum does.
func sentenceTokens(text string, stem bool) [][]string {
	var out [][]string
	for s := range strings.SplitSeq(text, "\n") {
		if s != "" {
			out = append(out, TokenizeROUGE(s, stem))
		}
	}
	return out
}

// ngramCounts counts the n-grams of toks, joined by spaces (tokens are
// [a-z0-9]+, so the key is unambiguous).
func ngramCounts(toks []string, n int) map[string]int {
	m := map[string]int{}
	for i := 0; i+n <= len(toks); i++ {
		m[strings.Join(toks[i:i+n], " ")]++
	}
	return m
}

// ngramScore is rouge-score's _score_ngrams.
func ngramScore(hyp, ref []string, n int) Score {
	hc, rc := ngramCounts(hyp, n), ngramCounts(ref, n)
	inter, hn, rn := 0, 0, 0
	for g, c := range rc {
		inter += min(c, hc[g])
		rn += c
	}
	for _, c := range hc {
		hn += c
	}
	return newScore(float64(inter)/float64(max(hn, 1)), float64(inter)/float64(max(rn, 1)))
}

// lcsTable returns the LCS lengths table of ref (rows) and can (columns),
// [len(ref)+1][len(can)+1] flattened row-major.
func lcsTable(ref, can []string) []int {
	C := len(can) + 1
	t := make([]int, (len(ref)+1)*C)
	for i := 1; i <= len(ref); i++ {
		for j := 1; j <= len(can); j++ {
			if ref[i-1] == can[j-1] {
				t[i*C+j] = t[(i-1)*C+j-1] + 1
			} else {
				t[i*C+j] = max(t[(i-1)*C+j], t[i*C+j-1])
			}
		}
	}
	return t
}

// lcsScore is rouge-score's _score_lcs (ROUGE-L).
func lcsScore(hyp, ref []string) Score {
	if len(hyp) == 0 || len(ref) == 0 {
		return Score{}
	}
	l := float64(lcsTable(ref, hyp)[len(ref)*(len(hyp)+1)+len(hyp)])
	return newScore(l/float64(len(hyp)), l/float64(len(ref)))
}

// lcsIndices returns the positions in ref of one LCS of ref and can, read
// back from the table as rouge-score's _backtrack_norec does (its choice
// among equal LCSs matters for the union).
func lcsIndices(ref, can []string) []int {
	t := lcsTable(ref, can)
	C := len(can) + 1
	var idx []int
	for i, j := len(ref), len(can); i > 0 && j > 0; {
		switch {
		case ref[i-1] == can[j-1]:
			idx = append(idx, i-1)
			i--
			j--
		case t[i*C+j-1] > t[(i-1)*C+j]:
			j--
		default:
			i--
		}
	}
	for a, b := 0, len(idx)-1; a < b; a, b = a+1, b-1 {
		idx[a], idx[b] = idx[b], idx[a]
	}
	return idx
}

// summaryLCS is rouge-score's _summary_level_lcs (ROUGE-Lsum): for each
// reference sentence, the union of its LCS positions with every
// prediction sentence; a token counts as a hit while it has occurrences
// left on both sides.
func summaryLCS(hyp, ref [][]string) Score {
	if len(hyp) == 0 || len(ref) == 0 {
		return Score{}
	}
	m, n := 0, 0
	refCount, hypCount := map[string]int{}, map[string]int{}
	for _, s := range ref {
		m += len(s)
		for _, t := range s {
			refCount[t]++
		}
	}
	for _, s := range hyp {
		n += len(s)
		for _, t := range s {
			hypCount[t]++
		}
	}
	if m == 0 || n == 0 {
		return Score{}
	}
	hits := 0
	for _, r := range ref {
		union := make([]bool, len(r))
		for _, c := range hyp {
			for _, i := range lcsIndices(r, c) {
				union[i] = true
			}
		}
		for i, in := range union {
			if t := r[i]; in && hypCount[t] > 0 && refCount[t] > 0 {
				hits++
				hypCount[t]--
				refCount[t]--
			}
		}
	}
	return newScore(float64(hits)/float64(n), float64(hits)/float64(m))
}
