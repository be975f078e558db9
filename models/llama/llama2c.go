package llama

import (
	"fmt"

	"github.com/glossa-ai/glossa/checkpoint"
)

// LoadLlama2C reads a llama2.c checkpoint (run.c's legacy .bin format, see
// checkpoint.ReadLlama2C). llama2.c fixes what the file does not say:
// rms_norm_eps 1e-5, rope_theta 10000, BOS 1, EOS 2. The q and k projections
// are permuted from llama2.c's interleaved RoPE pairs to this package's
// half-split layout (see load.go).
func LoadLlama2C(path string) (*Model, error) {
	ck, err := checkpoint.ReadLlama2C(path)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return FromLlama2C(ck)
}

// ParseLlama2C builds a model from the bytes of a llama2.c checkpoint.
func ParseLlama2C(data []byte) (*Model, error) {
	ck, err := checkpoint.ParseLlama2C(data)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return FromLlama2C(ck)
}

// FromLlama2C builds a model from decoded llama2.c weights.
func FromLlama2C(ck *checkpoint.Llama2C) (*Model, error) {
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
	C, F, D := h.Dim, h.HiddenDim, h.HeadSize()
	q, kv := C*C, h.KVDim()*C
	m := newModel(cfg)
	copy(m.embed, ck.TokenEmbedding)
	copy(m.norm, ck.RMSFinal)
	if !h.SharedClassifier {
		copy(m.head, ck.WCls)
	}
	for l := range m.layers {
		b := &m.layers[l]
		copy(b.attnNorm, ck.RMSAtt[l*C:(l+1)*C])
		copy(b.wqkv[:q], ck.WQ[l*q:(l+1)*q])
		copy(b.wqkv[q:q+kv], ck.WK[l*kv:(l+1)*kv])
		copy(b.wqkv[q+kv:], ck.WV[l*kv:(l+1)*kv])
		permuteRoPE(b.wqkv[:q], h.NumHeads, D, C)
		permuteRoPE(b.wqkv[q:q+kv], h.NumKVHeads, D, C)
		copy(b.wo, ck.WO[l*q:(l+1)*q])
		copy(b.mlpNorm, ck.RMSFFN[l*C:(l+1)*C])
		copy(b.wgu[:F*C], ck.W1[l*F*C:(l+1)*F*C]) // w1: gate
		copy(b.wgu[F*C:], ck.W3[l*F*C:(l+1)*F*C]) // w3: up
		copy(b.wdown, ck.W2[l*C*F:(l+1)*C*F])     // w2: down
	}
	return m, nil
}
