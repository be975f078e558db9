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
	headed
}

func (m *ForTokenClassification) layout() layout {
	return layout{suffix: "ForTokenClassification", variants: bertOnly, heads: HeadTokenClassifier,
		base: m.Bert, parts: []part{{"classifier", m.Classifier}}, dropouts: []*nn.Dropout{&m.Dropout}}
}

func newForTokenClassification(cfg Config) *ForTokenClassification {
	m := &ForTokenClassification{Bert: newModel(cfg, false), Dropout: nn.Dropout{P: cfg.classifierDropout()},
		Classifier: zeroLinear(cfg.HiddenSize, cfg.Labels())}
	m.headed = headed{m}
	return m
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
	return crossEntropy("token-classification", logits, labels, tensor.CrossEntropyOptions{})
}
