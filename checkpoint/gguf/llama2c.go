package gguf

import (
	"fmt"

	"github.com/glossa-ai/glossa/checkpoint"
)

// NamedTensor is a float32 tensor under its GGUF name; Shape is outermost
// first and Data row-major (a view, not a copy).
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Llama2CTensors lists the weights of a llama2.c checkpoint under
// llama.cpp's names, in the order its examples/convert-llama2c-to-ggml
// writes them: token_embd, output_norm, output (only when the classifier
// is not shared), then per block attn_norm, attn_q, attn_k, attn_v,
// attn_output, ffn_norm, ffn_gate, ffn_down, ffn_up. llama2.c's [out, in]
// matrices keep their layout, and q and k their rows: llama2.c stores
// Meta's interleaved-RoPE layout, which llama.cpp's "llama" architecture
// expects.
func Llama2CTensors(m *checkpoint.Llama2C) []NamedTensor {
	cfg := m.Config
	C, F, KV, V := cfg.Dim, cfg.HiddenDim, cfg.KVDim(), cfg.VocabSize
	var ts []NamedTensor
	add := func(name string, shape []int, x []float32) {
		ts = append(ts, NamedTensor{Name: name, Shape: shape, Data: x})
	}
	layer := func(a []float32, l, n int) []float32 { return a[l*n : (l+1)*n] }
	add("token_embd.weight", []int{V, C}, m.TokenEmbedding)
	add("output_norm.weight", []int{C}, m.RMSFinal)
	if !cfg.SharedClassifier {
		add("output.weight", []int{V, C}, m.WCls)
	}
	for l := range cfg.NumLayers {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", []int{C}, layer(m.RMSAtt, l, C))
		add(p+"attn_q.weight", []int{C, C}, layer(m.WQ, l, C*C))
		add(p+"attn_k.weight", []int{KV, C}, layer(m.WK, l, KV*C))
		add(p+"attn_v.weight", []int{KV, C}, layer(m.WV, l, KV*C))
		add(p+"attn_output.weight", []int{C, C}, layer(m.WO, l, C*C))
		add(p+"ffn_norm.weight", []int{C}, layer(m.RMSFFN, l, C))
		add(p+"ffn_gate.weight", []int{F, C}, layer(m.W1, l, F*C))
		add(p+"ffn_down.weight", []int{C, F}, layer(m.W2, l, C*F))
		add(p+"ffn_up.weight", []int{F, C}, layer(m.W3, l, F*C))
	}
	return ts
}
