package bert

import (
	"testing"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/tensor"
)

// BenchmarkEncoderBase times the inference path on BERT-base at 8 × 128,
// the bert-forward and bert-forward-bf16 workloads of ../shared/bench.
func BenchmarkEncoderBase(b *testing.B) {
	const B, T = 8, 128
	cfg := Base()
	rng := tensor.NewRNG(0)
	in := Input{B: B, T: T, IDs: make([]int, B*T)}
	for i := range in.IDs {
		in.IDs[i] = rng.IntN(cfg.VocabSize)
	}
	for _, f := range []infer.Format{infer.F32, infer.BF16} {
		b.Run(f.String(), func(b *testing.B) {
			enc, err := NewEncoder(cfg, 0, &EncoderOptions{Format: f, Heads: HeadPooler})
			if err != nil {
				b.Fatal(err)
			}
			var ws Workspace
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := enc.Forward(&ws, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
}
