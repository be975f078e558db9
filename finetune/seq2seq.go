package finetune

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/transformer"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// Seq2SeqPair is one tokenized training or evaluation pair. Source is the
// encoder's input and Target the tokens the decoder must produce, each as
// the tokenizer gives them (Marian's template ends both with EOS).
type Seq2SeqPair struct {
	Source, Target []int32
}

// Seq2SeqOptions configure NewSeq2SeqTask.
type Seq2SeqOptions struct {
	// MaxTokens bounds a batch: rows × the longest source or target of the
	// batch (fairseq's --max-tokens; required). Pairs are sorted by length
	// and cut into batches once, so that batches carry little padding; the
	// order of the batches is shuffled every epoch.
	MaxTokens int
	// LabelSmoothing ε of the training loss (zero: none).
	LabelSmoothing float32
	// Seed draws the batch order and the dropout masks.
	Seed uint64
	// Eval holds the held-out pairs (none: Evaluate reports no loss).
	Eval []Seq2SeqPair
	// Generation is written into generation_config.json on every save.
	Generation transformer.GenerationDefaults
	// Metrics, if non-nil, is called by Evaluate with a folder holding the
	// current model as saved by Save (SaveExtra's tokenizer files
	// included), and its metrics (a held-out BLEU) join the evaluation's.
	Metrics func(ctx context.Context, dir string) (map[string]float64, error)
	// TempDir is where Metrics' folders are made (zero: os.TempDir()).
	TempDir string
}

// Seq2SeqTask trains a transformer.Model on parallel text with
// label-smoothed cross-entropy (teacher forcing). The batches are fixed
// by the data; their per-epoch order comes from a seeded data.IndexSampler
// and micro-batch k draws dropout from a generator seeded from (seed, k),
// so the task's resumable state is the sampler position and k.
type Seq2SeqTask struct {
	model   *transformer.Model
	learn   *microbatch.Learner[transformer.Batch]
	batches []transformer.Batch
	eval    []transformer.Batch
	opts    Seq2SeqOptions

	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the model is saved to.
	SaveExtra func(dir string) error
}

// NewSeq2SeqTask returns a sequence-to-sequence task over the training
// pairs. Pairs longer than the model's positions are an error (truncate
// them before).
func NewSeq2SeqTask(model *transformer.Model, pairs []Seq2SeqPair, opts Seq2SeqOptions) (*Seq2SeqTask, error) {
	if opts.MaxTokens <= 0 {
		return nil, fmt.Errorf("finetune: seq2seq: max tokens %d per batch, want > 0", opts.MaxTokens)
	}
	if opts.LabelSmoothing < 0 || opts.LabelSmoothing >= 1 {
		return nil, fmt.Errorf("finetune: seq2seq: label smoothing %g outside [0, 1)", opts.LabelSmoothing)
	}
	if len(pairs) == 0 {
		return nil, errors.New("finetune: seq2seq: no training pairs")
	}
	batches, err := Seq2SeqBatches(model.Config, pairs, opts.MaxTokens, opts.Seed)
	if err != nil {
		return nil, err
	}
	var eval []transformer.Batch
	if len(opts.Eval) > 0 {
		if eval, err = Seq2SeqBatches(model.Config, opts.Eval, opts.MaxTokens, opts.Seed); err != nil {
			return nil, fmt.Errorf("%w (evaluation pairs)", err)
		}
	}
	s, err := data.NewIndexSampler(len(batches), opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("finetune: seq2seq: %w", err)
	}
	learn := microbatch.NewLearner(microbatch.NewStream(batches, s, 1, opts.Seed), model.Params(),
		microbatch.LearnerOptions{DropoutStream: streamSeq2SeqDropout})
	return &Seq2SeqTask{model: model, learn: learn, batches: batches, eval: eval, opts: opts}, nil
}

