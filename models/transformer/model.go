package transformer

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// Model is the encoder-decoder Transformer. Its parameters are nn's
// encoder and decoder layers (post-LN, fused q|k|v projections) around one
// token embedding. It is used from one goroutine.
type Model struct {
	Config  Config
	Shared  *autograd.Var // model.shared.weight [V, C]: both embeddings and the tied output projection
	Encoder *nn.TransformerEncoder
	Decoder *nn.TransformerDecoder

	positions *tensor.Tensor // [MaxLen, C] sinusoidal table, halves layout
	scale     float32        // √C
}

// New returns a freshly initialised model: embeddings N(0, 1/C) with a zero
// padding row (fairseq's Transformer, so that √C-scaled embeddings start
// with unit variance), Xavier-uniform matrices in the layers (as
// torch.nn.Transformer), zero attention biases. rng seeds the weights and
// later draws the dropout masks.
func New(cfg Config, rng *tensor.RNG) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	lc := nn.LayerConfig{Dim: cfg.Dim, Heads: cfg.Heads, Hidden: cfg.FFN, Activation: cfg.Activation, Dropout: cfg.Dropout}
	enc, err := nn.NewTransformerEncoder(nn.StackConfig{LayerConfig: lc, Layers: cfg.EncoderLayers, MaxLen: cfg.MaxLen,
		Positions: nn.PositionsNone}, rng)
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	dec, err := nn.NewTransformerDecoder(nn.StackConfig{LayerConfig: lc, Layers: cfg.DecoderLayers, MaxLen: cfg.MaxLen,
		Positions: nn.PositionsNone}, rng)
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	shared := autograd.Param(tensor.New(cfg.Vocab, cfg.Dim))
	rng.Normal(shared.Value, 0, float32(1/math.Sqrt(float64(cfg.Dim))))
	shared.Value.Slice(0, cfg.PadID, cfg.PadID+1).Zero()
	return &Model{Config: cfg, Shared: shared, Encoder: enc, Decoder: dec,
		positions: nn.SinusoidalTableHalves(cfg.MaxLen, cfg.Dim), scale: float32(math.Sqrt(float64(cfg.Dim)))}, nil
}

// SetTraining switches dropout on or off. A non-nil rng draws every mask
// from then on (the stacks' embedding dropout and every layer's), so that a
// training step's masks depend only on rng's seed.
func (m *Model) SetTraining(on bool, rng *tensor.RNG) {
	m.Encoder.SetTraining(on)
	m.Decoder.SetTraining(on)
	if rng != nil {
		m.Encoder.Dropout.RNG, m.Decoder.Dropout.RNG = rng, rng
		for _, l := range m.Encoder.Layers {
			l.SetDropout(m.Config.Dropout, rng)
		}
		for _, l := range m.Decoder.Layers {
			l.SetDropout(m.Config.Dropout, rng)
		}
	}
}

// Batch is a padded batch of token ids in row-major [B, S] and [B, T]
// order. Source rows are right-padded with PadID; Target holds the decoder
// inputs (the decoder start token, then the target shifted right) and
// Labels the tokens to predict (the target then EOS), IgnoreIndex under
// padding.
type Batch struct {
	B, S, T int
	Source  []int
	Target  []int
	Labels  []int
}

// IgnoreIndex marks a label that contributes neither loss nor gradient
// (PyTorch's ignore_index default).
const IgnoreIndex = tensor.DefaultIgnoreIndex

// embed returns √C·E[ids] + PE[:L] for ids [B, L]; the stacks apply the
// embedding dropout.
func (m *Model) embed(ids []int, B, L int) (*autograd.Var, error) {
	if L > m.Config.MaxLen {
		return nil, fmt.Errorf("transformer: sequence of %d tokens exceeds the model's %d positions", L, m.Config.MaxLen)
	}
	V := m.Config.Vocab
	for _, id := range ids {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("transformer: token id %d outside the vocabulary of %d", id, V)
		}
	}
	x, err := autograd.Embedding(m.Shared, ids, B, L) // [B, L, C]
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	x = autograd.MulScalar(x, m.scale)
	return autograd.Add(x, autograd.Const(m.positions.Slice(0, 0, L))), nil
}

