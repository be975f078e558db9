// Package llama implements Llama (Hugging Face LlamaForCausalLM) for
// inference: grouped-query attention with rotary position embeddings, RMSNorm,
// a SwiGLU MLP and an untied or tied lm_head, loaded from a Hugging Face model
// folder or a llama2.c checkpoint.
//
// Decoding keeps a KV cache in a State, so a prompt is prefilled once and each
// new token then costs O(length). A State owns every buffer a forward pass
// needs, sized from the batch and the maximum length when it is created:
// stepping allocates nothing. A loaded Model is immutable and safe for
// concurrent use by several States.
//
// The letters used throughout:
//
//	B  batch rows           T  new positions in this pass   S  cached positions
//	C  hidden_size          H  query heads                  Hkv key/value heads
//	D  head dimension       F  intermediate_size            V  vocabulary
//	L  layers               g = H/Hkv query heads per key/value head
package llama

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/nn"
)

// Model is a LlamaForCausalLM with its weights in float32.
type Model struct {
	Config Config

	embed  []float32 // model.embed_tokens.weight [V, C]
	layers []block
	norm   []float32 // model.norm.weight [C]
	head   []float32 // lm_head.weight [V, C]; the embed slice itself when tied
	cos    []float32 // RoPE tables [MaxPositions, D], HF half-split layout
	sin    []float32
}

// block is one decoder layer. The q, k, v projections are fused into one
// matrix, and so are the gate and up projections, so that each is one matrix
// product per pass.
type block struct {
	attnNorm []float32 // input_layernorm.weight [C]
	wqkv     []float32 // [q_proj; k_proj; v_proj] [(H+2·Hkv)·D, C]
	wo       []float32 // o_proj.weight [C, H·D]
	mlpNorm  []float32 // post_attention_layernorm.weight [C]
	wgu      []float32 // [gate_proj; up_proj] [2F, C]
	wdown    []float32 // down_proj.weight [C, F]
}

// newModel allocates a zero model of the given (validated) configuration.
func newModel(cfg Config) *Model {
	C, F, D, H, Hkv, V := cfg.HiddenSize, cfg.Intermediate, cfg.HeadDim, cfg.NumHeads, cfg.NumKVHeads, cfg.VocabSize
	m := &Model{Config: cfg, embed: make([]float32, V*C), norm: make([]float32, C), layers: make([]block, cfg.NumLayers)}
	if cfg.TieEmbeddings {
		m.head = m.embed
	} else {
		m.head = make([]float32, V*C)
	}
	for i := range m.layers {
		m.layers[i] = block{
			attnNorm: make([]float32, C),
			wqkv:     make([]float32, (H+2*Hkv)*D*C),
			wo:       make([]float32, C*H*D),
			mlpNorm:  make([]float32, C),
			wgu:      make([]float32, 2*F*C),
			wdown:    make([]float32, C*F),
		}
	}
	cos, sin := nn.NewRotary(D, cfg.MaxPositions, cfg.RopeTheta, false).Tables()
	m.cos, m.sin = cos.Data(), sin.Data()
	return m
}

// RopeTables returns the rotary cos and sin tables [MaxPositions, D] in
// Hugging Face's half-split layout (row p: the angles of position p, the
// D/2 frequencies repeated twice).
func (m *Model) RopeTables() (cos, sin []float32) { return m.cos, m.sin }

// NumParams reports the number of parameters (the tied head counted once).
func (m *Model) NumParams() int {
	n := len(m.embed) + len(m.norm)
	if !m.Config.TieEmbeddings {
		n += len(m.head)
	}
	for _, b := range m.layers {
		n += len(b.attnNorm) + len(b.wqkv) + len(b.wo) + len(b.mlpNorm) + len(b.wgu) + len(b.wdown)
	}
	return n
}

// VocabSize reports V.
func (m *Model) VocabSize() int { return m.Config.VocabSize }

