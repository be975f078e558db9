package pretrain

import (
	"context"
	"fmt"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/internal/traintest"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// BenchmarkMLMStep times one micro-batch (forward, MLM+NSP loss, backward)
// of the README's small BERT (4 layers, 256 wide, 4 heads, 64 tokens,
// vocabulary 8,000, batch 32) on the autograd path, in float32 and in
// bfloat16 mixed precision (MLMOptions.BF16).
func BenchmarkMLMStep(b *testing.B) {
	const vocab, T, B = 8000, 64, 32
	cfg := bert.Config{VocabSize: vocab, HiddenSize: 256, NumLayers: 4, NumHeads: 4, Intermediate: 1024,
		MaxPositions: T, TypeVocab: 2, HiddenAct: "gelu", HiddenDropout: 0.1, AttentionDropout: 0.1}
	rng := data.NewRand(1)
	docs := make([][][]int32, 64)
	for d := range docs {
		for range 8 {
			s := make([]int32, 8+rng.IntN(20))
			for i := range s {
				s[i] = int32(4 + rng.IntN(vocab-4))
			}
			docs[d] = append(docs[d], s)
		}
	}
	ex, err := data.CreateNSPInstances(docs, data.NSPOptions{MaxSeqLen: T, CLS: traintest.CLS, SEP: traintest.SEP}, 1)
	if err != nil {
		b.Fatal(err)
	}
	masker, err := data.NewMasker(data.MaskOptions{MaskID: traintest.Mask, VocabSize: vocab, Special: []bool{true, true, true, true}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bf16 := range []bool{false, true} {
		b.Run(fmt.Sprintf("bf16=%v", bf16), func(b *testing.B) {
			m, err := bert.NewForPreTraining(cfg, tensor.NewRNG(1))
			if err != nil {
				b.Fatal(err)
			}
			task, err := NewMLMTask(m, ex, masker, MLMOptions{BatchSize: B, MaxLen: T, Seed: 1, PadID: traintest.Pad, BF16: bf16})
			if err != nil {
				b.Fatal(err)
			}
			step := func() {
				for _, p := range task.Params() {
					clear(p.Grad)
				}
				if _, _, err := task.Step(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			step() // warm-up: fills the graph's buffer pool
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
