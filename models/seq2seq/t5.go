package seq2seq

import (
	"math"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/kernels"
)

// T5: pre-norm blocks with T5's layer norm (RMSNorm: no mean, no bias), no
// biases anywhere, unscaled attention (the 1/√D is folded into the
// initialisation) with a relative position bias, and a ReLU or gated-GELU
// feed-forward. A T5ForConditionalGeneration folder names its tensors
//
//	shared.weight                                                 [V, C]
//	encoder.block.N.layer.0.SelfAttention.{q,k,v,o}.weight        [H·D, C] … [C, H·D]
//	encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight  [buckets, H]
//	encoder.block.N.layer.0.layer_norm.weight                     [C]
//	encoder.block.N.layer.1.DenseReluDense.{wi,wo}.weight         [F, C] [C, F]   (relu)
//	encoder.block.N.layer.1.DenseReluDense.{wi_0,wi_1,wo}.weight                  (gated)
//	encoder.block.N.layer.1.layer_norm.weight, encoder.final_layer_norm.weight
//	decoder.block.N.layer.0 (self-attention), layer.1.EncDecAttention.{q,k,v,o}
//	+ layer.1.layer_norm, layer.2 (feed-forward), decoder.final_layer_norm.weight
//	lm_head.weight                                                [V, C] (untied: t5-v1_1, flan-t5)
//
// The relative bias exists only in block 0 of each stack; HF computes it
// there and passes it to every block. A tied head rescales the decoder
// output by d_model^−0.5 first (Mesh TensorFlow's convention). Files may
// also store the tied duplicates {encoder,decoder}.embed_tokens.weight.

type t5Net struct {
	cfg              *T5Config
	C, H, D, F, V    int
	embed            *infer.Embedding // shared [V, C]
	enc              []t5Block
	dec              []t5Block
	encNorm, decNorm *infer.RMSNorm
	head             t5Head
	act              infer.Activation
	gated            bool

	encAttn, selfAttn, crossAttn infer.Attention
}

// t5Block is one block: x += o(attn(ln(x))) [+ cross-attention]; x += ff(ln(x)).
type t5Block struct {
	ln1, lnX, ln2 *infer.RMSNorm
	qkv, o        *infer.Linear // SelfAttention.[q; k; v], o
	cq, co        *infer.Linear // EncDecAttention.q, o (decoder)
	ckv           *infer.Linear // EncDecAttention.[k; v], applied to the memory once
	wi, wo        *infer.Linear // wi, or [wi_0; wi_1] when gated: C → F or 2F
}

func t5Aliases(name string) []string {
	if name == "shared.weight" {
		return []string{"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"}
	}
	return nil
}

