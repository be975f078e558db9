package bert

import (
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// ForTokenClassification is BertForTokenClassification: BertModel without
// a pooler and a classifier on every position,
//
//	logits = W·Dropout(hidden) + b        classifier [labels, C], on [B, T, C]
//
// as named-entity recognition fine-tunes it.
type ForTokenClassification struct {
	Bert       *Model     // bert.* (no pooler)
	Dropout    nn.Dropout // classifier_dropout, else hidden_dropout_prob
	Classifier *nn.Linear // classifier [labels, C]
}

func newForTokenClassification(cfg Config) *ForTokenClassification {
	return &ForTokenClassification{Bert: newModel(cfg, false), Dropout: nn.Dropout{P: cfg.classifierDropout()},
		Classifier: zeroLinear(cfg.HiddenSize, cfg.Labels())}
}

// NewForTokenClassification returns a token classifier with Config.Labels()
// outputs and HF's random initialisation.
func NewForTokenClassification(cfg Config, rng *tensor.RNG) (*ForTokenClassification, error) {
	return newInit(cfg, rng, newForTokenClassification)
}

// LoadForTokenClassification reads a BertForTokenClassification from a
// model folder; the classifier has Config.Labels() outputs.
func LoadForTokenClassification(dir string) (*ForTokenClassification, error) {
	return loadFolder(dir, newForTokenClassification)
}

// Forward returns the encoder's output and the logits [B, T, labels].
func (m *ForTokenClassification) Forward(in Input, opts *ForwardOptions) (*Output, *autograd.Var, error) {
	out, err := m.Bert.Forward(in, opts)
	if err != nil {
		return nil, nil, err
	}
	return out, m.Classifier.Forward(m.Dropout.Forward(out.LastHidden)), nil
}

// Loss is HF's token-classification loss: the cross-entropy of logits
// [B, T, labels] against labels [B·T] (-100 ignores a position: padding,
// specials, continuation sub-tokens), averaged over the labelled positions.
func (m *ForTokenClassification) Loss(logits *autograd.Var, labels []int) (*autograd.Var, error) {
	n := logits.Value.Dim(-1)
	if len(labels)*n != logits.Value.Numel() {
		return nil, fmt.Errorf("bert: token-classification loss: %d labels for %d positions", len(labels), logits.Value.Numel()/n)
	}
	for _, l := range labels {
		if l != -100 && (l < 0 || l >= n) {
			return nil, fmt.Errorf("bert: token-classification loss: label %d outside the %d classes", l, n)
		}
	}
	loss, err := autograd.CrossEntropy(autograd.Reshape(logits, -1, n), labels, tensor.CrossEntropyOptions{})
	if err != nil {
		return nil, fmt.Errorf("bert: token-classification loss: %w", err)
	}
	return loss, nil
}

// SetTraining switches dropout on or off (see Model.SetTraining).
func (m *ForTokenClassification) SetTraining(on bool, rng *tensor.RNG) {
	m.Bert.SetTraining(on, rng)
	m.Dropout.Training, m.Dropout.RNG = on, rng
}

// Params lists bert.* and classifier.*.
func (m *ForTokenClassification) Params() []nn.NamedParam {
	return append(prefixed("bert", m.Bert.Params()), prefixed("classifier", m.Classifier.Params())...)
}

// Save writes a BertForTokenClassification folder with id2label/label2id.
func (m *ForTokenClassification) Save(dir string) error {
	return save(dir, m.Bert.Config, "BertForTokenClassification", m.Params())
}

// Encoder returns an Encoder of m's current weights with its token
// classifier (see Model.Encoder); opts.Heads is ignored.
func (m *ForTokenClassification) Encoder(opts *EncoderOptions) (*Encoder, error) {
	o := EncoderOptions{Heads: HeadTokenClassifier}
	if opts != nil {
		o.Format = opts.Format
	}
	return encoderOf(m.Bert.Config, m, &o)
}