// State is one decoding session: the KV cache of B sequences and the scratch
// buffers of a forward pass. It is created by NewState and must be used by one
// goroutine at a time.
type State struct {
	m      *Model
	B      int         // rows
	MaxLen int         // longest sequence, prompt included
	Cache  *nn.KVCache // keys and values of every layer
	seen   []int       // [B] real (non-padding) tokens per row: the next position id
	chunk  int         // most positions per row in one internal pass

	// Workspace for one pass over N = B·chunk rows.
	x, h   []float32 // residual stream and normed input [N, C]
	qkv    []float32 // [N, (H+2Hkv)·D]
	att    []float32 // attention output [N, H·D]
	gu     []float32 // gate | up [N, 2F]
	act    []float32 // silu(gate)·up [N, F]
	pos    []int     // position id of each row [N]
	ids    []int     // the chunk's ids [N]
	mask   []bool    // the chunk's mask [N]
	scores []float32 // attention scratch [B·H, MaxLen]
	padded []bool    // [B]: the row has padding slots among those visible now
	last   []float32 // final-normed last positions [B, C]
	logits []float32 // [B, V]

	// Arguments of the parallel attention loop, set per layer (a method value
	// bound once keeps the loop allocation-free).
	curLayer, curT, curS0 int
	trace                 *Trace
	attendFn              func(lo, hi int)
}

// defaultChunk bounds the positions per row processed in one internal pass,
// so the workspace stays small for long contexts; longer prompts are fed in
// chunks through the cache.
const defaultChunk = 256

// NewState returns a decoding state for batch rows of up to maxLen positions
// (0 or more than max_position_embeddings means max_position_embeddings).
func (m *Model) NewState(batch, maxLen int) (*State, error) {
	if maxLen <= 0 || maxLen > m.Config.MaxPositions {
		maxLen = m.Config.MaxPositions
	}
	return m.newState(batch, maxLen, min(maxLen, defaultChunk))
}

func (m *Model) newState(batch, maxLen, chunk int) (*State, error) {
	cfg := m.Config
	if batch <= 0 {
		return nil, fmt.Errorf("llama: batch %d must be positive", batch)
	}
	C, F, D, H, Hkv := cfg.HiddenSize, cfg.Intermediate, cfg.HeadDim, cfg.NumHeads, cfg.NumKVHeads
	cache, err := nn.NewKVCache(cfg.NumLayers, batch, Hkv, maxLen, D)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	N := batch * chunk
	s := &State{m: m, B: batch, MaxLen: maxLen, Cache: cache, seen: make([]int, batch), chunk: chunk,
		x: make([]float32, N*C), h: make([]float32, N*C), qkv: make([]float32, N*(H+2*Hkv)*D),
		att: make([]float32, N*H*D), gu: make([]float32, N*2*F), act: make([]float32, N*F),
		pos: make([]int, N), padded: make([]bool, batch), ids: make([]int, N), mask: make([]bool, N),
		scores: make([]float32, batch*H*maxLen), last: make([]float32, batch*C), logits: make([]float32, batch*cfg.VocabSize)}
	s.attendFn = s.attendRange
	return s, nil
}

// Len reports the positions consumed so far (padding included).
func (s *State) Len() int { return s.Cache.Len() }

// Batch reports B.
func (s *State) Batch() int { return s.B }

// Reset empties the state for a new batch of prompts.
func (s *State) Reset() {
	s.Cache.Reset()
	clear(s.seen)
}

// Truncate rewinds the state to its first n positions (n ≤ Len()): the
// cache of those is kept and the next Forward continues from position n.
func (s *State) Truncate(n int) error {
	if err := s.Cache.Truncate(n); err != nil {
		return fmt.Errorf("llama: %w", err)
	}
	for b := range s.B {
		s.seen[b] = 0
		for _, ok := range s.Cache.Valid(b)[:n] {
			if ok {
				s.seen[b]++
			}
		}
	}
	return nil
}

// Reorder makes row i continue from row src[i], as beam search does.
func (s *State) Reorder(src []int) error {
	if err := s.Cache.Reorder(src); err != nil {
		return fmt.Errorf("llama: %w", err)
	}
	old := append([]int(nil), s.seen...) // B ints, only during beam search
	for i, j := range src {
		s.seen[i] = old[j]
	}
	return nil
}

// Forward feeds T = len(ids)/B new tokens to every row and returns the
// next-token logits of each row's last position, [B, V]. ids is [B, T]
// row-major; mask (nil: all true) marks real tokens, false for left padding.
// Each real token gets the position id cumsum(mask)−1 of its row, as Hugging
// Face's generate computes them. The returned slice is the state's buffer,
// valid until the next call.
func (m *Model) Forward(s *State, ids []int, mask []bool) ([]float32, error) {
	T, err := m.check(s, ids, mask)
	if err != nil {
		return nil, err
	}
	for t0 := 0; t0 < T; t0 += s.chunk {
		n := min(s.chunk, T-t0)
		s.gather(ids, mask, T, t0, n)
		m.pass(s, n, nil)
	}
	return s.logits, nil
}

