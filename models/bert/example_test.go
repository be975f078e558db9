package bert_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// A BertModel on the inference path: no graph, activations in a reusable
// workspace. A real model comes from bert.Load(dir) instead of New.
func Example() {
	cfg := bert.Config{VocabSize: 100, HiddenSize: 32, NumLayers: 2, NumHeads: 4, Intermediate: 64, MaxPositions: 16}
	m, err := bert.New(cfg, tensor.NewRNG(1))
	if err != nil {
		panic(err)
	}
	// Two sequences of 5 tokens, the second padded after 3.
	in := bert.Input{B: 2, T: 5,
		IDs:  []int{2, 17, 42, 9, 3, 2, 8, 3, 0, 0},
		Mask: []int{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}}
	ws := m.NewWorkspace(in.B, in.T)
	hidden, pooled, err := m.Infer(ws, in)
	if err != nil {
		panic(err)
	}
	fmt.Println("last hidden state:", len(hidden), "values = B·T·C")
	fmt.Println("pooled output:", len(pooled), "values = B·C")
	// Output:
	// last hidden state: 320 values = B·T·C
	// pooled output: 64 values = B·C
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
