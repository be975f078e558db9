package gpt2_test

import (
	"context"
	"fmt"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/tensor"
)

// Greedy generation with the KV-cached inference model. A pretrained folder
// loads with gpt2.LoadInference(dir, nil) (or &gpt2.InferOptions{Format: infer.BF16});
// here a tiny random model stands in for it.
func ExampleInference() {
	cfg := gpt2.Config{VocabSize: 100, NumPos: 64, NumEmbd: 32, NumLayer: 2, NumHead: 2}
	m, err := gpt2.NewRandomInference(cfg, tensor.NewRNG(1), nil)
	if err != nil {
		panic(err)
	}
	prompts := [][]int{{1, 2, 3, 4}, {5, 6}} // left-padded into one batch
	seqs, err := generate.Generate(context.Background(), m, prompts, generate.Options{MaxNewTokens: 8})
	if err != nil {
		panic(err)
	}
	for _, s := range seqs {
		fmt.Println(len(s.Tokens), "new tokens,", s.Reason)
	}
	// Output:
	// 8 new tokens, length
	// 8 new tokens, length
}
