package metrics

import "testing"

func TestSQuADMetrics(t *testing.T) {
	tests := []struct {
		pred  string
		golds []string
		em    float64
		f1    float64
	}{
		{"The Eiffel Tower!", []string{"eiffel tower"}, 1, 1},
		{"in Paris France", []string{"Paris"}, 0, 0.5},
		{"in Paris France", []string{"London", "Paris, France"}, 0, 0.8},
		{"", []string{""}, 1, 1},
		{"a", []string{"nothing"}, 0, 0},
		{"the the cat", []string{"cat the"}, 1, 1},
		// \b(a|an|the)\b: articles go even next to non-ASCII punctuation.
		{"the…cat", []string{"…cat"}, 1, 1},
		{"theatre", []string{"atre"}, 0, 0},
	}
	for _, tt := range tests {
		if em, f1 := ExactMatch(tt.pred, tt.golds...), TokenF1(tt.pred, tt.golds...); em != tt.em || !near(f1, tt.f1, 1e-12) {
			t.Errorf("%q vs %q: EM %v F1 %v, want %v %v", tt.pred, tt.golds, em, f1, tt.em, tt.f1)
		}
	}
	if got := NormalizeAnswer("  The  Quick, brown_fox: an ÉLAN "); got != "quick brownfox élan" {
		t.Errorf("NormalizeAnswer = %q", got)
	}
}
