package pretrain

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// Random streams of the ELECTRA task, beside the BERT tasks' ones.
const (
	streamSample uint64 = iota + 16
	streamEvalSample
)

// GeneratorDir is the sub-folder of an ELECTRA run's model folders that
// holds the generator (ElectraForMaskedLM); the folder itself holds the
// discriminator (ElectraForPreTraining), the encoder that fine-tuning uses.
const GeneratorDir = "generator"

// ElectraTask pretrains an ELECTRA discriminator by replaced-token
// detection (Clark et al., 2020). Each micro-batch is masked as BERT's
// masked LM; the generator predicts the masked tokens, and a token drawn
// from its softmax at each masked position (no gradient flows through the
// draw) replaces the input for the discriminator, which learns to tell, at
// every non-pad position, whether the token is the original. The two
// networks share their embeddings (word, position and type tables and
// their LayerNorm) and train together on
//
//	loss = generator MLM cross-entropy + DiscWeight · discriminator BCE
//
// Masking, dropout and sampling of micro-batch k use generators seeded from
// (seed, k), so the resumable state is the sampler position and k, as for
// MLMTask.
type ElectraTask struct {
	gen    *bert.ElectraGenerator
	disc   *bert.ElectraDiscriminator
	learn  *microbatch.Learner[data.PretrainExample]
	eval   []data.PretrainExample
	masker *data.Masker
	seed   uint64
	lambda float64
	B, T   int
	padID  int32
	last   map[string]float64 // metrics of the last micro-batch

	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the discriminator is saved to.
	SaveExtra func(dir string) error
}

// ElectraOptions configure NewElectraTask.
type ElectraOptions struct {
	BatchSize int    // sequences per micro-batch (required)
	MaxLen    int    // sequence length; batches are padded to it (required)
	Seed      uint64 // data order, masking, dropout and sampling
	PadID     int32  // [PAD]
	// DiscWeight is λ, the weight of the discriminator's loss (zero: 50,
	// the paper's).
	DiscWeight float64
	// Eval holds the validation examples (masked and sampled with fixed
	// seeds at every evaluation, so evaluations are comparable).
	Eval []data.PretrainExample
}

// NewElectraTask returns an ELECTRA pretraining task. The generator is
// made to share the discriminator's embeddings (ElectraGenerator.
// ShareEmbeddings), which must therefore have the same shape.
func NewElectraTask(gen *bert.ElectraGenerator, disc *bert.ElectraDiscriminator, examples []data.PretrainExample, masker *data.Masker, opts ElectraOptions) (*ElectraTask, error) {
	if opts.BatchSize <= 0 || opts.MaxLen <= 0 {
		return nil, fmt.Errorf("pretrain: electra: batch size %d and length %d must be positive", opts.BatchSize, opts.MaxLen)
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("pretrain: electra: no training examples")
	}
	if opts.DiscWeight == 0 {
		opts.DiscWeight = 50
	}
	if !(opts.DiscWeight > 0) || math.IsInf(opts.DiscWeight, 0) {
		return nil, fmt.Errorf("pretrain: electra: discriminator weight %g must be positive", opts.DiscWeight)
	}
	if err := gen.ShareEmbeddings(disc); err != nil {
		return nil, fmt.Errorf("pretrain: electra: %w", err)
	}
	s, err := data.NewIndexSampler(len(examples), opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("pretrain: electra: %w", err)
	}
	learn := microbatch.NewLearner(microbatch.NewStream(examples, s, opts.BatchSize, opts.Seed), electraParams(gen, disc),
		microbatch.LearnerOptions{})
	return &ElectraTask{gen: gen, disc: disc, learn: learn, eval: opts.Eval, masker: masker, seed: opts.Seed,
		lambda: opts.DiscWeight, B: opts.BatchSize, T: opts.MaxLen, padID: opts.PadID}, nil
}

