package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/optim"
)

// Task is what a Trainer trains: a model, its objective and its data stream.
// The Trainer owns the optimizer, the schedule, accumulation, clipping,
// logging, evaluation and checkpoints; the Task owns everything that depends
// on the model. A Task is used from one goroutine.
type Task interface {
	// Params lists the trainable parameters with stable names and gradient
	// buffers that stay valid for the task's lifetime.
	Params() []optim.Param
	// Step draws the next micro-batch from the task's data stream, runs the
	// forward and backward passes and accumulates the gradients into the
	// parameters' Grad buffers (which the Trainer zeroes). It returns the
	// micro-batch's mean loss and the number of tokens it processed.
	Step(ctx context.Context) (loss float64, tokens int, err error)
	// Evaluate computes the loss and metrics on held-out data without
	// touching gradients, the data stream or any random state that
	// training uses.
	Evaluate(ctx context.Context) (Eval, error)
	// Save writes the model in its Hugging Face folder layout
	// (config.json, model.safetensors, tokenizer files) into dir.
	Save(dir string) error
	// State returns the task's resumable state: data cursor and RNG
	// states, as JSON.
	State() (json.RawMessage, error)
	// SetState restores a state returned by State.
	SetState(json.RawMessage) error
}

// Eval is the result of Task.Evaluate: a mean loss and named metrics
// ("mlm_accuracy", "nsp_accuracy", "perplexity", "accuracy", "macro_f1", ...).
type Eval struct {
	Loss    float64
	Metrics map[string]float64
}

// Config configures a Trainer. The zero value of each field is documented;
// Steps and OutDir are required.
type Config struct {
	// OutDir receives metrics.jsonl, checkpoints (checkpoint-<step>),
	// the final model and the plots.
	OutDir string
	// Steps is the number of optimizer steps of the whole run.
	Steps int
	// Accumulate is the number of micro-batches per optimizer step
	// (zero: 1).
	Accumulate int
	// LR is the peak learning rate (zero: 1e-3).
	LR float64
	// MinLR is the learning rate at the end of the decay (zero: LR/10).
	MinLR float64
	// Warmup is the number of linear warm-up steps (zero: none).
	Warmup int
	// Decay is the shape after warm-up (zero: constant).
	Decay optim.Decay
	// WeightDecay is AdamW's decoupled weight decay on matrices and
	// embeddings (zero: none); biases and norm gains never decay.
	WeightDecay float64
	// Beta1, Beta2 and Eps are AdamW's (zero: 0.9, 0.999, 1e-8).
	Beta1, Beta2, Eps float64
	// Clip is the global gradient-norm limit (zero: no clipping).
	Clip float64
	// EvalEvery evaluates every so many steps and at the end (zero: only
	// at the end).
	EvalEvery int
	// SaveEvery writes a checkpoint every so many steps (zero: only at the
	// end and on interruption).
	SaveEvery int
	// KeepCheckpoints keeps the newest so many checkpoints (zero: all).
	KeepCheckpoints int
	// LogEvery appends a train record to the metrics log every so many
	// steps (zero: every step).
	LogEvery int
	// Resume continues from the newest checkpoint in OutDir when there is
	// one (a fresh start otherwise). Without Resume, an OutDir that holds
	// checkpoints is an error, so that a run never mixes with an older one.
	Resume bool
	// Progress configures the live display; its Total and Start are set by
	// the Trainer.
	Progress ProgressOptions
	// Logger receives checkpoint and evaluation messages (nil: none).
	Logger *slog.Logger
	// OnStep, if non-nil, is called after every optimizer step with the
	// step number (from 1) and its mean loss.
	OnStep func(step int, loss float64)
}

// Result summarises a Run.
type Result struct {
	// Step is the last completed optimizer step.
	Step int
	// Interrupted is true when the context was cancelled; the state at
	// Step was saved to Checkpoint.
	Interrupted bool
	// Checkpoint is the last checkpoint written.
	Checkpoint string
	// LastEval is the last evaluation (zero if none ran).
	LastEval Eval
	// Tokens is the number of tokens processed by the whole run (including
	// the sessions before a resume).
	Tokens int64
}

// Trainer runs a Task with AdamW. It is not safe for concurrent use.
type Trainer struct {
	task Task
	cfg  Config
	opt  *optim.Adam
	sch  optim.WarmupDecay
}

// File names inside a checkpoint folder written by the Trainer, beside the
// task's own model files.
const (
	OptimizerFile    = "optimizer.safetensors"
	TrainerStateFile = "trainer_state.json"
	MetricsFile      = "metrics.jsonl"
)

// trainerState is trainer_state.json: where a run stands.
type trainerState struct {
	Step   int             `json:"global_step"`
	Tokens int64           `json:"tokens"`
	Task   json.RawMessage `json:"task"`
}

