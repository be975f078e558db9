package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/glossa-ai/glossa/generate"
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

	// The generation keys below override the model's (or its task's)
	// generation_config.json values when given, as keyword arguments of
	// transformers' generate do. As there, temperature, top_k and top_p
	// apply only when sampling (do_sample, given or the model's default).

	// DoSample samples instead of searching (greedy or beams).
	DoSample *bool `json:"do_sample"`
	// Temperature divides the logits before sampling; it must be > 0.
	Temperature *float64 `json:"temperature"`
	// TopK keeps the K most likely tokens when sampling (0: all).
	TopK *int `json:"top_k"`
	// TopP keeps the smallest set of tokens whose probability reaches P.
	TopP *float64 `json:"top_p"`
	// LengthPenalty is beam search's length exponent.
	LengthPenalty *float64 `json:"length_penalty"`
	// NoRepeatNGramSize bans repeating an n-gram of this size.
	NoRepeatNGramSize *int `json:"no_repeat_ngram_size"`
	// MinLength is the fewest decoder tokens (the start token counted)
	// before EOS may end a text.
	MinLength *int `json:"min_length"`
	// Seed seeds sampling (text i uses Seed+i); nil means 0, so that a
	// call is reproducible.
	Seed *uint64 `json:"seed"`
	// NumReturnSequences is the number of texts per input: the best
	// beams or independent samples (greedy decoding has one). 0 means 1.
	NumReturnSequences int `json:"num_return_sequences"`
}

// applyGeneration overrides g's decoding keys with o's.
func (o *Text2TextOptions) applyGeneration(g *generate.Options) error {
	switch {
	case o.Temperature != nil && !(*o.Temperature > 0 && *o.Temperature <= 100):
		return inputErr("temperature %v must be a positive number (at most 100)", *o.Temperature)
	case o.TopK != nil && *o.TopK < 0:
		return inputErr("top_k %d must not be negative", *o.TopK)
	case o.TopP != nil && !(*o.TopP > 0 && *o.TopP <= 1):
		return inputErr("top_p %v must be in (0, 1]", *o.TopP)
	case o.LengthPenalty != nil && (math.IsNaN(*o.LengthPenalty) || math.IsInf(*o.LengthPenalty, 0)):
		return inputErr("length_penalty %v must be finite", *o.LengthPenalty)
	case o.NoRepeatNGramSize != nil && *o.NoRepeatNGramSize < 0:
		return inputErr("no_repeat_ngram_size %d must not be negative", *o.NoRepeatNGramSize)
	case o.MinLength != nil && *o.MinLength < 0:
		return inputErr("min_length %d must not be negative", *o.MinLength)
	}
	sampling := g.Temperature > 0
	if o.DoSample != nil && *o.DoSample != sampling {
		sampling = *o.DoSample
		if sampling {
			g.Temperature, g.TopK, g.TopP = 1, 50, 1 // transformers' GenerationConfig defaults
		} else {
			g.Temperature, g.TopK, g.TopP = 0, 0, 0
		}
	}
	if sampling {
		if o.Temperature != nil {
			g.Temperature = *o.Temperature
		}
		if o.TopK != nil {
			g.TopK = *o.TopK
		}
		if o.TopP != nil {
			g.TopP = *o.TopP
		}
	}
	if o.LengthPenalty != nil {
		g.LengthPenalty = *o.LengthPenalty
		if g.LengthPenalty == 0 {
			g.LengthPenalty = math.SmallestNonzeroFloat64 // len^0 = 1, as generate reads 0 as the default
		}
	}
	if o.NoRepeatNGramSize != nil {
		g.NoRepeatNGramSize = *o.NoRepeatNGramSize
	}
	if o.MinLength != nil {
		g.MinLength = *o.MinLength
	}
	if o.Seed != nil {
		g.Seed = *o.Seed
	}
	return nil
}

