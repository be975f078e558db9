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

var nerLabels = []string{"B-LOC", "B-PER", "I-LOC", "I-PER", "O"}

// tinyNERData returns n sentences of one-token words: ids 4–9 are PER
// words, 10–13 LOC words, the rest O, tagged in IOB2; and their encoding
// ([CLS] words [SEP], one token per word).
func tinyNERData(n int, seed uint64) *NERData {
	rng := data.NewRand(seed)
	d := &NERData{}
	id := map[string]int32{}
	for i, l := range nerLabels {
		id[l] = int32(i)
	}
	for s := range n {
		var sent data.TaggedSentence
		ex := data.TokenClassExample{Sentence: s, InputIDs: []int32{traintest.CLS}, Labels: []int32{data.IgnoreLabel}, WordIDs: []int32{-1}}
		prev := "O"
		for w := range 2 + rng.IntN(6) {
			tok := int32(4 + rng.IntN(traintest.Vocab-4))
			typ := "O"
			switch {
			case tok < 10:
				typ = "PER"
			case tok < 14:
				typ = "LOC"
			}
			tag := "O"
			if typ != "O" {
				tag = "B-" + typ
				if strings.HasSuffix(prev, typ) {
					tag = "I-" + typ
				}
			}
			prev = tag
			sent.Words, sent.Tags = append(sent.Words, "w"), append(sent.Tags, tag)
			ex.InputIDs, ex.Labels, ex.WordIDs = append(ex.InputIDs, tok), append(ex.Labels, id[tag]), append(ex.WordIDs, int32(w))
		}
		ex.InputIDs, ex.Labels, ex.WordIDs = append(ex.InputIDs, traintest.SEP), append(ex.Labels, data.IgnoreLabel), append(ex.WordIDs, -1)
		d.Sentences, d.Examples = append(d.Sentences, sent), append(d.Examples, ex)
	}
	return d
}

func tinyNER(t *testing.T, dir string, seed uint64) *NERTask {
	t.Helper()
	m, err := NewTokenClassifier(dir, nerLabels, tensor.NewRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewNERTask(m, tinyNERData(64, 9).Examples, NEROptions{BatchSize: 8, Seed: 3, PadID: traintest.Pad, Dev: tinyNERData(30, 10)})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestNERTask(t *testing.T) {
	enc := traintest.EncoderFolder(t)
	straight, resumed, last := traintest.RunInterrupted(t, func(seed uint64) train.Task { return tinyNER(t, enc, seed) }, 9, 5)
	if len(resumed) != len(straight) {
		t.Fatalf("%d resumed losses, %d straight", len(resumed), len(straight))
	}
	for i := range straight {
		if straight[i] != resumed[i] {
			t.Fatalf("losses differ after resume:\n%v\n%v", straight, resumed)
		}
	}
	for _, k := range []string{"precision", "recall", "f1", "macro_f1", "accuracy"} {
		if v, ok := last.LastEval.Metrics[k]; !ok || v < 0 || v > 1 {
			t.Errorf("%s = %v (present %v) in %v", k, v, ok, last.LastEval.Metrics)
		}
	}
	if l := last.LastEval.Loss; !(l > 0) {
		t.Errorf("dev loss %v", l)
	}

	task := tinyNER(t, enc, 1)
	out := t.TempDir()
	if err := task.Save(out); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"BertForTokenClassification"`, `"3": "I-PER"`, `"O": 4`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config.json lacks %s:\n%s", want, cfg)
		}
	}
	m, err := bert.LoadEncoder(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Has(bert.HeadTokenClassifier) {
		t.Fatalf("saved model heads %v", m.Heads())
	}
	dev := tinyNERData(5, 10)
	pred, err := PredictTags(context.Background(), m, nil, dev.Sentences, dev.Examples, 2, traintest.Pad)
	if err != nil {
		t.Fatal(err)
	}
	for s, ls := range pred.Labels {
		if len(ls) != len(dev.Sentences[s].Words) {
			t.Fatalf("sentence %d: %d predictions for %d words", s, len(ls), len(dev.Sentences[s].Words))
		}
		for _, l := range ls {
			if l < 0 || l >= len(nerLabels) {
				t.Fatalf("sentence %d: label %d", s, l)
			}
		}
	}
	if _, err := NewNERTask(task.model, []data.TokenClassExample{{InputIDs: []int32{1}, Labels: []int32{7}}}, NEROptions{BatchSize: 1}); err == nil {
		t.Error("a label outside the classes was accepted")
	}
}

// TestPredictTagsWindows checks the word-level reading of windows: the
// first sub-token of each word decides, a word cut off (no token) is O.
func TestPredictTagsWindows(t *testing.T) {
	cfg := traintest.TinyBertConfig()
	cfg.NumLabels = 5
	m, err := bert.NewForTokenClassification(cfg, tensor.NewRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	sents := []data.TaggedSentence{{Words: []string{"a", "b", "c"}, Tags: []string{"O", "O", "O"}}}
	I := int32(data.IgnoreLabel)
	whole := []data.TokenClassExample{{InputIDs: []int32{traintest.CLS, 5, 6, 7, traintest.SEP}, Labels: []int32{I, 4, I, 4, I}, WordIDs: []int32{-1, 0, 0, 1, -1}}}
	split := []data.TokenClassExample{
		{InputIDs: []int32{traintest.CLS, 5, 6, traintest.SEP}, Labels: []int32{I, 4, I, I}, WordIDs: []int32{-1, 0, 0, -1}},
		{InputIDs: []int32{traintest.CLS, 7, traintest.SEP}, Labels: []int32{I, 4, I}, WordIDs: []int32{-1, 1, -1}},
	}
	a, err := PredictTags(context.Background(), enc, nil, sents, whole, 4, traintest.Pad)
	if err != nil {
		t.Fatal(err)
	}
	if a.Labels[0][2] != -1 || a.Tags(nerLabels)[0][2] != "O" {
		t.Errorf("a word without a token: %v", a.Labels)
	}
	if _, err := PredictTags(context.Background(), enc, nil, sents, split, 4, traintest.Pad); err != nil {
		t.Fatal(err)
	}
	bad := []data.TokenClassExample{{Sentence: 3, InputIDs: []int32{traintest.CLS}, Labels: []int32{I}, WordIDs: []int32{-1}}}
	if _, err := PredictTags(context.Background(), enc, nil, sents, bad, 4, traintest.Pad); err == nil {
		t.Error("an example of a missing sentence was accepted")
	}
}