// electraParams lists the discriminator's parameters as
// "discriminator.<name>" and the generator's own as "generator.<name>"
// (the shared embeddings once, under the discriminator).
func electraParams(gen *bert.ElectraGenerator, disc *bert.ElectraDiscriminator) []nn.NamedParam {
	seen := map[*autograd.Var]bool{}
	var ps []nn.NamedParam
	for _, p := range disc.Params() {
		seen[p.Var] = true
		ps = append(ps, nn.NamedParam{Name: "discriminator." + p.Name, Var: p.Var})
	}
	for _, p := range gen.Params() {
		if !seen[p.Var] {
			ps = append(ps, nn.NamedParam{Name: "generator." + p.Name, Var: p.Var})
		}
	}
	return ps
}

// Params implements train.Task.
func (t *ElectraTask) Params() []optim.Param { return t.learn.Params() }

// electraStep is one forward pass of both networks.
type electraStep struct {
	total, genLoss, discLoss *autograd.Var
	metrics                  map[string]float64
}

// sampleFunc draws one token per row of generator logits [rows, V].
type sampleFunc func(logits []float32, rows, V int) []int

// forward runs the generator on the masked batch, replaces the masked
// positions by sample's draws, runs the discriminator on the result and
// returns the losses and the batch's metrics.
func (t *ElectraTask) forward(b data.MLMBatch, sample sampleFunc) (*electraStep, error) {
	in, labels, _ := mlmInput(b)
	logits, pos, err := t.gen.ForwardMasked(in, labels)
	if err != nil {
		return nil, err
	}
	picked := make([]int, len(pos))
	for i, p := range pos {
		picked[i] = labels[p]
	}
	genLoss, err := t.gen.Loss(logits, picked)
	if err != nil {
		return nil, err
	}
	V := logits.Value.Dim(-1)
	lv := logits.Value.Contiguous().Data()
	sampled := sample(lv, len(pos), V) // a draw, not a function of the weights: no gradient
	// The discriminator's input: the original tokens, with the draws at the
	// masked positions; a draw that equals the original counts as original.
	ids := make([]int, len(in.IDs))
	orig := make([]int, len(in.IDs))
	copy(ids, in.IDs)
	copy(orig, in.IDs)
	for i, p := range pos {
		ids[p], orig[p] = sampled[i], labels[p]
	}
	replaced := make([]int, len(ids))
	for i := range ids {
		if ids[i] != orig[i] {
			replaced[i] = 1
		}
	}
	dIn := in
	dIn.IDs = ids
	_, dLogits, err := t.disc.Forward(dIn, nil)
	if err != nil {
		return nil, err
	}
	discLoss, err := t.disc.Loss(dLogits, replaced, in.Mask)
	if err != nil {
		return nil, err
	}
	total := autograd.Add(genLoss, autograd.MulScalar(discLoss, float32(t.lambda)))

	// Metrics: the generator's accuracy on the masked tokens, the
	// discriminator's on every real token, and how many tokens were replaced.
	preds := make([]int32, len(pos))
	metrics.Argmax(preds, lv, V)
	genCorrect := 0
	for i := range pos {
		if int(preds[i]) == picked[i] {
			genCorrect++
		}
	}
	dl := dLogits.Value.Contiguous().Data()
	var real, discCorrect, nReplaced, caught int
	for i := range ids {
		if in.Mask != nil && in.Mask[i] != 1 {
			continue
		}
		real++
		guess := 0
		if dl[i] > 0 {
			guess = 1
		}
		if guess == replaced[i] {
			discCorrect++
		}
		if replaced[i] == 1 {
			nReplaced++
			caught += guess
		}
	}
	m := map[string]float64{
		"gen_loss":      float64(genLoss.Value.Item()),
		"disc_loss":     float64(discLoss.Value.Item()),
		"gen_accuracy":  float64(genCorrect) / float64(len(pos)),
		"disc_accuracy": float64(discCorrect) / float64(max(real, 1)),
		"replaced":      float64(nReplaced) / float64(max(real, 1)),
	}
	if nReplaced > 0 {
		m["disc_recall"] = float64(caught) / float64(nReplaced)
	}
	return &electraStep{total: total, genLoss: genLoss, discLoss: discLoss, metrics: m}, nil
}

