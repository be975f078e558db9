package gpt2

import (
	"testing"

	"github.com/glossa-ai/glossa/infer"

	"github.com/glossa-ai/glossa/tensor"
)

// BenchmarkInferDecode times one greedy decoding step of GPT-2 124M (random
// weights, batch 1, 32-token context), float32 and bfloat16 weights.
func BenchmarkInferDecode(b *testing.B) {
	for _, f := range []infer.Format{infer.F32, infer.BF16} {
		b.Run(f.String(), func(b *testing.B) {
			m, err := NewRandomInference(Small124M(), tensor.NewRNG(0), &InferOptions{Format: f})
			if err != nil {
				b.Fatal(err)
			}
			s, err := m.NewState(1, 64)
			if err != nil {
				b.Fatal(err)
			}
			prompt := make([]int, 32)
			tok := []int{1}
			b.ReportAllocs()
			b.SetBytes(int64(m.WeightBytes()))
			for b.Loop() {
				if s.Len() == 0 || s.Len() == s.MaxLen() {
					s.Reset()
					if _, err := m.Forward(s, prompt, nil); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := m.Forward(s, tok, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInferPrefill times the prefill of a 32-token prompt of GPT-2 124M
// (random weights, batch 1) into an empty KV cache.
func BenchmarkInferPrefill(b *testing.B) {
	m, err := NewRandomInference(Small124M(), tensor.NewRNG(0), nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.NewState(1, 32)
	if err != nil {
		b.Fatal(err)
	}
	prompt := make([]int, 32)
	for i := range prompt {
		prompt[i] = i * 13
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Reset()
		if _, err := m.Forward(s, prompt, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(32*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
