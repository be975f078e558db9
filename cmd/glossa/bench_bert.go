package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// benchBERTForward times BertModel's forward as ../shared/bench/torch_ref.py
// does: BERT-base (12 post-LN layers, 768 wide, 12 heads, 3072 FFN, exact
// GELU, vocabulary 30522, pooler) with HF-style random weights, a batch of
// 8 × 128 random ids, attention mask all ones, token types 0, producing the
// last hidden state and the pooled output. One warm-up forward, then the
// median of 3; value = 8 / seconds per forward. format keeps the weights in
// float32 (bert-forward) or bfloat16 (bert-forward-bf16).
func benchBERTForward(format infer.Format) workload {
	return func(ctx context.Context, opt benchOptions) (benchResult, error) {
		if len(opt.Models) > 0 {
			return benchBERTModels(ctx, opt, format)
		}
		const B, T, warmup, runs = 8, 128, 1, 3
		cfg := bert.Base()
		model, err := bert.NewEncoder(cfg, 0, &bert.EncoderOptions{Format: format, Heads: bert.HeadPooler})
		if err != nil {
			return benchResult{}, err
		}
		rng := tensor.NewRNG(0)
		in := bert.Input{B: B, T: T, IDs: make([]int, B*T)}
		for i := range in.IDs {
			in.IDs[i] = rng.IntN(cfg.VocabSize)
		}
		var ws bert.Workspace
		var times []float64
		var checksum float32
		for i := range warmup + runs {
			if err := ctx.Err(); err != nil {
				return benchResult{}, err
			}
			start := time.Now()
			hidden, pooled, err := model.Forward(&ws, in)
			if err != nil {
				return benchResult{}, err
			}
			dt := time.Since(start).Seconds()
			checksum = hidden[0] + pooled[0]
			if i >= warmup {
				times = append(times, dt)
			}
			if opt.Log != nil {
				fmt.Fprintf(opt.Log, "forward %d: %.3f s\n", i, dt)
			}
		}
		slices.Sort(times)
		med := times[len(times)/2]
		return benchResult{
			Value: B / med,
			Unit:  "sequences/s",
			Detail: fmt.Sprintf("BERT-base forward %d×%d, %s weights: %.4f s (median of %d), checksum %.4f",
				B, T, format, med, runs, checksum),
		}, nil
	}
}
