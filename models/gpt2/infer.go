package gpt2

import (
	"fmt"
	"io"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// Inference is GPT2LMHeadModel for generation, on the shared inference
// layer (package infer): weights packed once at load (float32) or stored in
// bfloat16, a KV cache of independent rows in each *infer.State. It
// implements generate.LM[*infer.State] and infer.Decoder.
//
// With float32 weights the tied lm_head and the token embeddings are a
// zero-copy view of the memory-mapped checkpoint, and each Conv1D matrix is
// packed for the blocked product (its file pages released), so a model
// costs its file size about once. With bfloat16 every matrix is stored at
// half the bytes and the file is closed.
//
// An Inference is immutable after loading and safe for concurrent use; each
// session owns its *infer.State (NewState, Forward, VocabSize and MaxLen
// come from the embedded infer.LM).
type Inference struct {
	infer.LM
	Config Config

	wte    *infer.Embedding // transformer.wte [V, C]; also the tied lm_head
	wpe    []float32        // transformer.wpe [P, C]
	blocks []block
	lnF    *infer.LayerNorm
	head   *infer.Linear // logits = ln_f(x)·wteᵀ
	attn   infer.Attention

	src   io.Closer    // the checkpoint float32 views alias, kept open; or nil
	cache infer.KVType // the states' KV cache type
}

// block is one transformer block: x += attn(ln_1(x)); x += mlp(ln_2(x)).
type block struct {
	ln1, ln2 *infer.LayerNorm
	attn     *infer.Linear // c_attn: q | k | v [C → 3C]
	proj     *infer.Linear // attn.c_proj [C → C]
	fc       *infer.Linear // mlp.c_fc [C → F]
	fcProj   *infer.Linear // mlp.c_proj [F → C]
}

// InferOptions configure LoadInference. The zero value keeps float32
// weights.
type InferOptions struct {
	// Format stores the weight matrices in float32 (packed) or bfloat16.
	Format infer.Format
	// CacheType is the element type of the states' KV caches (zero:
	// float32).
	CacheType infer.KVType
}

// aliases are the other names a GPT-2 tensor has in the wild: files saved
// from GPT2LMHeadModel prefix every name with "transformer.", the hub's
// original ones do not.
func aliases(name string) []string { return []string{"transformer." + name} }

// LoadInference loads a Hugging Face GPT-2 folder (config.json and
// model.safetensors, or sharded files with an index) for generation. Tensor
// names may carry the "transformer." prefix or not; lm_head.weight, tied to
// wte, and the legacy h.N.attn.bias / masked_bias buffers are ignored. F16
// and BF16 files are widened (or kept, with bfloat16).
func LoadInference(dir string, opts *InferOptions) (*Inference, error) {
	cfg, src, err := infer.OpenFolder[Config](family, dir)
	if err != nil {
		return nil, err
	}
	return newInference(cfg, src, dir, opts)
}

// NewInference loads the weights of src (a safetensors *File or *Folder, or
// an infer.Tensors) for a model of configuration cfg. With float32 weights
// the model keeps src open and aliases it (close it with Inference.Close);
// with bfloat16 it copies what it needs and closes src before returning.
func NewInference(cfg Config, src checkpoint.Reader, opts *InferOptions) (*Inference, error) {
	return newInference(cfg, src, "", opts)
}

func newInference(cfg Config, src checkpoint.Reader, where string, opts *InferOptions) (*Inference, error) {
	if err := cfg.Validate(); err != nil {
		src.Close()
		return nil, err
	}
	if opts == nil {
		opts = &InferOptions{}
	}
	names, outIn := aliases, false
	if _, ok := src.(*gguf.File); ok {
		names, outIn = ggufAliases, true
	}
	b := infer.NewBuilder(src, infer.BuilderOptions{Model: "gpt2", Source: where, Format: opts.Format, Aliases: names,
		KeepSource: opts.Format == infer.F32})
	m := load(cfg, b, outIn)
	if err := b.Err(); err != nil {
		src.Close()
		return nil, err
	}
	m.cache = opts.CacheType
	if opts.Format == infer.BF16 {
		if err := src.Close(); err != nil {
			return nil, fmt.Errorf("gpt2: %w", err)
		}
	} else {
		m.src = src
	}
	return m, nil
}

// load reads every tensor through b: the file's map of GPT-2. With outIn
// the projections are stored [out, in] (a GGUF file) instead of Conv1D's
// [in, out].
func load(cfg Config, b *infer.Builder, outIn bool) *Inference {
	C, F, V, P := cfg.NumEmbd, cfg.Inner(), cfg.VocabSize, cfg.NumPos
	eps := float32(cfg.LayerNormEp)
	m := &Inference{Config: cfg, blocks: make([]block, cfg.NumLayer),
		attn: infer.Attention{Heads: cfg.NumHead, KVHeads: cfg.NumHead, HeadDim: C / cfg.NumHead, Causal: true}}
	m.wte = b.Embedding("wte.weight", V, C)
	m.wpe = b.Tensor("wpe.weight", P, C)
	for l := range m.blocks {
		h := b.Sub("h", l)
		proj := h.Conv1D
		if outIn {
			proj = func(name string, in, out int) *infer.Linear { return h.Linear(name, in, out, true) }
		}
		m.blocks[l] = block{
			ln1:    h.LayerNorm("ln_1", C, eps),
			attn:   proj("attn.c_attn", C, 3*C),
			proj:   proj("attn.c_proj", C, C),
			ln2:    h.LayerNorm("ln_2", C, eps),
			fc:     proj("mlp.c_fc", C, F),
			fcProj: proj("mlp.c_proj", F, C),
		}
	}
	m.lnF = b.LayerNorm("ln_f", C, eps)
	m.LM = infer.LM{Decoder: m}
	m.head = m.wte.Head(nil)
	return m
}

// NewInferenceFromModel packs a (trained or randomly initialised) Model for
// generation. With float32 weights the embeddings are shared with m.
func NewInferenceFromModel(m *Model, opts *InferOptions) (*Inference, error) {
	return NewInference(m.Config, weightTensors(m.Config, m.W), opts)
}

// NewRandomInference returns a model of configuration cfg with Hugging
// Face-style random weights drawn from rng: every matrix N(0, 0.02²),
// LayerNorm gains 1, biases 0 (the ../shared/bench workloads). Unlike New
// it allocates no gradients.
func NewRandomInference(cfg Config, rng *tensor.RNG, opts *InferOptions) (*Inference, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, _ := newWeights(cfg)
	for _, s := range cfg.specs(w) {
		v := *s.data
		switch {
		case len(s.shape) == 2:
			for i := range v {
				v[i] = float32(0.02 * rng.NormFloat64())
			}
		case strings.HasSuffix(s.name, "ln_1.weight"), strings.HasSuffix(s.name, "ln_2.weight"), s.name == "ln_f.weight":
			for i := range v {
				v[i] = 1
			}
		}
	}
	return NewInference(cfg, weightTensors(cfg, w), opts)
}

// weightTensors presents w as a checkpoint named like GPT2Model's
// state_dict (views, not copies).
func weightTensors(cfg Config, w *Weights) infer.Tensors {
	ts := infer.Tensors{}
	for _, s := range cfg.specs(w) {
		ts.Add(s.name, *s.data, s.shape...)
	}
	return ts
}

// Close releases the memory-mapped checkpoint of a float32 model; the model
// must not be used afterwards.
func (m *Inference) Close() error { return infer.Release(&m.src) }

// WeightBytes returns the bytes of weights the model streams per token.
func (m *Inference) WeightBytes() int {
	n := m.wte.Bytes()
	for _, b := range m.blocks {
		for _, l := range []*infer.Linear{b.attn, b.proj, b.fc, b.fcProj} {
			n += l.W.Bytes()
		}
	}
	return n
}

// Shape describes the model's cache (infer.Decoder).
func (m *Inference) Shape() infer.DecoderShape {
	c := m.Config
	return infer.DecoderShape{Layers: c.NumLayer, KVHeads: c.NumHead, Heads: c.NumHead, HeadDim: c.NumEmbd / c.NumHead, Vocab: c.VocabSize, MaxLen: c.NumPos, Cache: m.cache}
}

// Pass runs GPT-2 over the tokens of segs (infer.Decoder):
//
//	x = wte[id] + wpe[pos]
//	x = x + c_proj(attn(ln_1(x)))          per block
//	x = x + c_proj(act(c_fc(ln_2(x))))
//	logits = ln_f(x_last)·wteᵀ
func (m *Inference) Pass(s *infer.State, segs []infer.Segment, ids []int, logits []float32) {
	cfg := m.Config
	C, F, N := cfg.NumEmbd, cfg.Inner(), len(ids)
	sc := &s.Scratch
	x, h, qkv, att, fc := s.Buf(0, N*C), s.Buf(1, N*C), s.Buf(2, N*3*C), s.Buf(3, N*C), s.Buf(4, N*F)
	for _, sg := range segs {
		for t := range sg.T {
			i, pos := sg.Off+t, sg.Start+t
			m.wte.Lookup(x[i*C:(i+1)*C], ids[i])
			row := x[i*C : (i+1)*C]
			kernels.Add(row, row, m.wpe[pos*C:(pos+1)*C])
		}
	}
	for l, blk := range m.blocks {
		s.Hidden(l, x)
		blk.ln1.Forward(h, x, N)
		blk.attn.Forward(sc, qkv, h, N)                                 // q | k | v  [N, 3C]
		m.attn.SelfForward(sc, att, qkv, s.Cache, l, segs, s.Attend(l)) // [N, C]
		blk.proj.AddTo(sc, x, att, N)                                   // x += c_proj(att)
		blk.ln2.Forward(h, x, N)
		blk.fc.ForwardAct(sc, fc, h, N, cfg.Activation) //                         [N, F]
		blk.fcProj.AddTo(sc, x, fc, N)
	}
	s.Logits(logits, x, C, segs, m.lnF, m.head) // ln_f(x_last)·wteᵀ  [segments, V]
}
