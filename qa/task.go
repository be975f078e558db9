package qa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// Task fine-tunes a BertForQuestionAnswering on training windows
// (Features) with Hugging Face's span loss, for train.Trainer: windows in
// a seeded per-epoch order, dropout seeded per micro-batch (so that
// --resume continues exactly), and an evaluation that runs the
// question-answering pipeline on the model's current weights over the dev
// questions and scores it as the SQuAD script does.
type Task struct {
	model *bert.ForQuestionAnswering
	learn *microbatch.Learner[Feature]
	B     int
	padID int32

	tok      *tokenizer.Tokenizer
	dev      []Example
	devFeats []Feature
	evalOpts EvalOptions

	// LastScores and LastPredictions are those of the last Evaluate.
	LastScores      *metrics.SQuADScores
	LastPredictions []Prediction
	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the model is saved to.
	SaveExtra func(dir string) error
}

// TaskOptions configure NewTask.
type TaskOptions struct {
	BatchSize int    // windows per micro-batch (required)
	Seed      uint64 // data order and dropout
	PadID     int32  // [PAD]
	// GroupByLength batches windows of similar length together (see
	// finetune.ClassifyOptions).
	GroupByLength bool
	// Tokenizer encodes the dev questions (required with Dev).
	Tokenizer *tokenizer.Tokenizer
	// Dev holds the evaluation questions (none: Evaluate reports nothing).
	Dev []Example
	// Eval configures the evaluation's windows and post-processing; its
	// WindowOptions should be the training windows'.
	Eval EvalOptions
}

// NewTask returns a fine-tuning task over training windows.
func NewTask(model *bert.ForQuestionAnswering, feats []Feature, opts TaskOptions) (*Task, error) {
	if opts.BatchSize <= 0 {
		return nil, fmt.Errorf("qa: batch size %d, want > 0", opts.BatchSize)
	}
	if len(feats) == 0 {
		return nil, errors.New("qa: no training windows")
	}
	if len(opts.Dev) > 0 && opts.Tokenizer == nil {
		return nil, errors.New("qa: dev questions without a tokenizer")
	}
	s, err := microbatch.NewSampler(len(feats), opts.BatchSize, opts.Seed, opts.GroupByLength,
		func(i int) int { return len(feats[i].InputIDs) })
	if err != nil {
		return nil, fmt.Errorf("qa: %w", err)
	}
	t := &Task{
		model: model, learn: microbatch.NewLearner(microbatch.NewStream(feats, s, opts.BatchSize, opts.Seed), model.Params(), microbatch.LearnerOptions{}),
		B: opts.BatchSize, padID: opts.PadID, tok: opts.Tokenizer, dev: opts.Dev, evalOpts: opts.Eval,
	}
	if len(opts.Dev) > 0 {
		if t.devFeats, _, err = Features(opts.Tokenizer, model.Bert.Config.MaxLen(), opts.Dev, opts.Eval.WindowOptions); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Params implements train.Task.
func (t *Task) Params() []optim.Param { return t.learn.Params() }

// Step implements train.Task: the span loss of the next micro-batch.
func (t *Task) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, func(feats []Feature, _ []uint64) (*autograd.Var, int, error) {
		batch := make([]data.ClassExample, len(feats))
		starts, ends := make([]int, len(feats)), make([]int, len(feats))
		for i, f := range feats {
			batch[i] = data.ClassExample{InputIDs: f.InputIDs, TokenTypeIDs: f.TokenTypeIDs}
			starts[i], ends[i] = int(f.Start), int(f.End)
		}
		in, tokens := collate(batch, t.padID)
		t.model.SetTraining(true, t.learn.Dropout)
		_, start, end, err := t.model.Forward(in, nil)
		if err != nil {
			return nil, 0, err
		}
		loss, err := t.model.Loss(start, end, starts, ends)
		return loss, tokens, err
	})
}

// collate pads windows into one input and counts their real tokens.
func collate(batch []data.ClassExample, padID int32) (bert.Input, int) {
	b := data.CollateClassification(batch, padID, 0)
	in := bert.Input{B: b.B, T: b.T, IDs: make([]int, len(b.InputIDs)), TypeIDs: make([]int, len(b.InputIDs)), Mask: make([]int, len(b.InputIDs))}
	tokens := 0
	for i := range b.InputIDs {
		in.IDs[i], in.TypeIDs[i], in.Mask[i] = int(b.InputIDs[i]), int(b.TokenTypeIDs[i]), int(b.AttentionMask[i])
		tokens += in.Mask[i]
	}
	return in, tokens
}

