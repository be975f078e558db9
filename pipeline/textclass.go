package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
)

// TextClassification is Hugging Face's text-classification pipeline
// (also called sentiment-analysis): the classes of a text, or of a pair of
// texts, from a sequence classifier (BertForSequenceClassification,
// RobertaForSequenceClassification, DistilBertForSequenceClassification,
// …). It is safe for concurrent use.
type TextClassification struct{ m *model }

// Function is the function applied to a classifier's logits.
type Function int

// The functions of text classification.
const (
	FunctionDefault Function = iota // from the config: see TextClassificationOptions
	FunctionSoftmax                 // softmax over the classes
	FunctionSigmoid                 // a sigmoid per class
	FunctionNone                    // the raw logits
)

var functionNames = []string{FunctionDefault: "", FunctionSoftmax: "softmax", FunctionSigmoid: "sigmoid", FunctionNone: "none"}

// String returns Hugging Face's name of f.
func (f Function) String() string { return enumName(functionNames, f, "Function") }

// MarshalText writes Hugging Face's name of f.
func (f Function) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText parses "softmax", "sigmoid" or "none" (any case).
func (f *Function) UnmarshalText(b []byte) error {
	return parseEnum(f, functionNames, b, "function_to_apply", "softmax, sigmoid or none")
}

// AllLabels is TextClassificationOptions.TopK for every label (Hugging
// Face's top_k=None).
const AllLabels = -1

// TextClassificationOptions are the text-classification pipeline's call
// options. The zero value (or nil) returns the best label per input with
// the function the config implies.
type TextClassificationOptions struct {
	// TopK is how many labels to return per input, best first. Zero:
	// Hugging Face's legacy default, the best label alone; AllLabels (-1,
	// or JSON null): every label.
	TopK int `json:"top_k"`
	// FunctionToApply maps the logits to scores. Zero: the config's
	// problem_type says — regression none; multi-label classification or
	// a single label the sigmoid; otherwise the softmax.
	FunctionToApply Function `json:"function_to_apply"`
	// Truncation cuts inputs longer than MaxLength (the longest of a pair
	// first). Zero: such an input is an error, as Hugging Face's default
	// fails on it.
	Truncation bool `json:"truncation"`
	// MaxLength is the longest input, special tokens included. Zero (or
	// more than the model takes): the model's length.
	MaxLength int `json:"max_length"`
}

// TextInput is one input: a text, or a pair of texts (an NLI premise and
// hypothesis, a question and a passage).
type TextInput struct {
	Text     string `json:"text"`
	TextPair string `json:"text_pair,omitempty"`
	// Pair says that TextPair is a second text even when it is empty.
	// JSON inputs set it when "text_pair" is present.
	Pair bool `json:"-"`
}