// Seq2SeqBatches sorts pairs by length (ties in a seeded random order) and
// cuts them into padded batches of at most maxTokens = rows × the longest
// source or decoder sequence. Decoder inputs are the decoder start token
// (cfg.PadID) then the target without its last token; labels are the
// target, metrics.IgnoreIndex under padding.
func Seq2SeqBatches(cfg transformer.Config, pairs []Seq2SeqPair, maxTokens int, seed uint64) ([]transformer.Batch, error) {
	for i, p := range pairs {
		switch {
		case len(p.Source) == 0 || len(p.Target) == 0:
			return nil, fmt.Errorf("finetune: seq2seq: pair %d has an empty source or target", i)
		case len(p.Source) > cfg.MaxLen || len(p.Target) > cfg.MaxLen:
			return nil, fmt.Errorf("finetune: seq2seq: pair %d has %d source and %d target tokens, more than the model's %d positions",
				i, len(p.Source), len(p.Target), cfg.MaxLen)
		case max(len(p.Source), len(p.Target)) > maxTokens:
			return nil, fmt.Errorf("finetune: seq2seq: pair %d (%d source, %d target tokens) does not fit a batch of %d tokens",
				i, len(p.Source), len(p.Target), maxTokens)
		}
		for _, id := range slices.Concat(p.Source, p.Target) {
			if id < 0 || int(id) >= cfg.Vocab {
				return nil, fmt.Errorf("finetune: seq2seq: pair %d: token id %d outside the vocabulary of %d", i, id, cfg.Vocab)
			}
		}
	}
	order := data.Permutation(len(pairs), seed^0x5e9250e9)
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := pairs[a], pairs[b]
		return cmp.Or(cmp.Compare(len(pa.Source), len(pb.Source)), cmp.Compare(len(pa.Target), len(pb.Target)))
	})
	var out []transformer.Batch
	for lo := 0; lo < len(order); {
		S, T, hi := 0, 0, lo
		for hi < len(order) {
			p := pairs[order[hi]]
			s, t := max(S, len(p.Source)), max(T, len(p.Target))
			if (hi-lo+1)*max(s, t) > maxTokens {
				break
			}
			S, T, hi = s, t, hi+1
		}
		out = append(out, collateSeq2Seq(cfg, pairs, order[lo:hi], S, T))
		lo = hi
	}
	return out, nil
}

// collateSeq2Seq pads the pairs idx into a batch of sources S and targets T
// long.
func collateSeq2Seq(cfg transformer.Config, pairs []Seq2SeqPair, idx []int, S, T int) transformer.Batch {
	B := len(idx)
	b := transformer.Batch{B: B, S: S, T: T, Source: make([]int, B*S), Target: make([]int, B*T), Labels: make([]int, B*T)}
	for r, i := range idx {
		p := pairs[i]
		for s := range S {
			b.Source[r*S+s] = cfg.PadID
			if s < len(p.Source) {
				b.Source[r*S+s] = int(p.Source[s])
			}
		}
		for t := range T {
			b.Target[r*T+t], b.Labels[r*T+t] = cfg.PadID, transformer.IgnoreIndex
			if t < len(p.Target) {
				b.Labels[r*T+t] = int(p.Target[t])
				if t > 0 {
					b.Target[r*T+t] = int(p.Target[t-1])
				}
			}
		}
	}
	return b
}

// Batches returns the number of training batches (one epoch).
func (t *Seq2SeqTask) Batches() int { return len(t.batches) }

// Params implements train.Task.
func (t *Seq2SeqTask) Params() []optim.Param { return t.learn.Params() }

// realTokens counts the non-padding source tokens and the labels of b.
func realTokens(b transformer.Batch, pad int) int {
	n := 0
	for _, id := range b.Source {
		if id != pad {
			n++
		}
	}
	for _, l := range b.Labels {
		if l != transformer.IgnoreIndex {
			n++
		}
	}
	return n
}

// Random stream of the seq2seq task's dropout.
const streamSeq2SeqDropout uint64 = 11

