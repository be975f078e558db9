package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/llama"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// benchStories260K times greedy decoding of the real stories260K model as
// llama2.c's run.c does it (-t 0 -n 256 -i "Once upon a time": 256 forward
// passes, BOS and prompt included) and reports generated tokens per second:
// the median of 21 runs after one warm-up, each run from an empty cache and
// timed from the prompt to the last token (run.c's own figure starts after the
// first pass). Compare with the table in ../shared/golden/llama2c/README.md.
func benchStories260K(ctx context.Context, opt benchOptions) (benchResult, error) {
	shared := testenv.SharedDir()
	if shared == "" {
		return benchResult{}, errors.New("llama2c-stories260k: the shared folder with models/stories260K was not found (set " + testenv.EnvVar + ")")
	}
	dir := filepath.Join(shared, "models", "stories260K")
	m, err := llama.LoadLlama2C(filepath.Join(dir, "stories260K.bin"), nil)
	if err != nil {
		return benchResult{}, err
	}
	tok, err := sentencepiece.LoadLlama2C(filepath.Join(dir, "tok512.bin"))
	if err != nil {
		return benchResult{}, err
	}
	const steps = 256
	prompt := tok.Encode("Once upon a time", true, false)
	opts := generate.Options{MaxNewTokens: steps - len(prompt) + 1, StopTokens: []int{1}}
	var secs []float64
	n := 0
	for i := range 22 {
		start := time.Now()
		seqs, err := generate.Generate(ctx, m, [][]int{prompt}, opts)
		if err != nil {
			return benchResult{}, err
		}
		if i > 0 {
			secs = append(secs, time.Since(start).Seconds())
		}
		n = len(seqs[0].Tokens)
	}
	slices.Sort(secs)
	med := secs[len(secs)/2]
	rate := float64(n) / med
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "llama2c-stories260k: %d prompt + %d generated tokens, median %.2f ms (%.0f tokens/s)\n", len(prompt), n, med*1e3, rate)
	}
	return benchResult{
		Value:  rate,
		Unit:   "tokens/s",
		Tokens: n,
		Detail: fmt.Sprintf("greedy, %d prompt + %d generated tokens, median of 21 runs %.2f ms; llama2.c -Ofast -march=native: 13421 tok/s", len(prompt), n, med*1e3),
	}, nil
}
