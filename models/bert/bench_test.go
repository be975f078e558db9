package bert

import (
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// BenchmarkInferBase times the inference path on BERT-base at 8 × 128, the
// bert-forward workload of ../shared/bench.
func BenchmarkInferBase(b *testing.B) {
	const B, T = 8, 128
	cfg := Base()
	rng := tensor.NewRNG(0)
	m, err := New(cfg, rng)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{B: B, T: T, IDs: make([]int, B*T)}
	for i := range in.IDs {
		in.IDs[i] = rng.IntN(cfg.VocabSize)
	}
	ws := m.NewWorkspace(B, T)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Infer(ws, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "seq/s")
}
