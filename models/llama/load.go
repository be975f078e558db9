package llama

import (
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
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

// Options configure loading. The zero value keeps float32 weights.
type Options struct {
	// Format stores the weight matrices (and the embedding) in float32
	// (packed), bfloat16, llama.cpp's Q8_0 or Q4_0 blocks (quantized at
	// load unless the file stores them so), or infer.Stored: each as its
	// checkpoint stores it, which for a GGUF file keeps llama.cpp's own
	// per-tensor choices (a Q4_0 file's Q8_0 embedding, its F16 matrices
	// as float32). Norms are float32 in every format.
	Format infer.Format
	// MaxPositions, when positive and smaller, caps the context below the
	// checkpoint's max_position_embeddings (a GGUF file's context_length
	// can be 128k), which sizes the RoPE tables and the states' caches.
	MaxPositions int
	// CacheType is the element type of the states' KV caches. Zero
	// (infer.KVDefault) means half precision for a GGUF file, llama.cpp's
	// default, and float32 for other checkpoints, Hugging Face's.
	CacheType infer.KVType
}

// aliases lets files saved from LlamaModel (without the "model." prefix)
// load like LlamaForCausalLM's.
func aliases(name string) []string {
	if rest, ok := strings.CutPrefix(name, "model."); ok {
		return []string{rest}
	}
	return nil
}

// Load reads a Hugging Face model folder: config.json and model.safetensors
// or its shards (model-0000x-of-0000y.safetensors listed by
// model.safetensors.index.json). F16 and BF16 weights are widened to float32
// exactly (or kept, with bfloat16). opts may be nil.
func Load(dir string, opts *Options) (*Model, error) {
	cfg, ck, err := infer.OpenFolder[Config](family, dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	return fromReader(cfg, ck, dir, opts)
}

// New returns a model with random weights (normal, standard deviation 0.02,
// norm gains 1, seeded), for tests and benchmarks of a shape. opts may be
// nil.
func New(cfg Config, seed uint64, opts *Options) (*Model, error) {
	m, _, err := build(cfg, nil, "", opts, infer.HFInit(seed), aliases, false, false)
	return m, err
}

// fromReader builds a model of configuration cfg from the tensors of r
// (Hugging Face LlamaForCausalLM names, see above), named where in errors.
// The model keeps nothing of r.
func fromReader(cfg Config, r checkpoint.Reader, where string, opts *Options) (*Model, error) {
	m, _, err := build(cfg, r, where, opts, nil, aliases, false, false)
	return m, err
}

// build loads a model of configuration cfg from r (nil: fresh weights from
// init), with the given name aliases; interleaved selects the RoPE layout of
// the q and k rows (see gguf.go). With keep, weights may alias r's memory,
// and aliased reports whether some do (r must then outlive the model).
func build(cfg Config, r checkpoint.Reader, where string, opts *Options, init func(string, []int, []float32),
	alias func(string) []string, interleaved, keep bool) (m *Model, aliased bool, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, false, err
	}
	if opts == nil {
		opts = &Options{}
	}
	if opts.MaxPositions > 0 && opts.MaxPositions < cfg.MaxPositions {
		cfg.MaxPositions = opts.MaxPositions
	}
	b := infer.NewBuilder(r, infer.BuilderOptions{Model: "llama", Source: where, Format: opts.Format, Aliases: alias, Init: init,
		KeepSource: keep})
	m = load(cfg, b, interleaved)
	if err := b.Err(); err != nil {
		return nil, false, err
	}
	m.cache = opts.CacheType.Or(infer.KVF32)
	return m, b.Aliased(), nil
}

// load reads every tensor through b: the checkpoint's map.
func load(cfg Config, b *infer.Builder, interleaved bool) *Model {
	C, F, D, H, Hkv, V := cfg.HiddenSize, cfg.Intermediate, cfg.HeadDim, cfg.NumHeads, cfg.NumKVHeads, cfg.VocabSize
	eps := float32(cfg.RMSNormEps)
	m := &Model{Config: cfg, layers: make([]block, cfg.NumLayers),
		rope: infer.NewRotary(D, cfg.MaxPositions, cfg.RopeTheta, interleaved),
		attn: infer.Attention{Heads: H, KVHeads: Hkv, HeadDim: D, Causal: true}}
	md := b.Sub("model")
	m.embed = md.Embedding("embed_tokens.weight", V, C)
	if cfg.TieEmbeddings && m.embed != nil { // first: a mapped table is released once packed, before the layers load
		m.head = m.embed.Head(nil)
	}
	for l := range m.layers {
		p := md.Sub("layers", l)
		m.layers[l] = block{
			attnNorm: p.RMSNorm("input_layernorm", C, eps),
			qkv:      p.Sub("self_attn").LinearCat([]string{"q_proj", "k_proj", "v_proj"}, C, []int{H * D, Hkv * D, Hkv * D}, false),
			o:        p.Linear("self_attn.o_proj", H*D, C, false),
			mlpNorm:  p.RMSNorm("post_attention_layernorm", C, eps),
			gateUp:   p.Sub("mlp").LinearCat([]string{"gate_proj", "up_proj"}, C, []int{F, F}, false),
			down:     p.Linear("mlp.down_proj", F, C, false),
		}
	}
	m.norm = md.RMSNorm("norm", C, eps)
	m.LM = infer.LM{Decoder: m}
	if !cfg.TieEmbeddings {
		m.head = b.Linear("lm_head", C, V, false)
	}
	return m
}

// permuteRoPE reorders the rows of a [heads·D, C] projection from the
// interleaved RoPE layout to the half-split one: within each head, output row
// half·D/2 + j takes input row 2j + half. It is the permutation Hugging Face's
// convert_llama_weights_to_hf.py applies to q_proj and k_proj.
func permuteRoPE(w []float32, heads, D, C int) []float32 {
	out := make([]float32, len(w))
	for h := range heads {
		src, dst := w[h*D*C:(h+1)*D*C], out[h*D*C:(h+1)*D*C]
		for half := range 2 {
			for j := range D / 2 {
				copy(dst[(half*D/2+j)*C:][:C], src[(2*j+half)*C:][:C])
			}
		}
	}
	return out
}
