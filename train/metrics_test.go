package train

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func TestConfusionReport(t *testing.T) {
	c := NewConfusion([]string{"a", "b", "c"})
	// M = [[3 1 0] [0 2 1] [2 0 1]]
	labels := []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}
	preds := []int{0, 0, 0, 1, 1, 1, 2, 2, 0, 0}
	if err := c.AddAll(labels, preds); err != nil {
		t.Fatal(err)
	}
	r := c.Report()
	want := []Scores{{0.6, 0.75, 2 * 0.6 * 0.75 / 1.35}, {2.0 / 3, 2.0 / 3, 2.0 / 3}, {0.5, 1.0 / 3, 0.4}}
	for i, w := range want {
		g := r.PerClass[i].Scores
		if !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) {
			t.Errorf("class %d: %+v, want %+v", i, g, w)
		}
	}
	if r.PerClass[0].Support != 4 || r.PerClass[1].Support != 3 || r.PerClass[2].Support != 3 {
		t.Errorf("supports %+v", r.PerClass)
	}
	if !near(r.Accuracy, 0.6) || !near(r.Micro.F1, 0.6) || !near(r.Micro.Precision, 0.6) {
		t.Errorf("accuracy %v micro %+v", r.Accuracy, r.Micro)
	}
	if !near(r.Macro.Precision, (0.6+2.0/3+0.5)/3) || !near(r.Macro.Recall, (0.75+2.0/3+1.0/3)/3) || !near(r.Macro.F1, (2*0.6*0.75/1.35+2.0/3+0.4)/3) {
		t.Errorf("macro %+v", r.Macro)
	}
	if got := Accuracy(preds, labels); !near(got, 0.6) {
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
	if !near(Perplexity(math.Log(42)), 42) {
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

func TestQAMetrics(t *testing.T) {
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
	}
	for _, tt := range tests {
		if em, f1 := ExactMatch(tt.pred, tt.golds...), TokenF1(tt.pred, tt.golds...); em != tt.em || !near(f1, tt.f1) {
			t.Errorf("%q vs %q: EM %v F1 %v, want %v %v", tt.pred, tt.golds, em, f1, tt.em, tt.f1)
		}
	}
}

func TestTokenize13a(t *testing.T) {
	got := strings.Join(Tokenize13a("Hello, world! It costs $3.50 (approx.) in 2-3 days &amp; more."), " ")
	want := "Hello , world ! It costs $ 3.50 ( approx . ) in 2 - 3 days & more ."
	if got != want {
		t.Errorf("Tokenize13a = %q\nwant           %q", got, want)
	}
}

func TestCorpusBLEU(t *testing.T) {
	b, err := CorpusBLEU([]string{"the cat sat on the mat"}, [][]string{{"the cat is on the mat"}})
	if err != nil {
		t.Fatal(err)
	}
	// p = 5/6, 3/5, 1/4, and 0/3 smoothed to 1/(2·3); BP = 1.
	want := 100 * math.Pow(5.0/6*3.0/5*1.0/4*1.0/6, 0.25)
	if !near(b.Score, want) || !near(b.Precisions[3], 100.0/6) || b.BP != 1 {
		t.Errorf("BLEU %v, want %.4f", b, want)
	}
	// Two sentences pooled, with a brevity penalty and the closest reference.
	b, _ = CorpusBLEU(
		[]string{"the cat sat on the mat", "a b c d"},
		[][]string{{"the cat is on the mat"}, {"a b c d e f g h", "a b c d e"}})
	// 1-grams 9/10, 2-grams 6/8, 3-grams 3/6, 4-grams 1/4; c = 10, r = 6 + 5.
	want = 100 * math.Exp(1-11.0/10) * math.Pow(0.9*0.75*0.5*0.25, 0.25)
	if !near(b.Score, want) || b.HypLen != 10 || b.RefLen != 11 {
		t.Errorf("BLEU %v, want %.4f", b, want)
	}
	if b, _ := CorpusBLEU([]string{"the cat"}, [][]string{{"the cat is here"}}); b.Score != 0 {
		t.Errorf("no 3-grams: BLEU %v, want 0", b.Score)
	}
	if b, _ := CorpusBLEU([]string{"a b c d e"}, [][]string{{"a b c d e"}}); !near(b.Score, 100) {
		t.Errorf("identical: BLEU %v", b.Score)
	}
	if _, err := CorpusBLEU([]string{"x"}, nil); err == nil {
		t.Error("mismatched lengths: no error")
	}
}

func TestROUGE(t *testing.T) {
	r := RougeScores("The cat sat on the mat.", "the cat is on the mat")
	if !near(r.R1.F1, 5.0/6) || !near(r.R2.F1, 3.0/5) || !near(r.RL.F1, 5.0/6) {
		t.Errorf("ROUGE %+v", r)
	}
	r = RougeScores("the cat", "the cat is here")
	if !near(r.R1.Precision, 1) || !near(r.R1.Recall, 0.5) || !near(r.R1.F1, 2.0/3) || !near(r.R2.F1, 0.5) || !near(r.RL.F1, 2.0/3) {
		t.Errorf("ROUGE %+v", r)
	}
	c, err := CorpusROUGE([]string{"the cat", "x"}, []string{"the cat is here", "y"})
	if err != nil || !near(c.R1.F1, 1.0/3) {
		t.Errorf("CorpusROUGE %+v %v", c, err)
	}
}
