package gpt2_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
)

// Training a tiny GPT-2 to memorise one sequence with the fused Trainer and
// AdamW (weight decay on matrices and embeddings only).
func Example_train() {
	cfg := gpt2.Config{VocabSize: 16, NumPos: 8, NumEmbd: 32, NumLayer: 2, NumHead: 4}
	model, err := gpt2.New(cfg, tensor.NewRNG(1))
	if err != nil {
		panic(err)
	}
	params := nn.OptimParams(model.Params())
	opt, _ := optim.NewAdamW(optim.DecayGroups(params, 0.1), optim.AdamConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.95})
	tr := gpt2.NewTrainer(model)

	seq := []int{1, 5, 2, 7, 3, 9, 4, 11, 6}
	x, y := seq[:8], seq[1:] // predict each next token
	var first, last float32
	for step := 0; step < 50; step++ {
		if _, err := tr.Forward(x, 1, 8); err != nil {
			panic(err)
		}
		loss, _ := tr.Loss(y)
		model.ZeroGrad()
		tr.Backward()
		opt.Step()
		if step == 0 {
			first = loss
		}
		last = loss
	}
	fmt.Printf("%d parameters; loss %.1f -> below 0.1: %v\n", cfg.NumParams(), first, last < 0.1)
	// Output:
	// 26240 parameters; loss 2.8 -> below 0.1: true
}
