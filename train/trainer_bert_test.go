package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// Special ids of the synthetic vocabulary of these tests.
const (
	tPad, tCLS, tSEP, tMask = 0, 1, 2, 3
	tVocab                  = 24
)

func tinyBertConfig() bert.Config {
	return bert.Config{VocabSize: tVocab, HiddenSize: 16, NumLayers: 1, NumHeads: 2, Intermediate: 32,
		MaxPositions: 16, TypeVocab: 2, HiddenAct: "gelu", HiddenDropout: 0.1, AttentionDropout: 0.1}
}

// syntheticDocs returns documents of sentences over ids 4..tVocab-1 in
// which each token is the previous one plus one (mod the range), so the
// masked tokens are predictable from their neighbours.
func syntheticDocs(n int) [][][]int32 {
	rng := data.NewRand(3)
	docs := make([][][]int32, n)
	for d := range docs {
		for range 3 + rng.IntN(3) {
			s := make([]int32, 3+rng.IntN(4))
			s[0] = int32(4 + rng.IntN(tVocab-4))
			for i := 1; i < len(s); i++ {
				s[i] = 4 + (s[i-1]-4+1)%(tVocab-4)
			}
			docs[d] = append(docs[d], s)
		}
	}
	return docs
}

func tinyMLM(t *testing.T, modelSeed uint64, bf16 bool) *MLMTask {
	t.Helper()
	m, err := bert.NewForPreTraining(tinyBertConfig(), tensor.NewRNG(modelSeed))
	if err != nil {
		t.Fatal(err)
	}
	docs := syntheticDocs(40)
	opts := data.NSPOptions{MaxSeqLen: 16, CLS: tCLS, SEP: tSEP}
	ex, err := data.CreateNSPInstances(docs[:32], opts, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := data.CreateNSPInstances(docs[32:], opts, 2)
	if err != nil {
		t.Fatal(err)
	}
	special := make([]bool, 4)
	for i := range special {
		special[i] = true
	}
	masker, err := data.NewMasker(data.MaskOptions{MaskID: tMask, VocabSize: tVocab, Special: special})
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewMLMTask(m, ex, masker, MLMOptions{BatchSize: 4, MaxLen: 16, Seed: 5, PadID: tPad, Eval: ev, BF16: bf16})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// runInterrupted runs a task for steps, cancelling after step stop and
// resuming with a task from mk, and returns the per-step losses.
func runInterrupted(t *testing.T, mk func(seed uint64) Task, steps, stop int) (straight, resumed []float64, last Result) {
	t.Helper()
	cfg := Config{OutDir: t.TempDir(), Steps: steps, LR: 3e-3, Warmup: 2, Decay: 1, WeightDecay: 0.01, Clip: 1,
		EvalEvery: 3, SaveEvery: 3, Progress: ProgressOptions{Mode: ProgressOff}}
	cfg.OnStep = func(_ int, l float64) { straight = append(straight, l) }
	tr, err := NewTrainer(mk(1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if last, err = tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.OutDir = t.TempDir()
	cfg.OnStep = func(s int, l float64) {
		resumed = append(resumed, l)
		if s == stop {
			cancel()
		}
	}
	if tr, err = NewTrainer(mk(1), cfg); err != nil {
		t.Fatal(err)
	}
	if res, err := tr.Run(ctx); err != nil || !res.Interrupted || res.Step != stop {
		t.Fatalf("interrupted run: %+v, %v", res, err)
	}
	cfg.Resume = true
	cfg.OnStep = func(_ int, l float64) { resumed = append(resumed, l) }
	if tr, err = NewTrainer(mk(77), cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return straight, resumed, last
}

// TestMLMTaskResumeExact checks that an interrupted and resumed MLM+NSP
// run repeats the losses of an uninterrupted one, in float32 and in
// bfloat16 mixed precision, and that bfloat16 changes the losses (its
// products are rounded) by little.
func TestMLMTaskResumeExact(t *testing.T) {
	var f32 []float64
	for _, bf16 := range []bool{false, true} {
		straight, resumed, last := runInterrupted(t, func(seed uint64) Task { return tinyMLM(t, seed, bf16) }, 8, 4)
		if len(resumed) != len(straight) {
			t.Fatalf("bf16=%v: %d resumed losses, %d straight", bf16, len(resumed), len(straight))
		}
		for i := range straight {
			if straight[i] != resumed[i] {
				t.Errorf("bf16=%v: step %d: %v resumed, %v straight", bf16, i+1, resumed[i], straight[i])
			}
		}
		for _, k := range []string{"mlm_accuracy", "nsp_accuracy", "perplexity", "mlm_loss"} {
			v, ok := last.LastEval.Metrics[k]
			if !ok || v < 0 {
				t.Errorf("bf16=%v: eval metric %s = %v, %v", bf16, k, v, ok)
			}
		}
		if a := last.LastEval.Metrics["nsp_accuracy"]; a > 1 {
			t.Errorf("bf16=%v: nsp accuracy %v", bf16, a)
		}
		if !bf16 {
			f32 = straight
			continue
		}
		same := true
		for i := range straight {
			same = same && straight[i] == f32[i]
			if d := math.Abs(straight[i]-f32[i]) / f32[i]; d > 0.02 {
				t.Errorf("step %d: bf16 loss %v, float32 %v", i+1, straight[i], f32[i])
			}
		}
		if same {
			t.Error("bf16 losses equal float32's: the linear layers did not run in bfloat16")
		}
	}
}

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
			ids := []int32{tCLS}
			for range 2 + rng.IntN(5) {
				ids = append(ids, int32(4+rng.IntN(tVocab-4)))
			}
			ids = append(ids, tSEP)
			lab := int32(0)
			if ids[1] >= 4+(tVocab-4)/2 {
				lab = 1
			}
			ex[i] = data.ClassExample{InputIDs: ids, TokenTypeIDs: make([]int32, len(ids)), Label: lab}
		}
		return ex
	}
	task, err := NewClassifyTask(m, mk(64), ClassifyOptions{BatchSize: 8, Seed: 3, PadID: tPad, Dev: mk(40), BF16: bf16})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestClassifyTask(t *testing.T) {
	// A "pretrained" encoder folder: a random BertForPreTraining.
	enc := t.TempDir()
	pt, err := bert.NewForPreTraining(tinyBertConfig(), tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := pt.Save(enc); err != nil {
		t.Fatal(err)
	}
	var last Result
	for _, bf16 := range []bool{true, false} {
		var straight, resumed []float64
		straight, resumed, last = runInterrupted(t, func(seed uint64) Task { return tinyClassify(t, enc, seed, bf16) }, 9, 5)
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
	probs, err := Predict(context.Background(), m, nil, task.dev, 7, tPad)
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
	enc := t.TempDir()
	pt, err := bert.NewForPreTraining(tinyBertConfig(), tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := pt.Save(enc); err != nil {
		t.Fatal(err)
	}
	m, err := NewClassifier(enc, []string{"a", "b"}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	ex := []data.ClassExample{{InputIDs: []int32{tCLS, 5, tSEP}, TokenTypeIDs: make([]int32, 3), Label: 2}}
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
