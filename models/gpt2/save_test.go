package gpt2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// TestSaveFolder checks that Save writes a folder Load reads back to the
// same configuration and weights, with the fields Hugging Face needs
// (model_type, architectures) and without null optional fields.
func TestSaveFolder(t *testing.T) {
	cfg := Config{VocabSize: 10, NumPos: 4, NumEmbd: 8, NumLayer: 1, NumHead: 2, ActivationFunction: "gelu_new"}
	a, err := New(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Config.VocabSize != cfg.VocabSize || b.Config.NumPos != cfg.NumPos || b.Config.NumEmbd != cfg.NumEmbd ||
		b.Config.NumLayer != cfg.NumLayer || b.Config.NumHead != cfg.NumHead {
		t.Errorf("config %+v after a round trip, want %+v", b.Config, cfg)
	}
	for i := range a.params {
		if a.params[i] != b.params[i] {
			t.Fatal("parameters differ after a save/load round trip")
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["model_type"] != "gpt2" {
		t.Errorf("model_type %v, want gpt2", m["model_type"])
	}
	if arch, _ := m["architectures"].([]any); len(arch) != 1 || arch[0] != "GPT2LMHeadModel" {
		t.Errorf("architectures %v, want [GPT2LMHeadModel]", m["architectures"])
	}
	for _, k := range []string{"n_inner", "tie_word_embeddings"} {
		if v, ok := m[k]; ok && v == nil {
			t.Errorf("config.json holds %s: null", k)
		}
	}
	if err := a.Save(filepath.Join(dir, "missing", "folder")); err == nil {
		t.Error("saving into a missing folder: no error")
	}
}