// NewTrainer returns a Trainer of task under cfg.
func NewTrainer(task Task, cfg Config) (*Trainer, error) {
	if cfg.OutDir == "" {
		return nil, errors.New("train: trainer: no output folder")
	}
	if cfg.Steps <= 0 {
		return nil, fmt.Errorf("train: trainer: %d steps, want > 0", cfg.Steps)
	}
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	if cfg.LR < 0 || cfg.MinLR < 0 || cfg.Warmup < 0 || cfg.Clip < 0 || cfg.WeightDecay < 0 || cfg.Accumulate < 0 {
		return nil, errors.New("train: trainer: negative hyper-parameter")
	}
	if cfg.MinLR == 0 {
		cfg.MinLR = cfg.LR / 10
	}
	params := task.Params()
	if len(params) == 0 {
		return nil, errors.New("train: trainer: task has no trainable parameters")
	}
	opt, err := optim.NewAdamW(optim.DecayGroups(params, float32(cfg.WeightDecay)), optim.AdamConfig{
		LR: float32(cfg.LR), Beta1: float32(cfg.Beta1), Beta2: float32(cfg.Beta2), Eps: float32(cfg.Eps)})
	if err != nil {
		return nil, fmt.Errorf("train: trainer: %w", err)
	}
	sch := optim.WarmupDecay{Peak: float32(cfg.LR), Min: float32(cfg.MinLR), WarmupSteps: cfg.Warmup,
		TotalSteps: cfg.Steps, Decay: cfg.Decay}
	return &Trainer{task: task, cfg: cfg, opt: opt, sch: sch}, nil
}

