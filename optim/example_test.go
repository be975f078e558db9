package optim_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/optim"
)

// Minimising f(w) = Σ (w − 3)² with AdamW and a warm-up + cosine schedule:
// gradients come from the caller (here by hand; in a model, from
// autograd.Backward or gpt2.Trainer).
func Example() {
	w := optim.Param{Name: "w", Shape: []int{2}, Value: []float32{0, 10}, Grad: make([]float32, 2)}
	opt, err := optim.NewAdamW([]optim.Group{{Params: []optim.Param{w}}}, optim.AdamConfig{Beta1: 0.9, Beta2: 0.95})
	if err != nil {
		panic(err)
	}
	lr := optim.WarmupDecay{Peak: 0.5, Min: 0.01, WarmupSteps: 10, TotalSteps: 200, Decay: optim.DecayCosine}
	for step := 0; step < 200; step++ {
		for i, v := range w.Value {
			w.Grad[i] = 2 * (v - 3)
		}
		opt.SetLR(lr.At(step))
		opt.Step()
	}
	fmt.Printf("w = %.2f after %d steps, lr now %.3f\n", w.Value, opt.Steps(), opt.LR())
	// Output:
	// w = [3.00 3.00] after 200 steps, lr now 0.010
}
