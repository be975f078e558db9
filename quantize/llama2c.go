package quantize

import (
	"fmt"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
)

// openLlama2C reads a llama2.c checkpoint. Its tensors become llama.cpp's
// as examples/convert-llama2c-to-ggml names them, in llama2.c's [out, in]
// layout and Meta's RoPE layout (no permutation); a shared classifier
// writes no output.weight.
func openLlama2C(path, name string, opts Options, ftype uint32) (*source, error) {
	if opts.Tokenizer == "" {
		return nil, fmt.Errorf("quantize: %s: a llama2.c checkpoint has no vocabulary; give its tokenizer.bin (--tokenizer)", path)
	}
	m, err := checkpoint.ReadLlama2C(path)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	cfg := m.Config
	tk, err := readVocabulary(opts.Tokenizer, cfg.VocabSize)
	if err != nil {
		return nil, err
	}
	src := &source{tok: tk, tied: cfg.SharedClassifier, close: func() error { return nil }}
	src.meta = llamaMeta(name, ftype, llamaHParams{
		vocab: cfg.VocabSize, context: cfg.SeqLen, embedding: cfg.Dim, ffn: cfg.HiddenDim, blocks: cfg.NumLayers,
		heads: cfg.NumHeads, kvHeads: cfg.NumKVHeads, ropeDim: cfg.HeadSize(), ropeBase: 10000, eps: 1e-5,
	})
	C, F, KV, V := cfg.Dim, cfg.HiddenDim, cfg.KVDim(), cfg.VocabSize
	add := func(name string, shape []int, x []float32) {
		src.tensors = append(src.tensors, item{name: name, shape: shape, from: gguf.F32, resident: true,
			data: func() ([]float32, error) { return x, nil }})
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
	return src, nil
}

// llamaHParams are the llama.* hyperparameters.
type llamaHParams struct {
	vocab, context, embedding, ffn, blocks, heads, kvHeads, ropeDim int
	ropeBase, eps                                                   float32
}

// llamaMeta returns the general.* and llama.* metadata in the order
// llama.cpp's converters write it.
func llamaMeta(name string, ftype uint32, p llamaHParams) []metaKV {
	meta := []metaKV{
		{"general.architecture", "llama"},
		{"general.name", name},
		{"general.file_type", ftype},
	}
	if quantized(ftype) {
		meta = append(meta, metaKV{"general.quantization_version", uint32(2)})
	}
	u := func(v int) uint32 { return uint32(v) }
	return append(meta,
		metaKV{"llama.vocab_size", u(p.vocab)},
		metaKV{"llama.context_length", u(p.context)},
		metaKV{"llama.embedding_length", u(p.embedding)},
		metaKV{"llama.feed_forward_length", u(p.ffn)},
		metaKV{"llama.block_count", u(p.blocks)},
		metaKV{"llama.attention.head_count", u(p.heads)},
		metaKV{"llama.attention.head_count_kv", u(p.kvHeads)},
		metaKV{"llama.rope.dimension_count", u(p.ropeDim)},
		metaKV{"llama.rope.freq_base", p.ropeBase},
		metaKV{"llama.attention.layer_norm_rms_epsilon", p.eps},
	)
}
