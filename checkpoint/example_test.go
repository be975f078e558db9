package checkpoint_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/checkpoint"
)

// Save two tensors, one stored as bfloat16, and read them back.
func Example() {
	dir, err := os.MkdirTemp("", "checkpoint-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	err = checkpoint.Save(path, []checkpoint.Tensor{
		{Name: "ln.weight", Shape: []int{3}, Data: []float32{1, 0.5, 2}},
		{Name: "proj.weight", Shape: []int{2, 2}, Data: []float32{0.1, 0.2, 0.3, 0.4}, DType: checkpoint.BF16},
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}

	f, err := checkpoint.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		data, err := f.Float32(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, info.DType, info.Shape, data)
	}
	fmt.Println(f.Metadata())
	// Output:
	// ln.weight F32 [3] [1 0.5 2]
	// proj.weight BF16 [2 2] [0.100097656 0.20019531 0.30078125 0.40039062]
	// map[format:pt]
}

// A zero-copy view of F32 data, falling back to a copy.
func ExampleFile_Float32View() {
	dir, _ := os.MkdirTemp("", "checkpoint-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "w.safetensors")
	if err := checkpoint.Save(path, []checkpoint.Tensor{{Name: "w", Shape: []int{4}, Data: []float32{1, 2, 3, 4}}}, nil); err != nil {
		log.Fatal(err)
	}
	f, err := checkpoint.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	w, ok := f.Float32View("w") // read-only, valid until Close
	if !ok {
		w, _ = f.Float32("w")
	}
	fmt.Println(w)
	// Output: [1 2 3 4]
}

// Open a Hugging Face model folder (model.safetensors, or shards listed in
// model.safetensors.index.json) and look up tensors by name.
func ExampleOpenFolder() {
	dir, _ := os.MkdirTemp("", "checkpoint-example")
	defer os.RemoveAll(dir)
	emb := checkpoint.Tensor{Name: "model.embed_tokens.weight", Shape: []int{4, 2}, Data: make([]float32, 8)}
	if err := checkpoint.Save(filepath.Join(dir, "model.safetensors"), []checkpoint.Tensor{emb}, nil); err != nil {
		log.Fatal(err)
	}

	fo, err := checkpoint.OpenFolder(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer fo.Close()
	if info, ok := fo.Info("model.embed_tokens.weight"); ok {
		fmt.Println(info.DType, info.Shape)
	}
	_, err = fo.Float32("lm_head.weight")
	fmt.Println(errors.Is(err, checkpoint.ErrMissingTensor))
	// Output:
	// F32 [4 2]
	// true
}

// Read a model's config.json with a size limit.
func ExampleReadJSON() {
	dir, _ := os.MkdirTemp("", "checkpoint-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.json")
	os.WriteFile(path, []byte(`{"hidden_size": 64, "num_attention_heads": 4}`), 0o644)

	var cfg struct {
		HiddenSize int `json:"hidden_size"`
		NumHeads   int `json:"num_attention_heads"`
	}
	if err := checkpoint.ReadJSON(path, &cfg, 1<<20); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", cfg)
	// Output: {HiddenSize:64 NumHeads:4}
}
