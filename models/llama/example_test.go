package llama_test

import (
	"context"
	"fmt"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/llama"
)

// Greedy decoding with a KV cache: a random 2-layer Llama with grouped-query
// attention continues two prompts of different lengths batched together (the
// shorter one is left-padded), and each row equals its own single-prompt run.
func Example() {
	cfg := llama.Config{VocabSize: 64, HiddenSize: 32, Intermediate: 64, NumLayers: 2,
		NumHeads: 4, NumKVHeads: 2, MaxPositions: 64}
	m, err := llama.New(cfg, 1, nil)
	if err != nil {
		panic(err)
	}
	prompts := [][]int{{1, 5, 9, 13}, {1, 7}}
	batch, err := generate.Generate(context.Background(), m, prompts, generate.Options{MaxNewTokens: 8})
	if err != nil {
		panic(err)
	}
	for i, p := range prompts {
		single, _ := generate.Generate(context.Background(), m, [][]int{p}, generate.Options{MaxNewTokens: 8})
		fmt.Println(len(batch[i].Tokens), batch[i].Reason, fmt.Sprint(batch[i].Tokens) == fmt.Sprint(single[0].Tokens))
	}
	// Output:
	// 8 length true
	// 8 length true
}

// One step at a time: prefill a prompt into a State, then feed back the
// argmax; each step costs O(length) thanks to the cache.
func ExampleModel_Forward() {
	m, err := llama.New(llama.Config{VocabSize: 50, HiddenSize: 16, Intermediate: 32, NumLayers: 1,
		NumHeads: 2, MaxPositions: 32}, 7, nil)
	if err != nil {
		panic(err)
	}
	s, _ := m.NewState(1, 16)
	logits, _ := m.Forward(s, []int{1, 2, 3}, nil) // [B=1, V]
	for range 4 {
		next := generate.Argmax(logits)
		if logits, err = m.Forward(s, []int{next}, nil); err != nil {
			panic(err)
		}
	}
	fmt.Println("positions cached:", s.Len())
	// Output:
	// positions cached: 7
}
