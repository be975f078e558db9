package metrics

import (
	"math"
	"testing"
)

// TestSQuADEvaluate checks the v2.0 script's figures on a hand-worked set:
// two answerable questions (one exact, one half-right) and two
// unanswerable ones (one correctly left empty, one answered).
func TestSQuADEvaluate(t *testing.T) {
	items := []SQuADItem{
		{ID: "a", Golds: []string{"the Eiffel Tower", "Eiffel Tower"}, Pred: "Eiffel tower.", NoAnswerProb: 0.1},
		// pred tokens {paris, france}, gold {paris}: P ½, R 1, F1 ⅔.
		{ID: "b", Golds: []string{"Paris"}, Pred: "Paris, France", NoAnswerProb: 0.4},
		{ID: "c", Golds: nil, Pred: "", NoAnswerProb: 0.9},
		// Golds that normalise to "" count as none: unanswerable.
		{ID: "d", Golds: []string{"the", "."}, Pred: "London", NoAnswerProb: 0.3},
	}
	got := SQuADEvaluate(items)
	// Best threshold: answering nothing scores 2 (c, d). Taking the
	// questions by probability: a (+1) 3, d (−1) 2, b (+0 exact / +⅔ F1)
	// 2 / 2⅔, c (0). Best exact 3 at 0.1; best F1 3 at 0.1 (2⅔+… never
	// passes 3: after b it is 2⅔).
	want := SQuADScores{
		Exact: 50, F1: 100 * (1 + 2.0/3 + 1 + 0) / 4, Total: 4,
		HasAnsExact: 50, HasAnsF1: 100 * (1 + 2.0/3) / 2, HasAnsTotal: 2,
		NoAnsExact: 50, NoAnsF1: 50, NoAnsTotal: 2,
		BestExact: 75, BestExactThr: 0.1, BestF1: 75, BestF1Thr: 0.1,
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if got.Total != want.Total || got.HasAnsTotal != want.HasAnsTotal || got.NoAnsTotal != want.NoAnsTotal ||
		!near(got.Exact, want.Exact) || !near(got.F1, want.F1) || !near(got.HasAnsExact, want.HasAnsExact) ||
		!near(got.HasAnsF1, want.HasAnsF1) || !near(got.NoAnsExact, want.NoAnsExact) || !near(got.NoAnsF1, want.NoAnsF1) ||
		!near(got.BestExact, want.BestExact) || got.BestExactThr != want.BestExactThr ||
		!near(got.BestF1, want.BestF1) || got.BestF1Thr != want.BestF1Thr {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// With b exact, the running exact score returns to 3 after b: a tie,
	// which keeps the first (lowest) threshold.
	items[1].Pred = "Paris"
	if g := SQuADEvaluate(items); !near(g.BestExact, 75) || g.BestExactThr != 0.1 {
		t.Errorf("tie: best exact %v at %v, want 75 at 0.1", g.BestExact, g.BestExactThr)
	}
	if g := SQuADEvaluate(nil); g != (SQuADScores{}) {
		t.Errorf("no items: %+v", g)
	}
	// All answerable with nothing predicted empty: best = plain scores,
	// threshold at the largest probability.
	one := []SQuADItem{{Golds: []string{"x"}, Pred: "x", NoAnswerProb: 0.2}, {Golds: []string{"y"}, Pred: "y", NoAnswerProb: 0.7}}
	if g := SQuADEvaluate(one); g.Exact != 100 || g.BestExact != 100 || g.BestExactThr != 0.7 || g.NoAnsTotal != 0 {
		t.Errorf("answerable only: %+v", g)
	}
}
