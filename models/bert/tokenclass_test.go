package bert

import (
	"math"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// TestForTokenClassification checks the training class against the
// inference path (same logits), the loss against its definition (mean
// cross-entropy over the labelled positions), and a save/load round trip
// that keeps the class names and is read back as a token classifier.
func TestForTokenClassification(t *testing.T) {
	cfg := tinyConfig()
	cfg.ID2Label = map[int]string{0: "B-PER", 1: "I-PER", 2: "O"}
	cfg.HiddenDropout, cfg.AttentionDropout = 0, 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := NewForTokenClassification(cfg, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if p.Name == "bert.pooler.dense.weight" {
			t.Fatal("BertForTokenClassification has no pooler")
		}
	}
	B, T, n := 2, 5, 3
	in := Input{B: B, T: T, IDs: []int{2, 7, 9, 4, 3, 2, 11, 3, 0, 0}, Mask: []int{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}}
	_, logits, err := m.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := logits.Value.Shape(); len(s) != 3 || s[0] != B || s[1] != T || s[2] != n {
		t.Fatalf("logits shape %v, want [%d %d %d]", s, B, T, n)
	}
	enc, err := m.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !enc.Has(HeadTokenClassifier) || enc.Has(HeadClassifier) {
		t.Fatalf("Encoder heads %v", enc.Heads())
	}
	fast, err := enc.ClassifyTokens(&Workspace{}, in)
	if err != nil {
		t.Fatal(err)
	}
	want := logits.Value.Contiguous().Data()
	for i := range fast {
		if math.Abs(float64(fast[i]-want[i])) > 1e-5 {
			t.Fatalf("logit %d: encoder %v, autograd %v", i, fast[i], want[i])
		}
	}
	labels := []int{-100, 0, 1, 2, -100, -100, 2, -100, -100, -100}
	loss, err := m.Loss(logits, labels)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	var count int
	for i, l := range labels {
		if l < 0 {
			continue
		}
		row := want[i*n : (i+1)*n]
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v))
		}
		sum += math.Log(z) - float64(row[l])
		count++
	}
	if got := float64(loss.Value.Data()[0]); math.Abs(got-sum/float64(count)) > 1e-5 {
		t.Errorf("loss %v, want %v", got, sum/float64(count))
	}
	if _, err := m.Loss(logits, labels[:4]); err == nil {
		t.Error("Loss accepted too few labels")
	}
	if _, err := m.Loss(logits, []int{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Error("Loss accepted a label outside the classes")
	}

	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadEncoder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Has(HeadTokenClassifier) || loaded.Config.LabelName(1) != "I-PER" || loaded.Config.Labels() != 3 {
		t.Fatalf("loaded heads %v, labels %v", loaded.Heads(), loaded.Config.ID2Label)
	}
	again, err := loaded.ClassifyTokens(&Workspace{}, in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i] != fast[i] {
			t.Fatalf("logit %d after save/load: %v, want %v", i, again[i], fast[i])
		}
	}
	back, err := LoadForTokenClassification(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bert.Config.LabelName(0) != "B-PER" {
		t.Errorf("reloaded labels %v", back.Bert.Config.ID2Label)
	}
}
