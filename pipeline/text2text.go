package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/text2text"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// The encoder-decoder tasks.
const (
	TranslationTask   Task = "translation"
	SummarizationTask Task = "summarization"
	Text2TextTask     Task = "text2text-generation"
)

// Text2Text is Hugging Face's translation, summarization and
// text2text-generation pipelines over an encoder-decoder (Marian, T5,
// BART): texts in, generated texts out under the task's field name
// (translation_text, summary_text, generated_text), decoded in padded
// batches with the model's generation_config.json defaults. It is safe for
// concurrent use.
//
// The task selects config.json's task_specific_params entry, as
// transformers does: "summarization" for summarization; for translation
// the entry translation_{src_lang}_to_{tgt_lang} when the call names the
// languages, else the model's only translation_* entry (Marian models have
// none: no prefix). A multilingual Marian model's target-language token
// (">>fra<<") is put before the text when tgt_lang names one and the model
// has no matching entry.
type Text2Text struct {
	task Task
	m    *text2text.Model
	key  string // the result field
}

// Text2TextOptions are the call options of the three tasks. Zero values
// keep the model's generation defaults.
type Text2TextOptions struct {
	// MaxNewTokens bounds the generated tokens per text. Zero: the model's
	// max_new_tokens / max_length.
	MaxNewTokens int `json:"max_new_tokens"`
	// MinNewTokens is the fewest tokens generated before EOS may end a
	// text. Zero: the model's.
	MinNewTokens int `json:"min_new_tokens"`
	// NumBeams is the beam width (1: greedy). Zero: the model's num_beams.
	NumBeams int `json:"num_beams"`
	// SrcLang and TgtLang are the translation task's languages ("en",
	// "de"); see Text2Text.
	SrcLang string `json:"src_lang"`
	TgtLang string `json:"tgt_lang"`
	// Truncation cuts a source longer than the encoder's positions (keeping
	// its end-of-sequence token) instead of refusing it.
	Truncation bool `json:"truncation"`
}

// Generated is one output; its field is named by the task.
type Generated struct {
	Text string
	key  string
}

// MarshalJSON writes {"translation_text": …}, {"summary_text": …} or
// {"generated_text": …}.
func (g Generated) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{g.key: g.Text})
}

// LoadText2Text loads the pipeline of task (TranslationTask,
// SummarizationTask or Text2TextTask) over an encoder-decoder folder or
// Hub reference, with the tokenizer beside it (or opts.Tokenizer).
func LoadText2Text(ctx context.Context, task Task, modelRef string, opts *Options) (*Text2Text, error) {
	key := map[Task]string{TranslationTask: "translation_text", SummarizationTask: "summary_text", Text2TextTask: "generated_text"}[task]
	if key == "" {
		return nil, fmt.Errorf("pipeline: %q is not an encoder-decoder task", task)
	}
	if opts == nil {
		opts = &Options{}
	}
	path, err := resolve(ctx, modelRef, opts)
	if err != nil {
		return nil, err
	}
	sm, err := auto.LoadSeq2Seq(path, &auto.LoadOptions{Format: opts.Format})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	tokPath := opts.Tokenizer
	if tokPath == "" {
		tokPath = sm.TokenizerPath
	}
	if tokPath == "" {
		return nil, fmt.Errorf("pipeline: no tokenizer found beside %s; name one (Options.Tokenizer)", modelRef)
	}
	tok, err := tokauto.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	m, err := text2text.New(sm.Model, tok)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return &Text2Text{task: task, m: m, key: key}, nil
}

// Task reports the pipeline's task.
func (p *Text2Text) Task() Task { return p.task }

// Model returns the model with its tokenizer.
func (p *Text2Text) Model() *text2text.Model { return p.m }

// libraryOptions maps o to text2text's options: the task_specific_params
// entry, or a language token as prefix.
func (p *Text2Text) libraryOptions(o *Text2TextOptions) (*text2text.Options, error) {
	lo := &text2text.Options{NumBeams: o.NumBeams, MaxNewTokens: o.MaxNewTokens, MinNewTokens: o.MinNewTokens,
		Truncate: o.Truncation, SortByLength: true}
	if o.NumBeams < 0 || o.MaxNewTokens < 0 || o.MinNewTokens < 0 {
		return nil, inputErr("num_beams %d, max_new_tokens %d and min_new_tokens %d must not be negative", o.NumBeams, o.MaxNewTokens, o.MinNewTokens)
	}
	if (o.SrcLang != "" || o.TgtLang != "") && p.task != TranslationTask {
		return nil, inputErr("src_lang and tgt_lang are options of the translation task")
	}
	has := func(name string) bool { _, _, ok := p.m.Task(name); return ok }
	switch p.task {
	case SummarizationTask:
		if has("summarization") {
			lo.Task = "summarization"
		}
	case TranslationTask:
		switch {
		case o.SrcLang != "" && o.TgtLang != "":
			name := "translation_" + o.SrcLang + "_to_" + o.TgtLang
			code := ">>" + o.TgtLang + "<<"
			if has(name) {
				lo.Task = name
			} else if _, ok := p.m.Tokenizer.TokenToID(code); ok {
				lo.Prefix = code + " "
			} else {
				return nil, inputErr("the model translates neither with task_specific_params %q nor a %s token", name, code)
			}
		case o.SrcLang != "" || o.TgtLang != "":
			if _, ok := p.m.Tokenizer.TokenToID(">>" + o.TgtLang + "<<"); o.TgtLang != "" && ok {
				lo.Prefix = ">>" + o.TgtLang + "<< "
			} else {
				return nil, inputErr("give both src_lang and tgt_lang")
			}
		default:
			var names []string
			for _, n := range p.m.TaskNames() {
				if strings.HasPrefix(n, "translation") {
					names = append(names, n)
				}
			}
			if len(names) == 1 {
				lo.Task = names[0]
			} else if len(names) > 1 {
				return nil, inputErr("the model has several translation tasks (%s): give src_lang and tgt_lang", strings.Join(names, ", "))
			}
		}
	}
	return lo, nil
}

// Run generates one text per input, in order, all of them in shared
// batches.
func (p *Text2Text) Run(ctx context.Context, inputs []string, opts *Text2TextOptions) ([]Generated, error) {
	if opts == nil {
		opts = &Text2TextOptions{}
	}
	if len(inputs) == 0 {
		return nil, inputErr("no inputs")
	}
	for i, in := range inputs {
		if strings.TrimSpace(in) == "" {
			return nil, inputErr("input %d is empty", i)
		}
	}
	lo, err := p.libraryOptions(opts)
	if err != nil {
		return nil, err
	}
	res, err := p.m.Generate(ctx, inputs, lo)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, inputErr("%v", err)
	}
	out := make([]Generated, len(res))
	for i, r := range res {
		out[i] = Generated{Text: r.Text, key: p.key}
	}
	return out, nil
}

// CallJSON runs calls {"inputs": TEXT or [TEXT, …], "max_new_tokens": N,
// "num_beams": K, "src_lang": …, "tgt_lang": …}. As Hugging Face, a text
// gives [{"translation_text": …}] (the field by task) and a list of texts
// one such object per text, in one flat list.
func (p *Text2Text) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[string, Text2TextOptions, Generated]{
		args: textArgs, run: p.Run,
		shape: func(outs []Generated, _ bool, _ *Text2TextOptions) any { return outs },
	}, calls)
}
