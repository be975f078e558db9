package llama

import (
	"fmt"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
)

// LoadLlama2C reads a llama2.c checkpoint (run.c's legacy .bin format, see
// checkpoint.ReadLlama2C). llama2.c fixes what the file does not say:
// rms_norm_eps 1e-5, rope_theta 10000, BOS 1, EOS 2. opts may be nil.
func LoadLlama2C(path string, opts *Options) (*Model, error) {
	ck, err := checkpoint.ReadLlama2C(path)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return FromLlama2C(ck, opts)
}

// ParseLlama2C builds a model from the bytes of a llama2.c checkpoint.
func ParseLlama2C(data []byte, opts *Options) (*Model, error) {
	ck, err := checkpoint.ParseLlama2C(data)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return FromLlama2C(ck, opts)
}

// FromLlama2C builds a model from decoded llama2.c weights: they are named
// as Hugging Face names them, with the q and k projections permuted from
// llama2.c's interleaved RoPE pairs to the half-split layout (see load.go),
// and loaded like any checkpoint.
func FromLlama2C(ck *checkpoint.Llama2C, opts *Options) (*Model, error) {
	h := ck.Config
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	bos := 1
	cfg := Config{VocabSize: h.VocabSize, HiddenSize: h.Dim, Intermediate: h.HiddenDim, NumLayers: h.NumLayers,
		NumHeads: h.NumHeads, NumKVHeads: h.NumKVHeads, RMSNormEps: 1e-5, RopeTheta: 10000, MaxPositions: h.SeqLen,
		TieEmbeddings: h.SharedClassifier, BOSTokenID: &bos, EOSTokenIDs: []int{2}, HiddenAct: "silu"}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	C, F, D, KV := h.Dim, h.HiddenDim, h.HeadSize(), h.KVDim()
	ts := infer.Tensors{}
	ts.Add("model.embed_tokens.weight", ck.TokenEmbedding, h.VocabSize, C)
	ts.Add("model.norm.weight", ck.RMSFinal, C)
	if !h.SharedClassifier {
		ts.Add("lm_head.weight", ck.WCls, h.VocabSize, C)
	}
	for l := range h.NumLayers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ts.Add(p+"input_layernorm.weight", ck.RMSAtt[l*C:(l+1)*C], C)
		ts.Add(p+"self_attn.q_proj.weight", permuteRoPE(ck.WQ[l*C*C:(l+1)*C*C], h.NumHeads, D, C), C, C)
		ts.Add(p+"self_attn.k_proj.weight", permuteRoPE(ck.WK[l*KV*C:(l+1)*KV*C], h.NumKVHeads, D, C), KV, C)
		ts.Add(p+"self_attn.v_proj.weight", ck.WV[l*KV*C:(l+1)*KV*C], KV, C)
		ts.Add(p+"self_attn.o_proj.weight", ck.WO[l*C*C:(l+1)*C*C], C, C)
		ts.Add(p+"post_attention_layernorm.weight", ck.RMSFFN[l*C:(l+1)*C], C)
		ts.Add(p+"mlp.gate_proj.weight", ck.W1[l*F*C:(l+1)*F*C], F, C) // w1
		ts.Add(p+"mlp.up_proj.weight", ck.W3[l*F*C:(l+1)*F*C], F, C)   // w3
		ts.Add(p+"mlp.down_proj.weight", ck.W2[l*C*F:(l+1)*C*F], C, F) // w2
	}
	return fromReader(cfg, ts, "llama2.c checkpoint", opts)
}
