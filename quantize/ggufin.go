package quantize

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
)

// openGGUF opens a GGUF file for requantizing, as llama-quantize does: every
// metadata key is copied in its order, general.quantization_version and
// general.file_type are set, and the tensors keep their names and order.
// With Options.Tokenizer the tokenizer.* keys are replaced by that
// vocabulary; with Options.Name general.name is replaced.
func openGGUF(path string, opts Options, ftype uint32) (*source, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	src := &source{gguf: true, close: f.Close}
	if arch := f.Architecture(); arch != "llama" && arch != "gpt2" {
		f.Close()
		return nil, fmt.Errorf("quantize: %s: architecture %q is not supported (llama, gpt2)", path, arch)
	}
	if opts.Tokenizer != "" && f.Architecture() == "gpt2" {
		f.Close()
		return nil, fmt.Errorf("quantize: %s: --tokenizer is not supported for gpt2 files", path)
	}
	if opts.Tokenizer != "" {
		p, err := f.LlamaParams()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("quantize: %w", err)
		}
		if src.tok, err = readVocabulary(opts.Tokenizer, p.VocabSize); err != nil {
			f.Close()
			return nil, err
		}
	} else if _, err := f.Tokenizer(); err != nil {
		f.Close()
		return nil, fmt.Errorf("quantize: %s: %w; give one with --tokenizer", path, err)
	}
	for _, key := range f.Keys() {
		if src.tok != nil && strings.HasPrefix(key, "tokenizer.") || key == gguf.KeyAlignment {
			continue
		}
		v, _ := f.Value(key)
		src.meta = append(src.meta, metaKV{key, v})
	}
	if opts.Name != "" {
		src.meta = setMeta(src.meta, "general.name", opts.Name)
	}
	src.meta = setMeta(src.meta, "general.quantization_version", uint32(2))
	src.meta = setMeta(src.meta, "general.file_type", ftype)
	_, hasOutput := f.Tensor("output.weight")
	src.tied = !hasOutput
	for _, t := range f.Tensors() {
		name := t.Name
		src.tensors = append(src.tensors, item{name: name, shape: t.Shape, from: t.Type,
			data: func() ([]float32, error) { return f.Float32(name) },
			raw:  func() ([]byte, error) { return f.Bytes(name) }})
	}
	return src, nil
}

// setMeta sets key in place, or appends it.
func setMeta(meta []metaKV, key string, v any) []metaKV {
	for i := range meta {
		if meta[i].key == key {
			meta[i].v = v
			return meta
		}
	}
	return append(meta, metaKV{key, v})
}
