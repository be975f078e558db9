package gpt2

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
)

// GGUF files (llama.cpp's "gpt2" architecture) name GPT-2's tensors
//
//	token_embd.weight  position_embd.weight  output_norm.{weight,bias}
//	blk.N.attn_norm.{weight,bias}  blk.N.attn_qkv.{weight,bias}  blk.N.attn_output.{weight,bias}
//	blk.N.ffn_norm.{weight,bias}   blk.N.ffn_up.{weight,bias}    blk.N.ffn_down.{weight,bias}
//
// with the projections in nn.Linear's [out, in] layout: llama.cpp's
// converter transposes the Conv1D weights, whose Hugging Face layout is
// [in, out]. The hyperparameters are under gpt2.*.

// ggufNames maps GPT2Model's names (without "transformer.") to GGUF ones.
var ggufNames = strings.NewReplacer(
	"wte.", "token_embd.",
	"wpe.", "position_embd.",
	"ln_f.", "output_norm.",
	".ln_1.", ".attn_norm.",
	".attn.c_attn.", ".attn_qkv.",
	".attn.c_proj.", ".attn_output.",
	".ln_2.", ".ffn_norm.",
	".mlp.c_fc.", ".ffn_up.",
	".mlp.c_proj.", ".ffn_down.",
)

// GGUFName returns llama.cpp's name for a GPT-2 tensor name of Hugging
// Face's GPT2Model ("h.3.attn.c_attn.weight" → "blk.3.attn_qkv.weight"),
// with or without the "transformer." prefix.
func GGUFName(hf string) string {
	name := strings.TrimPrefix(hf, "transformer.")
	if rest, ok := strings.CutPrefix(name, "h."); ok {
		name = "blk." + rest
	}
	return ggufNames.Replace(name)
}

func ggufAliases(name string) []string { return []string{GGUFName(name)} }

// LoadGGUF reads a llama.cpp GGUF file of architecture "gpt2" for
// generation; the configuration comes from its gpt2.* metadata (GELU with
// the tanh approximation, tied embeddings, as GPT-2 has). opts may be nil;
// with infer.Stored the Q8_0 and Q4_0 matrices run in their blocks.
func LoadGGUF(path string, opts *InferOptions) (*Inference, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	cfg, err := ConfigFromGGUF(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return newInference(cfg, f, path, opts)
}

// ConfigFromGGUF reads the gpt2.* hyperparameters of f.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	if arch := f.Architecture(); arch != "gpt2" {
		return Config{}, fmt.Errorf("gpt2: %s: architecture %q is not gpt2", f.Path(), arch)
	}
	var cfg Config
	var inner int
	for _, k := range []struct {
		key string
		dst *int
	}{{"context_length", &cfg.NumPos}, {"embedding_length", &cfg.NumEmbd}, {"block_count", &cfg.NumLayer},
		{"attention.head_count", &cfg.NumHead}, {"feed_forward_length", &inner}} {
		v, ok := f.Uint("gpt2." + k.key)
		if !ok || v == 0 || v > 1<<31 {
			return Config{}, fmt.Errorf("gpt2: %s: gpt2.%s is missing or out of range", f.Path(), k.key)
		}
		*k.dst = int(v)
	}
	cfg.NumInner = &inner
	eps, ok := f.Float("gpt2.attention.layer_norm_epsilon")
	if !ok {
		return Config{}, fmt.Errorf("gpt2: %s: gpt2.attention.layer_norm_epsilon is missing", f.Path())
	}
	cfg.LayerNormEp = eps
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || len(emb.Shape) != 2 {
		return Config{}, fmt.Errorf("gpt2: %s: no 2-D token_embd.weight", f.Path())
	}
	cfg.VocabSize = emb.Shape[0]
	cfg.ActivationFunction = "gelu_new"
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
