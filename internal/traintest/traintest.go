// Package traintest holds what the tests of the training tasks share: a
// tiny BERT over a synthetic vocabulary and the interrupted-and-resumed run
// that checks a task resumes exactly.
package traintest

import (
	"context"
	"testing"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// Special ids of the synthetic vocabulary of Vocab ids; ids from 4 on are
// content tokens.
const (
	Pad, CLS, SEP, Mask = 0, 1, 2, 3
	Vocab               = 24
)

// TinyBertConfig is a one-layer BERT 16 wide over the synthetic
// vocabulary, 16 positions, with dropout (so that resuming must restore
// the dropout streams too).
func TinyBertConfig() bert.Config {
	return bert.Config{VocabSize: Vocab, HiddenSize: 16, NumLayers: 1, NumHeads: 2, Intermediate: 32,
		MaxPositions: 16, TypeVocab: 2, HiddenAct: "gelu", HiddenDropout: 0.1, AttentionDropout: 0.1}
}

// EncoderFolder writes a "pretrained" encoder folder — a BertForPreTraining
// of TinyBertConfig with random weights — into a temporary folder of t and
// returns its path.
func EncoderFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pt, err := bert.NewForPreTraining(TinyBertConfig(), tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := pt.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// RunInterrupted trains a task from mk for steps three ways under one
// configuration (warm-up, decay, clipping, evaluation and a checkpoint
// every 3 steps): straight through, then cancelled after step stop and
// resumed from its checkpoint with a task built from another model seed
// (so that only the checkpoint can make the weights agree). It returns the
// per-step losses of the straight run and of the interrupted one followed
// by its resumption, and the straight run's result.
func RunInterrupted(t *testing.T, mk func(seed uint64) train.Task, steps, stop int) (straight, resumed []float64, last train.Result) {
	t.Helper()
	cfg := train.Config{OutDir: t.TempDir(), Steps: steps, LR: 3e-3, Warmup: 2, Decay: 1, WeightDecay: 0.01, Clip: 1,
		EvalEvery: 3, SaveEvery: 3, Progress: train.ProgressOptions{Mode: train.ProgressOff}}
	cfg.OnStep = func(_ int, l float64) { straight = append(straight, l) }
	tr, err := train.NewTrainer(mk(1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if last, err = tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.OutDir = t.TempDir()
	cfg.OnStep = func(s int, l float64) {
		resumed = append(resumed, l)
		if s == stop {
			cancel()
		}
	}
	if tr, err = train.NewTrainer(mk(1), cfg); err != nil {
		t.Fatal(err)
	}
	if res, err := tr.Run(ctx); err != nil || !res.Interrupted || res.Step != stop {
		t.Fatalf("interrupted run: %+v, %v", res, err)
	}
	cfg.Resume = true
	cfg.OnStep = func(_ int, l float64) { resumed = append(resumed, l) }
	if tr, err = train.NewTrainer(mk(77), cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return straight, resumed, last
}

// SameLosses fails t unless resumed repeats straight to the last bit.
func SameLosses(t *testing.T, what string, straight, resumed []float64) {
	t.Helper()
	if len(resumed) != len(straight) {
		t.Fatalf("%s: %d resumed losses, %d straight", what, len(resumed), len(straight))
	}
	for i := range straight {
		if straight[i] != resumed[i] {
			t.Errorf("%s: step %d: %v resumed, %v straight", what, i+1, resumed[i], straight[i])
		}
	}
}