// check validates a Forward call and returns T.
func (m *Model) check(s *State, ids []int, mask []bool) (int, error) {
	if s == nil || s.m != m {
		return 0, fmt.Errorf("llama: state does not belong to this model")
	}
	if len(ids) == 0 || len(ids)%s.B != 0 {
		return 0, fmt.Errorf("llama: %d ids do not split into %d rows", len(ids), s.B)
	}
	if mask != nil && len(mask) != len(ids) {
		return 0, fmt.Errorf("llama: mask has %d entries for %d ids", len(mask), len(ids))
	}
	T := len(ids) / s.B
	if T > s.Cache.Free() {
		return 0, fmt.Errorf("llama: %d new positions exceed the state's remaining %d (max length %d)", T, s.Cache.Free(), s.MaxLen)
	}
	V := m.Config.VocabSize
	for i, id := range ids {
		if (mask == nil || mask[i]) && (id < 0 || id >= V) {
			return 0, fmt.Errorf("llama: token id %d at index %d outside the vocabulary of %d", id, i, V)
		}
	}
	return T, nil
}

// gather copies positions t0…t0+n−1 of each row into the state's chunk
// buffers and assigns their position ids.
func (s *State) gather(ids []int, mask []bool, T, t0, n int) {
	for b := range s.B {
		for t := range n {
			i, j := b*T+t0+t, b*n+t
			real := mask == nil || mask[i]
			s.mask[j] = real
			if real {
				s.ids[j], s.pos[j] = ids[i], s.seen[b]
				s.seen[b]++
			} else {
				s.ids[j], s.pos[j] = 0, 1 // as HF: padding gets position 1; it is never attended to
			}
		}
	}
}

// Trace records the intermediate results of a forward pass, for comparisons
// with a reference implementation (Hugging Face's output_hidden_states and
// output_attentions).
type Trace struct {
	B, T int
	// Logits of every position, [B, T, V].
	Logits []float32
	// Hidden holds L+1 tensors [B, T, C]: the embeddings, the input of layers
	// 1…L−1, and the final-norm output (HF's hidden_states).
	Hidden [][]float32
	// Attentions holds L tensors [B, H, T, T] of softmax probabilities
	// (masked keys are 0).
	Attentions [][]float32
}

// ForwardTrace runs ids [B, T] (mask marks real tokens; nil: all) through a
// fresh state in one pass and records logits of all positions, hidden states
// and attention probabilities. Position ids are cumsum(mask)−1, which equals
// HF's default arange(T) for right-padded rows. It allocates; it is meant for
// tests and inspection, not for decoding.
func (m *Model) ForwardTrace(ids []int, mask []bool, B int) (*Trace, error) {
	if B <= 0 || len(ids)%B != 0 || len(ids) == 0 {
		return nil, fmt.Errorf("llama: %d ids do not split into %d rows", len(ids), B)
	}
	T := len(ids) / B
	if T > m.Config.MaxPositions {
		return nil, fmt.Errorf("llama: %d positions exceed max_position_embeddings %d", T, m.Config.MaxPositions)
	}
	s, err := m.newState(B, T, T)
	if err != nil {
		return nil, err
	}
	if _, err := m.check(s, ids, mask); err != nil {
		return nil, err
	}
	cfg := m.Config
	tr := &Trace{B: B, T: T, Logits: make([]float32, B*T*cfg.VocabSize)}
	for range cfg.NumLayers + 1 {
		tr.Hidden = append(tr.Hidden, make([]float32, B*T*cfg.HiddenSize))
	}
	for range cfg.NumLayers {
		tr.Attentions = append(tr.Attentions, make([]float32, B*cfg.NumHeads*T*T))
	}
	s.gather(ids, mask, T, 0, T)
	m.pass(s, T, tr)
	return tr, nil
}

