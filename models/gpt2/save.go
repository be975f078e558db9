package gpt2

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/glossa-ai/glossa/internal/atomicfile"
)

// Save writes m as a Hugging Face GPT2LMHeadModel folder that Load (and
// transformers' from_pretrained) reads back: config.json, with model_type
// and architectures set and unset optional fields left out, and
// model.safetensors. Each file is written atomically.
func (m *Model) Save(dir string) error {
	raw, err := json.Marshal(m.Config)
	if err != nil {
		return fmt.Errorf("gpt2: save: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("gpt2: save: %w", err)
	}
	cfg["model_type"] = "gpt2"
	cfg["architectures"] = []string{"GPT2LMHeadModel"}
	if cfg["n_inner"] == nil {
		delete(cfg, "n_inner")
	}
	if cfg["tie_word_embeddings"] == nil {
		delete(cfg, "tie_word_embeddings")
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("gpt2: save: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("gpt2: save: %w", err)
	}
	return m.SaveSafetensors(filepath.Join(dir, "model.safetensors"))
}
