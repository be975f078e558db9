package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
)

// trainWorkload is one training benchmark, as ../shared/bench/torch_ref.py
// defines it: a GPT-2-style model (pre-LN, learned positions, tied lm_head,
// exact GELU, no dropout), a step of forward, mean cross-entropy against the
// next tokens, backward and AdamW (lr 1e-3, betas 0.9/0.95, eps 1e-8, weight
// decay 0.1 on 2-D parameters, 0 on 1-D), timed from the forward to the end
// of the update.
type trainWorkload struct {
	vocab, layers, width, heads, block, batch int
	warmup, steps                             int
	bf16                                      bool // bfloat16 mixed precision (gpt2.Trainer.SetBF16)
}

var (
	trainChar  = trainWorkload{vocab: 65, layers: 6, width: 384, heads: 6, block: 256, batch: 12, warmup: 2, steps: 5}
	trainSmall = trainWorkload{vocab: 65, layers: 4, width: 128, heads: 4, block: 64, batch: 32, warmup: 2, steps: 20}
)

// benchTrainChar times the nanoGPT-style character model training step.
func benchTrainChar(ctx context.Context, opt benchOptions) (benchResult, error) {
	return benchTrain(ctx, trainChar, opt)
}

// benchTrainSmall times the small GPT training step.
func benchTrainSmall(ctx context.Context, opt benchOptions) (benchResult, error) {
	return benchTrain(ctx, trainSmall, opt)
}

// benchTrainBF16 returns the bfloat16 mixed-precision variant of w
// (train-char-bf16, train-small-bf16): bfloat16 products with float32
// sums, float32 master weights, gradients and AdamW state.
func benchTrainBF16(w trainWorkload) workload {
	w.bf16 = true
	return func(ctx context.Context, opt benchOptions) (benchResult, error) { return benchTrain(ctx, w, opt) }
}

func benchTrain(ctx context.Context, w trainWorkload, opt benchOptions) (benchResult, error) {
	cfg := gpt2.Config{VocabSize: w.vocab, NumPos: w.block, NumEmbd: w.width, NumLayer: w.layers,
		NumHead: w.heads, ActivationFunction: "gelu"}
	rng := tensor.NewRNG(0)
	model, err := gpt2.New(cfg, rng)
	if err != nil {
		return benchResult{}, err
	}
	trainer := gpt2.NewTrainer(model)
	trainer.SetBF16(w.bf16)
	params := nn.OptimParams(model.Params())
	adamw, err := optim.NewAdamW(optim.DecayGroups(params, 0.1), optim.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8})
	if err != nil {
		return benchResult{}, err
	}
	B, T := w.batch, w.block
	// Four random batches of B×(T+1) tokens, cycled: x = batch[:, :-1], y = batch[:, 1:].
	type batch struct{ x, y []int }
	data := make([]batch, 4)
	for i := range data {
		x, y := make([]int, B*T), make([]int, B*T)
		for b := 0; b < B; b++ {
			seq := make([]int, T+1)
			for t := range seq {
				seq[t] = rng.IntN(w.vocab)
			}
			copy(x[b*T:], seq[:T])
			copy(y[b*T:], seq[1:])
		}
		data[i] = batch{x, y}
	}

	var times []float64
	var losses []float32
	var ms0, ms1 runtime.MemStats
	for i := 0; i < w.warmup+w.steps; i++ {
		if err := ctx.Err(); err != nil {
			return benchResult{}, err
		}
		if i == w.warmup {
			runtime.ReadMemStats(&ms0)
		}
		d := data[i%len(data)]
		start := time.Now()
		if _, err := trainer.Forward(d.x, B, T); err != nil {
			return benchResult{}, err
		}
		loss, err := trainer.Loss(d.y)
		if err != nil {
			return benchResult{}, err
		}
		model.ZeroGrad()
		if err := trainer.Backward(); err != nil {
			return benchResult{}, err
		}
		adamw.Step()
		dt := time.Since(start).Seconds()
		losses = append(losses, loss)
		if i >= w.warmup {
			times = append(times, dt)
		}
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "step %d: loss %.4f, %.3f s\n", i, loss, dt)
		}
	}
	runtime.ReadMemStats(&ms1)
	precision := "float32"
	if w.bf16 {
		precision = "bf16 products, float32 master weights and AdamW"
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		med = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / float64(w.steps)
	bytes := float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(w.steps)
	return benchResult{
		Value:  float64(B*T) / med,
		Unit:   "tokens/s",
		Tokens: B * T,
		Detail: fmt.Sprintf("params %d, %s, step %.4f s (median of %d), loss %.4f -> %.4f, %.1f allocs/step (%.0f B/step)",
			cfg.NumParams(), precision, med, w.steps, losses[0], losses[len(losses)-1], allocs, bytes),
	}, nil
}