// pass runs the decoder over the n positions per row in the state's chunk
// buffers, appending them to the cache, and leaves the last position's logits
// in s.logits (and everything in tr when it is not nil).
func (m *Model) pass(s *State, T int, tr *Trace) {
	cfg := m.Config
	B, C, F, D, H, Hkv, V := s.B, cfg.HiddenSize, cfg.Intermediate, cfg.HeadDim, cfg.NumHeads, cfg.NumKVHeads, cfg.VocabSize
	N := B * T           // rows of this pass
	W := (H + 2*Hkv) * D // fused qkv width
	S0 := s.Cache.Len()  // positions already cached
	eps := float32(cfg.RMSNormEps)
	x, h, qkv, att, gu, act := s.x[:N*C], s.h[:N*C], s.qkv[:N*W], s.att[:N*H*D], s.gu[:N*2*F], s.act[:N*F]

	// Mark the new slots real or padding before attending to them.
	for b := range B {
		v := s.Cache.Valid(b)
		copy(v[S0:S0+T], s.mask[b*T:(b+1)*T])
		s.padded[b] = slices.Contains(v[:S0+T], false)
	}

	// x = embed_tokens[ids]                                   [N, C]
	for i, id := range s.ids[:N] {
		copy(x[i*C:(i+1)*C], m.embed[id*C:(id+1)*C])
	}
	for l := range m.layers {
		blk := &m.layers[l]
		if tr != nil {
			copy(tr.Hidden[l], x)
		}
		// Attention: x = x + o_proj(attn(rope(q), rope(k), v))
		rmsNormRows(h, x, blk.attnNorm, C, eps)                                  // h = RMSNorm(x)        [N, C]
		kernels.Sgemm(false, true, N, W, C, 1, h, C, blk.wqkv, C, 0, qkv, W)     // q|k|v = h·Wqkvᵀ [N, W]
		m.rope(qkv, s.pos[:N], W, H+Hkv)                                         // rotate q and k heads
		s.Cache.Put(l, T, qkv[H*D:], qkv[(H+Hkv)*D:], W)                         // cache k, v at slots S0…S0+T−1
		s.attend(l, T, S0, tr)                                                   // att = softmax(q·kᵀ/√D)·v [N, H·D]
		kernels.Sgemm(false, true, N, C, H*D, 1, att, H*D, blk.wo, H*D, 1, x, C) // x += att·Woᵀ

		// MLP: x = x + down(silu(gate(h)) · up(h))
		rmsNormRows(h, x, blk.mlpNorm, C, eps)                                 // h = RMSNorm(x)   [N, C]
		kernels.Sgemm(false, true, N, 2*F, C, 1, h, C, blk.wgu, C, 0, gu, 2*F) // gate|up         [N, 2F]
		for i := range N {
			a, g, u := act[i*F:(i+1)*F], gu[i*2*F:i*2*F+F], gu[i*2*F+F:(i+1)*2*F]
			kernels.SiLU(a, g)
			kernels.Mul(a, a, u)
		}
		kernels.Sgemm(false, true, N, C, F, 1, act, F, blk.wdown, F, 1, x, C) // x += act·Wdownᵀ
	}
	s.Cache.Advance(T, s.mask[:N])

	if tr != nil {
		// Every position: hidden = RMSNorm(x), logits = hidden·lm_headᵀ  [N, V]
		fin := tr.Hidden[cfg.NumLayers]
		rmsNormRows(fin, x, m.norm, C, eps)
		kernels.Sgemm(false, true, N, V, C, 1, fin, C, m.head, C, 0, tr.Logits, V)
	}
	// The last position of each row: logits = RMSNorm(x[b, T−1])·lm_headᵀ  [B, V]
	for b := range B {
		r := (b*T + T - 1) * C
		kernels.RMSNorm(s.last[b*C:(b+1)*C], x[r:r+C], m.norm, eps)
	}
	kernels.Sgemm(false, true, B, V, C, 1, s.last, C, m.head, C, 0, s.logits, V)
}

// rmsNormRows normalises each C-wide row of x into dst.
func rmsNormRows(dst, x, gamma []float32, C int, eps float32) {
	for i := 0; i < len(x); i += C {
		kernels.RMSNorm(dst[i:i+C], x[i:i+C], gamma, eps)
	}
}

