package metrics

import (
	"math"
	"strings"
	"testing"
)

func near4(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func TestConfusionReport(t *testing.T) {
	c := NewConfusion([]string{"a", "b", "c"})
	// M = [[3 1 0] [0 2 1] [2 0 1]]
	labels := []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}
	preds := []int{0, 0, 0, 1, 1, 1, 2, 2, 0, 0}
	if err := c.AddAll(labels, preds); err != nil {
		t.Fatal(err)
	}
	r := c.Report()
	want := []PRF{{0.6, 0.75, 2 * 0.6 * 0.75 / 1.35}, {2.0 / 3, 2.0 / 3, 2.0 / 3}, {0.5, 1.0 / 3, 0.4}}
	for i, w := range want {
		g := r.PerClass[i].PRF
		if !near4(g.Precision, w.Precision) || !near4(g.Recall, w.Recall) || !near4(g.F1, w.F1) {
			t.Errorf("class %d: %+v, want %+v", i, g, w)
		}
	}
	if r.PerClass[0].Support != 4 || r.PerClass[1].Support != 3 || r.PerClass[2].Support != 3 {
		t.Errorf("supports %+v", r.PerClass)
	}
	if !near4(r.Accuracy, 0.6) || !near4(r.Micro.F1, 0.6) || !near4(r.Micro.Precision, 0.6) {
		t.Errorf("accuracy %v micro %+v", r.Accuracy, r.Micro)
	}
	if !near4(r.Macro.Precision, (0.6+2.0/3+0.5)/3) || !near4(r.Macro.Recall, (0.75+2.0/3+1.0/3)/3) || !near4(r.Macro.F1, (2*0.6*0.75/1.35+2.0/3+0.4)/3) {
		t.Errorf("macro %+v", r.Macro)
	}
	if got := Accuracy(preds, labels); !near4(got, 0.6) {
		t.Errorf("Accuracy = %v", got)
	}
	s := c.String()
	if !strings.Contains(s, "true\\pred") || !strings.Contains(s, "\nc              2      0      1\n") {
		t.Errorf("confusion rendering:\n%s", s)
	}
	rs := r.String()
	if !strings.Contains(rs, "macro avg") || !strings.Contains(rs, "0.6000") {
		t.Errorf("report rendering:\n%s", rs)
	}
	if err := c.Add(3, 0); err == nil {
		t.Error("class out of range: no error")
	}
	if err := c.AddAll([]int{1}, nil); err == nil {
		t.Error("length mismatch: no error")
	}
	// A class never predicted has precision 0, not NaN.
	z := NewConfusion([]string{"x", "y"})
	z.AddAll([]int{0, 1}, []int{0, 0})
	if zr := z.Report(); zr.PerClass[1].Precision != 0 || math.IsNaN(zr.Macro.F1) {
		t.Errorf("zero division: %+v", zr)
	}
}

func TestPerplexityAndMasked(t *testing.T) {
	if !near4(Perplexity(math.Log(42)), 42) {
		t.Error("Perplexity(log 42) != 42")
	}
	logits := []float32{0.1, 0.9, 0.3, 2, 1, 2, -1, -2, -3}
	preds := make([]int32, 3)
	Argmax(preds, logits, 3)
	if preds[0] != 1 || preds[1] != 0 || preds[2] != 0 {
		t.Errorf("Argmax = %v, want [1 0 0] (ties to lowest)", preds)
	}
	c, n := MaskedAccuracy([]int32{5, 6, 7, 8}, []int32{IgnoreIndex, 6, 1, IgnoreIndex})
	if c != 1 || n != 2 {
		t.Errorf("MaskedAccuracy = %d/%d, want 1/2", c, n)
	}
}
