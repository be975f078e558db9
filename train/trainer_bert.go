package train

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
)

// stepSeed derives the seed of one step's random stream (masking, dropout)
// from the run seed, so that the randomness of step s is a pure function of
// (seed, s, stream) and a resumed run needs no generator state.
func stepSeed(seed uint64, step int, stream uint64) uint64 {
	x := seed ^ (uint64(step)+1)*0x9E3779B97F4A7C15 ^ stream*0xBF58476D1CE4E5B9
	x ^= x >> 31
	x *= 0x94D049BB133111EB
	return x ^ x>>29
}

// Random streams of the BERT tasks.
const (
	streamMask uint64 = iota + 1
	streamDropout
	streamEvalMask
)

// MLMTask pretrains a BertForPreTraining with the masked-LM and
// next-sentence objectives (or masked LM only, when the examples carry no
// sentence pairs). Examples come in a seeded per-epoch order
// (data.IndexSampler); the masking and dropout of micro-batch k use
// generators seeded from (seed, k), so the task's resumable state is the
// sampler position and k.
type MLMTask struct {
	model   *bert.ForPreTraining
	graph   *autograd.Graph
	params  []optim.Param
	train   []data.PretrainExample
	eval    []data.PretrainExample
	masker  *data.Masker
	sampler *data.IndexSampler
	dropout *tensor.RNG
	seed    uint64
	micro   int // micro-batches drawn so far
	B, T    int
	padID   int32
	idx     []int
	batch   []data.PretrainExample

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
		return nil, fmt.Errorf("train: mlm: batch size %d and length %d must be positive", opts.BatchSize, opts.MaxLen)
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("train: mlm: no training examples")
	}
	s, err := data.NewIndexSampler(len(examples), opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: mlm: %w", err)
	}
	t := &MLMTask{
		model: model, graph: autograd.NewGraph(), params: nn.OptimParams(model.Params()),
		train: examples, eval: opts.Eval, masker: masker, sampler: s, dropout: tensor.NewRNG(opts.Seed),
		seed: opts.Seed, B: opts.BatchSize, T: opts.MaxLen, padID: opts.PadID,
		idx: make([]int, opts.BatchSize), batch: make([]data.PretrainExample, opts.BatchSize),
	}
	t.graph.SetBF16(opts.BF16)
	for _, p := range model.Params() {
		t.graph.Attach(p.Var)
	}
	return t, nil
}

// Params implements Task.
func (t *MLMTask) Params() []optim.Param { return t.params }

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
				nsp[i] = IgnoreIndex
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

// Step implements Task.
func (t *MLMTask) Step(ctx context.Context) (float64, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	t.graph.Reset()
	drawBatch(t.sampler, t.idx, t.train, t.batch)
	rng := data.NewRand(stepSeed(t.seed, t.micro, streamMask))
	t.dropout.Seed(stepSeed(t.seed, t.micro, streamDropout))
	t.micro++
	b := t.masker.Collate(rng, t.batch, t.padID, t.T)
	in, mlm, nsp := mlmInput(b)
	t.model.SetTraining(true, t.dropout)
	out, err := t.model.ForwardMasked(in, mlm, nil)
	if err != nil {
		return 0, 0, err
	}
	total, _, _, err := t.model.Loss(out, mlm, nsp)
	if err != nil {
		return 0, 0, err
	}
	loss := float64(total.Value.Data()[0])
	autograd.Backward(total)
	tokens := 0
	for _, m := range b.AttentionMask {
		tokens += int(m)
	}
	return loss, tokens, nil
}