// sampleSoftmax returns a sampleFunc that draws each row's token from the
// softmax of its logits (temperature 1), by inverting the cumulative
// distribution at one uniform number per row.
func sampleSoftmax(rng *rand.Rand) sampleFunc {
	return func(logits []float32, rows, V int) []int {
		out := make([]int, rows)
		p := make([]float64, V)
		for r := range rows {
			row := logits[r*V : (r+1)*V]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			var sum float64
			for j, v := range row {
				p[j] = math.Exp(float64(v) - mx)
				sum += p[j]
			}
			u := rng.Float64() * sum
			out[r] = V - 1
			for j, pj := range p {
				if u < pj {
					out[r] = j
					break
				}
				u -= pj
			}
		}
		return out
	}
}

// Step implements train.Task.
func (t *ElectraTask) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, func(batch []data.PretrainExample, seeds []uint64) (*autograd.Var, int, error) {
		b := t.masker.Collate(data.NewRand(seeds[0]), batch, t.padID, t.T)
		t.gen.SetTraining(true, t.learn.Dropout)
		t.disc.SetTraining(true, t.learn.Dropout)
		st, err := t.forward(b, sampleSoftmax(data.NewRand(seeds[1])))
		if err != nil {
			return nil, 0, err
		}
		t.last = st.metrics
		return st.total, microbatch.Tokens(b.AttentionMask), nil
	}, streamMask, streamSample)
}

// StepMetrics implements train.StepMetricsReporter: the generator's and the
// discriminator's losses and accuracies on the last micro-batch.
func (t *ElectraTask) StepMetrics() map[string]float64 { return t.last }

// Evaluate implements train.Task: the total, generator and discriminator losses,
// the generator's accuracy on the masked tokens, the discriminator's on
// every real token and its recall of the replaced ones, on the validation
// examples masked and sampled with fixed seeds, without dropout.
func (t *ElectraTask) Evaluate(ctx context.Context) (train.Eval, error) {
	if len(t.eval) == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	t.gen.SetTraining(false, nil)
	t.disc.SetTraining(false, nil)
	prev := t.learn.Graph.SetGradEnabled(false)
	defer t.learn.Graph.SetGradEnabled(prev)
	mask := data.NewRand(train.StepSeed(t.seed, 0, streamEvalMask))
	sample := sampleSoftmax(data.NewRand(train.StepSeed(t.seed, 0, streamEvalSample)))
	var loss float64
	sums := map[string]float64{}
	batches := 0
	for i := 0; i < len(t.eval); i += t.B {
		if err := ctx.Err(); err != nil {
			return train.Eval{}, err
		}
		t.learn.Graph.Reset()
		b := t.masker.Collate(mask, t.eval[i:min(i+t.B, len(t.eval))], t.padID, t.T)
		st, err := t.forward(b, sample)
		if err != nil {
			return train.Eval{}, err
		}
		loss += float64(st.total.Value.Item())
		for k, v := range st.metrics {
			sums[k] += v
		}
		batches++
	}
	t.learn.Graph.Reset()
	ev := train.Eval{Loss: loss / float64(batches), Metrics: map[string]float64{}}
	for k, v := range sums {
		ev.Metrics[k] = v / float64(batches)
	}
	return ev, nil
}

// Save implements train.Task: the discriminator into dir (with SaveExtra's
// files), the generator into dir/generator.
func (t *ElectraTask) Save(dir string) error {
	if err := t.disc.Save(dir); err != nil {
		return err
	}
	if err := t.gen.Save(filepath.Join(dir, GeneratorDir)); err != nil {
		return err
	}
	if t.SaveExtra != nil {
		return t.SaveExtra(dir)
	}
	return nil
}

// LoadWeights implements train.WeightLoader.
func (t *ElectraTask) LoadWeights(dir string) error {
	if err := bert.LoadParams(dir, t.disc.Params()); err != nil {
		return err
	}
	return bert.LoadParams(filepath.Join(dir, GeneratorDir), t.gen.Params())
}

// State implements train.Task.
func (t *ElectraTask) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *ElectraTask) SetState(b json.RawMessage) error {
	return t.learn.Data.SetState(b, "pretrain: electra")
}
