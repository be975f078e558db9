package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/llama"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// runGenerate implements "glossa generate": load a causal LM and its
// tokenizer, encode the prompt, and stream the continuation to stdout.
func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	modelPath := fs.String("model", "", "Hugging Face model folder (config.json model_type llama) or llama2.c .bin checkpoint")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the model folder, or tokenizer.bin beside a .bin)")
	temperature := fs.Float64("temperature", 1, "sampling temperature; 0 is greedy")
	topK := fs.Int("top-k", 0, "sample from the K most likely tokens (0: all)")
	topP := fs.Float64("top-p", 1, "nucleus sampling: the smallest set with probability >= P (1: off)")
	minP := fs.Float64("min-p", 0, "drop tokens less likely than P times the most likely (0: off)")
	repPenalty := fs.Float64("repetition-penalty", 1, "penalise tokens already in the context (1: off)")
	presence := fs.Float64("presence-penalty", 0, "subtract from the logits of tokens that occurred")
	frequency := fs.Float64("frequency-penalty", 0, "subtract per occurrence")
	seed := fs.Uint64("seed", 0, "sampling seed (default: from the clock)")
	maxNew := fs.Int("max-new-tokens", 256, "tokens to generate at most")
	steps := fs.Int("steps", 0, "llama2.c semantics: total positions including BOS and the prompt, stopping at BOS (overrides --max-new-tokens)")
	beams := fs.Int("num-beams", 1, "beam search with this many beams (greedy, ignores sampling flags)")
	var stops []string
	fs.Func("stop", "stop when the text contains `STR` (repeatable)", func(s string) error {
		if s == "" {
			return errors.New("empty stop string")
		}
		stops = append(stops, s)
		return nil
	})
	stats := fs.Bool("stats", false, "print the decoding speed to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa generate --model PATH [--tokenizer PATH] [--temperature T] [--top-k K] [--top-p P] [--min-p P]")
		fmt.Fprintln(stderr, "         [--repetition-penalty R] [--seed S] [--max-new-tokens N | --steps N] [--stop STR] PROMPT")
		fmt.Fprintln(stderr, "\nThe prompt is echoed, then the continuation streams as it is generated.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	switch {
	case *modelPath == "":
		return fmt.Errorf("%w: --model is required", errUsage)
	case fs.NArg() > 1:
		return fmt.Errorf("%w: want one PROMPT argument (quote it), got %d", errUsage, fs.NArg())
	case *maxNew < 0 || *steps < 0 || *beams < 0:
		return fmt.Errorf("%w: --max-new-tokens, --steps and --num-beams must not be negative", errUsage)
	}
	prompt := fs.Arg(0)

	m, tokDefault, err := loadCausalLM(*modelPath)
	if err != nil {
		return err
	}
	if *tokPath == "" {
		*tokPath = tokDefault
	}
	if *tokPath == "" {
		return fmt.Errorf("%w: no tokenizer found beside %s; pass --tokenizer", errUsage, *modelPath)
	}
	tok, err := auto.Load(*tokPath)
	if err != nil {
		return err
	}
	enc, err := tok.Encode(prompt)
	if err != nil {
		return err
	}
	ids := enc.IDs
	if len(ids) == 0 {
		return fmt.Errorf("%w: the prompt encodes to no tokens and the tokenizer adds no BOS", errUsage)
	}

	// Llama vocabularies decode through their model so that a skipped BOS
	// still drops the following piece's leading space, as run.c and HF do.
	var dec generate.Decoder = tok
	if sp, ok := tok.Model().(*sentencepiece.Model); ok {
		dec = sp
	}
	opts := generate.Options{
		SamplingOptions: generate.SamplingOptions{Temperature: *temperature, TopK: *topK, TopP: *topP, MinP: *minP,
			RepetitionPenalty: *repPenalty, PresencePenalty: *presence, FrequencyPenalty: *frequency},
		Seed: *seed, MaxNewTokens: *maxNew, StopStrings: stops, NumBeams: *beams, Decoder: dec,
	}
	if !seedSet {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	if *steps > 0 {
		// llama2.c's run.c counts every position it feeds, BOS and prompt
		// included, clamps to the model's length, and stops when the model
		// produces BOS.
		// Each pass from the last prompt position on yields a token.
		n := min(*steps, m.MaxLen())
		opts.MaxNewTokens = n - len(ids) + 1
		if bos := bosID(tok, m); bos >= 0 {
			opts.StopTokens = []int{bos}
		}
		if opts.MaxNewTokens <= 0 {
			return fmt.Errorf("%w: --steps %d leaves no room after the %d prompt tokens", errUsage, *steps, len(ids))
		}
	} else {
		opts.StopTokens = m.Config.EOSTokenIDs
	}

	// Echo the prompt as the model sees it, then stream.
	echo, err := dec.Decode(ids, true)
	if err != nil {
		return err
	}
	var werr error
	write := func(s string) {
		if werr == nil {
			_, werr = io.WriteString(stdout, s)
		}
	}
	write(echo)
	opts.OnText = func(_ int, piece string) { write(piece) }
	start := time.Now()
	seqs, err := generate.Generate(ctx, m, [][]int{ids}, opts)
	elapsed := time.Since(start)
	write("\n")
	if werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if *stats {
		n := len(seqs[0].Tokens)
		fmt.Fprintf(stderr, "%d tokens in %v: %.1f tokens/s (%s)\n", n, elapsed.Round(time.Millisecond),
			float64(n)/elapsed.Seconds(), seqs[0].Reason)
	}
	return nil
}

// loadCausalLM loads a model for generation: a llama2.c .bin file, or a
// Hugging Face folder whose config.json names a supported model_type. It also
// returns where its tokenizer is expected ("" when unknown).
func loadCausalLM(path string) (*llama.Model, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if !fi.IsDir() {
		m, err := llama.LoadLlama2C(path)
		if err != nil {
			return nil, "", err
		}
		tok := filepath.Join(filepath.Dir(path), "tokenizer.bin")
		if _, err := os.Stat(tok); err != nil {
			tok = ""
		}
		return m, tok, nil
	}
	data, err := os.ReadFile(filepath.Join(path, "config.json"))
	if err != nil {
		return nil, "", err
	}
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, "", fmt.Errorf("%s: %w", filepath.Join(path, "config.json"), err)
	}
	switch head.ModelType {
	case "llama":
		m, err := llama.Load(path)
		return m, path, err
	}
	return nil, "", fmt.Errorf("model_type %q is not supported by generate (supported: llama)", head.ModelType)
}

// bosID returns the beginning-of-sequence id: the tokenizer's <s>, else the
// model config's.
func bosID(tok *tokenizer.Tokenizer, m *llama.Model) int {
	if id, ok := tok.TokenToID("<s>"); ok {
		return id
	}
	if m.Config.BOSTokenID != nil {
		return *m.Config.BOSTokenID
	}
	return -1
}
