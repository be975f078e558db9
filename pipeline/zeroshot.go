package pipeline

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
)

// ZeroShot is Hugging Face's zero-shot-classification pipeline: it scores
// candidate labels a text was never trained on by asking a natural-language
// inference model whether the text entails "This example is {label}."
// (Yin et al., 2019). The model is a sequence classifier whose label2id
// names an entailment class (roberta-large-mnli, facebook/bart-large-mnli's
// encoder cousins, cross-encoder/nli-*). It is safe for concurrent use.
type ZeroShot struct {
	m *model
	// entailment and contradiction are the classes read: label2id's first
	// label starting with "entail" (in any case), and class 0 — or the last
	// class when entailment is 0 — as Python's pipeline takes them.
	entailment, contradiction int
}

// ZeroShotOptions are the zero-shot pipeline's call options.
type ZeroShotOptions struct {
	// HypothesisTemplate turns a label into a hypothesis: each "{}" is
	// replaced by the label. Zero: "This example is {}.".
	HypothesisTemplate string `json:"hypothesis_template"`
	// MultiLabel scores each label on its own (entailment against
	// contradiction), so several may be true; otherwise the labels'
	// entailment scores are normalised against each other.
	MultiLabel bool `json:"multi_label"`
}

// ZeroShotResult is the ranking of the labels for one text, best first.
type ZeroShotResult struct {
	Sequence string    `json:"sequence"`
	Labels   []string  `json:"labels"`
	Scores   []float64 `json:"scores"`
}

// LoadZeroShot loads the zero-shot pipeline of an NLI sequence classifier
// (see Load).
func LoadZeroShot(ctx context.Context, modelRef string, opts *Options) (*ZeroShot, error) {
	m, err := loadModel(ctx, ZeroShotTask, modelRef, opts, bert.HeadClassifier)
	if err != nil {
		return nil, err
	}
	return newZeroShot(m, modelRef)
}

// newZeroShot is the zero-shot pipeline over a loaded sequence classifier
// (ref names it in errors).
func newZeroShot(m *model, modelRef string) (*ZeroShot, error) {
	cfg := m.enc.Config
	entail := -1
	for _, name := range sortedKeys(cfg.Label2ID) {
		if id := cfg.Label2ID[name]; strings.HasPrefix(strings.ToLower(name), "entail") && (entail < 0 || id < entail) {
			entail = id
		}
	}
	if entail < 0 {
		for i := range cfg.Labels() { // id2label when label2id is missing
			if strings.HasPrefix(strings.ToLower(cfg.LabelName(i)), "entail") {
				entail = i
				break
			}
		}
	}
	if entail < 0 || entail >= cfg.Labels() {
		return nil, inputErr("zero-shot-classification needs an NLI model whose labels name an entailment class; %s has %q", modelRef, labelNames(cfg))
	}
	contra := 0
	if entail == 0 {
		contra = cfg.Labels() - 1
	}
	return &ZeroShot{m: m, entailment: entail, contradiction: contra}, nil
}

// Task reports ZeroShotTask.
func (p *ZeroShot) Task() Task { return ZeroShotTask }

