package gpt2

import (
	"fmt"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/nn"
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

// Load reads a Hugging Face model folder: config.json and model.safetensors
// or its shards (listed by model.safetensors.index.json), through
// checkpoint.OpenFolder. F16 and BF16 weights are widened to float32 exactly.
func Load(dir string) (*Model, error) {
	cfg, ck, err := infer.OpenFolder[Config](family, dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	m := newModel(cfg)
	if err := nn.LoadParamsFrom(ck, m.Params(), &nn.LoadOptions{TrimPrefix: "transformer."}); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	return m, nil
}

// LoadSafetensors replaces the model's parameters with the tensors of a
// safetensors file (float32, or F16/BF16 widened), checking that every parameter is present with
// its shape. Names may carry the "transformer." prefix or not (the hub's
// original files); other tensors (lm_head.weight, the tied duplicate, and the
// legacy h.N.attn.bias / masked_bias buffers) are ignored.
func (m *Model) LoadSafetensors(path string) error {
	if err := nn.LoadParams(path, m.Params(), &nn.LoadOptions{TrimPrefix: "transformer."}); err != nil {
		return fmt.Errorf("gpt2: %w", err)
	}
	return nil
}

// SaveSafetensors writes every parameter under its HF name (without the tied
// lm_head, like save_pretrained) as a float32 safetensors file.
func (m *Model) SaveSafetensors(path string) error {
	if err := nn.SaveParams(path, m.Params()); err != nil {
		return fmt.Errorf("gpt2: %w", err)
	}
	return nil
}
