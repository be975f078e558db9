package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/perplexity"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// maxPerplexityText bounds the text "glossa eval --task perplexity" reads.
const maxPerplexityText = 256 << 20

// runEvalPerplexity implements "glossa eval --task perplexity".
func runEvalPerplexity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	modelPath := fs.String("model", "", modelFlagHelp)
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the model's own)")
	dataPath := fs.String("data", "", "plain-text `FILE` to score (required)")
	ctxLen := fs.Int("context", 0, "window length in tokens (llama-perplexity -c; default min(512, the model's length))")
	batch := fs.Int("batch-size", 8, "windows evaluated together")
	dtype := fs.String("dtype", "", dtypeFlagHelp+" (default f32, or stored for a .gguf file)")
	cacheType := fs.String("cache-type", "", cacheTypeFlagHelp)
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: glossa eval --task perplexity --model PATH --data FILE [--context N] [--dtype stored|f32|...]

Perplexity with llama.cpp's llama-perplexity semantics: the text's tokens are cut
into non-overlapping windows of --context tokens (BOS replacing the first one when
the tokenizer adds BOS), and the second half of every window is scored.
A .gguf file runs in its own tensor types unless --dtype says otherwise.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case *modelPath == "" || *dataPath == "":
		return fmt.Errorf("%w: --model and --data are required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case *ctxLen < 0 || *batch <= 0:
		return fmt.Errorf("%w: --context must not be negative and --batch-size must be positive", errUsage)
	}
	text, err := readBounded(*dataPath, maxPerplexityText)
	if err != nil {
		return err
	}
	m, tok, err := loadCausalLMTokenizer(ctx, *modelPath, *tokPath, *dtype, *cacheType, stderr)
	if err != nil {
		return err
	}
	opts := perplexity.Options{Context: *ctxLen, Batch: *batch}
	if empty, err := tok.Encode(""); err == nil && len(empty.IDs) > 0 && empty.IDs[0] == m.BOSTokenID {
		bos := m.BOSTokenID
		opts.BOS = &bos
	}
	raw, err := tok.WithOptions(tokenizer.Options{SkipTemplate: true})
	if err != nil {
		return err
	}
	enc, err := raw.Encode(string(text))
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := perplexity.Evaluate(ctx, m, enc.IDs, opts)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"task": "perplexity", "model": *modelPath, "data": *dataPath,
			"perplexity": res.Perplexity, "nll": res.NLL, "tokens_scored": res.Tokens, "windows": res.Windows,
			"context": res.Context, "text_tokens": len(enc.IDs), "seconds": secs})
	}
	_, err = fmt.Fprintf(stdout, "perplexity %.4f (nll %.5f nats/token) over %d scored tokens: %d windows of %d from %d tokens of %s, %.1fs\n",
		res.Perplexity, res.NLL, res.Tokens, res.Windows, res.Context, len(enc.IDs), *dataPath, secs)
	return err
}

// readBounded reads a whole file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// loadCausalLMTokenizer loads a --model and its tokenizer: tokPath, or the
// one the model carries or has beside it.
func loadCausalLMTokenizer(ctx context.Context, modelPath, tokPath, dtype, cacheType string, stderr io.Writer) (*auto.CausalLM, *tokenizer.Tokenizer, error) {
	m, err := loadCausalLM(ctx, modelPath, dtype, cacheType, stderr)
	if err != nil {
		return nil, nil, err
	}
	if tokPath == "" {
		tokPath = m.TokenizerPath
	}
	if tokPath == "" {
		return nil, nil, fmt.Errorf("%w: no tokenizer found beside %s; pass --tokenizer", errUsage, modelPath)
	}
	tok, err := tokauto.Load(tokPath)
	if err != nil {
		return nil, nil, err
	}
	return m, tok, nil
}
