package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/infer"
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

// The llama.cpp peer workloads of ../shared/bench (llamacpp_ref.mjs's
// protocol): a 110M Llama (dim 768, 12 layers, 12 heads, SwiGLU 2048, vocab
// 32000, tied embeddings), batch 1, a context of 512.
const (
	llamaBenchPrompt = 32  // prompt tokens
	llamaBenchSteps  = 128 // timed greedy decoding steps per round
	llamaBenchRounds = 3
	llamaBenchCtx    = 512 // llama.cpp's contextSize
)

// llamaBenchConfig is the 110M shape of llamacpp_ref.mjs.
func llamaBenchConfig() llama.Config {
	return llama.Config{VocabSize: 32000, HiddenSize: 768, Intermediate: 2048, NumLayers: 12, NumHeads: 12,
		NumKVHeads: 12, MaxPositions: llamaBenchCtx, RMSNormEps: 1e-5, TieEmbeddings: true}
}

// benchLlama returns llama-decode-TYPE (decode true) or llama-prefill-TYPE:
// after a warm-up prefill and 16 greedy steps, three rounds on a cleared
// state, each a timed prefill of the 32-token prompt then 128 timed greedy
// steps (full logits and argmax each); the value is the median over rounds
// of 32 / prefill seconds or 128 / decode seconds.
func benchLlama(f infer.Format, decode bool) workload {
	return func(ctx context.Context, opt benchOptions) (benchResult, error) {
		m, src, err := loadLlamaBench(opt.Input, f, opt.CacheType)
		if err != nil {
			return benchResult{}, err
		}
		// The model's whole context, as llama.cpp's: the cache grows with
		// the positions a round uses.
		s, err := m.NewState(1, 0)
		if err != nil {
			return benchResult{}, err
		}
		prompt := make([]int, llamaBenchPrompt)
		for i := range prompt {
			prompt[i] = (i*7919 + 1) % m.VocabSize()
		}
		run := func(steps int) (pre, dec float64, err error) {
			s.Reset()
			start := time.Now()
			logits, err := m.Forward(s, prompt, nil)
			if err != nil {
				return 0, 0, err
			}
			tok := []int{generate.Argmax(logits)}
			pre = time.Since(start).Seconds()
			start = time.Now()
			for range steps {
				if err := ctx.Err(); err != nil {
					return 0, 0, err
				}
				if logits, err = m.Forward(s, tok, nil); err != nil {
					return 0, 0, err
				}
				tok[0] = generate.Argmax(logits)
			}
			return pre, time.Since(start).Seconds(), nil
		}
		if _, _, err := run(16); err != nil {
			return benchResult{}, err
		}
		var pres, decs []float64
		for range llamaBenchRounds {
			pre, dec, err := run(llamaBenchSteps)
			if err != nil {
				return benchResult{}, err
			}
			pres, decs = append(pres, llamaBenchPrompt/pre), append(decs, llamaBenchSteps/dec)
		}
		slices.Sort(pres)
		slices.Sort(decs)
		pre, dec := pres[len(pres)/2], decs[len(decs)/2]
		c := m.Config
		detail := fmt.Sprintf("Llama %.0fM (dim %d, %d layers, %d/%d heads), %s weights from %s (%.1f MB streamed per token), %v KV cache: prefill %.0f tokens/s, decode %.1f tokens/s",
			float64(m.NumParams())/1e6, c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKVHeads, f, src, float64(m.WeightBytes())/1e6, s.Cache.Type, pre, dec)
		if decode {
			return benchResult{Value: dec, Unit: "tokens/s", Detail: detail}, nil
		}
		return benchResult{Value: pre, Unit: "tokens/s", Detail: detail}, nil
	}
}

// loadLlamaBench returns the benchmark model and where its weights came
// from: the GGUF file sidebyside passes (--input), the same file llama.cpp
// runs, or without one the same shape with random weights (HF's
// initialisation), capped at the protocol's 512-token context. A file that
// stores its matrices in the asked Q8_0/Q4_0 format is used where it is
// mapped, as llama.cpp uses it.
func loadLlamaBench(input string, f infer.Format, kv infer.KVType) (*llama.Model, string, error) {
	if input == "" {
		m, err := llama.New(llamaBenchConfig(), 0, &llama.Options{Format: f, CacheType: kv.Or(infer.KVF16)})
		return m, "random initialisation", err
	}
	m, err := llama.LoadGGUF(input, &llama.Options{Format: f, MaxPositions: llamaBenchCtx, CacheType: kv})
	return m, filepath.Base(input), err
}
