package llama

import (
	"fmt"
	"path/filepath"

	"github.com/glossa-ai/glossa/nn"
)

// Load reads a Hugging Face model folder: config.json and model.safetensors.
func Load(dir string) (*Model, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	ts, err := nn.ReadTensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	m := newModel(cfg)
	err = m.loadHF(func(name string) ([]int, []float32, error) {
		t, ok := ts[name]
		if !ok {
			return nil, nil, ErrMissingTensor
		}
		return t.Shape, t.Data, nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
