package gpt2

import (
	"fmt"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
)

// BenchmarkTrainStep times one training step (forward, loss, backward,
// AdamW) of the train-small benchmark model (../shared/bench: 4 layers, 128
// wide, 4 heads, block 64, batch 32, exact GELU) with each engine, and with
// the fused trainer in bfloat16 mixed precision.
func BenchmarkTrainStep(b *testing.B) {
	cfg := Config{VocabSize: 65, NumPos: 64, NumEmbd: 128, NumLayer: 4, NumHead: 4, ActivationFunction: "gelu"}
	const B, T = 32, 64
	for _, engine := range []string{"trainer", "trainer-bf16", "autograd"} {
		b.Run(fmt.Sprintf("engine=%s", engine), func(b *testing.B) {
			rng := tensor.NewRNG(0)
			m, err := New(cfg, rng)
			if err != nil {
				b.Fatal(err)
			}
			params := nn.OptimParams(m.Params())
			opt, _ := optim.NewAdamW(optim.DecayGroups(params, 0.1), optim.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95})
			x, y := make([]int, B*T), make([]int, B*T)
			for i := range x {
				x[i], y[i] = rng.IntN(65), rng.IntN(65)
			}
			tr := NewTrainer(m)
			tr.SetBF16(engine == "trainer-bf16")
			g := autograd.NewGraph()
			g.Attach(nn.Vars(m.Params())...)
			step := func() {
				if engine != "autograd" {
					if _, err := tr.Forward(x, B, T); err != nil {
						b.Fatal(err)
					}
					if _, err := tr.Loss(y); err != nil {
						b.Fatal(err)
					}
					m.ZeroGrad()
					if err := tr.Backward(); err != nil {
						b.Fatal(err)
					}
				} else {
					g.Reset()
					logits, err := m.Forward(x, B, T)
					if err != nil {
						b.Fatal(err)
					}
					loss, err := m.Loss(logits, y)
					if err != nil {
						b.Fatal(err)
					}
					m.ZeroGrad()
					autograd.Backward(loss)
				}
				opt.Step()
			}
			step() // warm-up: sizes the workspace
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
