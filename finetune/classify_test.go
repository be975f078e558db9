package finetune

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/internal/traintest"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// tinyClassify builds a classifier whose label is whether the first
// content token is below the middle of the vocabulary.
func tinyClassify(t *testing.T, dir string, seed uint64, bf16 bool) *ClassifyTask {
	t.Helper()
	m, err := NewClassifier(dir, []string{"low", "high"}, tensor.NewRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	rng := data.NewRand(9)
	mk := func(n int) []data.ClassExample {
		ex := make([]data.ClassExample, n)
		for i := range ex {
			ids := []int32{traintest.CLS}
			for range 2 + rng.IntN(5) {
				ids = append(ids, int32(4+rng.IntN(traintest.Vocab-4)))
			}
			ids = append(ids, traintest.SEP)
			lab := int32(0)
			if ids[1] >= 4+(traintest.Vocab-4)/2 {
				lab = 1
			}
			ex[i] = data.ClassExample{InputIDs: ids, TokenTypeIDs: make([]int32, len(ids)), Label: lab}
		}
		return ex
	}
	task, err := NewClassifyTask(m, mk(64), ClassifyOptions{BatchSize: 8, Seed: 3, PadID: traintest.Pad, Dev: mk(40), BF16: bf16})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestClassifyTask(t *testing.T) {
	enc := traintest.EncoderFolder(t)
	var last train.Result
	for _, bf16 := range []bool{true, false} {
		var straight, resumed []float64
		straight, resumed, last = traintest.RunInterrupted(t, func(seed uint64) train.Task { return tinyClassify(t, enc, seed, bf16) }, 9, 5)
		for i := range straight {
			if i >= len(resumed) || straight[i] != resumed[i] {
				t.Fatalf("bf16=%v: losses differ after resume:\n%v\n%v", bf16, straight, resumed)
			}
		}
	}
	acc, ok := last.LastEval.Metrics["accuracy"]
	if !ok || acc < 0 || acc > 1 {
		t.Errorf("accuracy %v", acc)
	}
	for _, k := range []string{"macro_f1", "f1/low", "f1/high"} {
		if _, ok := last.LastEval.Metrics[k]; !ok {
			t.Errorf("no %s in %v", k, last.LastEval.Metrics)
		}
	}

	// The saved folder is a BertForSequenceClassification with the labels.
	task := tinyClassify(t, enc, 1, false)
	out := t.TempDir()
	if err := task.Save(out); err != nil {
		t.Fatal(err)
	}
	cfgJSON, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"BertForSequenceClassification"`, `"1": "high"`, `"low": 0`} {
		if !strings.Contains(string(cfgJSON), want) {
			t.Errorf("config.json lacks %s:\n%s", want, cfgJSON)
		}
	}
	m, err := bert.LoadEncoder(out, &bert.EncoderOptions{Heads: bert.HeadClassifier})
	if err != nil {
		t.Fatal(err)
	}
	probs, err := Predict(context.Background(), m, nil, task.dev, 7, traintest.Pad)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range probs {
		if len(p) != 2 || p[0]+p[1] < 0.999 || p[0]+p[1] > 1.001 {
			t.Fatalf("example %d: probabilities %v", i, p)
		}
	}
}

func TestClassifyTaskBadLabel(t *testing.T) {
	enc := traintest.EncoderFolder(t)
	m, err := NewClassifier(enc, []string{"a", "b"}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	ex := []data.ClassExample{{InputIDs: []int32{traintest.CLS, 5, traintest.SEP}, TokenTypeIDs: make([]int32, 3), Label: 2}}
	if _, err := NewClassifyTask(m, ex, ClassifyOptions{BatchSize: 1}); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("label outside the classes: err = %v", err)
	}
	if _, err := NewClassifyTask(m, nil, ClassifyOptions{BatchSize: 1}); err == nil {
		t.Error("no examples: no error")
	}
	if _, err := NewClassifier(t.TempDir(), []string{"a", "b"}, tensor.NewRNG(1)); err == nil {
		t.Error("empty encoder folder: no error")
	}
}