// Evaluate implements Task: masked-LM loss and accuracy, next-sentence
// accuracy, and the perplexity of the masked-LM loss, on the validation
// examples masked with a fixed seed, without dropout.
func (t *MLMTask) Evaluate(ctx context.Context) (Eval, error) {
	if len(t.eval) == 0 {
		return Eval{Metrics: map[string]float64{}}, nil
	}
	t.model.SetTraining(false, nil)
	prev := t.graph.SetGradEnabled(false)
	defer t.graph.SetGradEnabled(prev)
	rng := data.NewRand(stepSeed(t.seed, 0, streamEvalMask))
	var lossSum, mlmSum float64
	var batches, mlmCorrect, mlmTotal, nspCorrect, nspTotal int
	for i := 0; i < len(t.eval); i += t.B {
		if err := ctx.Err(); err != nil {
			return Eval{}, err
		}
		t.graph.Reset()
		b := t.masker.Collate(rng, t.eval[i:min(i+t.B, len(t.eval))], t.padID, t.T)
		in, mlm, nsp := mlmInput(b)
		out, err := t.model.ForwardMasked(in, mlm, nil)
		if err != nil {
			return Eval{}, err
		}
		total, mlmLoss, _, err := t.model.Loss(out, mlm, nsp)
		if err != nil {
			return Eval{}, err
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
		Argmax(preds, out.PredictionLogits.Value.Contiguous().Data(), V)
		c, n := MaskedAccuracy(preds, labels)
		mlmCorrect, mlmTotal = mlmCorrect+c, mlmTotal+n
		if nsp != nil {
			np := make([]int32, b.B)
			Argmax(np, out.SeqRelationshipLogits.Value.Contiguous().Data(), 2)
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
	t.graph.Reset()
	ev := Eval{Loss: lossSum / float64(batches), Metrics: map[string]float64{}}
	mlmMean := mlmSum / float64(batches)
	ev.Metrics["mlm_loss"] = mlmMean
	ev.Metrics["perplexity"] = Perplexity(mlmMean)
	if mlmTotal > 0 {
		ev.Metrics["mlm_accuracy"] = float64(mlmCorrect) / float64(mlmTotal)
	}
	if nspTotal > 0 {
		ev.Metrics["nsp_accuracy"] = float64(nspCorrect) / float64(nspTotal)
	}
	return ev, nil
}

// Save implements Task.
func (t *MLMTask) Save(dir string) error {
	if err := t.model.Save(dir); err != nil {
		return err
	}
	if t.SaveExtra != nil {
		return t.SaveExtra(dir)
	}
	return nil
}

// LoadWeights implements WeightLoader.
func (t *MLMTask) LoadWeights(dir string) error {
	return bert.LoadParams(dir, t.model.Params())
}

// State implements Task.
func (t *MLMTask) State() (json.RawMessage, error) {
	return marshalProgress(t.seed, t.micro, t.sampler)
}

// SetState implements Task.
func (t *MLMTask) SetState(b json.RawMessage) error {
	return restoreProgress(b, "mlm", t.seed, &t.micro, t.sampler)
}

// drawBatch fills dst with the examples of src at the sampler's next
// len(idx) indices (idx is scratch space).
func drawBatch[E any](s *data.IndexSampler, idx []int, src, dst []E) {
	s.Batch(idx)
	for i, j := range idx {
		dst[i] = src[j]
	}
}

// progress is the resumable state shared by the tasks that draw examples
// with a data.IndexSampler: the run's seed (a checkpoint only resumes the
// same run), the micro-batches drawn so far (they seed masking and
// dropout) and the sampler's position.
type progress struct {
	Seed    uint64            `json:"seed"`
	Micro   int               `json:"micro_batches"`
	Sampler data.SamplerState `json:"sampler"`
}

func marshalProgress(seed uint64, micro int, s *data.IndexSampler) (json.RawMessage, error) {
	return json.Marshal(progress{Seed: seed, Micro: micro, Sampler: s.State()})
}

// restoreProgress reads a progress record into micro and s; task names the
// task in errors.
func restoreProgress(b json.RawMessage, task string, seed uint64, micro *int, s *data.IndexSampler) error {
	var st progress
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("train: %s state: %w", task, err)
	}
	if st.Seed != seed {
		return fmt.Errorf("train: %s state: checkpoint was written with seed %d, this run has %d", task, st.Seed, seed)
	}
	*micro = st.Micro
	return s.SetState(st.Sampler)
}
