package pretrain

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/internal/traintest"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// tinyCLM returns a tiny GPT-2 causal-LM task over a fixed pseudo-random
// corpus with a little structure (so the loss falls).
func tinyCLM(t *testing.T, modelSeed, dataSeed uint64) *CLMTask {
	t.Helper()
	return tinyCLMBatch(t, modelSeed, dataSeed, 4)
}

func tinyCLMBatch(t *testing.T, modelSeed, dataSeed uint64, batch int) *CLMTask {
	t.Helper()
	const V, T = 17, 8
	cfg := gpt2.Config{VocabSize: V, NumPos: T, NumEmbd: 16, NumLayer: 2, NumHead: 2, ActivationFunction: "gelu"}
	m, err := gpt2.New(cfg, tensor.NewRNG(modelSeed))
	if err != nil {
		t.Fatal(err)
	}
	rng := data.NewRand(7)
	toks := make(data.IDs, 2000)
	for i := range toks {
		toks[i] = int32(i % V) // a learnable cycle with 10 % noise
		if rng.IntN(10) == 0 {
			toks[i] = int32(rng.IntN(V))
		}
	}
	tokens, val, err := data.SplitTokens(toks, 0.1, T+1)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := data.EvalBlocks(val, T, 6)
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewCLMTask(m, tokens, CLMOptions{BatchSize: batch, Seed: dataSeed, Eval: eval})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestCLMTaskResumeExact checks that an interrupted and resumed causal-LM
// run repeats the losses of an uninterrupted one bit for bit and that the
// saved folder is a GPT2LMHeadModel.
func TestCLMTaskResumeExact(t *testing.T) {
	straight, resumed, last := traintest.RunInterrupted(t, func(seed uint64) train.Task { return tinyCLM(t, seed, 1) }, 9, 5)
	traintest.SameLosses(t, "clm", straight, resumed)
	if straight[len(straight)-1] >= straight[0] {
		t.Errorf("loss did not fall: %v", straight)
	}
	if _, ok := last.LastEval.Metrics["perplexity"]; !ok {
		t.Errorf("no perplexity in %+v", last.LastEval)
	}
	dir := filepath.Dir(last.Checkpoint)
	if _, err := gpt2.Load(dir); err != nil {
		t.Errorf("the run's folder does not load as GPT-2: %v", err)
	}
}

func TestCLMTaskTooShort(t *testing.T) {
	m, err := gpt2.New(gpt2.Config{VocabSize: 5, NumPos: 16, NumEmbd: 8, NumLayer: 1, NumHead: 2}, tensor.NewRNG(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewCLMTask(m, data.IDs{1, 2, 3}, CLMOptions{BatchSize: 1})
	if err == nil || !strings.Contains(err.Error(), "fewer than one block") {
		t.Fatalf("err = %v", err)
	}
}
