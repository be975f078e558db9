package quantize

import (
	"fmt"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
)

// openLlama2C reads a llama2.c checkpoint; its tensors are
// gguf.Llama2CTensors (llama.cpp's names, no permutation; a shared
// classifier writes no output.weight).
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
	for _, t := range gguf.Llama2CTensors(m) {
		x := t.Data
		src.tensors = append(src.tensors, item{name: t.Name, shape: t.Shape, from: gguf.F32, resident: true,
			data: func() ([]float32, error) { return x, nil }})
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