// rope rotates the first heads D-wide vectors of each W-wide row of qkv (the
// query heads, then the key heads) by the row's position, in HF's half-split
// layout: with x = (x₁, x₂) the two halves of a head,
// x' = (x₁·cos − x₂·sin, x₂·cos + x₁·sin).
func (m *Model) rope(qkv []float32, pos []int, W, heads int) {
	D := m.Config.HeadDim
	half := D / 2
	for i, p := range pos {
		cos, sin := m.cos[p*D:p*D+half], m.sin[p*D:p*D+half]
		row := qkv[i*W : i*W+heads*D]
		for o := 0; o < len(row); o += D {
			x1, x2 := row[o:o+half], row[o+half:o+D]
			for j, c := range cos {
				a, b, s := x1[j], x2[j], sin[j]
				x1[j] = a*c - b*s
				x2[j] = b*c + a*s
			}
		}
	}
}

// attend computes the attention output of every query head for the T new
// positions of layer l, against the S0+T cached keys and values. Heads are
// independent; they run in parallel when there is enough work.
func (s *State) attend(l, T, S0 int, tr *Trace) {
	s.curLayer, s.curT, s.curS0, s.trace = l, T, S0, tr
	D := s.m.Config.HeadDim
	work := T * (S0 + T) * D * 2 // multiply-adds per (row, head)
	grain := max(1, (1<<15)/max(work, 1))
	kernels.ParallelFor(s.B*s.m.Config.NumHeads, grain, s.attendFn)
}

// attendRange handles (row, head) pairs lo…hi−1 of the current layer. With
// the cache feature-major ([D, MaxLen] per head), a query row costs D
// vector operations over the n visible positions:
//
//	scores = Σ_d (q_d/√D)·K_d      p = softmax(scores)      out_d = p·V_d
func (s *State) attendRange(lo, hi int) {
	cfg := s.m.Config
	l, T, S0, tr := s.curLayer, s.curT, s.curS0, s.trace
	H, Hkv, D, L := cfg.NumHeads, cfg.NumKVHeads, cfg.HeadDim, s.MaxLen
	W := (H + 2*Hkv) * D
	g := H / Hkv
	scale := float32(1 / math.Sqrt(float64(D)))
	negInf := float32(math.Inf(-1))
	for bh := lo; bh < hi; bh++ {
		b, hd := bh/H, bh%H
		K, V := s.Cache.Keys(l, b, hd/g), s.Cache.Values(l, b, hd/g)
		valid := s.Cache.Valid(b)
		sc := s.scores[bh*L : (bh+1)*L]
		for t := range T {
			n := S0 + t + 1 // causal: slots 0 … S0+t
			q := s.qkv[(b*T+t)*W+hd*D : (b*T+t)*W+hd*D+D]
			out := s.att[(b*T+t)*H*D+hd*D : (b*T+t)*H*D+hd*D+D]
			p := sc[:n]
			clear(p)
			for d, qd := range q {
				kernels.Axpy(qd*scale, K[d*L:d*L+n], p)
			}
			real := n
			if s.padded[b] {
				for j, ok := range valid[:n] {
					if !ok {
						p[j] = negInf
						real--
					}
				}
			}
			if real > 0 {
				kernels.Softmax(p, p)
				for d := range out {
					out[d] = kernels.Dot(p, V[d*L:d*L+n])
				}
			} else {
				clear(p) // a padding query with nothing to attend to
				clear(out)
			}
			if tr != nil {
				copy(tr.Attentions[l][((b*H+hd)*T+t)*T:], p) // S0 is 0 in a traced pass
			}
		}
	}
}

// MaxLen reports the longest sequence a state can hold:
// max_position_embeddings.
func (m *Model) MaxLen() int { return m.Config.MaxPositions }

// New returns a model with random weights (normal, standard deviation 0.02,
// norm gains 1, seeded), for tests and benchmarks of a shape.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newModel(cfg)
	rng := rand.New(rand.NewPCG(seed, 0x853c49e6748fea9b))
	fill := func(w []float32) {
		for i := range w {
			w[i] = float32(rng.NormFloat64() * 0.02)
		}
	}
	ones := func(w []float32) {
		for i := range w {
			w[i] = 1
		}
	}
	fill(m.embed)
	ones(m.norm)
	if !cfg.TieEmbeddings {
		fill(m.head)
	}
	for i := range m.layers {
		b := &m.layers[i]
		ones(b.attnNorm)
		ones(b.mlpNorm)
		fill(b.wqkv)
		fill(b.wo)
		fill(b.wgu)
		fill(b.wdown)
	}
	return m, nil
}