func loadT5(cfg *T5Config, b *infer.Builder) *t5Net {
	C, H, D, F, V := cfg.DModel, cfg.NumHeads, cfg.DKV, cfg.DFF, cfg.VocabSize
	HD, eps := H*D, float32(cfg.LayerNormEps)
	n := &t5Net{cfg: cfg, C: C, H: H, D: D, F: F, V: V, act: cfg.Activation, gated: cfg.Gated, head: t5Head{rescale: 1},
		enc: make([]t5Block, cfg.NumLayers), dec: make([]t5Block, cfg.decoderLayers())}
	n.embed = b.Embedding("shared.weight", V, C)
	relName := "block.0.layer.0.SelfAttention.relative_attention_bias.weight"
	encRel := b.Sub("encoder").Tensor(relName, cfg.RelBuckets, H)
	decRel := b.Sub("decoder").Tensor(relName, cfg.RelBuckets, H)
	n.encAttn = infer.Attention{Heads: H, KVHeads: H, HeadDim: D, Scale: 1}
	n.selfAttn = infer.Attention{Heads: H, KVHeads: H, HeadDim: D, Scale: 1, Causal: true}
	n.crossAttn = infer.Attention{Heads: H, KVHeads: H, HeadDim: D, Scale: 1}
	if encRel != nil && decRel != nil {
		n.encAttn.Bias = newRelBias(encRel, H, cfg.RelBuckets, cfg.RelMaxDistance, true)
		n.selfAttn.Bias = newRelBias(decRel, H, cfg.RelBuckets, cfg.RelMaxDistance, false)
	}
	qkv := []string{"q", "k", "v"}
	// block loads block l of stack: layer.0 self-attention, then (decoder)
	// layer.1 cross-attention, then the feed-forward layer.
	block := func(stack string, l int, cross bool) (blk t5Block) {
		p := b.Sub(stack, "block", l, "layer")
		blk.ln1 = p.RMSNorm("0.layer_norm", C, eps)
		blk.qkv = p.Sub(0, "SelfAttention").LinearCat(qkv, C, []int{HD, HD, HD}, false)
		blk.o = p.Linear("0.SelfAttention.o", HD, C, false)
		ff := p.Sub(1)
		if cross {
			blk.lnX = p.RMSNorm("1.layer_norm", C, eps)
			blk.cq = p.Linear("1.EncDecAttention.q", C, HD, false)
			blk.ckv = p.Sub(1, "EncDecAttention").LinearCat(qkv[1:], C, []int{HD, HD}, false)
			blk.co = p.Linear("1.EncDecAttention.o", HD, C, false)
			ff = p.Sub(2)
		}
		blk.ln2 = ff.RMSNorm("layer_norm", C, eps)
		if cfg.Gated {
			blk.wi = ff.Sub("DenseReluDense").LinearCat([]string{"wi_0", "wi_1"}, C, []int{F, F}, false)
		} else {
			blk.wi = ff.Linear("DenseReluDense.wi", C, F, false)
		}
		blk.wo = ff.Linear("DenseReluDense.wo", F, C, false)
		return blk
	}
	for l := range n.enc {
		n.enc[l] = block("encoder", l, false)
	}
	n.encNorm = b.Sub("encoder").RMSNorm("final_layer_norm", C, eps)
	for l := range n.dec {
		n.dec[l] = block("decoder", l, true)
	}
	n.decNorm = b.Sub("decoder").RMSNorm("final_layer_norm", C, eps)
	if cfg.tied() {
		n.head.rescale = float32(math.Pow(float64(C), -0.5))
		n.head.w = n.embed.Head(nil)
	} else {
		n.head.w = b.Linear("lm_head", C, V, false)
	}
	return n
}

// ffn adds the feed-forward of blk to x: x += wo(act(wi(h))), or
// wo(act(wi_0(h))·wi_1(h)) when gated. h [N, C] is the normed input; f is
// scratch of N·2F values.
func (n *t5Net) ffn(sc *infer.Scratch, blk *t5Block, x, h, f []float32, N int) {
	F := n.F
	if !n.gated {
		blk.wi.ForwardAct(sc, f, h, N, n.act)
		blk.wo.AddTo(sc, x, f, N)
		return
	}
	blk.wi.Forward(sc, f, h, N)                        //  [N, 2F]
	blk.wo.AddTo(sc, x, infer.Gate(f, N, F, n.act), N) // act(gate)·up
}

// encode runs the encoder:
//
//	x = E[id]
//	x = x + o(attn(q, k, v) with q|k|v = RMS(x)·Wᵀ, scores q·k + bias(k − q))
//	x = x + ff(RMS(x))
//	out = RMS_final(x)
func (n *t5Net) encode(sc *infer.Scratch, segs []infer.Segment, masks [][]bool, ids []int, x []float32, hidden func(int, []float32)) {
	C, N, HD := n.C, len(ids), n.H*n.D
	S := 0
	for _, sg := range segs {
		S = max(S, sg.T)
	}
	for i, id := range ids {
		n.embed.Lookup(x[i*C:(i+1)*C], id)
	}
	cache, _ := infer.NewKVCache(1, len(segs), n.H, n.D, S)
	h, qkv, att, f := make([]float32, N*C), make([]float32, N*3*HD), make([]float32, N*HD), make([]float32, N*2*n.F)
	opts := &infer.AttendOptions{KeyMask: masks}
	for l := range n.enc {
		blk := &n.enc[l]
		hidden(l, x)
		blk.ln1.Forward(h, x, N)
		blk.qkv.Forward(sc, qkv, h, N) //                                           [N, 3·H·D]
		n.encAttn.SelfForward(sc, att, qkv, cache, 0, segs, opts)
		blk.o.AddTo(sc, x, att, N)
		blk.ln2.Forward(h, x, N)
		n.ffn(sc, blk, x, h, f, N)
	}
	n.encNorm.Forward(x, x, N)
	hidden(len(n.enc), x)
}

func (n *t5Net) crossKV(sc *infer.Scratch, l int, kv, mem []float32, N int) {
	n.dec[l].ckv.Forward(sc, kv, mem, N)
}

