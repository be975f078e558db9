package llama

import (
	"fmt"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
)

// Loading. A Hugging Face LlamaForCausalLM folder names its tensors
//
//	model.embed_tokens.weight                          [V, C]
//	model.layers.N.input_layernorm.weight              [C]
//	model.layers.N.self_attn.{q,k,v,o}_proj.weight     [H·D, C] [Hkv·D, C] [Hkv·D, C] [C, H·D]
//	model.layers.N.post_attention_layernorm.weight     [C]
//	model.layers.N.mlp.{gate,up,down}_proj.weight      [F, C] [F, C] [C, F]
//	model.norm.weight                                  [C]
//	lm_head.weight                                     [V, C] (absent when tied)
//
// (nn.Linear layout [out, in]; files saved from LlamaModel lack the "model."
// prefix, and rotary_emb.inv_freq buffers are ignored).
//
// The surprise is RoPE's layout. Meta's original code and llama2.c rotate
// interleaved pairs (2i, 2i+1) of each head; Hugging Face rotates halves
// (i, i+D/2), and its conversion script permutes the rows of q_proj and k_proj
// so that both give the same attention scores. This package computes in HF's
// layout; LoadLlama2C applies the same row permutation (see permuteRoPE).

// tensorSpec is one checkpoint tensor: its HF name, shape and, when a model
// is given, where it goes.
type tensorSpec struct {
	name  string
	shape []int
	dst   []float32
}

// specs lists the tensors of a configuration in checkpoint order; with m, each
// with its destination in m (q|k|v and gate|up land in the fused matrices).
func specs(cfg Config, m *Model) []tensorSpec {
	C, F, D, H, Hkv, V := cfg.HiddenSize, cfg.Intermediate, cfg.HeadDim, cfg.NumHeads, cfg.NumKVHeads, cfg.VocabSize
	at := func(s []float32, lo, hi int) []float32 {
		if m == nil {
			return nil
		}
		return s[lo:hi]
	}
	var embed, norm, head []float32
	if m != nil {
		embed, norm, head = m.embed, m.norm, m.head
	}
	out := []tensorSpec{{"model.embed_tokens.weight", []int{V, C}, embed}}
	q, k := H*D*C, Hkv*D*C
	for i := range cfg.NumLayers {
		var b block
		if m != nil {
			b = m.layers[i]
		}
		p := fmt.Sprintf("model.layers.%d.", i)
		out = append(out,
			tensorSpec{p + "input_layernorm.weight", []int{C}, b.attnNorm},
			tensorSpec{p + "self_attn.q_proj.weight", []int{H * D, C}, at(b.wqkv, 0, q)},
			tensorSpec{p + "self_attn.k_proj.weight", []int{Hkv * D, C}, at(b.wqkv, q, q+k)},
			tensorSpec{p + "self_attn.v_proj.weight", []int{Hkv * D, C}, at(b.wqkv, q+k, q+2*k)},
			tensorSpec{p + "self_attn.o_proj.weight", []int{C, H * D}, b.wo},
			tensorSpec{p + "post_attention_layernorm.weight", []int{C}, b.mlpNorm},
			tensorSpec{p + "mlp.gate_proj.weight", []int{F, C}, at(b.wgu, 0, F*C)},
			tensorSpec{p + "mlp.up_proj.weight", []int{F, C}, at(b.wgu, F*C, 2*F*C)},
			tensorSpec{p + "mlp.down_proj.weight", []int{C, F}, b.wdown},
		)
	}
	out = append(out, tensorSpec{"model.norm.weight", []int{C}, norm})
	if !cfg.TieEmbeddings {
		out = append(out, tensorSpec{"lm_head.weight", []int{V, C}, head})
	}
	return out
}

// findTensor returns the checkpoint's name for an HF name and checks its
// shape. Files saved from LlamaModel lack the "model." prefix.
func findTensor(r checkpoint.Reader, name string, shape []int) (string, error) {
	info, ok := r.Info(name)
	if !ok && strings.HasPrefix(name, "model.") {
		info, ok = r.Info(strings.TrimPrefix(name, "model."))
	}
	if !ok {
		return "", fmt.Errorf("llama: load %s: %w", name, checkpoint.ErrMissingTensor)
	}
	if !slices.Equal(info.Shape, shape) {
		return "", fmt.Errorf("llama: load %s: shape %v, want %v", name, info.Shape, shape)
	}
	return info.Name, nil
}

// loadHF builds a model from a Hugging Face state dict. Every tensor is
// found and its shape checked before the model is allocated, so a config.json
// that lies about the sizes fails without allocating for them.
func loadHF(cfg Config, r checkpoint.Reader) (*Model, error) {
	for _, t := range specs(cfg, nil) {
		if _, err := findTensor(r, t.name, t.shape); err != nil {
			return nil, err
		}
	}
	m := newModel(cfg)
	for _, t := range specs(cfg, m) {
		name, _ := findTensor(r, t.name, t.shape)
		if err := r.Float32Into(t.dst, name); err != nil {
			return nil, fmt.Errorf("llama: load %s: %w", t.name, err)
		}
	}
	return m, nil
}

// permuteRoPE reorders the rows of a [heads·D, C] projection from the
// interleaved RoPE layout to the half-split one: within each head, output row
// half·D/2 + j takes input row 2j + half. It is the permutation Hugging Face's
// convert_llama_weights_to_hf.py applies to q_proj and k_proj.
func permuteRoPE(w []float32, heads, D, C int) {
	tmp := make([]float32, D*C)
	for h := range heads {
		blk := w[h*D*C : (h+1)*D*C]
		copy(tmp, blk)
		for half := range 2 {
			for j := range D / 2 {
				dst := (half*D/2 + j) * C
				src := (2*j + half) * C
				copy(blk[dst:dst+C], tmp[src:src+C])
			}
		}
	}
}
