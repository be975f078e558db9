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

// loadHF fills m from a Hugging Face state dict.
func (m *Model) loadHF(r checkpoint.Reader) error {
	cfg := m.Config
	C, F, D, H, Hkv, V := cfg.HiddenSize, cfg.Intermediate, cfg.HeadDim, cfg.NumHeads, cfg.NumKVHeads, cfg.VocabSize
	// load converts a tensor into dst after checking its shape; names with
	// the "model." prefix are also found without it.
	load := func(dst []float32, name string, shape ...int) error {
		info, ok := r.Info(name)
		if !ok && strings.HasPrefix(name, "model.") {
			if info, ok = r.Info(strings.TrimPrefix(name, "model.")); ok {
				name = info.Name
			}
		}
		if !ok {
			return fmt.Errorf("llama: load %s: %w", name, checkpoint.ErrMissingTensor)
		}
		if !slices.Equal(info.Shape, shape) {
			return fmt.Errorf("llama: load %s: shape %v, want %v", name, info.Shape, shape)
		}
		if err := r.Float32Into(dst, name); err != nil {
			return fmt.Errorf("llama: load %s: %w", name, err)
		}
		return nil
	}
	if err := load(m.embed, "model.embed_tokens.weight", V, C); err != nil {
		return err
	}
	if err := load(m.norm, "model.norm.weight", C); err != nil {
		return err
	}
	if !cfg.TieEmbeddings {
		if err := load(m.head, "lm_head.weight", V, C); err != nil {
			return err
		}
	}
	for i := range m.layers {
		b := &m.layers[i]
		p := fmt.Sprintf("model.layers.%d.", i)
		q, k, v := H*D*C, Hkv*D*C, Hkv*D*C
		for _, t := range []struct {
			dst   []float32
			name  string
			shape []int
		}{
			{b.attnNorm, "input_layernorm.weight", []int{C}},
			{b.wqkv[:q], "self_attn.q_proj.weight", []int{H * D, C}},
			{b.wqkv[q : q+k], "self_attn.k_proj.weight", []int{Hkv * D, C}},
			{b.wqkv[q+k : q+k+v], "self_attn.v_proj.weight", []int{Hkv * D, C}},
			{b.wo, "self_attn.o_proj.weight", []int{C, H * D}},
			{b.mlpNorm, "post_attention_layernorm.weight", []int{C}},
			{b.wgu[:F*C], "mlp.gate_proj.weight", []int{F, C}},
			{b.wgu[F*C:], "mlp.up_proj.weight", []int{F, C}},
			{b.wdown, "mlp.down_proj.weight", []int{C, F}},
		} {
			if err := load(t.dst, p+t.name, t.shape...); err != nil {
				return err
			}
		}
	}
	return nil
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
