// Package llama implements Llama (Hugging Face LlamaForCausalLM) for
// inference on the shared inference layer (package infer): grouped-query
// attention with rotary position embeddings, RMSNorm, a SwiGLU MLP and an
// untied or tied lm_head, loaded from a Hugging Face model folder, a
// llama2.c checkpoint or a llama.cpp GGUF file, with float32 (packed),
// bfloat16, Q8_0 or Q4_0 weights, or each matrix as the GGUF file stores it.
//
// Decoding keeps a KV cache of independent rows in an *infer.State, so a
// prompt is prefilled once and each new token then costs O(length); rows of
// one state may hold sequences of different lengths (continuous batching).
// A loaded Model is immutable and safe for concurrent use by several
// states.
//
// The letters used throughout:
//
//	N  rows of a pass       C  hidden_size          H  query heads
//	Hkv key/value heads     D  head dimension       F  intermediate_size
//	V  vocabulary           L  layers
package llama

import (
	"io"

	"github.com/glossa-ai/glossa/infer"
)

// Model is a LlamaForCausalLM. It decodes through *infer.State: NewState,
// Forward (ids [B, T] with an optional mask marking real tokens, left
// padding skipped; each real token's position id is its row's count of real
// tokens before it, as Hugging Face's generate computes them), VocabSize and
// MaxLen come from the embedded infer.LM.
type Model struct {
	infer.LM
	Config Config

	embed  *infer.Embedding // model.embed_tokens [V, C]
	layers []block
	norm   *infer.RMSNorm // model.norm
	head   *infer.Linear  // lm_head [C → V], or the tied embedding
	rope   *infer.Rotary  // Hugging Face's half-split layout
	attn   infer.Attention

	src   io.Closer    // the mapped file quantized weights alias (LoadGGUF), or nil
	cache infer.KVType // the states' KV cache type
}

// block is one decoder layer. The q, k, v projections are fused into one
// Linear, and so are the gate and up projections, so that each is one
// matrix product per pass.
type block struct {
	attnNorm, mlpNorm *infer.RMSNorm
	qkv               *infer.Linear // [q_proj; k_proj; v_proj]: C → (H+2·Hkv)·D
	o                 *infer.Linear // o_proj: H·D → C
	gateUp            *infer.Linear // [gate_proj; up_proj]: C → 2F
	down              *infer.Linear // down_proj: F → C
}

// NumParams reports the number of parameters (the tied head counted once).
func (m *Model) NumParams() int {
	c := m.Config
	C, F, D := c.HiddenSize, c.Intermediate, c.HeadDim
	n := c.VocabSize*C + C + c.NumLayers*(2*C+(c.NumHeads+2*c.NumKVHeads)*D*C+c.NumHeads*D*C+3*F*C)
	if !c.TieEmbeddings {
		n += c.VocabSize * C
	}
	return n
}

// WeightBytes reports the bytes of weights a decoding step streams.
func (m *Model) WeightBytes() int {
	n := m.head.W.Bytes()
	for _, b := range m.layers {
		for _, l := range []*infer.Linear{b.qkv, b.o, b.gateUp, b.down} {
			n += l.W.Bytes()
		}
	}
	return n
}

// RopeTables returns the rotary cos and sin tables [MaxPositions, D] in
// Hugging Face's half-split layout (row p: the angles of position p, the D/2
// frequencies repeated twice).
func (m *Model) RopeTables() (cos, sin []float32) { return m.rope.Tables() }

// Shape describes the model's cache (infer.Decoder).
func (m *Model) Shape() infer.DecoderShape {
	c := m.Config
	return infer.DecoderShape{Layers: c.NumLayers, KVHeads: c.NumKVHeads, Heads: c.NumHeads, HeadDim: c.HeadDim, Vocab: c.VocabSize, MaxLen: c.MaxPositions, Cache: m.cache}
}

// Pass runs the decoder over the tokens of segs (infer.Decoder):
//
//	x = embed_tokens[id]
//	x = x + o_proj(attn(rope(q), rope(k), v))      q|k|v = RMSNorm(x)·Wqkvᵀ
//	x = x + down(silu(gate(h)) · up(h))            h = RMSNorm(x)
//	logits = RMSNorm(x_last)·lm_headᵀ
func (m *Model) Pass(s *infer.State, segs []infer.Segment, ids []int, logits []float32) {
	cfg := m.Config
	C, F, D, H, Hkv := cfg.HiddenSize, cfg.Intermediate, cfg.HeadDim, cfg.NumHeads, cfg.NumKVHeads
	N, W := len(ids), (H+2*Hkv)*D
	sc := &s.Scratch
	x, h, qkv, att, gu := s.Buf(0, N*C), s.Buf(1, N*C), s.Buf(2, N*W), s.Buf(3, N*H*D), s.Buf(4, N*2*F)
	for i, id := range ids {
		m.embed.Lookup(x[i*C:(i+1)*C], id)
	}
	for l, blk := range m.layers {
		s.Hidden(l, x)
		blk.attnNorm.Forward(h, x, N)
		blk.qkv.Forward(sc, qkv, h, N) //                                        [N, W]
		for _, sg := range segs {      // rotate the q and k heads by position
			for t := range sg.T {
				m.rope.Apply(qkv[(sg.Off+t)*W:], H+Hkv, sg.Start+t)
			}
		}
		m.attn.SelfForward(sc, att, qkv, s.Cache, l, segs, s.Attend(l)) // [N, H·D]
		blk.o.AddTo(sc, x, att, N)

		blk.mlpNorm.Forward(h, x, N)
		blk.gateUp.Forward(sc, gu, h, N)                           // gate | up      [N, 2F]
		blk.down.AddTo(sc, x, infer.Gate(gu, N, F, infer.SiLU), N) // silu(gate)·up  [N, F]
	}
	s.Logits(logits, x, C, segs, m.norm, m.head) // RMSNorm(x_last)·lm_headᵀ  [segments, V]
}

// Trace records the intermediate results of a forward pass (Hugging
// Face's output_hidden_states and output_attentions): the logits of every
// position [B, T, V], L+1 hidden states [B, T, C] (the embeddings, the
// input of layers 1…L−1, the final-norm output) and L attention
// probabilities [B, H, T, T].
type Trace = infer.Recording

// ForwardTrace runs ids [B, T] (mask marks real tokens; nil: all) through a
// fresh state in one pass and records the logits of all positions, hidden
// states and attention probabilities at the real positions (see infer.Run).
func (m *Model) ForwardTrace(ids []int, mask []bool, B int) (*Trace, error) {
	return infer.Run(m, ids, mask, B, infer.RecordAll)
}
