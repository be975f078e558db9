package pipeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// TextGeneration is Hugging Face's text-generation pipeline over a causal
// LM (Llama, GPT-2, llama2.c and GGUF files): prompts in, their
// continuations out, all prompts decoded as one batch; a list of chat
// messages is rendered with the model's chat template. NewSession starts a
// conversation that keeps the model's cache between turns. It is safe for
// concurrent use.
type TextGeneration struct {
	lm   *auto.CausalLM
	tok  *tokenizer.Tokenizer
	tmpl *chat.Template // the model's own chat template; nil without
}

// TextGenerationOptions are the text-generation pipeline's call options,
// with Hugging Face's generate() defaults for zero values.
type TextGenerationOptions struct {
	// MaxNewTokens bounds the tokens generated per prompt. Zero: 256.
	MaxNewTokens int `json:"max_new_tokens"`
	// DoSample samples; otherwise decoding is greedy (Hugging Face's
	// default).
	DoSample bool `json:"do_sample"`
	// Temperature, TopK, TopP and RepetitionPenalty shape the sampling.
	// Zero: 1, 50, 1, 1 (Hugging Face's defaults).
	Temperature       float64 `json:"temperature"`
	TopK              int     `json:"top_k"`
	TopP              float64 `json:"top_p"`
	RepetitionPenalty float64 `json:"repetition_penalty"`
	// NumBeams > 1 decodes by beam search.
	NumBeams int `json:"num_beams"`
	// StopStrings end a continuation where one appears.
	StopStrings []string `json:"stop_strings"`
	// ReturnFullText puts the prompt before the continuation. Nil: true.
	ReturnFullText *bool `json:"return_full_text"`
	// Seed seeds the sampling (prompt i uses Seed+i).
	Seed uint64 `json:"seed"`
}

// GeneratedText is one continuation.
type GeneratedText struct {
	GeneratedText string `json:"generated_text"`
}

// LoadTextGeneration loads the text-generation pipeline of a causal LM (a
// folder, a .gguf or llama2.c file, or a Hub reference) with the tokenizer
// and chat template found beside it.
func LoadTextGeneration(ctx context.Context, modelRef string, opts *Options) (*TextGeneration, error) {
	if opts == nil {
		opts = &Options{}
	}
	path, err := resolve(ctx, modelRef, opts)
	if err != nil {
		return nil, err
	}
	lm, err := auto.LoadCausalLM(path, &auto.LoadOptions{Format: opts.Format})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	tokPath := opts.Tokenizer
	if tokPath == "" {
		tokPath = lm.TokenizerPath
	}
	if tokPath == "" {
		return nil, fmt.Errorf("pipeline: no tokenizer found beside %s; name one (Options.Tokenizer)", modelRef)
	}
	tok, err := tokauto.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	tmpl, err := ChatTemplate("", tokPath, lm, tok)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return &TextGeneration{lm: lm, tok: tok, tmpl: tmpl}, nil
}

// Task reports TextGenerationTask.
func (p *TextGeneration) Task() Task { return TextGenerationTask }

// Model returns the causal LM.
func (p *TextGeneration) Model() *auto.CausalLM { return p.lm }

// Tokenizer returns the model's tokenizer.
func (p *TextGeneration) Tokenizer() *tokenizer.Tokenizer { return p.tok }

// Template returns the model's chat template (nil for a base model).
func (p *TextGeneration) Template() *chat.Template { return p.tmpl }

// NewSession starts a conversation (see Session).
func (p *TextGeneration) NewSession(opts SessionOptions) (*Session, error) {
	return NewSession(p.lm, p.tok, opts)
}

// generateOptions maps o to the decoding loop's options.
func (p *TextGeneration) generateOptions(o *TextGenerationOptions) (generate.Options, error) {
	g := generate.Options{MaxNewTokens: o.MaxNewTokens, Seed: o.Seed, NumBeams: o.NumBeams, StopStrings: o.StopStrings,
		StopTokens: p.lm.EOSTokenIDs, Decoder: decoderOf(p.tok)}
	if g.MaxNewTokens == 0 {
		g.MaxNewTokens = 256
	}
	if o.MaxNewTokens < 0 || o.NumBeams < 0 || o.TopK < 0 {
		return g, inputErr("max_new_tokens %d, num_beams %d and top_k %d must not be negative", o.MaxNewTokens, o.NumBeams, o.TopK)
	}
	g.RepetitionPenalty = o.RepetitionPenalty
	if o.DoSample {
		g.Temperature, g.TopK, g.TopP = o.Temperature, o.TopK, o.TopP
		if g.Temperature == 0 {
			g.Temperature = 1
		}
		if g.TopK == 0 {
			g.TopK = 50
		}
		if g.TopP == 0 {
			g.TopP = 1
		}
	}
	if err := g.SamplingOptions.Validate(); err != nil {
		return g, inputErr("%v", err)
	}
	return g, nil
}