// Generated is one output; its field is named by the task.
type Generated struct {
	Text string
	// Tokens is the number of generated tokens (a final stop token
	// included) and SourceTokens the number the encoder read; they are
	// not part of the JSON.
	Tokens, SourceTokens int
	key                  string
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
	if text2textKeys[task] == "" {
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
	return NewText2Text(task, m)
}

// NewText2Text returns the pipeline of task over a loaded model, so that
// the three tasks can share one model's weights.
func NewText2Text(task Task, m *text2text.Model) (*Text2Text, error) {
	key := text2textKeys[task]
	if key == "" {
		return nil, fmt.Errorf("pipeline: %q is not an encoder-decoder task", task)
	}
	if m == nil {
		return nil, errors.New("pipeline: no model")
	}
	return &Text2Text{task: task, m: m, key: key}, nil
}

// text2textKeys are the result fields of the encoder-decoder tasks.
var text2textKeys = map[Task]string{TranslationTask: "translation_text", SummarizationTask: "summary_text", Text2TextTask: "generated_text"}

// Task reports the pipeline's task.
func (p *Text2Text) Task() Task { return p.task }

// Model returns the model with its tokenizer.
func (p *Text2Text) Model() *text2text.Model { return p.m }

// LibraryOptions returns the text2text options a call with o runs with,
// for callers that need more than Run (streaming, stop strings): the
// task_specific_params entry or a language token as prefix, and the
// generation keys over the model's defaults. A bad option is an error
// wrapping ErrInput.
func (p *Text2Text) LibraryOptions(o *Text2TextOptions) (*text2text.Options, error) {
	lo, err := p.taskOptions(o)
	if err != nil {
		return nil, err
	}
	g := p.m.GenerateOptions()
	if lo.Task != "" {
		_, gen, _ := p.m.Task(lo.Task)
		g = gen.Options()
	}
	if err := o.applyGeneration(&g); err != nil {
		return nil, err
	}
	lo.Generation = &g
	return lo, nil
}

// taskOptions maps o's task, language and length options to text2text's.
func (p *Text2Text) taskOptions(o *Text2TextOptions) (*text2text.Options, error) {
	lo := &text2text.Options{NumBeams: o.NumBeams, MaxNewTokens: o.MaxNewTokens, MinNewTokens: o.MinNewTokens,
		NumReturnSequences: o.NumReturnSequences, Truncate: o.Truncation, SortByLength: true}
	if o.NumBeams < 0 || o.MaxNewTokens < 0 || o.MinNewTokens < 0 || o.NumReturnSequences < 0 {
		return nil, inputErr("num_beams %d, max_new_tokens %d, min_new_tokens %d and num_return_sequences %d must not be negative",
			o.NumBeams, o.MaxNewTokens, o.MinNewTokens, o.NumReturnSequences)
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

// Run generates opts.NumReturnSequences texts (one by default) per input,
// in order (input i's j-th at i·n+j), all of them in shared batches.
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
	lo, err := p.LibraryOptions(opts)
	if err != nil {
		return nil, err
	}
	res, err := p.m.Generate(ctx, inputs, lo)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("pipeline: %w: %w", ErrInput, err)
	}
	out := make([]Generated, len(res))
	for i, r := range res {
		out[i] = Generated{Text: r.Text, Tokens: len(r.Tokens), SourceTokens: r.SourceTokens, key: p.key}
	}
	return out, nil
}

// CallJSON runs calls {"inputs": TEXT or [TEXT, …], "max_new_tokens": N,
// "num_beams": K, "src_lang": …, "tgt_lang": …, …} (the keys of
// Text2TextOptions). As Hugging Face, a text gives [{"translation_text":
// …}] (the field by task; num_return_sequences such objects) and a list of
// texts one such object per text, in one flat list, or, with
// num_return_sequences > 1, one list per text.
func (p *Text2Text) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[string, Text2TextOptions, []Generated]{
		args: textArgs,
		run: func(ctx context.Context, inputs []string, o *Text2TextOptions) ([][]Generated, error) {
			flat, err := p.Run(ctx, inputs, o)
			if err != nil {
				return nil, err
			}
			n := max(o.NumReturnSequences, 1)
			per := make([][]Generated, len(inputs))
			for i := range per {
				per[i] = flat[i*n : (i+1)*n]
			}
			return per, nil
		},
		shape: func(outs [][]Generated, single bool, o *Text2TextOptions) any {
			switch {
			case single:
				return outs[0]
			case max(o.NumReturnSequences, 1) > 1:
				return outs
			}
			flat := make([]Generated, len(outs))
			for i, g := range outs {
				flat[i] = g[0]
			}
			return flat
		},
	}, calls)
}
