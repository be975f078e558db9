package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func quietConfig(dir string, steps int) Config {
	return Config{OutDir: dir, Steps: steps, LR: 0.2, Warmup: 3, Decay: 2, WeightDecay: 0.1, Clip: 1,
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
	tr, err := NewTrainer(newLineTask(1, 1, 4), cfg)
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
	for _, f := range []string{"model.safetensors", "loss.png", "loss.svg", MetricsFile,
		"checkpoint-12/" + OptimizerFile, "checkpoint-12/" + TrainerStateFile} {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, ok := res.LastEval.Metrics["slope"]; !ok {
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
	tr, err = NewTrainer(newLineTask(1, 1, 4), cfg)
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
	tr, err = NewTrainer(newLineTask(99, 1, 4), cfg)
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
	task := newLineTask(1, 1, 4)
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

// cancellingEval cancels the run's context from inside Evaluate, as a
// Ctrl-C during evaluation would.
type cancellingEval struct {
	*lineTask
	cancel context.CancelFunc
}

func (c cancellingEval) Evaluate(ctx context.Context) (Eval, error) {
	c.cancel()
	return Eval{}, ctx.Err()
}

func TestTrainerInterruptedDuringEval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := quietConfig(t.TempDir(), 12)
	tr, err := NewTrainer(cancellingEval{newLineTask(1, 1, 4), cancel}, cfg)
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
// train like one batch of 2B (the task hands out the same examples).
func TestTrainerAccumulation(t *testing.T) {
	run := func(batch, accum int) []float64 {
		big := newLineTask(1, 1, batch)
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
	tr, err := NewTrainer(newLineTask(1, 1, 4), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr, err = NewTrainer(newLineTask(1, 1, 4), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "already holds checkpoints") {
		t.Fatalf("second fresh run in the same folder: %v", err)
	}
}

// cancellingStep cancels the context once its task has run after
// micro-batches, leaving the step that micro-batch belongs to half done.
type cancellingStep struct {
	*lineTask
	after  int
	cancel context.CancelFunc
}

func (c *cancellingStep) Step(ctx context.Context) (float64, int, error) {
	loss, n, err := c.lineTask.Step(ctx)
	if c.after--; c.after == 0 {
		c.cancel()
	}
	return loss, n, err
}

// TestTrainerInterruptedMidStep cancels between the two accumulated
// micro-batches of step 7: the half-done step is discarded whole, with the
// micro-batch it had drawn, so the checkpoint of step 6 resumes exactly.
func TestTrainerInterruptedMidStep(t *testing.T) {
	const steps, accum = 10, 2
	config := func(dir string, losses *[]float64) Config {
		cfg := quietConfig(dir, steps)
		cfg.Accumulate, cfg.EvalEvery, cfg.SaveEvery = accum, 0, 4
		cfg.OnStep = func(_ int, l float64) { *losses = append(*losses, l) }
		return cfg
	}
	var want []float64
	tr, err := NewTrainer(newLineTask(1, 1, 4), config(t.TempDir(), &want))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	var got []float64
	ctx, cancel := context.WithCancel(context.Background())
	tr, err = NewTrainer(&cancellingStep{newLineTask(1, 1, 4), 6*accum + 1, cancel}, config(dir, &got))
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Step != 6 || !strings.HasSuffix(res.Checkpoint, "checkpoint-6") {
		t.Fatalf("interrupted result %+v", res)
	}
	cfg := config(dir, &got)
	cfg.Resume = true
	if tr, err = NewTrainer(newLineTask(99, 1, 4), cfg); err != nil {
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
}