// decode runs the decoder over the new tokens of segs:
//
//	x = E[id]
//	x = x + o(causal self-attention(RMS(x)), scores + bias(k − q))
//	x = x + o(attention(q(RMS(x)), memory keys and values))
//	x = x + ff(RMS(x))
//	logits = (RMS_final(x_last)·rescale)·lm_headᵀ
func (n *t5Net) decode(s *infer.State, segs []infer.Segment, ids []int, logits []float32, mem *infer.KVCache, cross []infer.Segment) {
	C, N, HD := n.C, len(ids), n.H*n.D
	sc := &s.Scratch
	x, h, qkv, att, f := s.Buf(0, N*C), s.Buf(1, N*C), s.Buf(2, N*3*HD), s.Buf(3, N*HD), s.Buf(4, N*2*n.F)
	for i, id := range ids {
		n.embed.Lookup(x[i*C:(i+1)*C], id)
	}
	for l := range n.dec {
		blk := &n.dec[l]
		s.Hidden(l, x)
		blk.ln1.Forward(h, x, N)
		blk.qkv.Forward(sc, qkv, h, N)
		n.selfAttn.SelfForward(sc, att, qkv, s.Cache, l, segs, s.Attend(l))
		blk.o.AddTo(sc, x, att, N)

		blk.lnX.Forward(h, x, N)
		q := qkv[:N*HD]
		blk.cq.Forward(sc, q, h, N)
		n.crossAttn.Forward(sc, att, HD, q, HD, mem, l, cross, nil)
		blk.co.AddTo(sc, x, att, N)

		blk.ln2.Forward(h, x, N)
		n.ffn(sc, blk, x, h, f, N)
	}
	s.Logits(logits, x, C, segs, n.decNorm, &n.head)
}

// t5Head is the output head: lm_head, or the tied embedding after the
// decoder output is rescaled by d_model^−0.5 (in place).
type t5Head struct {
	w       *infer.Linear
	rescale float32 // 1 when untied
}

func (h *t5Head) Forward(sc *infer.Scratch, y, x []float32, N int) {
	if h.rescale != 1 {
		kernels.Scale(h.rescale, x)
	}
	h.w.Forward(sc, y, x, N)
}

// relBias is T5's relative position bias of one stack: scores[j] of query
// position q get table[bucket(j − q)][head], precomputed per head for the
// relative positions −M … M (every farther one shares the last bucket of
// its side).
type relBias struct {
	M   int
	tab []float32 // [H, 2M+1]
}

func newRelBias(w []float32, H, buckets, maxDistance int, bidirectional bool) *relBias {
	M := maxDistance
	b := &relBias{M: M, tab: make([]float32, H*(2*M+1))}
	for rel := -M; rel <= M; rel++ {
		k := relativeBucket(rel, bidirectional, buckets, maxDistance)
		for h := range H {
			b.tab[h*(2*M+1)+rel+M] = w[k*H+h]
		}
	}
	return b
}

// AddBias adds the bias of head h to the scores of query position q over key
// positions 0 … len(scores)−1 (infer.PositionBias).
func (b *relBias) AddBias(scores []float32, h, q int) {
	M := b.M
	row := b.tab[h*(2*M+1) : (h+1)*(2*M+1)]
	for j := range scores {
		r := min(max(j-q, -M), M)
		scores[j] += row[r+M]
	}
}

// relativeBucket is T5Attention._relative_position_bucket for one relative
// position (key − query): half the buckets for each direction when
// bidirectional (positive positions in the upper half), exact buckets below
// max_exact = buckets/2, logarithmic ones up to maxDistance. The logarithm
// is taken in float32, as PyTorch does, so that positions on a bucket
// boundary land where HF puts them.
func relativeBucket(rel int, bidirectional bool, buckets, maxDistance int) int {
	out := 0
	if bidirectional {
		buckets /= 2
		if rel > 0 {
			out = buckets
		}
		rel = max(rel, -rel)
	} else {
		rel = -min(rel, 0)
	}
	exact := buckets / 2
	if rel < exact {
		return out + rel
	}
	v := float32(math.Log(float64(float32(rel) / float32(exact))))
	v /= float32(math.Log(float64(maxDistance) / float64(exact)))
	v *= float32(buckets - exact)
	return out + min(exact+int(v), buckets-1)
}