// UnmarshalJSON reads {"text": …, "text_pair": …}, setting Pair when a
// text_pair is present.
func (in *TextInput) UnmarshalJSON(b []byte) error {
	var v struct {
		Text     *string `json:"text"`
		TextPair *string `json:"text_pair"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Text == nil {
		return fmt.Errorf(`an input object needs "text"`)
	}
	*in = TextInput{Text: *v.Text}
	if v.TextPair != nil {
		in.TextPair, in.Pair = *v.TextPair, true
	}
	return nil
}

// ClassScore is one label's score.
type ClassScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// LoadTextClassification loads the text-classification pipeline of a
// sequence classifier (see Load).
func LoadTextClassification(ctx context.Context, modelRef string, opts *Options) (*TextClassification, error) {
	m, err := loadModel(ctx, TextClassificationTask, modelRef, opts, bert.HeadClassifier)
	if err != nil {
		return nil, err
	}
	return &TextClassification{m}, nil
}

// Task reports TextClassificationTask.
func (p *TextClassification) Task() Task { return TextClassificationTask }

// Labels returns the model's class names in id order (id2label, or
// LABEL_i).
func (p *TextClassification) Labels() []string { return labelNames(p.m.enc.Config) }

func labelNames(c bert.Config) []string {
	names := make([]string, c.Labels())
	for i := range names {
		names[i] = c.LabelName(i)
	}
	return names
}

// Run classifies every input and returns, per input, the scores of
// opts.TopK labels, best first (one label with the zero options). Inputs
// run in batched forward passes.
func (p *TextClassification) Run(ctx context.Context, inputs []TextInput, opts *TextClassificationOptions) ([][]ClassScore, error) {
	if opts == nil {
		opts = &TextClassificationOptions{}
	}
	if len(inputs) == 0 {
		return nil, inputErr("no inputs")
	}
	if opts.TopK < AllLabels {
		return nil, inputErr("top_k %d < 1", opts.TopK)
	}
	if opts.MaxLength < 0 {
		return nil, inputErr("max_length %d < 0", opts.MaxLength)
	}
	logits, err := classifyPairs(ctx, p.m, inputs, opts.Truncation, opts.MaxLength)
	if err != nil {
		return nil, err
	}
	cfg := p.m.enc.Config
	n := cfg.Labels()
	fn := opts.FunctionToApply
	if fn == FunctionDefault {
		fn = defaultFunction(cfg)
	}
	topK := opts.TopK
	switch topK {
	case 0:
		topK = 1
	case AllLabels:
		topK = n
	}
	out := make([][]ClassScore, len(inputs))
	scores := make([]float64, n)
	for i := range inputs {
		apply(fn, scores, logits[i*n:(i+1)*n])
		s := make([]ClassScore, n)
		for c := range n {
			s[c] = ClassScore{Label: cfg.LabelName(c), Score: scores[c]}
		}
		slices.SortStableFunc(s, func(a, b ClassScore) int { return cmpDesc(a.Score, b.Score) })
		out[i] = s[:min(topK, n)]
	}
	return out, nil
}

// classifyPairs encodes inputs (texts and pairs), truncated to maxLen
// tokens (zero: the model's) when truncate is set, runs the sequence
// classifier and returns the logits [len(inputs), labels].
func classifyPairs(ctx context.Context, m *model, inputs []TextInput, truncate bool, maxLen int) ([]float32, error) {
	if maxLen == 0 || maxLen > m.maxLen {
		maxLen = m.maxLen
	}
	tok := m.tok
	if truncate {
		var err error
		if tok, err = m.truncating(maxLen); err != nil {
			return nil, inputErr("%v", err)
		}
	}
	encs, err := encodeInputs(tok, inputs, maxLen)
	if err != nil {
		return nil, err
	}
	return classify(ctx, m, encs)
}

// classify runs the sequence classifier over encs: [len(encs), labels].
func classify(ctx context.Context, m *model, encs []*tokenizer.Encoding) ([]float32, error) {
	n := m.enc.Config.Labels()
	logits := make([]float32, 0, len(encs)*n)
	err := m.batches(ctx, encs, func(ws *bert.Workspace, in bert.Input, _ []*tokenizer.Encoding) error {
		l, err := m.enc.Classify(ws, in)
		logits = append(logits, l...)
		return err
	})
	return logits, err
}

// encodeInputs encodes texts and pairs of texts, each as it is (the
// singles and the pairs each in one parallel batch).
func encodeInputs(tok *tokenizer.Tokenizer, inputs []TextInput, maxLen int) ([]*tokenizer.Encoding, error) {
	var single, paired []int
	var texts, as, bs []string
	for i, in := range inputs {
		if in.Pair || in.TextPair != "" {
			paired, as, bs = append(paired, i), append(as, in.Text), append(bs, in.TextPair)
		} else {
			single, texts = append(single, i), append(texts, in.Text)
		}
	}
	out := make([]*tokenizer.Encoding, len(inputs))
	for _, g := range []struct {
		idx    []int
		a, b   []string
		paired bool
	}{{single, texts, nil, false}, {paired, as, bs, true}} {
		if len(g.idx) == 0 {
			continue
		}
		encs, err := encodeAll(tok, g.a, g.b, maxLen, g.idx...)
		if err != nil {
			return nil, err
		}
		for k, i := range g.idx {
			out[i] = encs[k]
		}
	}
	return out, nil
}

// defaultFunction is Hugging Face's choice of function for a config.
func defaultFunction(c bert.Config) Function {
	switch {
	case c.Problem == bert.Regression:
		return FunctionNone
	case c.Problem == bert.MultiLabel || c.Labels() == 1:
		return FunctionSigmoid
	}
	return FunctionSoftmax
}

// apply writes fn(logits) into dst, in float64 as numpy computes it.
func apply(fn Function, dst []float64, logits []float32) {
	switch fn {
	case FunctionSigmoid:
		for i, v := range logits {
			dst[i] = 1 / (1 + math.Exp(-float64(v)))
		}
	case FunctionSoftmax:
		softmax64(dst, logits)
	default:
		for i, v := range logits {
			dst[i] = float64(v)
		}
	}
}

// softmax64 is the softmax of x in float64.
func softmax64(dst []float64, x []float32) {
	hi := math.Inf(-1)
	for _, v := range x {
		hi = math.Max(hi, float64(v))
	}
	sum := 0.0
	for i, v := range x {
		dst[i] = math.Exp(float64(v) - hi)
		sum += dst[i]
	}
	for i := range dst[:len(x)] {
		dst[i] /= sum
	}
}

// cmpDesc orders scores from the highest.
func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// CallJSON runs text-classification calls: {"inputs": TEXT, {"text": …,
// "text_pair": …}, or a list of those, "top_k": K or null,
// "function_to_apply": "softmax"|"sigmoid"|"none", "truncation": true}. As
// Hugging Face, the zero options give a list holding the best label of each
// input (one object per input); with top_k, a list of labels per input, or
// the list alone for one input.
func (p *TextClassification) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[TextInput, TextClassificationOptions, []ClassScore]{
		args: func(fields map[string]json.RawMessage) ([]TextInput, bool, error) {
			if v, ok := fields["top_k"]; ok && string(v) == "null" {
				fields["top_k"] = json.RawMessage("-1") // Python's top_k=None: every label
			}
			return objectsArg("inputs", take(fields, "inputs"), func(s string) TextInput { return TextInput{Text: s} })
		},
		run: p.Run,
		shape: func(outs [][]ClassScore, single bool, opts *TextClassificationOptions) any {
			if opts.TopK == 0 { // legacy: one object per input, always in a list
				best := make([]ClassScore, len(outs))
				for i, o := range outs {
					best[i] = o[0]
				}
				return best
			}
			return one(outs, single)
		},
	}, calls)
}
