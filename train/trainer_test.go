package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/tensor"
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
	train, val, err := data.SplitTokens(toks, 0.1, T+1)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := data.EvalBlocks(val, T, 6)
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewCLMTask(m, train, CLMOptions{BatchSize: batch, Seed: dataSeed, Eval: eval})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func quietConfig(dir string, steps int) Config {
	return Config{OutDir: dir, Steps: steps, LR: 1e-2, Warmup: 3, Decay: 2, WeightDecay: 0.1, Clip: 1,
		Accumulate: 2, EvalEvery: 4, SaveEvery: 4, Progress: ProgressOptions{Mode: ProgressOff}}
}

// TestTrainerResumeExact interrupts a run (context cancellation after step
// 6), resumes it from its checkpoint and checks that every step's loss
// equals that of an uninterrupted run bit for bit.
func TestTrainerResumeExact(t *testing.T) {
	const steps = 12
	var want []float64
	cfg := quietConfig(t.TempDir(), steps)
	cfg.OnStep = func(_ int, loss float64) { want = append(want, loss) }
	tr, err := NewTrainer(tinyCLM(t, 1, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != steps || res.Interrupted || len(want) != steps {
		t.Fatalf("result %+v, %d losses", res, len(want))
	}
	if want[steps-1] >= want[0] {
		t.Errorf("loss did not fall: %v", want)
	}
	for _, f := range []string{"config.json", "model.safetensors", "loss.png", "loss.svg", MetricsFile,
		"checkpoint-12/" + OptimizerFile, "checkpoint-12/" + TrainerStateFile} {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, ok := res.LastEval.Metrics["perplexity"]; !ok {
		t.Errorf("no perplexity in %+v", res.LastEval)
	}

	// Interrupted run: cancel during step 7 (after the checkpoint of
	// step 4 and a completed step 6).
	dir := t.TempDir()
	var got []float64
	ctx, cancel := context.WithCancel(context.Background())
	cfg = quietConfig(dir, steps)
	cfg.OnStep = func(step int, loss float64) {
		got = append(got, loss)
		if step == 6 {
			cancel()
		}
	}
	tr, err = NewTrainer(tinyCLM(t, 1, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err = tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Step != 6 || !strings.HasSuffix(res.Checkpoint, "checkpoint-6") {
		t.Fatalf("interrupted result %+v", res)
	}
	// Resume with a differently initialised model: everything must come
	// from the checkpoint.
	cfg = quietConfig(dir, steps)
	cfg.Resume = true
	cfg.OnStep = func(_ int, loss float64) { got = append(got, loss) }
	tr, err = NewTrainer(tinyCLM(t, 99, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != steps {
		t.Fatalf("%d losses after resume, want %d", len(got), steps)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: loss %v after resume, want %v", i+1, got[i], want[i])
		}
	}
	recs, err := ReadMetricsLog(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Split == "train" {
			if r.Loss != want[r.Step-1] {
				t.Errorf("log step %d: %v, want %v", r.Step, r.Loss, want[r.Step-1])
			}
			n++
		}
	}
	if n != steps {
		t.Errorf("%d train records in the resumed log, want %d", n, steps)
	}
}

func TestTrainerBadConfig(t *testing.T) {
	task := tinyCLM(t, 1, 1)
	for _, cfg := range []Config{
		{Steps: 1},
		{OutDir: t.TempDir()},
		{OutDir: t.TempDir(), Steps: 1, LR: -1},
	} {
		if _, err := NewTrainer(task, cfg); err == nil {
			t.Errorf("NewTrainer(%+v) succeeded", cfg)
		}
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

// cancellingEval cancels the run's context from inside Evaluate, as a
// Ctrl-C during evaluation would.
type cancellingEval struct {
	*CLMTask
	cancel context.CancelFunc
}

func (c cancellingEval) Evaluate(ctx context.Context) (Eval, error) {
	c.cancel()
	return Eval{}, ctx.Err()
}

func TestTrainerInterruptedDuringEval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := quietConfig(t.TempDir(), 12)
	tr, err := NewTrainer(cancellingEval{tinyCLM(t, 1, 1), cancel}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Step != cfg.EvalEvery || !strings.HasSuffix(res.Checkpoint, "checkpoint-4") {
		t.Fatalf("result %+v", res)
	}
}

// TestTrainerAccumulation checks that two accumulated micro-batches of B
// train like one batch of 2B (the block sampler hands out the same blocks).
func TestTrainerAccumulation(t *testing.T) {
	run := func(batch, accum int) []float64 {
		big := tinyCLMBatch(t, 1, 1, batch)
		var losses []float64
		cfg := quietConfig(t.TempDir(), 6)
		cfg.Accumulate, cfg.EvalEvery, cfg.SaveEvery = accum, 0, 0
		cfg.OnStep = func(_ int, l float64) { losses = append(losses, l) }
		tr, err := NewTrainer(big, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return losses
	}
	one, two := run(8, 1), run(4, 2)
	for i := range one {
		if d := one[i] - two[i]; d > 1e-5 || d < -1e-5 {
			t.Errorf("step %d: loss %v with accumulation, %v without", i+1, two[i], one[i])
		}
	}
}

func TestTrainerRefusesUsedFolder(t *testing.T) {
	cfg := quietConfig(t.TempDir(), 4)
	tr, err := NewTrainer(tinyCLM(t, 1, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr, err = NewTrainer(tinyCLM(t, 1, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "already holds checkpoints") {
		t.Fatalf("second fresh run in the same folder: %v", err)
	}
}
