package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/glossa-ai/glossa/train"
)

// fitFlags are the optimisation flags every fine-tuning task shares.
type fitFlags struct {
	batch, accum, steps, evalEvery, saveEvery, keep int
	epochs, lr, warmup, wd, clip                    float64
	decay, progress                                 string
	seed                                            uint64
	groupByLength, scratch, resume                  bool
}

// register adds the flags; unit names what a batch holds ("examples").
func (f *fitFlags) register(fs *flag.FlagSet, unit string) {
	fs.IntVar(&f.batch, "batch-size", 32, unit+" per micro-batch")
	fs.IntVar(&f.accum, "accumulate", 1, "micro-batches per optimizer step")
	fs.Float64Var(&f.epochs, "epochs", 3, "passes over the training data (ignored when --steps is set)")
	fs.IntVar(&f.steps, "steps", 0, "optimizer steps (0: from --epochs)")
	fs.Float64Var(&f.lr, "lr", 5e-5, "peak learning rate (AdamW)")
	fs.Float64Var(&f.warmup, "warmup-ratio", 0.1, "fraction of the steps spent warming the learning rate up linearly")
	fs.StringVar(&f.decay, "decay", "linear", "learning-rate decay after warm-up: linear, cosine or none")
	fs.Float64Var(&f.wd, "weight-decay", 0.01, "AdamW weight decay on matrices and embeddings")
	fs.Float64Var(&f.clip, "clip", 1, "clip the global gradient norm (0: off)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "evaluate on --dev every N steps (0: only at the end)")
	fs.IntVar(&f.saveEvery, "save-every", 0, "checkpoint every N steps (0: only at the end)")
	fs.IntVar(&f.keep, "keep", 2, "keep the newest N checkpoints (0: all)")
	fs.Uint64Var(&f.seed, "seed", 42, "seed for the head's initialisation, data order and dropout")
	fs.BoolVar(&f.groupByLength, "group-by-length", true, "batch "+unit+" of similar length together (Hugging Face's group_by_length) so that batches compute little padding; false: plain shuffled batches")
	fs.BoolVar(&f.scratch, "from-scratch", false, "ignore the pretrained weights: same architecture, random initialisation (the baseline)")
	fs.BoolVar(&f.resume, "resume", false, "continue from the newest checkpoint in OUT (same flags)")
	fs.StringVar(&f.progress, "progress", "auto", "progress display: auto, bar, log or off")
}

// check validates the flags' ranges.
func (f *fitFlags) check() error {
	switch {
	case f.batch <= 0 || f.accum <= 0 || f.epochs <= 0 || f.steps < 0:
		return fmt.Errorf("%w: --batch-size, --accumulate, --epochs must be positive", errUsage)
	case f.warmup < 0 || f.warmup >= 1:
		return fmt.Errorf("%w: --warmup-ratio must be in [0, 1)", errUsage)
	}
	return nil
}

// stepCount is --steps, or the optimizer steps of --epochs over n examples.
func (f *fitFlags) stepCount(n int) int {
	if f.steps > 0 {
		return f.steps
	}
	return max(1, int(f.epochs*float64(n)/float64(f.batch*f.accum)+0.5))
}

// trainer builds the Trainer of a fine-tuning run of steps steps into out.
func (f *fitFlags) trainer(task train.Task, out string, steps int, stderr io.Writer, logger *slog.Logger, desc string) (*train.Trainer, error) {
	dec, err := parseDecay(f.decay)
	if err != nil {
		return nil, err
	}
	pmode, err := parseProgressMode(f.progress)
	if err != nil {
		return nil, err
	}
	return train.NewTrainer(task, train.Config{
		OutDir: out, Steps: steps, Accumulate: f.accum, LR: f.lr, MinLR: 1e-9 * f.lr, Warmup: int(f.warmup * float64(steps)),
		Decay: dec, WeightDecay: f.wd, Clip: f.clip, EvalEvery: f.evalEvery, SaveEvery: f.saveEvery,
		KeepCheckpoints: f.keep, Resume: f.resume,
		Progress: train.ProgressOptions{Out: stderr, Mode: pmode, Description: desc}, Logger: logger,
	})
}

// fit runs a fine-tuning task for steps steps into out and prints its
// outcome: where an interrupted run stopped, or report's dev figures
// followed by where the model and its metrics are.
func (f *fitFlags) fit(ctx context.Context, task train.Task, out string, steps int, stdout, stderr io.Writer, logger *slog.Logger, desc string, report func()) error {
	tr, err := f.trainer(task, out, steps, stderr, logger, desc)
	if err != nil {
		return err
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	if res.Interrupted {
		return reportRun(stdout, res, out)
	}
	report()
	fmt.Fprintf(stdout, "model: %s\nmetrics: %s\n", out, filepath.Join(out, train.MetricsFile))
	return nil
}
