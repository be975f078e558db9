package bert

import (
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// ForQuestionAnswering is BertForQuestionAnswering, the extractive
// question-answering (span) head on BertModel without a pooler:
//
//	start, end = split(h·Wᵀ + b)        qa_outputs [2, C] on every position
//
// Hugging Face applies no dropout between the encoder and qa_outputs.
type ForQuestionAnswering struct {
	Bert *Model     // bert.* (no pooler: add_pooling_layer=False)
	QA   *nn.Linear // qa_outputs [2, C]: start and end logits
	headed
}

func (m *ForQuestionAnswering) layout() layout {
	return layout{suffix: "ForQuestionAnswering", variants: bertOnly, heads: HeadQA,
		base: m.Bert, parts: []part{{"qa_outputs", m.QA}}}
}

func newForQuestionAnswering(cfg Config) *ForQuestionAnswering {
	m := &ForQuestionAnswering{Bert: newModel(cfg, false), QA: zeroLinear(cfg.HiddenSize, 2)}
	m.headed = headed{m}
	return m
}

// NewForQuestionAnswering returns a BertForQuestionAnswering with HF's
// random initialisation.
func NewForQuestionAnswering(cfg Config, rng *tensor.RNG) (*ForQuestionAnswering, error) {
	return newInit(cfg, rng, newForQuestionAnswering)
}

// LoadForQuestionAnswering reads a BertForQuestionAnswering from a model
// folder.
func LoadForQuestionAnswering(dir string) (*ForQuestionAnswering, error) {
	return loadFolder(dir, newForQuestionAnswering)
}

// Forward returns the encoder's output and the start and end logits, each
// [B, T].
func (m *ForQuestionAnswering) Forward(in Input, opts *ForwardOptions) (out *Output, start, end *autograd.Var, err error) {
	out, err = m.Bert.Forward(in, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	logits := m.QA.Forward(out.LastHidden) // [B, T, 2]
	start = autograd.Contiguous(autograd.Select(logits, 2, 0))
	end = autograd.Contiguous(autograd.Select(logits, 2, 1))
	return out, start, end, nil
}

// Loss is Hugging Face's span loss: the mean of the start and end
// cross-entropies of logits [B, T] against one position per row, positions
// outside [0, T) — clamped to T, as Hugging Face clamps them — ignored.
func (m *ForQuestionAnswering) Loss(start, end *autograd.Var, startPos, endPos []int) (*autograd.Var, error) {
	if start.Value.NDim() != 2 {
		return nil, fmt.Errorf("bert: span loss: start logits of shape %v, want [B, T]", start.Value.Shape())
	}
	B, T := start.Value.Dim(0), start.Value.Dim(1)
	if len(startPos) != B || len(endPos) != B {
		return nil, fmt.Errorf("bert: span loss: %d start and %d end positions for a batch of %d", len(startPos), len(endPos), B)
	}
	clamp := func(ps []int) []int {
		out := make([]int, len(ps))
		for i, p := range ps {
			out[i] = min(max(p, 0), T)
		}
		return out
	}
	opts := tensor.CrossEntropyOptions{IgnoreIndex: T}
	ls, err := crossEntropy("span (start)", start, clamp(startPos), opts)
	if err != nil {
		return nil, err
	}
	le, err := crossEntropy("span (end)", end, clamp(endPos), opts)
	if err != nil {
		return nil, err
	}
	return autograd.MulScalar(autograd.Add(ls, le), 0.5), nil
}
