package quantize

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/char"
)

// openHFGPT2 opens a Hugging Face GPT2LMHeadModel folder as llama.cpp's
// "gpt2" architecture: Conv1D weights transposed to [out, in], lm_head
// (tied to wte) and the attention-mask buffers left out. The vocabulary is
// the folder's vocab.json + merges.txt (or encoder.json + vocab.bpe), or
// the char_vocab.json of "glossa pretrain --tokenizer char", written as a
// byte-level vocabulary without merges (each character one token, which
// llama.cpp's BPE then yields too; only ASCII characters can be written so).
func openHFGPT2(dir, name string, opts Options, ftype uint32) (*source, error) {
	cfg, err := gpt2.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if opts.Tokenizer != "" && opts.Tokenizer != dir {
		return nil, fmt.Errorf("quantize: %s: a GPT-2 folder's own vocabulary is used; --tokenizer is not supported for it", dir)
	}
	tk, err := gpt2Vocabulary(dir, cfg.VocabSize)
	if err != nil {
		return nil, err
	}
	fo, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	src := &source{tok: tk, tied: true, close: fo.Close}
	meta := []metaKV{{"general.architecture", "gpt2"}, {"general.name", name}, {"general.file_type", ftype}}
	if quantized(ftype) {
		meta = append(meta, metaKV{"general.quantization_version", uint32(2)})
	}
	u := func(v int) uint32 { return uint32(v) }
	src.meta = append(meta,
		metaKV{"gpt2.context_length", u(cfg.NumPos)},
		metaKV{"gpt2.embedding_length", u(cfg.NumEmbd)},
		metaKV{"gpt2.feed_forward_length", u(cfg.Inner())},
		metaKV{"gpt2.block_count", u(cfg.NumLayer)},
		metaKV{"gpt2.attention.head_count", u(cfg.NumHead)},
		metaKV{"gpt2.attention.layer_norm_epsilon", float32(cfg.LayerNormEp)},
	)
	for _, hf := range fo.Names() {
		base := strings.TrimPrefix(hf, "transformer.")
		if base == "lm_head.weight" || strings.HasSuffix(base, ".attn.bias") || strings.HasSuffix(base, ".attn.masked_bias") {
			continue
		}
		gname := gpt2.GGUFName(base)
		if gname == base {
			fo.Close()
			return nil, fmt.Errorf("quantize: %s: tensor %q has no llama.cpp name", dir, hf)
		}
		info, _ := fo.Info(hf)
		shape := info.Shape
		conv := len(shape) == 2 && strings.HasPrefix(base, "h.") && strings.HasSuffix(base, ".weight") &&
			!strings.Contains(base, ".ln_")
		if conv {
			shape = []int{shape[1], shape[0]}
		}
		hfName := hf
		src.tensors = append(src.tensors, item{name: gname, shape: shape, from: dtypeType(info.DType),
			data: func() ([]float32, error) {
				x, err := fo.Float32(hfName)
				if err != nil || !conv {
					return x, err
				}
				return infer.Transpose(x, shape[1], shape[0]), nil // HF [in, out] → [out, in]
			}})
	}
	return src, nil
}

// dtypeType is the GGUF type of a safetensors dtype as it is read.
func dtypeType(d checkpoint.DType) gguf.Type {
	switch d {
	case checkpoint.F16:
		return gguf.F16
	case checkpoint.BF16:
		return gguf.BF16
	}
	return gguf.F32
}

// gpt2Vocabulary reads a GPT-2 folder's vocabulary as tokenizer.ggml.*
// (model "gpt2", pre "gpt-2").
func gpt2Vocabulary(dir string, vocab int) (*gguf.Tokenizer, error) {
	tk := &gguf.Tokenizer{Model: "gpt2", Pre: "gpt-2", UNK: -1, BOS: -1, EOS: -1, PAD: -1, SEP: -1, CLS: -1, Mask: -1, EOT: -1}
	j := func(n string) string { return filepath.Join(dir, n) }
	var encoder, merges string
	switch {
	case isFile(j("vocab.json")) && isFile(j("merges.txt")):
		encoder, merges = j("vocab.json"), j("merges.txt")
	case isFile(j("encoder.json")) && isFile(j("vocab.bpe")):
		encoder, merges = j("encoder.json"), j("vocab.bpe")
	case isFile(j(char.VocabFile)):
		m, err := char.Load(j(char.VocabFile))
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		for id, c := range m.Chars() {
			if len(c) != 1 || c[0] >= 0x80 {
				return nil, fmt.Errorf("quantize: %s: character %d %q is not ASCII; a GGUF gpt2 vocabulary holds it only as merged bytes", j(char.VocabFile), id, c)
			}
			tk.Tokens = append(tk.Tokens, bpe.ByteLevelEncode(c))
			tk.Types = append(tk.Types, gguf.TokenNormal)
		}
		tk.Merges = []string{}
	default:
		return nil, fmt.Errorf("quantize: %s has no vocab.json + merges.txt, encoder.json + vocab.bpe or %s", dir, char.VocabFile)
	}
	if encoder != "" {
		data, err := os.ReadFile(encoder)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		ids, err := bpe.ParseEncoderJSON(data)
		if err != nil {
			return nil, fmt.Errorf("quantize: %s: %w", encoder, err)
		}
		tk.Tokens = make([]string, len(ids))
		tk.Types = make([]gguf.TokenType, len(ids))
		for tok, id := range ids {
			if id < 0 || id >= len(ids) || tk.Tokens[id] != "" {
				return nil, fmt.Errorf("quantize: %s: ids are not 0…%d, each once", encoder, len(ids)-1)
			}
			tk.Tokens[id], tk.Types[id] = tok, gguf.TokenNormal
		}
		if id, ok := ids[bpe.EndOfText]; ok {
			tk.Types[id], tk.BOS, tk.EOS = gguf.TokenControl, id, id
		}
		data, err = os.ReadFile(merges)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		pairs, err := bpe.ParseMerges(data)
		if err != nil {
			return nil, fmt.Errorf("quantize: %s: %w", merges, err)
		}
		tk.Merges = make([]string, len(pairs))
		for i, p := range pairs {
			tk.Merges[i] = p[0] + " " + p[1]
		}
	}
	if len(tk.Tokens) != vocab {
		return nil, fmt.Errorf("quantize: %s: the vocabulary has %d tokens, the model %d", dir, len(tk.Tokens), vocab)
	}
	no := false
	tk.AddBOS = &no
	return tk, nil
}