// Run trains until cfg.Steps optimizer steps are done or ctx is cancelled.
// On cancellation it finishes nothing half-way: it checkpoints the last
// completed step and returns with Result.Interrupted set and a nil error.
// At the end it evaluates, checkpoints, saves the model into OutDir and
// draws the loss and learning-rate plot (loss.png, loss.svg).
func (tr *Trainer) Run(ctx context.Context) (Result, error) {
	cfg := tr.cfg
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("train: %w", err)
	}
	var res Result
	if cfg.Resume {
		ck, err := LatestCheckpoint(cfg.OutDir)
		switch {
		case err == nil:
			if err := tr.load(ck.Path, &res); err != nil {
				return Result{}, err
			}
			res.Checkpoint = ck.Path
			tr.logf("resumed", "checkpoint", ck.Path, "step", res.Step)
		case errors.Is(err, ErrNoCheckpoint):
			tr.logf("no checkpoint to resume; starting fresh", "dir", cfg.OutDir)
		default:
			return Result{}, fmt.Errorf("train: resume: %w", err)
		}
	}
	if !cfg.Resume {
		if ck, err := LatestCheckpoint(cfg.OutDir); err == nil {
			return Result{}, fmt.Errorf("train: %s already holds checkpoints (newest: step %d): resume the run or choose another folder", cfg.OutDir, ck.Step)
		}
	}
	keep := -1
	if cfg.Resume {
		keep = res.Step // drop records a killed run wrote after its checkpoint
	} else if err := os.Remove(filepath.Join(cfg.OutDir, MetricsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("train: %w", err) // a fresh run starts a fresh log
	}
	mlog, err := OpenMetricsLog(filepath.Join(cfg.OutDir, MetricsFile), 50, keep)
	if err != nil {
		return Result{}, err
	}
	defer mlog.Close()

	popts := cfg.Progress
	popts.Total, popts.Start = cfg.Steps, res.Step
	prog := NewProgress(popts)
	defer prog.Finish()

	accum := max(cfg.Accumulate, 1)
	logEvery := max(cfg.LogEvery, 1)
	tr.opt.ZeroGrad()
	var (
		intervalLoss   float64
		intervalSteps  int
		intervalTokens int64
		intervalStart  = time.Now()
		lastCkptStep   = res.Step
		intervalExtra  = map[string]float64{}
		reporter, _    = tr.task.(StepMetricsReporter)
	)
	for res.Step < cfg.Steps {
		if ctx.Err() != nil {
			res.Interrupted = true
			break
		}
		lr := tr.sch.At(res.Step)
		tr.opt.SetLR(lr)
		// The task's state at the step's start: a step cut short by the
		// context is discarded whole, micro-batches already drawn included,
		// so that the checkpoint written below resumes exactly.
		before, err := tr.task.State()
		if err != nil {
			return res, fmt.Errorf("train: step %d: task state: %w", res.Step+1, err)
		}
		var stepLoss float64
		var stepTokens int
		for range accum {
			var loss float64
			var n int
			err := ctx.Err() // cancelled between micro-batches?
			if err == nil {
				loss, n, err = tr.task.Step(ctx)
			}
			if err != nil {
				if ctx.Err() != nil {
					tr.opt.ZeroGrad()
					if err := tr.task.SetState(before); err != nil {
						return res, fmt.Errorf("train: step %d: rewind the interrupted step: %w", res.Step+1, err)
					}
					res.Interrupted = true
					break
				}
				return res, fmt.Errorf("train: step %d: %w", res.Step+1, err)
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return res, fmt.Errorf("train: step %d: loss is %v (lower --lr or enable clipping)", res.Step+1, loss)
			}
			stepLoss += loss / float64(accum)
			stepTokens += n
			if reporter != nil {
				for k, v := range reporter.StepMetrics() {
					intervalExtra[k] += v / float64(accum)
				}
			}
		}
		if res.Interrupted {
			break
		}
		params := tr.opt.Params()
		if accum > 1 {
			scaleGrads(params, 1/float32(accum))
		}
		var gradNorm float64
		if cfg.Clip > 0 {
			gradNorm = optim.ClipGradNorm(params, cfg.Clip)
		} else {
			gradNorm = optim.GradNorm(params)
		}
		tr.opt.Step()
		tr.opt.ZeroGrad()
		res.Step++
		res.Tokens += int64(stepTokens)
		prog.Update(res.Step, stepLoss, int64(stepTokens))
		if cfg.OnStep != nil {
			cfg.OnStep(res.Step, stepLoss)
		}
		intervalLoss += stepLoss
		intervalSteps++
		intervalTokens += int64(stepTokens)
		if res.Step%logEvery == 0 || res.Step == cfg.Steps {
			dt := time.Since(intervalStart).Seconds()
			rec := Record{Step: res.Step, Split: "train", Loss: intervalLoss / float64(intervalSteps),
				LR: float64(lr), Tokens: res.Tokens, Metrics: map[string]float64{"grad_norm": gradNorm}}
			for k, v := range intervalExtra {
				rec.Metrics[k] = v / float64(intervalSteps)
			}
			clear(intervalExtra)
			if dt > 0 {
				rec.TokensPerSec = float64(intervalTokens) / dt
			}
			if err := mlog.Log(rec); err != nil {
				return res, err
			}
			intervalLoss, intervalSteps, intervalTokens, intervalStart = 0, 0, 0, time.Now()
		}
		if cfg.EvalEvery > 0 && res.Step%cfg.EvalEvery == 0 && res.Step < cfg.Steps {
			if err := tr.evaluate(ctx, mlog, &res); err != nil {
				if ctx.Err() != nil {
					res.Interrupted = true // Ctrl-C during evaluation: save below
					break
				}
				return res, err
			}
		}
		if cfg.SaveEvery > 0 && res.Step%cfg.SaveEvery == 0 && res.Step < cfg.Steps {
			if err := tr.checkpoint(mlog, &res); err != nil {
				return res, err
			}
			lastCkptStep = res.Step
		}
	}
	if res.Interrupted {
		if res.Step > lastCkptStep || res.Checkpoint == "" {
			if err := tr.checkpoint(mlog, &res); err != nil {
				return res, err
			}
		}
		return res, nil
	}
	if err := tr.evaluate(ctx, mlog, &res); err != nil {
		if ctx.Err() == nil {
			return res, err
		}
		res.Interrupted = true // the training is complete; only its evaluation was cut short
	}
	if err := tr.checkpoint(mlog, &res); err != nil {
		return res, err
	}
	if res.Interrupted {
		return res, nil
	}
	if err := tr.task.Save(cfg.OutDir); err != nil {
		return res, fmt.Errorf("train: save model: %w", err)
	}
	if err := mlog.Sync(); err != nil {
		return res, err
	}
	recs, err := ReadMetricsLog(filepath.Join(cfg.OutDir, MetricsFile))
	if err != nil {
		return res, err
	}
	if err := PlotLossLR(recs, filepath.Join(cfg.OutDir, "loss.png"), filepath.Join(cfg.OutDir, "loss.svg"), PlotOptions{}); err != nil {
		return res, err
	}
	return res, nil
}

// evaluate runs Task.Evaluate and logs it.
func (tr *Trainer) evaluate(ctx context.Context, mlog *MetricsLog, res *Result) error {
	ev, err := tr.task.Evaluate(ctx)
	if err != nil {
		return fmt.Errorf("train: evaluate at step %d: %w", res.Step, err)
	}
	res.LastEval = ev
	if err := mlog.Log(Record{Step: res.Step, Split: "eval", Loss: ev.Loss, Metrics: ev.Metrics}); err != nil {
		return err
	}
	args := []any{"step", res.Step, "loss", ev.Loss}
	keys := make([]string, 0, len(ev.Metrics))
	for k := range ev.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k, ev.Metrics[k])
	}
	tr.logf("eval", args...)
	return nil
}

