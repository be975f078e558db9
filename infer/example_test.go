package infer_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/infer"
)

// A Builder reads a checkpoint by scoped names, checking shapes; here the
// checkpoint is in memory.
func ExampleBuilder() {
	ck := infer.Tensors{}
	ck.Add("encoder.fc.weight", []float32{1, 0, 0, 1, 1, 1}, 3, 2) // [out=3, in=2]
	ck.Add("encoder.fc.bias", []float32{0, 0, 10}, 3)
	b := infer.NewBuilder(ck, infer.BuilderOptions{Model: "toy"})
	fc := b.Sub("encoder").Linear("fc", 2, 3, true)
	b.Sub("encoder").Linear("proj", 2, 3, true) // not in the checkpoint
	fmt.Println(b.Err())

	var sc infer.Scratch
	y := make([]float32, 3)
	fc.Forward(&sc, y, []float32{2, 5}, 1)
	fmt.Println(y)
	// Output:
	// toy: load encoder.proj.weight: missing tensor
	// [2 5 17]
}

// Attention reads keys and values from a cache of independent rows: here
// one row prefills three positions while another, holding two, decodes one.
func ExampleAttention() {
	const H, D = 1, 2
	c, _ := infer.NewKVCache(1, 2, H, D, 8)
	a := &infer.Attention{Heads: H, KVHeads: H, HeadDim: D, Causal: true}
	var sc infer.Scratch
	step := func(rows, counts []int, kv []float32) []float32 {
		segs, N := c.Plan(nil, rows, counts)
		c.Put(0, segs, kv, kv, D) // keys = values = queries, for the example
		out := make([]float32, N*D)
		a.Forward(&sc, out, D, kv, D, c, 0, segs, nil)
		c.Commit(segs)
		return out
	}
	step([]int{1}, []int{2}, []float32{1, 0, 0, 1})
	out := step([]int{0, 1}, []int{3, 1}, []float32{1, 0, 0, 1, 1, 1, 0, 0})
	fmt.Println(len(out)/D, c.Len(0), c.Len(1))
	fmt.Printf("%.2f\n", out[:2]) // row 0's first query sees only itself
	// Output:
	// 4 3 3
	// [1.00 0.00]
}

// tinyConfig is a model package's Config: config.json's own keys, and a
// Validate that fills defaults and checks bounds.
type tinyConfig struct {
	Layers int `json:"n_layer"`
}

func (c *tinyConfig) Validate() error {
	if c.Layers == 0 {
		c.Layers = 2
	}
	if c.Layers < 0 {
		return fmt.Errorf("tiny: config: n_layer %d is negative", c.Layers)
	}
	return nil
}

// ParseConfig decodes a config.json of one model family, checking its
// model_type and architectures and validating it.
func ExampleParseConfig() {
	f := infer.Family{Package: "tiny", ModelType: "tiny", Class: "Tiny"}
	c, err := infer.ParseConfig[tinyConfig](f, []byte(`{"model_type": "tiny", "architectures": ["TinyForCausalLM"]}`))
	fmt.Println(c.Layers, err)
	_, err = infer.ParseConfig[tinyConfig](f, []byte(`{"model_type": "bert"}`))
	fmt.Println(err)
	// Output:
	// 2 <nil>
	// tiny: config: model_type "bert" is not tiny
}
