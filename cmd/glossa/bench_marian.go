package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/seq2seq"
)

// The marian-translate workload of ../shared/bench (torch_ref.py's marian):
// Helsinki-NLP/opus-mt-en-de's shape with random weights, batch 1, a
// 32-token source, beam search with 4 beams for exactly 32 new tokens (EOS
// suppressed by min_length).
const (
	marianBenchSource = 32
	marianBenchNew    = 32
	marianBenchBeams  = 4
	marianBenchRounds = 3
)

// marianBenchConfig is opus-mt-en-de's config.json shape: 6+6 layers,
// d_model 512, 8 heads, FFN 2048, swish, vocab 58101, scaled embeddings,
// sinusoidal positions, pad = decoder start = 58100, EOS 0.
var marianBenchConfig = []byte(`{"model_type": "marian", "vocab_size": 58101, "d_model": 512,
	"encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8, "decoder_attention_heads": 8,
	"encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "activation_function": "swish",
	"max_position_embeddings": 512, "scale_embedding": true, "static_position_embeddings": true,
	"pad_token_id": 58100, "eos_token_id": 0, "decoder_start_token_id": 58100}`)

// benchMarianTranslate times whole translations — encoding the source, then
// beam search to the last token — and reports new tokens per second: 32 /
// the median of 3 translations after a warm-up.
func benchMarianTranslate(f infer.Format) workload {
	return func(ctx context.Context, opt benchOptions) (benchResult, error) {
		m, err := seq2seq.New(marianBenchConfig, 1, &seq2seq.Options{Format: f})
		if err != nil {
			return benchResult{}, err
		}
		rng := rand.New(rand.NewPCG(4, 4))
		src := make([]int, marianBenchSource)
		for i := range src {
			src[i] = 1 + rng.IntN(m.VocabSize()-2) // neither EOS nor pad
		}
		// HF's generate with no generation_config.json: num_beams 4,
		// max_new_tokens 32, min_length 33 (the start token counts), EOS 0.
		opts := m.GenerateOptions()
		opts.NumBeams, opts.MaxNewTokens, opts.MinLength = marianBenchBeams, marianBenchNew, marianBenchNew+1
		translate := func() (float64, int, error) {
			start := time.Now()
			mem, err := m.EncodeRows([][]int{src})
			if err != nil {
				return 0, 0, err
			}
			seqs, err := m.Generate(ctx, mem, opts)
			if err != nil {
				return 0, 0, err
			}
			return time.Since(start).Seconds(), len(seqs[0].Tokens), nil
		}
		if _, _, err := translate(); err != nil {
			return benchResult{}, err
		}
		var secs []float64
		for range marianBenchRounds {
			s, n, err := translate()
			if err != nil {
				return benchResult{}, err
			}
			if n != marianBenchNew {
				return benchResult{}, fmt.Errorf("marian-translate: %d new tokens, want %d", n, marianBenchNew)
			}
			secs = append(secs, s)
		}
		slices.Sort(secs)
		med := secs[len(secs)/2]
		rate := marianBenchNew / med
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "marian-translate: %s, translations %.3f s (median %.3f s): %.1f tokens/s\n", f, secs, med, rate)
		}
		return benchResult{Value: rate, Unit: "tokens/s",
			Detail: fmt.Sprintf("opus-mt-en-de shape, %s weights, %d source tokens, %d beams, %d new tokens: median %.3f s per translation",
				f, marianBenchSource, marianBenchBeams, marianBenchNew, med)}, nil
	}
}