// Run continues every prompt, all of them decoded together.
func (p *TextGeneration) Run(ctx context.Context, prompts []string, opts *TextGenerationOptions) ([]GeneratedText, error) {
	if opts == nil {
		opts = &TextGenerationOptions{}
	}
	if len(prompts) == 0 {
		return nil, inputErr("no inputs")
	}
	ids := make([][]int, len(prompts))
	for i, pr := range prompts {
		enc, err := p.tok.Encode(pr)
		if err != nil {
			return nil, inputErr("input %d: %v", i, err)
		}
		if enc.Len() == 0 {
			return nil, inputErr("input %d encodes to no tokens (and the tokenizer adds no BOS)", i)
		}
		ids[i] = enc.IDs
	}
	return p.generate(ctx, prompts, ids, opts)
}

func (p *TextGeneration) generate(ctx context.Context, prompts []string, ids [][]int, opts *TextGenerationOptions) ([]GeneratedText, error) {
	g, err := p.generateOptions(opts)
	if err != nil {
		return nil, err
	}
	seqs, err := generate.Generate(ctx, p.lm, ids, g)
	if err != nil {
		return nil, err
	}
	out := make([]GeneratedText, len(seqs))
	for i, s := range seqs {
		text := s.Text
		if opts.ReturnFullText == nil || *opts.ReturnFullText {
			text = prompts[i] + text
		}
		out[i] = GeneratedText{text}
	}
	return out, nil
}

// Chat continues a conversation: messages rendered with the model's chat
// template, the reply returned as the assistant's message.
func (p *TextGeneration) Chat(ctx context.Context, messages []chat.Message, opts *TextGenerationOptions) (chat.Message, error) {
	if p.tmpl == nil {
		return chat.Message{}, inputErr("the model has no chat template: give a text prompt")
	}
	if opts == nil {
		opts = &TextGenerationOptions{}
	}
	prompt, err := p.tmpl.Render(messages, true)
	if err != nil {
		return chat.Message{}, inputErr("%v", err)
	}
	plain, err := untemplated(p.tok)
	if err != nil {
		return chat.Message{}, err
	}
	enc, err := plain.Encode(prompt)
	if err != nil {
		return chat.Message{}, inputErr("%v", err)
	}
	no := false
	o := *opts
	o.ReturnFullText = &no
	out, err := p.generate(ctx, []string{prompt}, [][]int{enc.IDs}, &o)
	if err != nil {
		return chat.Message{}, err
	}
	return chat.Message{Role: "assistant", Content: out[0].GeneratedText}, nil
}

// CallJSON runs text-generation calls: {"inputs": PROMPT, [PROMPT, …] or
// a chat, [{"role": …, "content": …}, …], "max_new_tokens": N,
// "do_sample": true, "temperature": T, …}. As Hugging Face, a prompt gives
// [{"generated_text": …}], a list of prompts a list of those, and a chat
// [{"generated_text": the messages with the assistant's reply}].
func (p *TextGeneration) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	res := make([]Result, len(calls))
	var texts []json.RawMessage
	var at []int
	for i, c := range calls {
		var v struct {
			Inputs []chat.Message `json:"inputs"`
		}
		if json.Unmarshal(c, &v) == nil && len(v.Inputs) > 0 && v.Inputs[0].Role != "" {
			res[i] = p.chatJSON(ctx, c)
			continue
		}
		texts, at = append(texts, c), append(at, i)
	}
	tr := callJSON(ctx, jsonTask[string, TextGenerationOptions, GeneratedText]{
		args: textArgs, run: p.Run,
		shape: func(outs []GeneratedText, single bool, _ *TextGenerationOptions) any {
			lists := make([][]GeneratedText, len(outs))
			for i, o := range outs {
				lists[i] = []GeneratedText{o}
			}
			return one(lists, single)
		},
	}, texts)
	for k, i := range at {
		res[i] = tr[k]
	}
	return res
}

// chatJSON runs one chat call.
func (p *TextGeneration) chatJSON(ctx context.Context, call json.RawMessage) Result {
	var msgs []chat.Message
	r := callJSON(ctx, jsonTask[chat.Message, TextGenerationOptions, chat.Message]{
		args: func(fields map[string]json.RawMessage) ([]chat.Message, bool, error) {
			if err := json.Unmarshal(take(fields, "inputs"), &msgs); err != nil {
				return nil, false, inputErr("inputs: %v", err)
			}
			return msgs, true, nil
		},
		run: func(ctx context.Context, in []chat.Message, o *TextGenerationOptions) ([]chat.Message, error) {
			reply, err := p.Chat(ctx, in, o)
			return []chat.Message{reply}, err
		},
		shape: func(outs []chat.Message, _ bool, _ *TextGenerationOptions) any {
			type gen struct {
				GeneratedText []chat.Message `json:"generated_text"`
			}
			return []gen{{append(msgs, outs...)}}
		},
	}, []json.RawMessage{call})
	return r[0]
}
