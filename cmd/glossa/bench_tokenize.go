package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
)

// benchTokenizeGPT2 times GPT-2 byte-level BPE encoding of opt.Input, as
// ../shared/bench/README.md specifies: the whole file is encoded as one
// string (special-token text is plain text), one warm-up encode, then the
// median of three timed encodes. Loading the vocabulary is not timed.
func benchTokenizeGPT2(ctx context.Context, opt benchOptions) (benchResult, error) {
	text, m, err := loadTokenizeBench("tokenize-gpt2", opt)
	if err != nil {
		return benchResult{}, err
	}
	data := text
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

// loadTokenizeBench reads --input and the GPT-2 vocabulary from the shared
// folder.
func loadTokenizeBench(name string, opt benchOptions) (string, *bpe.Model, error) {
	if opt.Input == "" {
		return "", nil, fmt.Errorf("%w: %s needs --input FILE", errUsage, name)
	}
	data, err := os.ReadFile(opt.Input)
	if err != nil {
		return "", nil, err
	}
	shared := testenv.SharedDir()
	if shared == "" {
		return "", nil, errors.New(name + ": the shared folder with tokenizers/gpt2 was not found (set " + testenv.EnvVar + ")")
	}
	dir := filepath.Join(shared, "tokenizers", "gpt2")
	m, err := bpe.LoadFiles(filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe"))
	if err != nil {
		return "", nil, err
	}
	return string(data), m, nil
}

// benchTokenizeGPT2Batch times bpe.Model.EncodeBatch on the lines of
// --input (each line with its newline, as a dataset pipeline feeds them) on
// --threads cores: one warm-up, then the median of seven rounds. Comparing
// --threads 1 and 2 shows how batch encoding scales with cores.
func benchTokenizeGPT2Batch(ctx context.Context, opt benchOptions) (benchResult, error) {
	text, m, err := loadTokenizeBench("tokenize-gpt2-batch", opt)
	if err != nil {
		return benchResult{}, err
	}
	lines := strings.SplitAfter(text, "\n")
	var n int
	secs := make([]float64, 0, 7)
	for i := range 8 {
		if err := ctx.Err(); err != nil {
			return benchResult{}, err
		}
		start := time.Now()
		out := m.EncodeBatch(lines)
		if i > 0 {
			secs = append(secs, time.Since(start).Seconds())
		}
		n = 0
		for _, ids := range out {
			n += len(ids)
		}
	}
	slices.Sort(secs)
	med := secs[len(secs)/2]
	mbps := float64(len(text)) / 1e6 / med
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "tokenize-gpt2-batch: %d lines, %d bytes -> %d ids, median %.1f ms (%.1f MB/s, %.0f tokens/s)\n",
			len(lines), len(text), n, med*1e3, mbps, float64(n)/med)
	}
	return benchResult{
		Value:  mbps,
		Unit:   "MB/s",
		Tokens: n,
		Detail: fmt.Sprintf("%d lines, %d bytes, %d ids, median of 7 batches %.1f ms", len(lines), len(text), n, med*1e3),
	}, nil
}
