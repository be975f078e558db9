package bert

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// MLMHead is BertOnlyMLMHead / the prediction half of BertPreTrainingHeads
// (cls.predictions):
//
//	h = LayerNorm(act(W·x + b))               transform.{dense, LayerNorm}
//	logits = h·Eᵀ + bias                      decoder, E = word embeddings (tied)
type MLMHead struct {
	Dense   *nn.Linear    // transform.dense [C, C]
	Act     nn.Activation // hidden_act
	Norm    *nn.LayerNorm // transform.LayerNorm
	Decoder *autograd.Var // decoder.weight [V, C]: the word embeddings, shared
	Bias    *autograd.Var // cls.predictions.bias [V] (= decoder.bias)
}

func newMLMHead(cfg Config, words *autograd.Var) *MLMHead {
	return &MLMHead{Dense: zeroLinear(cfg.HiddenSize, cfg.HiddenSize), Act: cfg.Activation,
		Norm: nn.NewLayerNorm(cfg.HiddenSize, float32(cfg.LayerNormEps)), Decoder: words,
		Bias: autograd.Param(tensor.New(cfg.VocabSize))}
}

// Forward maps hidden states [..., C] to vocabulary logits [..., V].
func (h *MLMHead) Forward(x *autograd.Var) *autograd.Var {
	x = h.Norm.Forward(activate(h.Act, h.Dense.Forward(x))) // [..., C]
	return autograd.Linear(x, h.Decoder, h.Bias)            // [..., V]
}

// Params returns transform.* and bias (the decoder weight is the word
// embedding, listed by the encoder).
func (h *MLMHead) Params() []nn.NamedParam {
	ps := prefixed("transform.dense", h.Dense.Params())
	ps = append(ps, prefixed("transform.LayerNorm", h.Norm.Params())...)
	return append(ps, nn.NamedParam{Name: "bias", Var: h.Bias})
}

// ForPreTraining is BertForPreTraining: BertModel with the masked-LM head
// and the next-sentence head (cls.seq_relationship, over the pooled output).
type ForPreTraining struct {
	Bert *Model     // bert.*
	MLM  *MLMHead   // cls.predictions.*
	NSP  *nn.Linear // cls.seq_relationship [2, C]
}

// PreTrainingOutput is what ForPreTraining.Forward returns.
type PreTrainingOutput struct {
	*Output
	// PredictionLogits are the masked-LM logits: [B, T, V] from Forward;
	// [M, V] from ForwardMasked, one row per entry of Positions.
	PredictionLogits      *autograd.Var
	SeqRelationshipLogits *autograd.Var // [B, 2]: 0 = "B follows A", 1 = random
	// Positions are the flat indices b·T+t of PredictionLogits' rows
	// (ForwardMasked only; nil means every position).
	Positions []int
}

func newForPreTraining(cfg Config) *ForPreTraining {
	m := newModel(cfg, true)
	return &ForPreTraining{Bert: m, MLM: newMLMHead(cfg, m.Embeddings.Word.Weight), NSP: zeroLinear(cfg.HiddenSize, 2)}
}

// NewForPreTraining returns a BertForPreTraining with HF's random
// initialisation.
func NewForPreTraining(cfg Config, rng *tensor.RNG) (*ForPreTraining, error) {
	return newInit(cfg, rng, newForPreTraining)
}

// Forward runs the model and both heads.
func (m *ForPreTraining) Forward(in Input, opts *ForwardOptions) (*PreTrainingOutput, error) {
	out, err := m.Bert.Forward(in, opts)
	if err != nil {
		return nil, err
	}
	return &PreTrainingOutput{Output: out,
		PredictionLogits:      m.MLM.Forward(out.LastHidden), // [B, T, V]
		SeqRelationshipLogits: m.NSP.Forward(out.Pooled),     // [B, 2]
	}, nil
}

// ForwardMasked is Forward with the masked-LM head applied only to the
// positions whose mlmLabels entry is not -100. Hugging Face computes the
// logits of every position and the loss ignores all but those, so the
// loss and every gradient are the same, while the head — a [C, V] product
// per position, about 40 % of a small BERT's step — costs ~15 % as much.
// With no labelled position it is Forward.
func (m *ForPreTraining) ForwardMasked(in Input, mlmLabels []int, opts *ForwardOptions) (*PreTrainingOutput, error) {
	pos, err := maskedPositions(in, mlmLabels)
	if err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		return m.Forward(in, opts)
	}
	out, err := m.Bert.Forward(in, opts)
	if err != nil {
		return nil, err
	}
	rows, err := gatherRows(out.LastHidden, pos)
	if err != nil {
		return nil, err
	}
	return &PreTrainingOutput{Output: out,
		PredictionLogits:      m.MLM.Forward(rows),       // [M, V]
		SeqRelationshipLogits: m.NSP.Forward(out.Pooled), // [B, 2]
		Positions:             pos,
	}, nil
}

