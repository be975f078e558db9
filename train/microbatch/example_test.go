package microbatch_test

import (
	"context"
	"fmt"
	"log"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// A task's Step is Learner.Step with the task's forward pass: here the
// squared error of a one-weight model y = w·x on micro-batches of two
// examples, resumable through the stream's state. Gradients accumulate
// until the caller (the Trainer, after its optimizer step) zeroes them.
func ExampleLearner() {
	xs := []float32{1, 2, 3, 4, 5, 6}
	sampler, err := data.NewIndexSampler(len(xs), 1)
	if err != nil {
		log.Fatal(err)
	}
	wt, _ := tensor.FromData([]float32{0.5}, 1)
	w := autograd.NewVar(wt, true)
	learner := microbatch.NewLearner(microbatch.NewStream(xs, sampler, 2, 1),
		[]nn.NamedParam{{Name: "w", Var: w}}, microbatch.LearnerOptions{})
	forward := func(batch []float32, _ []uint64) (*autograd.Var, int, error) {
		x, _ := tensor.FromData(batch, len(batch))
		y, _ := tensor.FromData([]float32{2 * batch[0], 2 * batch[1]}, len(batch)) // the truth: w = 2
		d := autograd.Sub(autograd.Mul(w, autograd.NewVar(x, false)), autograd.NewVar(y, false))
		return autograd.MeanAll(autograd.Mul(d, d)), len(batch), nil
	}
	for range 3 {
		loss, n, err := learner.Step(context.Background(), forward)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("loss %.4g over %d examples, dL/dw so far %.4g\n", loss, n, learner.Params()[0].Grad[0])
	}
	state, _ := learner.Data.State()
	fmt.Println(string(state))
	// Output:
	// loss 45 over 2 examples, dL/dw so far -60
	// loss 38.25 over 2 examples, dL/dw so far -111
	// loss 19.12 over 2 examples, dL/dw so far -136.5
	// {"seed":1,"micro_batches":3,"sampler":{"epoch":0,"index":6}}
}
