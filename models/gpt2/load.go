package gpt2

import (
	"fmt"
	"path/filepath"
	"slices"
)

// Loading a Hugging Face GPT-2 folder (config.json + model.safetensors).
//
// Checkpoint names are the state_dict of GPT2LMHeadModel:
//
//	transformer.wte.weight              [V, C]
//	transformer.wpe.weight              [P, C]
//	transformer.h.N.ln_1.{weight,bias}  [C]
//	transformer.h.N.attn.c_attn.weight  [C, 3C]   Conv1D: [in, out], y = x·W + b
//	transformer.h.N.attn.c_attn.bias    [3C]
//	transformer.h.N.attn.c_proj.weight  [C, C]
//	transformer.h.N.ln_2.{weight,bias}  [C]
//	transformer.h.N.mlp.c_fc.weight     [C, F]
//	transformer.h.N.mlp.c_proj.weight   [F, C]
//	transformer.ln_f.{weight,bias}      [C]
//	lm_head.weight                      [V, C]    tied to wte: usually not stored
//
// The surprise, as nanoGPT's from_pretrained notes: Conv1D weights are the
// transpose of nn.Linear's [out, in]. This package keeps GPT-2's [in, out]
// layout, so they load as stored. The hub's original files (saved from
// GPT2Model) have no "transformer." prefix and carry the causal-mask buffers
// h.N.attn.bias and h.N.attn.masked_bias, which are ignored.

// Load reads a model folder: config.json and model.safetensors.
func Load(dir string) (*Model, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	m := newModel(cfg)
	if err := m.LoadSafetensors(filepath.Join(dir, "model.safetensors")); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadSafetensors replaces the model's parameters with the tensors of a
// safetensors file, checking that every parameter is present with its shape.
func (m *Model) LoadSafetensors(path string) error {
	st, err := readSafetensors(path)
	if err != nil {
		return fmt.Errorf("gpt2: load %s: %w", path, err)
	}
	for _, s := range m.Config.specs() {
		t, ok := st["transformer."+s.name]
		if !ok {
			t, ok = st[s.name] // hub layout without the prefix
		}
		if !ok {
			return fmt.Errorf("gpt2: load %s: missing tensor transformer.%s", path, s.name)
		}
		if !slices.Equal(t.shape, s.shape) {
			return fmt.Errorf("gpt2: load transformer.%s: shape %v, want %v", s.name, t.shape, s.shape)
		}
		copy(*s.view(m.W), t.data)
	}
	for name, t := range st {
		if name != "lm_head.weight" {
			continue
		}
		// A stored lm_head must be the tied embedding.
		if !slices.Equal(t.data, m.W.Wte) {
			return fmt.Errorf("gpt2: load %s: lm_head.weight differs from transformer.wte.weight (untied heads are not supported)", path)
		}
	}
	return nil
}

// SaveSafetensors writes every parameter under its HF name (without the tied
// lm_head, like save_pretrained) as a float32 safetensors file.
func (m *Model) SaveSafetensors(path string) error {
	var ts []namedTensor
	for _, p := range m.Params() {
		ts = append(ts, namedTensor{p.Name, p.Shape, p.Value})
	}
	if err := writeSafetensors(path, ts); err != nil {
		return fmt.Errorf("gpt2: save %s: %w", path, err)
	}
	return nil
}
