package llama

import (
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// BenchmarkStories260KDecode measures one decoding step of stories260K at
// positions 0…255 (the cache is reset every 256 steps).
func BenchmarkStories260KDecode(b *testing.B) {
	m, err := LoadLlama2C(testenv.Shared(b, "models", "stories260K", "stories260K.bin"), nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.NewState(1, 256)
	if err != nil {
		b.Fatal(err)
	}
	tok := []int{1}
	b.ReportAllocs()
	for b.Loop() {
		if s.Len() == 256 {
			s.Reset()
		}
		if _, err := m.Forward(s, tok, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode1B measures a decoding step at position ~128 of a random
// model with TinyLlama-1.1B's layer shape (hidden 2048, 32 heads / 4 kv
// heads, intermediate 5632) but 2 layers and a 8000-token vocabulary, so it
// stays small enough for a shared machine: 220 MB of float32 weights.
func BenchmarkDecode1B(b *testing.B) {
	m, err := New(Config{VocabSize: 8000, HiddenSize: 2048, Intermediate: 5632, NumLayers: 2,
		NumHeads: 32, NumKVHeads: 4, MaxPositions: 256}, 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := m.NewState(1, 256)
	prompt := make([]int, 128)
	if _, err := m.Forward(s, prompt, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * m.NumParams()))
	tok := []int{5}
	for b.Loop() {
		if s.Len() == 256 {
			s.Reset()
			m.Forward(s, prompt, nil)
		}
		if _, err := m.Forward(s, tok, nil); err != nil {
			b.Fatal(err)
		}
	}
}
