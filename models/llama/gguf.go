package llama

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/infer"
)

// GGUF files (llama.cpp) name a Llama's tensors
//
//	token_embd.weight  blk.N.attn_norm.weight  blk.N.attn_{q,k,v,output}.weight
//	blk.N.ffn_norm.weight  blk.N.ffn_{gate,up,down}.weight  output_norm.weight  output.weight
//
// in the same [out, in] layout, and the hyperparameters under llama.*. Their
// q and k rows are in the interleaved RoPE layout of Meta's code (llama.cpp's
// converter undoes Hugging Face's permutation), so a GGUF model rotates
// interleaved pairs instead of permuting rows: the weights are read as they
// are stored.

// ggufNames maps Hugging Face names to GGUF ones.
var ggufNames = strings.NewReplacer(
	"model.embed_tokens.", "token_embd.",
	"model.layers.", "blk.",
	".input_layernorm.", ".attn_norm.",
	".self_attn.q_proj.", ".attn_q.",
	".self_attn.k_proj.", ".attn_k.",
	".self_attn.v_proj.", ".attn_v.",
	".self_attn.o_proj.", ".attn_output.",
	".post_attention_layernorm.", ".ffn_norm.",
	".mlp.gate_proj.", ".ffn_gate.",
	".mlp.up_proj.", ".ffn_up.",
	".mlp.down_proj.", ".ffn_down.",
	"model.norm.", "output_norm.",
	"lm_head.", "output.",
)

func ggufAliases(name string) []string { return []string{ggufNames.Replace(name)} }

// LoadGGUF reads a llama.cpp GGUF file of architecture "llama" (F32, F16,
// BF16, Q8_0 and Q4_0 tensors, and the other quantized types dequantized
// at load). The configuration comes from its llama.* metadata, BOS and EOS
// from tokenizer.ggml.*. opts may be nil.
//
// With Options.Format infer.Stored, Q8_0 or Q4_0, the tensors the file
// stores in that format are used where the file is mapped, without a copy:
// the model then keeps the file open. Close releases it; a model dropped
// without Close releases it when it is garbage-collected (a cleanup on the
// Model, which every state of the model references).
func LoadGGUF(path string, opts *Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	m, aliased, err := fromGGUF(f, path, opts, true)
	if err != nil || !aliased {
		f.Close()
		return m, err
	}
	m.src = f
	runtime.AddCleanup(m, func(f *gguf.File) { f.Close() }, f)
	return m, nil
}

// FromGGUF builds a model from an open GGUF file (named where in errors);
// the model keeps nothing of f (quantized blocks are copied).
func FromGGUF(f *gguf.File, where string, opts *Options) (*Model, error) {
	m, _, err := fromGGUF(f, where, opts, false)
	return m, err
}

// fromGGUF is FromGGUF whose weights may alias f with keep.
func fromGGUF(f *gguf.File, where string, opts *Options, keep bool) (*Model, bool, error) {
	p, err := f.LlamaParams()
	if err != nil {
		return nil, false, fmt.Errorf("llama: %w", err)
	}
	if p.Architecture != "llama" {
		return nil, false, fmt.Errorf("llama: %s: architecture %q is not llama", where, p.Architecture)
	}
	cfg := Config{VocabSize: p.VocabSize, HiddenSize: p.EmbeddingLength, Intermediate: p.FeedForwardLength,
		NumLayers: p.BlockCount, NumHeads: p.HeadCount, NumKVHeads: p.HeadCountKV, RMSNormEps: float64(p.RMSNormEpsilon),
		RopeTheta: float64(p.RopeFreqBase), MaxPositions: p.ContextLength, HiddenAct: "silu"}
	if p.HeadCount > 0 && p.RopeDimensionCount != p.EmbeddingLength/p.HeadCount {
		return nil, false, fmt.Errorf("llama: %s: rope.dimension_count %d (partial rotary) is not supported", where, p.RopeDimensionCount)
	}
	if _, ok := f.Info("output.weight"); !ok {
		cfg.TieEmbeddings = true
	}
	if tok, err := f.Tokenizer(); err == nil {
		if tok.BOS >= 0 {
			bos := tok.BOS
			cfg.BOSTokenID = &bos
		}
		if tok.EOS >= 0 {
			cfg.EOSTokenIDs = []int{tok.EOS}
		}
	}
	m, aliased, err := build(cfg, f, where, opts, nil, ggufAliases, true, keep)
	if err == nil && (opts == nil || opts.CacheType == infer.KVDefault) {
		m.cache = infer.KVF16 // llama.cpp's default cache type
	}
	return m, aliased, err
}

// Close releases the GGUF file a model loaded by LoadGGUF keeps mapped (see
// there); the model must not be used afterwards. It does nothing for other
// models.
func (m *Model) Close() error { return infer.Release(&m.src) }

// GGUFName returns llama.cpp's name for a Hugging Face Llama tensor name
// ("model.layers.3.self_attn.q_proj.weight" → "blk.3.attn_q.weight");
// names it does not know are returned unchanged.
func GGUFName(hf string) string { return ggufNames.Replace(hf) }
