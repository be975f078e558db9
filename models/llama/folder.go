package llama

import (
	"fmt"
	"path/filepath"

	"github.com/glossa-ai/glossa/checkpoint"
)

// Load reads a Hugging Face model folder: config.json and model.safetensors
// or its shards (model-0000x-of-0000y.safetensors listed by
// model.safetensors.index.json). F16 and BF16 weights are widened to float32
// exactly.
func Load(dir string) (*Model, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	ck, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	defer ck.Close()
	return FromCheckpoint(cfg, ck)
}

// FromCheckpoint builds a model of configuration cfg from the tensors of r
// (Hugging Face LlamaForCausalLM names, see load.go). A tensor that is missing
// or has the wrong shape is an error naming it.
func FromCheckpoint(cfg Config, r checkpoint.Reader) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return loadHF(cfg, r)
}
