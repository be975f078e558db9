package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/tensor"
)

// GPT-2 124M inference workloads of ../shared/bench (torch_ref.py's
// protocol): random weights (matrices N(0, 0.02²), LayerNorm gains 1, biases
// 0), batch 1, a 32-token random prompt.
const (
	gpt2BenchPrompt = 32  // prompt tokens
	gpt2BenchSteps  = 128 // timed greedy decoding steps
)

// newGPT2Bench builds the random 124M model and a random prompt.
func newGPT2Bench(f infer.Format) (*gpt2.Inference, []int, error) {
	rng := tensor.NewRNG(0)
	m, err := gpt2.NewRandomInference(gpt2.Small124M(), rng, &gpt2.InferOptions{Format: f})
	if err != nil {
		return nil, nil, err
	}
	prompt := make([]int, gpt2BenchPrompt)
	for i := range prompt {
		prompt[i] = rng.IntN(m.VocabSize())
	}
	return m, prompt, nil
}

// benchGPT2Prefill times one forward over the prompt that fills an empty KV
// cache and computes the last position's logits and argmax: 2 warm-ups,
// then the median of 10; value = 32 / seconds. f is the weights' format.
func benchGPT2Prefill(f infer.Format) workload {
	return func(ctx context.Context, opt benchOptions) (benchResult, error) {
		const warmup, runs = 2, 10
		m, prompt, err := newGPT2Bench(f)
		if err != nil {
			return benchResult{}, err
		}
		s, err := m.NewState(1, gpt2BenchPrompt)
		if err != nil {
			return benchResult{}, err
		}
		var secs []float64
		for i := range warmup + runs {
			if err := ctx.Err(); err != nil {
				return benchResult{}, err
			}
			s.Reset()
			start := time.Now()
			logits, err := m.Forward(s, prompt, nil)
			if err != nil {
				return benchResult{}, err
			}
			argmax(logits)
			if i >= warmup {
				secs = append(secs, time.Since(start).Seconds())
			}
		}
		slices.Sort(secs)
		med := secs[len(secs)/2]
		return benchResult{Value: gpt2BenchPrompt / med, Unit: "tokens/s",
			Detail: fmt.Sprintf("GPT-2 124M %s, %d-token prompt, median of %d prefills %.2f ms", f, gpt2BenchPrompt, runs, med*1e3)}, nil
	}
}

// benchGPT2Decode returns the gpt2-decode workload: after a prefill, 128
// greedy steps each feeding the previous argmax, appending to the KV cache
// and computing the full-vocabulary logits. One warm-up generation (prefill
// + 16 tokens), then one timed generation; value = 128 / seconds of the
// steps. f is the weights' format.
func benchGPT2Decode(f infer.Format) workload {
	return func(ctx context.Context, opt benchOptions) (benchResult, error) {
		m, prompt, err := newGPT2Bench(f)
		if err != nil {
			return benchResult{}, err
		}
		s, err := m.NewState(1, gpt2BenchPrompt+gpt2BenchSteps)
		if err != nil {
			return benchResult{}, err
		}
		run := func(steps int) (float64, error) {
			s.Reset()
			logits, err := m.Forward(s, prompt, nil)
			if err != nil {
				return 0, err
			}
			tok := []int{argmax(logits)}
			start := time.Now()
			for range steps {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
				if logits, err = m.Forward(s, tok, nil); err != nil {
					return 0, err
				}
				tok[0] = argmax(logits)
			}
			return time.Since(start).Seconds(), nil
		}
		if _, err := run(16); err != nil {
			return benchResult{}, err
		}
		secs, err := run(gpt2BenchSteps)
		if err != nil {
			return benchResult{}, err
		}
		rate := gpt2BenchSteps / secs
		return benchResult{Value: rate, Unit: "tokens/s",
			Detail: fmt.Sprintf("GPT-2 124M %s weights (%.1f MB streamed per token), %d greedy steps after a %d-token prompt: %.2f ms/token",
				f, float64(m.WeightBytes())/1e6, gpt2BenchSteps, gpt2BenchPrompt, secs/gpt2BenchSteps*1e3)}, nil
	}
}

// argmax returns the index of the largest logit (the first on ties, like
// torch.argmax).
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
