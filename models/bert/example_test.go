package bert_test

import (
	"fmt"
	"math"
	"slices"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// A BertModel on the inference path: no graph, weights packed for the
// products (or bfloat16), activations in a reusable workspace, and a padded
// batch whose mask hides the padding from every query. A real model comes
// from bert.LoadEncoder(dir, nil) instead of NewEncoder.
func Example() {
	cfg := bert.Config{VocabSize: 100, HiddenSize: 32, NumLayers: 2, NumHeads: 4, Intermediate: 64, MaxPositions: 16}
	enc, err := bert.NewEncoder(cfg, 1, &bert.EncoderOptions{Heads: bert.HeadPooler})
	if err != nil {
		panic(err)
	}
	// Two sequences of 5 tokens, the second padded after 3.
	in := bert.Input{B: 2, T: 5,
		IDs:  []int{2, 17, 42, 9, 3, 2, 8, 3, 0, 0},
		Mask: []int{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}}
	var ws bert.Workspace
	hidden, pooled, err := enc.Forward(&ws, in)
	if err != nil {
		panic(err)
	}
	fmt.Println("last hidden state:", len(hidden), "values = B·T·C")
	fmt.Println("pooled output:", len(pooled), "values = B·C")

	// The second sequence alone gives the same hidden states (to float
	// rounding) at its real positions. (hidden is a view into ws, which
	// the next pass reuses: keep a copy.)
	batch := slices.Clone(hidden)
	alone, _, err := enc.Forward(&ws, bert.Input{B: 1, T: 3, IDs: []int{2, 8, 3}})
	if err != nil {
		panic(err)
	}
	worst := 0.0
	for i, v := range alone {
		worst = math.Max(worst, math.Abs(float64(v-batch[5*32+i])))
	}
	fmt.Println("padded row = alone:", worst < 1e-5)
	// Output:
	// last hidden state: 320 values = B·T·C
	// pooled output: 64 values = B·C
	// padded row = alone: true
}

// One masked-LM training step through autograd: the loss and its gradient
// for every parameter.
func ExampleForMaskedLM_Loss() {
	cfg := bert.Config{VocabSize: 50, HiddenSize: 16, NumLayers: 1, NumHeads: 2, Intermediate: 32, MaxPositions: 8}
	m, err := bert.NewForMaskedLM(cfg, tensor.NewRNG(2))
	if err != nil {
		panic(err)
	}
	in := bert.Input{B: 1, T: 4, IDs: []int{2, 5, 4, 3}} // id 4 plays [MASK]
	labels := []int{-100, -100, 11, -100}                // predict 11 at position 2
	_, logits, err := m.Forward(in, nil)
	if err != nil {
		panic(err)
	}
	loss, err := m.Loss(logits, labels)
	if err != nil {
		panic(err)
	}
	autograd.Backward(loss)
	n := 0
	for _, p := range m.Params() {
		if p.Var.Grad != nil {
			n++
		}
	}
	fmt.Printf("loss %.1f (ln V = 3.9 for a model that knows nothing)\n", loss.Value.Item())
	fmt.Println("parameters with gradients:", n, "of", len(m.Params()))
	// Output:
	// loss 4.0 (ln V = 3.9 for a model that knows nothing)
	// parameters with gradients: 26 of 26
}