// Step implements train.Task: one batch, teacher-forced.
func (t *Seq2SeqTask) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, func(batch []transformer.Batch, _ []uint64) (*autograd.Var, int, error) {
		b := batch[0]
		t.model.SetTraining(true, t.learn.Dropout)
		logits, labels, err := t.model.LabelledLogits(b)
		if err != nil {
			return nil, 0, err
		}
		loss, err := transformer.Loss(logits, labels, t.opts.LabelSmoothing)
		return loss, realTokens(b, t.model.Config.PadID), err
	})
}

// Evaluate implements train.Task: on the held-out pairs without dropout, the
// label-smoothed loss (comparable with the training loss), the plain
// cross-entropy per target token ("nll") and its perplexity, and the
// metrics of opts.Metrics.
func (t *Seq2SeqTask) Evaluate(ctx context.Context) (train.Eval, error) {
	ev := train.Eval{Metrics: map[string]float64{}}
	if len(t.eval) == 0 && t.opts.Metrics == nil {
		return ev, nil
	}
	t.model.SetTraining(false, nil)
	prev := t.learn.Graph.SetGradEnabled(false)
	var smooth, nll float64
	var n int
	for _, b := range t.eval {
		if err := ctx.Err(); err != nil {
			t.learn.Graph.SetGradEnabled(prev)
			return train.Eval{}, err
		}
		t.learn.Graph.Reset()
		logits, labels, err := t.model.LabelledLogits(b)
		if err != nil {
			t.learn.Graph.SetGradEnabled(prev)
			return train.Eval{}, err
		}
		ls, err1 := tensor.CrossEntropy(logits.Value, labels, tensor.CrossEntropyOptions{LabelSmoothing: t.opts.LabelSmoothing})
		l0, err2 := tensor.CrossEntropy(logits.Value, labels, tensor.CrossEntropyOptions{})
		if err := errors.Join(err1, err2); err != nil {
			t.learn.Graph.SetGradEnabled(prev)
			return train.Eval{}, err
		}
		smooth += float64(ls) * float64(len(labels))
		nll += float64(l0) * float64(len(labels))
		n += len(labels)
	}
	t.learn.Graph.Reset()
	t.learn.Graph.SetGradEnabled(prev)
	if n > 0 {
		ev.Loss = smooth / float64(n)
		ev.Metrics["nll"] = nll / float64(n)
		ev.Metrics["perplexity"] = math.Exp(nll / float64(n))
	}
	if t.opts.Metrics != nil {
		dir, err := os.MkdirTemp(t.opts.TempDir, "glossa-seq2seq-eval-*")
		if err != nil {
			return train.Eval{}, fmt.Errorf("finetune: seq2seq: %w", err)
		}
		defer os.RemoveAll(dir)
		if err := t.Save(dir); err != nil {
			return train.Eval{}, err
		}
		ms, err := t.opts.Metrics(ctx, dir)
		if err != nil {
			return train.Eval{}, fmt.Errorf("finetune: seq2seq: metrics: %w", err)
		}
		for k, v := range ms {
			ev.Metrics[k] = v
		}
	}
	return ev, nil
}

// Save implements train.Task: a MarianMTModel folder and SaveExtra's files.
func (t *Seq2SeqTask) Save(dir string) error {
	if err := t.model.Save(dir, t.opts.Generation); err != nil {
		return err
	}
	if t.SaveExtra != nil {
		return t.SaveExtra(dir)
	}
	return nil
}

// LoadWeights implements train.WeightLoader.
func (t *Seq2SeqTask) LoadWeights(dir string) error { return t.model.LoadWeights(dir) }

// State implements train.Task.
func (t *Seq2SeqTask) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *Seq2SeqTask) SetState(b json.RawMessage) error {
	return t.learn.Data.SetState(b, "finetune: seq2seq")
}

var _ interface {
	train.Task
	train.WeightLoader
} = (*Seq2SeqTask)(nil)
