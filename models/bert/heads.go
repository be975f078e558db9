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

// newMLMHead returns cfg's masked-LM head, C → E (ELECTRA's generator:
// exact GELU), decoding with the word embeddings words.
func newMLMHead(cfg Config, words *autograd.Var) *MLMHead {
	h := &MLMHead{Dense: zeroLinear(cfg.HiddenSize, cfg.EmbedDim()), Act: cfg.Activation,
		Norm: nn.NewLayerNorm(cfg.EmbedDim(), float32(cfg.LayerNormEps)), Decoder: words,
		Bias: autograd.Param(tensor.New(cfg.VocabSize))}
	if cfg.Variant.names().mlmGELU {
		h.Act = nn.GELU
	}
	return h
}

// Forward maps hidden states [..., C] to vocabulary logits [..., V].
func (h *MLMHead) Forward(x *autograd.Var) *autograd.Var {
	x = h.Norm.Forward(nn.Activate(h.Act, h.Dense.Forward(x))) // [..., E]
	return autograd.Linear(x, h.Decoder, h.Bias)               // [..., V]
}

// parts names the head's parameters as variant v does (BERT's
// cls.predictions.transform.*, ELECTRA's generator_predictions.*); the
// decoder weight is the word embedding, listed by the encoder.
func (h *MLMHead) parts(v Variant) []part {
	nm := v.names()
	return []part{{nm.mlmDense, h.Dense}, {nm.mlmNorm, h.Norm}, {nm.mlmBias, param{h.Bias}}}
}

// ForPreTraining is BertForPreTraining: BertModel with the masked-LM head
// and the next-sentence head (cls.seq_relationship, over the pooled output).
type ForPreTraining struct {
	Bert *Model     // bert.*
	MLM  *MLMHead   // cls.predictions.*
	NSP  *nn.Linear // cls.seq_relationship [2, C]
	headed
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

// The variants the trainable classes build: BERT's layout, and ELECTRA's
// where its heads exist.
var (
	bertOnly    = []Variant{Bert}
	electraOnly = []Variant{Electra}
	bertElectra = []Variant{Bert, Electra}
)

func (m *ForPreTraining) layout() layout {
	return layout{suffix: "ForPreTraining", variants: bertOnly, heads: HeadPooler | HeadMLM | HeadNSP,
		base: m.Bert, parts: append(m.MLM.parts(Bert), part{"cls.seq_relationship", m.NSP})}
}

func newForPreTraining(cfg Config) *ForPreTraining {
	m := &ForPreTraining{Bert: newModel(cfg, true), NSP: zeroLinear(cfg.HiddenSize, 2)}
	m.MLM, m.headed = newMLMHead(cfg, m.Bert.Embeddings.Word.Weight), headed{m}
	return m
}

// NewForPreTraining returns a BertForPreTraining with HF's random
// initialisation.
func NewForPreTraining(cfg Config, rng *tensor.RNG) (*ForPreTraining, error) {
	return newInit(cfg, rng, newForPreTraining)
}

// LoadForPreTraining reads a BertForPreTraining from a model folder.
func LoadForPreTraining(dir string) (*ForPreTraining, error) {
	return loadFolder(dir, newForPreTraining)
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
	out, rows, pos, err := forwardMasked(m.Bert, in, mlmLabels, opts)
	switch {
	case err != nil:
		return nil, err
	case pos == nil:
		return m.Forward(in, opts)
	}
	return &PreTrainingOutput{Output: out,
		PredictionLogits:      m.MLM.Forward(rows),       // [M, V]
		SeqRelationshipLogits: m.NSP.Forward(out.Pooled), // [B, 2]
		Positions:             pos,
	}, nil
}

// forwardMasked runs base over in when some label is not -100, and returns
// its output, the hidden states [M, C] of those positions and their flat
// indices b·T+t (none, without running base, when no label is set).
func forwardMasked(base *Model, in Input, labels []int, opts *ForwardOptions) (out *Output, rows *autograd.Var, pos []int, err error) {
	if len(labels) != in.B*in.T {
		return nil, nil, nil, fmt.Errorf("bert: %d masked-LM labels for a [%d, %d] batch", len(labels), in.B, in.T)
	}
	for i, l := range labels {
		if l != -100 {
			pos = append(pos, i)
		}
	}
	if len(pos) == 0 {
		return nil, nil, nil, nil
	}
	if out, err = base.Forward(in, opts); err != nil {
		return nil, nil, nil, err
	}
	h := out.LastHidden
	if rows, err = autograd.Embedding(autograd.Reshape(h, -1, h.Value.Dim(-1)), pos); err != nil {
		return nil, nil, nil, fmt.Errorf("bert: gather masked positions: %w", err)
	}
	return out, rows, pos, nil
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
	if mlm, err = crossEntropy("masked-LM", out.PredictionLogits, mlmLabels, tensor.CrossEntropyOptions{}); err != nil {
		return nil, nil, nil, err
	}
	if nspLabels == nil {
		return mlm, mlm, nil, nil
	}
	if nsp, err = crossEntropy("next-sentence", out.SeqRelationshipLogits, nspLabels, tensor.CrossEntropyOptions{}); err != nil {
		return nil, nil, nil, err
	}
	return autograd.Add(mlm, nsp), mlm, nsp, nil
}

// ForMaskedLM is BertForMaskedLM: BertModel without a pooler, and the
// masked-LM head. (A BertForPreTraining checkpoint also loads: its pooler
// and NSP head are ignored.)
type ForMaskedLM struct {
	Bert *Model   // bert.*
	MLM  *MLMHead // cls.predictions.*
	headed
}

func (m *ForMaskedLM) layout() layout {
	return layout{suffix: "ForMaskedLM", variants: bertOnly, heads: HeadMLM, base: m.Bert, parts: m.MLM.parts(Bert)}
}

func newForMaskedLM(cfg Config) *ForMaskedLM {
	m := &ForMaskedLM{Bert: newModel(cfg, false)}
	m.MLM, m.headed = newMLMHead(cfg, m.Bert.Embeddings.Word.Weight), headed{m}
	return m
}

// NewForMaskedLM returns a BertForMaskedLM with HF's random initialisation.
func NewForMaskedLM(cfg Config, rng *tensor.RNG) (*ForMaskedLM, error) {
	return newInit(cfg, rng, newForMaskedLM)
}

// LoadForMaskedLM reads a BertForMaskedLM from a model folder.
func LoadForMaskedLM(dir string) (*ForMaskedLM, error) { return loadFolder(dir, newForMaskedLM) }

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
	return crossEntropy("masked-LM", logits, labels, tensor.CrossEntropyOptions{})
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
	headed
}

