package metrics

import (
	"cmp"
	"slices"
)

// SQuADItem is one question of a SQuAD evaluation: its gold answers, the
// prediction and, for SQuAD v2.0's no-answer threshold, the predicted
// probability that the question has no answer.
type SQuADItem struct {
	ID string
	// Golds are the gold answer texts; none (or only answers that
	// normalise to "") marks an unanswerable question, whose only gold is
	// the empty answer.
	Golds []string
	// Pred is the predicted answer; "" predicts "no answer".
	Pred string
	// NoAnswerProb is the prediction's no-answer probability (the v2.0
	// script's na_prob). Used only by the best-threshold search.
	NoAnswerProb float64
}

// SQuADScores are the SQuAD v2.0 evaluation script's figures, percentages
// as it prints them (×100), with its JSON names. On SQuAD v1.1 data (no
// unanswerable question) Exact and F1 are the v1.1 script's exact_match and
// f1.
type SQuADScores struct {
	Exact        float64 `json:"exact"`
	F1           float64 `json:"f1"`
	Total        int     `json:"total"`
	HasAnsExact  float64 `json:"HasAns_exact,omitempty"`
	HasAnsF1     float64 `json:"HasAns_f1,omitempty"`
	HasAnsTotal  int     `json:"HasAns_total,omitempty"`
	NoAnsExact   float64 `json:"NoAns_exact,omitempty"`
	NoAnsF1      float64 `json:"NoAns_f1,omitempty"`
	NoAnsTotal   int     `json:"NoAns_total,omitempty"`
	BestExact    float64 `json:"best_exact"`
	BestExactThr float64 `json:"best_exact_thresh"`
	BestF1       float64 `json:"best_f1"`
	BestF1Thr    float64 `json:"best_f1_thresh"`
}

// SQuADEvaluate scores items as the official SQuAD v2.0 evaluation script
// (evaluate-v2.0.py) does: per question the best exact match and token F1
// over its golds (NormalizeAnswer; an unanswerable question scores 1 for
// the empty prediction and 0 for any other), averaged over all questions,
// over the answerable (HasAns) and the unanswerable (NoAns) ones; and
// best_exact / best_f1, the scores of the best no-answer threshold on
// NoAnswerProb — predicting "" for every question whose NoAnswerProb is
// above it — with the threshold, found by the script's find_best_thresh
// (ties keep the lowest threshold; with no question, every figure is 0).
func SQuADEvaluate(items []SQuADItem) SQuADScores {
	var s SQuADScores
	s.Total = len(items)
	if s.Total == 0 {
		return s
	}
	exact := make([]float64, len(items))
	f1 := make([]float64, len(items))
	hasAns := make([]bool, len(items))
	for i, it := range items {
		var golds []string
		for _, g := range it.Golds {
			if NormalizeAnswer(g) != "" {
				golds = append(golds, g)
			}
		}
		hasAns[i] = len(golds) > 0
		if !hasAns[i] {
			golds = []string{""}
		}
		exact[i], f1[i] = ExactMatch(it.Pred, golds...), TokenF1(it.Pred, golds...)
		if hasAns[i] {
			s.HasAnsTotal++
			s.HasAnsExact += exact[i]
			s.HasAnsF1 += f1[i]
		} else {
			s.NoAnsTotal++
			s.NoAnsExact += exact[i]
			s.NoAnsF1 += f1[i]
		}
	}
	pct := func(sum float64, n int) float64 {
		if n == 0 {
			return 0
		}
		return 100 * sum / float64(n)
	}
	s.Exact = pct(s.HasAnsExact+s.NoAnsExact, s.Total)
	s.F1 = pct(s.HasAnsF1+s.NoAnsF1, s.Total)
	s.HasAnsExact, s.HasAnsF1 = pct(s.HasAnsExact, s.HasAnsTotal), pct(s.HasAnsF1, s.HasAnsTotal)
	s.NoAnsExact, s.NoAnsF1 = pct(s.NoAnsExact, s.NoAnsTotal), pct(s.NoAnsF1, s.NoAnsTotal)
	s.BestExact, s.BestExactThr = bestThreshold(items, exact, hasAns, s.NoAnsTotal)
	s.BestF1, s.BestF1Thr = bestThreshold(items, f1, hasAns, s.NoAnsTotal)
	return s
}

// bestThreshold is evaluate-v2.0.py's find_best_thresh: start from
// answering nothing (every unanswerable question right), then take the
// questions in increasing no-answer probability, each one answered
// changing the score by its own score (answerable) or by −1 when it was
// unanswerable and the prediction is not empty; keep the best running
// score and the probability where it is reached.
func bestThreshold(items []SQuADItem, scores []float64, hasAns []bool, noAns int) (best, thresh float64) {
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(items[a].NoAnswerProb, items[b].NoAnswerProb) })
	cur := float64(noAns)
	best = cur
	for _, i := range order {
		switch {
		case hasAns[i]:
			cur += scores[i]
		case items[i].Pred != "":
			cur--
		}
		if cur > best {
			best, thresh = cur, items[i].NoAnswerProb
		}
	}
	return 100 * best / float64(len(items)), thresh
}