// checkpoint writes checkpoint-<step> atomically: the task's model files,
// the optimizer state and trainer_state.json (step, tokens, data cursor and
// RNG states).
func (tr *Trainer) checkpoint(mlog *MetricsLog, res *Result) error {
	// The log must hold every record up to this step before the checkpoint
	// exists, so that a resumed run's log is complete.
	if err := mlog.Sync(); err != nil {
		return err
	}
	taskState, err := tr.task.State()
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	path, err := WriteCheckpoint(tr.cfg.OutDir, res.Step, func(dir string) error {
		if err := tr.task.Save(dir); err != nil {
			return err
		}
		if err := saveOptimizer(filepath.Join(dir, OptimizerFile), tr.opt.State()); err != nil {
			return err
		}
		b, err := json.MarshalIndent(trainerState{Step: res.Step, Tokens: res.Tokens, Task: taskState}, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, TrainerStateFile), b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("train: checkpoint step %d: %w", res.Step, err)
	}
	res.Checkpoint = path
	tr.logf("checkpoint", "path", path)
	if tr.cfg.KeepCheckpoints > 0 {
		if err := PruneCheckpoints(tr.cfg.OutDir, tr.cfg.KeepCheckpoints); err != nil {
			return err
		}
	}
	return nil
}

// load restores the model weights (through WeightLoader), the optimizer,
// the task's data cursor and RNG states and the step counter from a
// checkpoint folder.
func (tr *Trainer) load(dir string, res *Result) error {
	var st trainerState
	if err := checkpoint.ReadJSON(filepath.Join(dir, TrainerStateFile), &st, 1<<30); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if st.Step < 0 || st.Step > tr.cfg.Steps {
		return fmt.Errorf("train: resume: checkpoint step %d outside run of %d steps", st.Step, tr.cfg.Steps)
	}
	wl, ok := tr.task.(WeightLoader)
	if !ok {
		return errors.New("train: resume: task cannot load weights (no LoadWeights method)")
	}
	if err := wl.LoadWeights(dir); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	ost, err := loadOptimizer(filepath.Join(dir, OptimizerFile))
	if err != nil {
		return err
	}
	if err := tr.opt.LoadState(ost); err != nil {
		return fmt.Errorf("train: resume: optimizer: %w", err)
	}
	if err := tr.task.SetState(st.Task); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	res.Step, res.Tokens = st.Step, st.Tokens
	return nil
}

// StepMetricsReporter is implemented by tasks that measure more than the
// loss on each micro-batch (ELECTRA's two losses and accuracies): the
// Trainer averages StepMetrics over each logging interval into the train
// records of the metrics log.
type StepMetricsReporter interface {
	StepMetrics() map[string]float64
}

// WeightLoader is implemented by tasks that can resume: LoadWeights reads
// the model weights back from a folder written by Task.Save.
type WeightLoader interface {
	LoadWeights(dir string) error
}

func (tr *Trainer) logf(msg string, args ...any) {
	if tr.cfg.Logger != nil {
		tr.cfg.Logger.Info(msg, args...)
	}
}

// scaleGrads multiplies every gradient by s.
func scaleGrads(params []optim.Param, s float32) {
	for _, p := range params {
		for i := range p.Grad {
			p.Grad[i] *= s
		}
	}
}

// saveOptimizer writes an optimizer state as safetensors: one tensor per
// buffer, the step counter in the metadata.
func saveOptimizer(path string, st optim.State) error {
	names := make([]string, 0, len(st.Buffers))
	for n := range st.Buffers {
		names = append(names, n)
	}
	sort.Strings(names)
	ts := make([]checkpoint.Tensor, len(names))
	for i, n := range names {
		b := st.Buffers[n]
		ts[i] = checkpoint.Tensor{Name: n, Shape: []int{len(b)}, Data: b}
	}
	return checkpoint.Save(path, ts, map[string]string{"step": strconv.Itoa(st.Step), "format": "glossa-optim"})
}

// loadOptimizer reads a file written by saveOptimizer.
func loadOptimizer(path string) (optim.State, error) {
	f, err := checkpoint.Open(path)
	if err != nil {
		return optim.State{}, fmt.Errorf("train: resume: %w", err)
	}
	defer f.Close()
	step, err := strconv.Atoi(f.Metadata()["step"])
	if err != nil || step < 0 {
		return optim.State{}, fmt.Errorf("train: resume: %s: bad step in metadata", path)
	}
	st := optim.State{Step: step, Buffers: map[string][]float32{}}
	for _, n := range f.Names() {
		v, err := f.Float32(n)
		if err != nil {
			return optim.State{}, fmt.Errorf("train: resume: %w", err)
		}
		st.Buffers[n] = v
	}
	return st, nil
}