func (m *ForSequenceClassification) layout() layout {
	nm := m.Bert.Config.Variant.names()
	l := layout{suffix: "ForSequenceClassification", variants: bertElectra, heads: HeadClassifier,
		base: m.Bert, dropouts: []*nn.Dropout{&m.Dropout}}
	if m.Dense != nil {
		l.parts = append(l.parts, part{nm.seqPre, m.Dense})
	}
	l.parts = append(l.parts, part{nm.seqOut, m.Classifier})
	return l
}

func newForSequenceClassification(cfg Config) *ForSequenceClassification {
	electra := cfg.Variant == Electra
	m := &ForSequenceClassification{Bert: newModel(cfg, !electra), Dropout: nn.Dropout{P: cfg.classifierDropout()},
		Classifier: zeroLinear(cfg.HiddenSize, cfg.Labels())}
	if electra {
		m.Dense = zeroLinear(cfg.HiddenSize, cfg.HiddenSize)
	}
	m.headed = headed{m}
	return m
}

// NewForSequenceClassification returns a classifier with Config.Labels()
// outputs and HF's random initialisation.
func NewForSequenceClassification(cfg Config, rng *tensor.RNG) (*ForSequenceClassification, error) {
	return newInit(cfg, rng, newForSequenceClassification)
}

// LoadForSequenceClassification reads a BertForSequenceClassification
// (or ElectraForSequenceClassification) from a model folder; the
// classifier has Config.Labels() outputs.
func LoadForSequenceClassification(dir string) (*ForSequenceClassification, error) {
	return loadFolder(dir, newForSequenceClassification)
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
		return crossEntropy("classification", logits, ids, tensor.CrossEntropyOptions{})
	}
	return nil, fmt.Errorf("bert: problem_type %q is not supported", prob)
}
