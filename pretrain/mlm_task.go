package pretrain

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// Random streams of the BERT pretraining tasks (train.StepSeed; dropout
// is train.StreamDropout, 2).
const (
	streamMask     uint64 = 1
	streamEvalMask uint64 = 3
)

// MLMTask pretrains a BertForPreTraining with the masked-LM and
// next-sentence objectives (or masked LM only, when the examples carry no
// sentence pairs). Examples come in a seeded per-epoch order
// (data.IndexSampler); the masking and dropout of micro-batch k use
// generators seeded from (seed, k), so the task's resumable state is the
// sampler position and k.
type MLMTask struct {
	model  *bert.ForPreTraining
	learn  *microbatch.Learner[data.PretrainExample]
	eval   []data.PretrainExample
	masker *data.Masker
	seed   uint64
	B, T   int
	padID  int32

	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the model is saved to.
	SaveExtra func(dir string) error
}

// MLMOptions configure NewMLMTask.
type MLMOptions struct {
	BatchSize int    // sequences per micro-batch (required)
	MaxLen    int    // sequence length; batches are padded to it (required)
	Seed      uint64 // data order, masking and dropout
	PadID     int32  // [PAD]
	// Eval holds the validation examples (masked with a fixed seed at
	// every evaluation, so evaluations are comparable).
	Eval []data.PretrainExample
	// BF16 trains and evaluates in bfloat16 mixed precision: the linear
	// layers' products in bfloat16 with float32 sums, float32 master
	// weights, gradients and optimizer state (autograd.Graph.SetBF16).
	// False: float32.
	BF16 bool
}

// NewMLMTask returns a BERT pretraining task over the examples.
func NewMLMTask(model *bert.ForPreTraining, examples []data.PretrainExample, masker *data.Masker, opts MLMOptions) (*MLMTask, error) {
	if opts.BatchSize <= 0 || opts.MaxLen <= 0 {
		return nil, fmt.Errorf("pretrain: mlm: batch size %d and length %d must be positive", opts.BatchSize, opts.MaxLen)
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("pretrain: mlm: no training examples")
	}
	s, err := data.NewIndexSampler(len(examples), opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("pretrain: mlm: %w", err)
	}
	learn := microbatch.NewLearner(microbatch.NewStream(examples, s, opts.BatchSize, opts.Seed), model.Params(),
		microbatch.LearnerOptions{BF16: opts.BF16})
	return &MLMTask{model: model, learn: learn, eval: opts.Eval, masker: masker, seed: opts.Seed,
		B: opts.BatchSize, T: opts.MaxLen, padID: opts.PadID}, nil
}

// Params implements train.Task.
func (t *MLMTask) Params() []optim.Param { return t.learn.Params() }

// input converts a collated batch to the model's input and labels.
func mlmInput(b data.MLMBatch) (in bert.Input, mlm, nsp []int) {
	in = bert.Input{B: b.B, T: b.T, IDs: ints(b.InputIDs), TypeIDs: ints(b.TokenTypeIDs), Mask: ints(b.AttentionMask)}
	mlm = ints(b.Labels)
	paired := false
	for _, v := range b.NextSentence {
		paired = paired || v >= 0
	}
	if paired {
		nsp = make([]int, len(b.NextSentence))
		for i, v := range b.NextSentence {
			nsp[i] = int(v)
			if v < 0 {
				nsp[i] = metrics.IgnoreIndex
			}
		}
	}
	return in, mlm, nsp
}

func ints(s []int32) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

// Step implements train.Task.
func (t *MLMTask) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, func(batch []data.PretrainExample, seeds []uint64) (*autograd.Var, int, error) {
		b := t.masker.Collate(data.NewRand(seeds[0]), batch, t.padID, t.T)
		in, mlm, nsp := mlmInput(b)
		t.model.SetTraining(true, t.learn.Dropout)
		out, err := t.model.ForwardMasked(in, mlm, nil)
		if err != nil {
			return nil, 0, err
		}
		total, _, _, err := t.model.Loss(out, mlm, nsp)
		return total, microbatch.Tokens(b.AttentionMask), err
	}, streamMask)
}

// Evaluate implements train.Task: masked-LM loss and accuracy, next-sentence
// accuracy, and the perplexity of the masked-LM loss, on the validation
// examples masked with a fixed seed, without dropout.
func (t *MLMTask) Evaluate(ctx context.Context) (train.Eval, error) {
	if len(t.eval) == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	t.model.SetTraining(false, nil)
	prev := t.learn.Graph.SetGradEnabled(false)
	defer t.learn.Graph.SetGradEnabled(prev)
	rng := data.NewRand(train.StepSeed(t.seed, 0, streamEvalMask))
	var lossSum, mlmSum float64
	var batches, mlmCorrect, mlmTotal, nspCorrect, nspTotal int
	for i := 0; i < len(t.eval); i += t.B {
		if err := ctx.Err(); err != nil {
			return train.Eval{}, err
		}
		t.learn.Graph.Reset()
		b := t.masker.Collate(rng, t.eval[i:min(i+t.B, len(t.eval))], t.padID, t.T)
		in, mlm, nsp := mlmInput(b)
		out, err := t.model.ForwardMasked(in, mlm, nil)
		if err != nil {
			return train.Eval{}, err
		}
		total, mlmLoss, _, err := t.model.Loss(out, mlm, nsp)
		if err != nil {
			return train.Eval{}, err
		}
		lossSum += float64(total.Value.Data()[0])
		mlmSum += float64(mlmLoss.Value.Data()[0])
		batches++
		V := out.PredictionLogits.Value.Dim(-1)
		labels := b.Labels
		if out.Positions != nil { // logits of the labelled positions only
			labels = make([]int32, len(out.Positions))
			for i, p := range out.Positions {
				labels[i] = b.Labels[p]
			}
		}
		preds := make([]int32, len(labels))
		metrics.Argmax(preds, out.PredictionLogits.Value.Contiguous().Data(), V)
		c, n := metrics.MaskedAccuracy(preds, labels)
		mlmCorrect, mlmTotal = mlmCorrect+c, mlmTotal+n
		if nsp != nil {
			np := make([]int32, b.B)
			metrics.Argmax(np, out.SeqRelationshipLogits.Value.Contiguous().Data(), 2)
			for r, l := range nsp {
				if l >= 0 {
					nspTotal++
					if int(np[r]) == l {
						nspCorrect++
					}
				}
			}
		}
	}
	t.learn.Graph.Reset()
	ev := train.Eval{Loss: lossSum / float64(batches), Metrics: map[string]float64{}}
	mlmMean := mlmSum / float64(batches)
	ev.Metrics["mlm_loss"] = mlmMean
	ev.Metrics["perplexity"] = metrics.Perplexity(mlmMean)
	if mlmTotal > 0 {
		ev.Metrics["mlm_accuracy"] = float64(mlmCorrect) / float64(mlmTotal)
	}
	if nspTotal > 0 {
		ev.Metrics["nsp_accuracy"] = float64(nspCorrect) / float64(nspTotal)
	}
	return ev, nil
}

// Save implements train.Task.
func (t *MLMTask) Save(dir string) error {
	if err := t.model.Save(dir); err != nil {
		return err
	}
	if t.SaveExtra != nil {
		return t.SaveExtra(dir)
	}
	return nil
}

// LoadWeights implements train.WeightLoader.
func (t *MLMTask) LoadWeights(dir string) error {
	return bert.LoadParams(dir, t.model.Params())
}

// State implements train.Task.
func (t *MLMTask) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *MLMTask) SetState(b json.RawMessage) error { return t.learn.Data.SetState(b, "pretrain: mlm") }
