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
// the fused trainer in bfloat16 mixed precision; and of the train-char
// model (6 layers, 384 wide, 6 heads, block 256, batch 12) with the fused
// trainer in float32 and bfloat16.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range []struct {
		name    string
		cfg     Config
		B, T    int
		engines []string
	}{
		{"small", Config{VocabSize: 65, NumPos: 64, NumEmbd: 128, NumLayer: 4, NumHead: 4, ActivationFunction: "gelu"}, 32, 64,
			[]string{"trainer", "trainer-bf16", "autograd"}},
		{"char", Config{VocabSize: 65, NumPos: 256, NumEmbd: 384, NumLayer: 6, NumHead: 6, ActivationFunction: "gelu"}, 12, 256,
			[]string{"trainer", "trainer-bf16"}},
	} {
		benchTrainStep(b, bc.name, bc.cfg, bc.B, bc.T, bc.engines)
	}
}

func benchTrainStep(b *testing.B, name string, cfg Config, B, T int, engines []string) {
	for _, engine := range engines {
		b.Run(fmt.Sprintf("model=%s/engine=%s", name, engine), func(b *testing.B) {
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
