package quickstart

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/models/gpt2"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// Sample is one generated text.
type Sample struct {
	Mode   string // how it was decoded: "greedy, repetition penalty 1.3", "sampled, T=0.8 top-k 40"
	Prompt string
	Text   string // the continuation
}

// prompt is one generation request.
type prompt struct {
	text string
	opts generate.SamplingOptions
}

// describe names a sampling setup for the report.
func describe(o generate.SamplingOptions) string {
	switch {
	case o.Temperature > 0 && o.TopK > 0:
		return fmt.Sprintf("sampled, T=%g top-k %d", o.Temperature, o.TopK)
	case o.Temperature > 0 && o.TopP > 0:
		return fmt.Sprintf("sampled, T=%g top-p %g", o.Temperature, o.TopP)
	case o.RepetitionPenalty > 0:
		return fmt.Sprintf("greedy, repetition penalty %g", o.RepetitionPenalty)
	}
	return "greedy"
}

// GenerateGodoc continues the openings of Go doc comments ("// Package",
// "// NewReader returns", …) with the GPT-2 folder dir (greedy with a
// repetition penalty, and sampled), n new tokens at most, stopping at the
// end of the comment.
func GenerateGodoc(ctx context.Context, dir string, seed uint64, n int) ([]Sample, error) {
	m, err := gpt2.LoadInference(dir, nil)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	tok, err := tokauto.Load(dir)
	if err != nil {
		return nil, err
	}
	eot, hasEOT := tok.TokenToID(bpe.EndOfText)
	var out []Sample
	for _, g := range []prompt{
		{"// Package", generate.SamplingOptions{RepetitionPenalty: 1.3}},
		{"// NewReader returns", generate.SamplingOptions{RepetitionPenalty: 1.3}},
		{"// Close closes", generate.SamplingOptions{RepetitionPenalty: 1.3}},
		{"// Package crypto", generate.SamplingOptions{Temperature: 0.7, TopK: 20}},
	} {
		enc, err := tok.Encode(g.text)
		if err != nil {
			return nil, err
		}
		opts := generate.Options{SamplingOptions: g.opts, Seed: seed, MaxNewTokens: n, Decoder: tok, StopStrings: []string{"\n\n"}}
		if hasEOT {
			opts.StopTokens = []int{eot}
		}
		seqs, err := generate.Generate(ctx, m, [][]int{enc.IDs}, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, Sample{Mode: describe(g.opts), Prompt: g.text, Text: seqs[0].Text})
	}
	return out, nil
}

// GenerateStories continues a story with llama2.c's stories260K
// (stories260K.bin and tok512.bin in dir), n new tokens at most.
func GenerateStories(ctx context.Context, dir string, seed uint64, n int) ([]Sample, error) {
	m, err := auto.LoadCausalLM(filepath.Join(dir, "stories260K.bin"), nil)
	if err != nil {
		return nil, err
	}
	tok, err := tokauto.Load(filepath.Join(dir, "tok512.bin"))
	if err != nil {
		return nil, err
	}
	var dec generate.Decoder = tok
	if sp, ok := tok.Model().(*sentencepiece.Model); ok {
		dec = sp // skips BOS and the following piece's leading space, as run.c
	}
	var out []Sample
	for _, g := range []prompt{
		{"Once upon a time", generate.SamplingOptions{}},
		{"Lily wanted to", generate.SamplingOptions{Temperature: 0.8, TopP: 0.9}},
	} {
		enc, err := tok.Encode(g.text)
		if err != nil {
			return nil, err
		}
		seqs, err := generate.Generate(ctx, m, [][]int{enc.IDs}, generate.Options{SamplingOptions: g.opts, Seed: seed,
			MaxNewTokens: min(n, m.MaxLen()-len(enc.IDs)), Decoder: dec, StopTokens: m.EOSTokenIDs})
		if err != nil {
			return nil, err
		}
		out = append(out, Sample{Mode: describe(g.opts), Prompt: g.text, Text: seqs[0].Text})
	}
	return out, nil
}