// maskedPositions returns the flat positions b·T+t of in whose label is
// not -100.
func maskedPositions(in Input, labels []int) ([]int, error) {
	if len(labels) != in.B*in.T {
		return nil, fmt.Errorf("bert: %d masked-LM labels for a [%d, %d] batch", len(labels), in.B, in.T)
	}
	var pos []int
	for i, l := range labels {
		if l != -100 {
			pos = append(pos, i)
		}
	}
	return pos, nil
}

// gatherRows returns the rows pos of hidden [B, T, C] as [len(pos), C].
func gatherRows(hidden *autograd.Var, pos []int) (*autograd.Var, error) {
	rows, err := autograd.Embedding(autograd.Reshape(hidden, -1, hidden.Value.Dim(-1)), pos)
	if err != nil {
		return nil, fmt.Errorf("bert: gather masked positions: %w", err)
	}
	return rows, nil
}

// Loss returns HF's pre-training loss, the sum of the masked-LM
// cross-entropy (mean over the positions whose label is not -100) and the
// next-sentence cross-entropy (mean over the batch), and its two parts.
// mlmLabels is [B, T]; nspLabels is [B] (nil: masked-LM only).
func (m *ForPreTraining) Loss(out *PreTrainingOutput, mlmLabels, nspLabels []int) (total, mlm, nsp *autograd.Var, err error) {
	if out.Positions != nil {
		picked := make([]int, len(out.Positions))
		for i, p := range out.Positions {
			if p < 0 || p >= len(mlmLabels) {
				return nil, nil, nil, fmt.Errorf("bert: masked position %d outside %d labels", p, len(mlmLabels))
			}
			picked[i] = mlmLabels[p]
		}
		mlmLabels = picked
	}
	mlm, err = mlmLoss(out.PredictionLogits, mlmLabels)
	if err != nil {
		return nil, nil, nil, err
	}
	if nspLabels == nil {
		return mlm, mlm, nil, nil
	}
	nsp, err = autograd.CrossEntropy(out.SeqRelationshipLogits, nspLabels, tensor.CrossEntropyOptions{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bert: next-sentence loss: %w", err)
	}
	return autograd.Add(mlm, nsp), mlm, nsp, nil
}

func mlmLoss(logits *autograd.Var, labels []int) (*autograd.Var, error) {
	V := logits.Value.Dim(-1)
	loss, err := autograd.CrossEntropy(autograd.Reshape(logits, -1, V), labels, tensor.CrossEntropyOptions{})
	if err != nil {
		return nil, fmt.Errorf("bert: masked-LM loss: %w", err)
	}
	return loss, nil
}

// SetTraining switches dropout on or off (see Model.SetTraining).
func (m *ForPreTraining) SetTraining(on bool, rng *tensor.RNG) { m.Bert.SetTraining(on, rng) }

// Params lists every parameter under its BertForPreTraining state_dict
// name: bert.*, cls.predictions.*, cls.seq_relationship.*. The tied
// cls.predictions.decoder.weight is bert.embeddings.word_embeddings.weight
// and is not listed again.
func (m *ForPreTraining) Params() []nn.NamedParam {
	ps := prefixed("bert", m.Bert.Params())
	ps = append(ps, prefixed("cls.predictions", m.MLM.Params())...)
	return append(ps, prefixed("cls.seq_relationship", m.NSP.Params())...)
}

// ForMaskedLM is BertForMaskedLM: BertModel without a pooler, and the
// masked-LM head.
type ForMaskedLM struct {
	Bert *Model   // bert.*
	MLM  *MLMHead // cls.predictions.*
}

func newForMaskedLM(cfg Config) *ForMaskedLM {
	m := newModel(cfg, false)
	return &ForMaskedLM{Bert: m, MLM: newMLMHead(cfg, m.Embeddings.Word.Weight)}
}

// NewForMaskedLM returns a BertForMaskedLM with HF's random initialisation.
func NewForMaskedLM(cfg Config, rng *tensor.RNG) (*ForMaskedLM, error) {
	return newInit(cfg, rng, newForMaskedLM)
}

// Forward returns the encoder's output and the logits [B, T, V].
func (m *ForMaskedLM) Forward(in Input, opts *ForwardOptions) (*Output, *autograd.Var, error) {
	out, err := m.Bert.Forward(in, opts)
	if err != nil {
		return nil, nil, err
	}
	return out, m.MLM.Forward(out.LastHidden), nil
}

// Loss is the masked-LM cross-entropy of logits [B, T, V] against labels
// [B, T] (-100 ignores a position), averaged over the labelled positions.
func (m *ForMaskedLM) Loss(logits *autograd.Var, labels []int) (*autograd.Var, error) {
	return mlmLoss(logits, labels)
}

// SetTraining switches dropout on or off (see Model.SetTraining).
func (m *ForMaskedLM) SetTraining(on bool, rng *tensor.RNG) { m.Bert.SetTraining(on, rng) }

// Params lists bert.* and cls.predictions.* (decoder weight tied, not listed).
func (m *ForMaskedLM) Params() []nn.NamedParam {
	return append(prefixed("bert", m.Bert.Params()), prefixed("cls.predictions", m.MLM.Params())...)
}

// ForSequenceClassification is BertForSequenceClassification:
//
//	logits = W·Dropout(pooler_output) + b        classifier [labels, C]
//
// or, for an ELECTRA encoder (Config.Variant Electra, no pooler),
// ElectraForSequenceClassification's head over the first token:
//
//	logits = W·Dropout(GELU(W₁·Dropout(x₀) + b₁)) + b    classifier.dense, classifier.out_proj
type ForSequenceClassification struct {
	Bert       *Model     // bert.* (electra.*)
	Dropout    nn.Dropout // classifier_dropout, else hidden_dropout_prob
	Dense      *nn.Linear // ELECTRA's classifier.dense [C, C]; nil for BERT
	Classifier *nn.Linear // classifier [labels, C] (ELECTRA: classifier.out_proj)
}

func newForSequenceClassification(cfg Config) *ForSequenceClassification {
	electra := cfg.Variant == Electra
	m := &ForSequenceClassification{Bert: newModel(cfg, !electra), Dropout: nn.Dropout{P: cfg.classifierDropout()},
		Classifier: zeroLinear(cfg.HiddenSize, cfg.Labels())}
	if electra {
		m.Dense = zeroLinear(cfg.HiddenSize, cfg.HiddenSize)
	}
	return m
}

// NewForSequenceClassification returns a classifier with Config.Labels()
// outputs and HF's random initialisation.
func NewForSequenceClassification(cfg Config, rng *tensor.RNG) (*ForSequenceClassification, error) {
	return newInit(cfg, rng, newForSequenceClassification)
}

// Forward returns the encoder's output and the logits [B, labels].
func (m *ForSequenceClassification) Forward(in Input, opts *ForwardOptions) (*Output, *autograd.Var, error) {
	out, err := m.Bert.Forward(in, opts)
	if err != nil {
		return nil, nil, err
	}
	if m.Dense == nil {
		return out, m.Classifier.Forward(m.Dropout.Forward(out.Pooled)), nil
	}
	x := m.Dropout.Forward(autograd.Select(out.LastHidden, 1, 0)) // the first token [B, C]
	x = m.Dropout.Forward(autograd.GELU(m.Dense.Forward(x)))
	return out, m.Classifier.Forward(x), nil
}

// Loss returns HF's classification loss for logits [B, labels]: with
// Config.Problem Regression (or auto with one label), the mean squared
// error against labels [B·labels]; with SingleLabel (or auto with several
// labels), the mean cross-entropy against class indices labels [B] (given
// as whole numbers; -100 ignores a row). Multi-label is not supported.
func (m *ForSequenceClassification) Loss(logits *autograd.Var, labels []float32) (*autograd.Var, error) {
	n := m.Bert.Config.Labels()
	prob := m.Bert.Config.Problem
	if prob == ProblemAuto {
		prob = SingleLabel
		if n == 1 {
			prob = Regression
		}
	}
	B := logits.Value.Dim(0)
	switch prob {
	case Regression:
		if len(labels) != logits.Value.Numel() {
			return nil, fmt.Errorf("bert: regression loss: %d labels for %d outputs", len(labels), logits.Value.Numel())
		}
		y := autograd.Const(tensor.MustFromData(append([]float32(nil), labels...), logits.Value.Shape()...))
		d := autograd.Sub(logits, y)
		return autograd.MeanAll(autograd.Mul(d, d)), nil
	case SingleLabel:
		if len(labels) != B {
			return nil, fmt.Errorf("bert: classification loss: %d labels for a batch of %d", len(labels), B)
		}
		ids := make([]int, B)
		for i, v := range labels {
			if v != float32(math.Trunc(float64(v))) {
				return nil, fmt.Errorf("bert: classification loss: label %g is not a class index", v)
			}
			ids[i] = int(v)
		}
		loss, err := autograd.CrossEntropy(logits, ids, tensor.CrossEntropyOptions{})
		if err != nil {
			return nil, fmt.Errorf("bert: classification loss: %w", err)
		}
		return loss, nil
	}
	return nil, fmt.Errorf("bert: problem_type %q is not supported", prob)
}

// SetTraining switches dropout on or off (see Model.SetTraining).
func (m *ForSequenceClassification) SetTraining(on bool, rng *tensor.RNG) {
	m.Bert.SetTraining(on, rng)
	m.Dropout.Training, m.Dropout.RNG = on, rng
}

// Params lists bert.* and classifier.* (ELECTRA: electra.*,
// classifier.dense.* and classifier.out_proj.*).
func (m *ForSequenceClassification) Params() []nn.NamedParam {
	ps := prefixed(m.Bert.Config.Variant.names().base, m.Bert.Params())
	if m.Dense == nil {
		return append(ps, prefixed("classifier", m.Classifier.Params())...)
	}
	ps = append(ps, prefixed("classifier.dense", m.Dense.Params())...)
	return append(ps, prefixed("classifier.out_proj", m.Classifier.Params())...)
}
