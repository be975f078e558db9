package llama

import (
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// BenchmarkStories260KDecode measures one decoding step of stories260K at
// positions 0…255 (the cache is reset every 256 steps).
func BenchmarkStories260KDecode(b *testing.B) {
	m, err := LoadLlama2C(testenv.Shared(b, "models", "stories260K", "stories260K.bin"))
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