// Forward returns the logits [B, T, V] of the batch's decoder inputs over
// its sources.
func (m *Model) Forward(b Batch) (*autograd.Var, error) {
	h, err := m.decode(b)
	if err != nil {
		return nil, err
	}
	return autograd.Linear(h, m.Shared, nil), nil // [B, T, V]; final_logits_bias is zero
}

// LabelledLogits returns the logits [N, V] of the batch's N decoder
// positions whose label is not IgnoreIndex, in row-major order, and those
// N labels: the rows of Forward that a loss reads, without projecting the
// target padding onto the vocabulary. Loss over them equals Loss over
// Forward's logits and b.Labels.
func (m *Model) LabelledLogits(b Batch) (*autograd.Var, []int, error) {
	if len(b.Labels) != b.B*b.T {
		return nil, nil, fmt.Errorf("transformer: %d labels for %d×%d targets", len(b.Labels), b.B, b.T)
	}
	h, err := m.decode(b)
	if err != nil {
		return nil, nil, err
	}
	var rows, labels []int
	for i, l := range b.Labels {
		if l != IgnoreIndex {
			rows, labels = append(rows, i), append(labels, l)
		}
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("transformer: the batch has no labels")
	}
	hr, err := autograd.Embedding(autograd.Reshape(h, -1, m.Config.Dim), rows) // [N, C]
	if err != nil {
		return nil, nil, fmt.Errorf("transformer: %w", err)
	}
	return autograd.Linear(hr, m.Shared, nil), labels, nil
}

// decode returns the decoder's output [B, T, C] for the batch's decoder
// inputs over its sources.
func (m *Model) decode(b Batch) (*autograd.Var, error) {
	if b.B <= 0 || b.S <= 0 || b.T <= 0 || len(b.Source) != b.B*b.S || len(b.Target) != b.B*b.T {
		return nil, fmt.Errorf("transformer: batch %d×%d sources and %d×%d targets hold %d and %d ids", b.B, b.S, b.B, b.T,
			len(b.Source), len(b.Target))
	}
	pad := make([]bool, len(b.Source))
	for i, id := range b.Source {
		pad[i] = id == m.Config.PadID
	}
	src, err := m.embed(b.Source, b.B, b.S)
	if err != nil {
		return nil, err
	}
	memory, err := m.Encoder.Forward(src, pad) // [B, S, C]
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	tgt, err := m.embed(b.Target, b.B, b.T)
	if err != nil {
		return nil, err
	}
	// Targets are right-padded and attention is causal, so target padding
	// never reaches a real position: no target mask is needed.
	h, err := m.Decoder.Forward(tgt, memory, nil, pad) // [B, T, C]
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	return h, nil
}

// Loss returns the mean label-smoothed cross-entropy of logits against
// labels (torch.nn.CrossEntropyLoss(label_smoothing=ε, ignore_index=-100)).
func Loss(logits *autograd.Var, labels []int, smoothing float32) (*autograd.Var, error) {
	l, err := autograd.CrossEntropy(logits, labels, tensor.CrossEntropyOptions{LabelSmoothing: smoothing})
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	return l, nil
}

// Params returns every parameter under a stable name: model.shared.weight,
// then the encoder's and the decoder's (nn's names under model.encoder. and
// model.decoder.). Save writes them under MarianMTModel's names.
func (m *Model) Params() []nn.NamedParam {
	ps := []nn.NamedParam{{Name: "model.shared.weight", Var: m.Shared}}
	for _, p := range m.Encoder.Params() {
		ps = append(ps, nn.NamedParam{Name: "model.encoder." + p.Name, Var: p.Var})
	}
	for _, p := range m.Decoder.Params() {
		ps = append(ps, nn.NamedParam{Name: "model.decoder." + p.Name, Var: p.Var})
	}
	return ps
}