// Evaluate implements train.Task: the span loss of the dev windows, and the
// pipeline's answers scored with the SQuAD script's EM and F1 (exact, f1;
// HasAns_*, NoAns_* and best_* on data with unanswerable questions).
func (t *Task) Evaluate(ctx context.Context) (train.Eval, error) {
	if len(t.dev) == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	enc, err := t.model.Encoder(nil) // the weights of this step
	if err != nil {
		return train.Eval{}, err
	}
	loss, err := SpanLoss(ctx, enc, t.devFeats, t.B, t.padID)
	if err != nil {
		return train.Eval{}, err
	}
	p, err := pipeline.NewQuestionAnswering(enc, t.tok, &pipeline.Options{BatchSize: t.B})
	if err != nil {
		return train.Eval{}, err
	}
	preds, err := Predict(ctx, p, t.dev, t.evalOpts)
	if err != nil {
		return train.Eval{}, err
	}
	s, err := Score(t.dev, preds)
	if err != nil {
		return train.Eval{}, err
	}
	t.LastScores, t.LastPredictions = &s, preds
	return train.Eval{Loss: loss, Metrics: ScoreMetrics(s)}, nil
}

// SpanLoss is the mean span loss (Hugging Face's (CE(start) + CE(end)) / 2)
// of windows under the inference encoder enc, in batches of B.
func SpanLoss(ctx context.Context, enc *bert.Encoder, feats []Feature, B int, padID int32) (float64, error) {
	if len(feats) == 0 {
		return 0, nil
	}
	B = max(B, 1)
	order := make([]int, len(feats)) // by length, so that batches pad little
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(feats[a].InputIDs) - len(feats[b].InputIDs) })
	var ws bert.Workspace
	batch := make([]data.ClassExample, 0, B)
	sum := 0.0
	for lo := 0; lo < len(order); lo += B {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		batch = batch[:0]
		part := order[lo:min(lo+B, len(order))]
		for _, j := range part {
			batch = append(batch, data.ClassExample{InputIDs: feats[j].InputIDs, TokenTypeIDs: feats[j].TokenTypeIDs})
		}
		in, _ := collate(batch, padID)
		start, end, err := enc.AnswerSpans(&ws, in)
		if err != nil {
			return 0, err
		}
		for r, j := range part {
			row := r * in.T
			sum += (crossEntropy(start[row:row+in.T], int(feats[j].Start)) + crossEntropy(end[row:row+in.T], int(feats[j].End))) / 2
		}
	}
	return sum / float64(len(feats)), nil
}

// crossEntropy is −log softmax(logits)[target], in float64.
func crossEntropy(logits []float32, target int) float64 {
	hi := math.Inf(-1)
	for _, v := range logits {
		hi = math.Max(hi, float64(v))
	}
	s := 0.0
	for _, v := range logits {
		s += math.Exp(float64(v) - hi)
	}
	return hi + math.Log(s) - float64(logits[target])
}

// Save implements train.Task: a BertForQuestionAnswering folder.
func (t *Task) Save(dir string) error {
	if err := t.model.Save(dir); err != nil {
		return err
	}
	if t.SaveExtra != nil {
		return t.SaveExtra(dir)
	}
	return nil
}

// LoadWeights implements train.WeightLoader.
func (t *Task) LoadWeights(dir string) error { return bert.LoadParams(dir, t.model.Params()) }

// State implements train.Task.
func (t *Task) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *Task) SetState(b json.RawMessage) error { return t.learn.Data.SetState(b, "qa") }

// NewModel returns the BertForQuestionAnswering to fine-tune from the
// model folder dir: its span head too when dir holds one (a model
// fine-tuned before), else the encoder of whichever BERT class saved it
// (BertModel, BertForPreTraining, BertForMaskedLM, …) with a fresh
// qa_outputs drawn from rng (HF's initialisation). BertForQuestionAnswering
// has no pooler; a pretrained pooler is dropped.
func NewModel(dir string, rng *tensor.RNG) (*bert.ForQuestionAnswering, error) {
	m, err := bert.LoadForQuestionAnswering(dir)
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, bert.ErrMissingTensor) || !strings.Contains(err.Error(), "qa_outputs") {
		return nil, fmt.Errorf("qa: pretrained encoder: %w", err)
	}
	enc, err := bert.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("qa: pretrained encoder: %w", err)
	}
	cfg := enc.Config
	cfg.Architectures = []string{"BertForQuestionAnswering"}
	if m, err = bert.NewForQuestionAnswering(cfg, rng); err != nil {
		return nil, fmt.Errorf("qa: %w", err)
	}
	src := map[string]*autograd.Var{}
	for _, p := range enc.Params() {
		src[p.Name] = p.Var
	}
	for _, p := range m.Bert.Params() {
		copy(p.Var.Value.Data(), src[p.Name].Value.Data())
	}
	return m, nil
}