// Run ranks labels for every text: one (text, hypothesis) pair per label,
// all of them in batched forward passes, the text truncated when a pair is
// too long. No label, or a template without "{}", is an error (ErrInput).
func (p *ZeroShot) Run(ctx context.Context, texts, labels []string, opts *ZeroShotOptions) ([]ZeroShotResult, error) {
	if opts == nil {
		opts = &ZeroShotOptions{}
	}
	if len(texts) == 0 {
		return nil, inputErr("no inputs")
	}
	if len(labels) == 0 {
		return nil, inputErr("you must include at least one label")
	}
	tmpl := opts.HypothesisTemplate
	if tmpl == "" {
		tmpl = "This example is {}."
	}
	if !strings.Contains(tmpl, "{}") {
		return nil, inputErr("the hypothesis_template %q cannot be formatted with the labels: it needs {} where the label goes", tmpl)
	}
	pairs := make([]TextInput, 0, len(texts)*len(labels))
	for _, t := range texts {
		for _, l := range labels {
			pairs = append(pairs, TextInput{Text: t, TextPair: strings.ReplaceAll(tmpl, "{}", l), Pair: true})
		}
	}
	logits, err := p.logits(ctx, pairs)
	if err != nil {
		return nil, err
	}
	n, L := p.m.enc.Config.Labels(), len(labels)
	out := make([]ZeroShotResult, len(texts))
	scores := make([]float64, L)
	two := make([]float64, 2)
	for i, t := range texts {
		rows := logits[i*L*n : (i+1)*L*n]
		if opts.MultiLabel || L == 1 {
			for k := range L {
				softmax64(two, []float32{rows[k*n+p.contradiction], rows[k*n+p.entailment]})
				scores[k] = two[1]
			}
		} else {
			ent := make([]float32, L)
			for k := range L {
				ent[k] = rows[k*n+p.entailment]
			}
			softmax64(scores, ent)
		}
		order := make([]int, L)
		for k := range order {
			order[k] = k
		}
		// Python reverses an ascending argsort: among equal scores, the
		// later label first.
		slices.SortStableFunc(order, func(a, b int) int {
			if c := cmpDesc(scores[a], scores[b]); c != 0 {
				return c
			}
			return b - a
		})
		r := ZeroShotResult{Sequence: t, Labels: make([]string, L), Scores: make([]float64, L)}
		for k, j := range order {
			r.Labels[k], r.Scores[k] = labels[j], scores[j]
		}
		out[i] = r
	}
	return out, nil
}

// logits classifies the pairs, truncating the premise when a pair is too
// long (Python's only_first; a pair whose premise cannot shrink enough is
// then left whole, and fails if it is too long for the model).
func (p *ZeroShot) logits(ctx context.Context, pairs []TextInput) ([]float32, error) {
	m := p.m
	tok, err := m.tok.WithOptions(tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: m.maxLen, Strategy: tokenizer.OnlyFirst}})
	if err != nil {
		return nil, err
	}
	encs, err := encodeInputs(tok, pairs, m.maxLen)
	if err != nil {
		if encs, err = encodeInputs(m.tok, pairs, m.maxLen); err != nil {
			return nil, err
		}
	}
	return classify(ctx, m, encs)
}

// CallJSON runs zero-shot calls: {"inputs": TEXT or [TEXT, …],
// "candidate_labels": [LABEL, …] or "a, b, c", "hypothesis_template": …,
// "multi_label": true}. Each gives {sequence, labels, scores} for its
// text, or a list of those.
func (p *ZeroShot) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[string, zeroShotCall, ZeroShotResult]{
		args: func(fields map[string]json.RawMessage) ([]string, bool, error) {
			labels, err := labelsArg(take(fields, "candidate_labels", "labels"))
			if err != nil {
				return nil, false, err
			}
			raw, _ := json.Marshal(labels) // the labels travel with the options: calls batch only when they agree
			fields["candidate_labels"] = raw
			return textArgs(fields)
		},
		run: func(ctx context.Context, texts []string, o *zeroShotCall) ([]ZeroShotResult, error) {
			return p.Run(ctx, texts, o.CandidateLabels, &o.ZeroShotOptions)
		},
		shape: func(outs []ZeroShotResult, single bool, _ *zeroShotCall) any { return one(outs, single) },
	}, calls)
}

// zeroShotCall is a JSON call's options with its labels.
type zeroShotCall struct {
	ZeroShotOptions
	CandidateLabels []string `json:"candidate_labels"`
}

// labelsArg reads candidate_labels: a list, or a comma-separated string.
func labelsArg(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, inputErr(`the call has no "candidate_labels"`)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		var labels []string
		for _, l := range strings.Split(s, ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		return labels, nil
	}
	var labels []string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, inputErr(`"candidate_labels" must be a list of strings or a comma-separated string`)
	}
	return labels, nil
}
