package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
)

// benchTokenizeGPT2 times GPT-2 byte-level BPE encoding of opt.Input, as
// ../shared/bench/README.md specifies: the whole file is encoded as one
// string (special-token text is plain text), one warm-up encode, then the
// median of three timed encodes. Loading the vocabulary is not timed.
func benchTokenizeGPT2(ctx context.Context, opt benchOptions) (benchResult, error) {
	if opt.Input == "" {
		return benchResult{}, fmt.Errorf("%w: tokenize-gpt2 needs --input FILE", errUsage)
	}
	data, err := os.ReadFile(opt.Input)
	if err != nil {
		return benchResult{}, err
	}
	text := string(data)
	shared := testenv.SharedDir()
	if shared == "" {
		return benchResult{}, errors.New("tokenize-gpt2: the shared folder with tokenizers/gpt2 was not found (set " + testenv.EnvVar + ")")
	}
	dir := filepath.Join(shared, "tokenizers", "gpt2")
	m, err := bpe.LoadFiles(filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe"))
	if err != nil {
		return benchResult{}, err
	}
	var ids []int
	secs := make([]float64, 0, 3)
	for i := range 4 { // warm-up, then 3 timed
		if err := ctx.Err(); err != nil {
			return benchResult{}, err
		}
		start := time.Now()
		ids = m.Encode(text)
		if i > 0 {
			secs = append(secs, time.Since(start).Seconds())
		}
	}
	slices.Sort(secs)
	med := secs[len(secs)/2]
	mbps := float64(len(data)) / 1e6 / med
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "tokenize-gpt2: %d bytes -> %d ids, median %.1f ms (%.1f MB/s)\n", len(data), len(ids), med*1e3, mbps)
	}
	return benchResult{
		Value:  mbps,
		Unit:   "MB/s",
		Tokens: len(ids),
		Detail: fmt.Sprintf("%d bytes, %d ids, median of 3 encodes %.1f ms", len(data), len(ids), med*1e3),
	}, nil
}
