package qa

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/metrics"
)

// Baseline is a trivial answerer, the floor a trained model must clear.
type Baseline int

// The baselines.
const (
	// NoAnswer answers nothing: on SQuAD v2.0 it gets every unanswerable
	// question right and every other wrong.
	NoAnswer Baseline = iota
	// FirstSentence answers with the context's first sentence.
	FirstSentence
	// BestSentence answers with the context sentence that shares the most
	// words with the question (NormalizeAnswer's words, each counted
	// once; the earliest on ties).
	BestSentence
)

var baselineNames = []string{"no-answer", "first-sentence", "best-sentence"}

// String returns the baseline's name.
func (b Baseline) String() string {
	if b >= 0 && int(b) < len(baselineNames) {
		return baselineNames[b]
	}
	return fmt.Sprintf("Baseline(%d)", int(b))
}

// ParseBaseline reads a baseline's name.
func ParseBaseline(s string) (Baseline, error) {
	for i, n := range baselineNames {
		if s == n {
			return Baseline(i), nil
		}
	}
	return 0, fmt.Errorf("qa: unknown baseline %q (want %s)", s, strings.Join(baselineNames, ", "))
}

// Answer returns b's answer to e.
func (b Baseline) Answer(e Example) string {
	switch b {
	case FirstSentence:
		if s := data.SplitSentences(e.Context); len(s) > 0 {
			return s[0]
		}
		return e.Context
	case BestSentence:
		q := map[string]bool{}
		for _, w := range strings.Fields(metrics.NormalizeAnswer(e.Question)) {
			q[w] = true
		}
		best, bestN := "", -1
		for _, s := range data.SplitSentences(e.Context) {
			seen, n := map[string]bool{}, 0
			for _, w := range strings.Fields(metrics.NormalizeAnswer(s)) {
				if q[w] && !seen[w] {
					seen[w] = true
					n++
				}
			}
			if n > bestN {
				best, bestN = s, n
			}
		}
		return best
	}
	return ""
}

// BaselinePredictions answers every example with b, as Predict's
// predictions (a NoAnswer prediction has no-answer probability 1, the
// others 0).
func BaselinePredictions(b Baseline, examples []Example) []Prediction {
	out := make([]Prediction, len(examples))
	for i, e := range examples {
		a := b.Answer(e)
		out[i] = Prediction{ID: e.ID, Text: a, Span: a}
		if b == NoAnswer {
			out[i].NullScore = 1
		}
	}
	return out
}
