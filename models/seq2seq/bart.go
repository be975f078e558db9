package seq2seq

import (
	"math"
	"strings"

	"github.com/glossa-ai/glossa/infer"
)

// BART and Marian: post-LN encoder and decoder layers (Vaswani et al.'s
// Transformer), token embeddings shared by both stacks and, tied, the
// output head, which adds final_logits_bias. A MarianMTModel folder names
// its tensors
//
//	model.shared.weight                                        [V, C]
//	model.encoder.layers.N.self_attn.{q,k,v,out}_proj.{weight,bias}
//	model.encoder.layers.N.self_attn_layer_norm.{weight,bias}
//	model.encoder.layers.N.{fc1,fc2}.{weight,bias}             [F, C] [C, F]
//	model.encoder.layers.N.final_layer_norm.{weight,bias}
//	model.decoder.layers.N.self_attn.…, self_attn_layer_norm.…
//	model.decoder.layers.N.encoder_attn.{q,k,v,out}_proj.…, encoder_attn_layer_norm.…
//	model.decoder.layers.N.{fc1,fc2}.…, final_layer_norm.…
//	final_logits_bias                                          [1, V]
//	lm_head.weight                                             [V, C] (only when untied)
//
// and BART adds model.{encoder,decoder}.embed_positions.weight [P+2, C]
// (learned, position p at row p+2: fairseq's offset) and
// model.{encoder,decoder}.layernorm_embedding. Marian's sinusoidal position
// table is not stored (HF's _keys_to_ignore_on_save): it is rebuilt here as
// HF builds it. Files saved from the base model lack the "model." prefix;
// older ones also store the tied duplicates
// model.{encoder,decoder}.embed_tokens.weight, used when model.shared.weight
// is absent.

// bartEps is the epsilon of BART's nn.LayerNorm (not configurable).
const bartEps = 1e-5

type bartNet struct {
	cfg            *BartConfig
	C, V           int
	embed          *infer.Embedding // model.shared [V, C]
	scale          float32          // √C with scale_embedding, else 1
	encPos, decPos []float32        // [P, C]: position p's row
	encLN, decLN   *infer.LayerNorm // layernorm_embedding (BART); nil for Marian
	enc            []bartEncLayer
	dec            []bartDecLayer
	head           *infer.Linear // [C → V], bias final_logits_bias
	act            infer.Activation

	encAttn, selfAttn, crossAttn infer.Attention
}

// bartEncLayer is x = LN1(x + attn(x)); x = LN2(x + fc2(act(fc1(x)))).
type bartEncLayer struct {
	qkv, o   *infer.Linear // [q; k; v]_proj: C → 3C; out_proj
	ln1, ln2 *infer.LayerNorm
	fc1, fc2 *infer.Linear
}

// bartDecLayer adds cross-attention between self-attention and the FFN.
type bartDecLayer struct {
	qkv, o        *infer.Linear
	ln1, ln2, ln3 *infer.LayerNorm
	cq, co        *infer.Linear // encoder_attn.q_proj, out_proj
	ckv           *infer.Linear // encoder_attn.[k; v]_proj, applied to the memory once
	fc1, fc2      *infer.Linear
}

// bartAliases maps names of files saved from the base model (no "model."
// prefix) and the tied duplicates of model.shared.weight.
func bartAliases(name string) []string {
	var out []string
	if name == "model.shared.weight" {
		out = append(out, "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight",
			"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight")
	}
	if rest, ok := strings.CutPrefix(name, "model."); ok {
		out = append(out, rest)
	}
	return out
}

// marianPositions returns HF's MarianSinusoidalPositionalEmbedding table
// [P, C]: column i < C/2 (C/2 rounded up) holds sin(p / 10000^(2i/C)), the
// others cos of the same angles, computed in float64 and rounded.
func marianPositions(P, C int) []float32 {
	out := make([]float32, P*C)
	half := (C + 1) / 2
	for p := range P {
		row := out[p*C : (p+1)*C]
		for j := 0; j < C; j++ {
			a := float64(p) / math.Pow(10000, float64(2*(j/2))/float64(C))
			if j%2 == 0 {
				row[j/2] = float32(math.Sin(a))
			} else {
				row[half+j/2] = float32(math.Cos(a))
			}
		}
	}
	return out
}

// loadBart reads a Marian or BART model through b.
func loadBart(cfg *BartConfig, b *infer.Builder) *bartNet {
	C, V, P := cfg.DModel, cfg.VocabSize, cfg.MaxPositions
	n := &bartNet{cfg: cfg, C: C, V: V, scale: 1, act: cfg.Activation,
		enc:     make([]bartEncLayer, cfg.EncoderLayers),
		dec:     make([]bartDecLayer, cfg.DecoderLayers),
		encAttn: infer.Attention{Heads: cfg.EncoderHeads, KVHeads: cfg.EncoderHeads, HeadDim: C / cfg.EncoderHeads},
		selfAttn: infer.Attention{Heads: cfg.DecoderHeads, KVHeads: cfg.DecoderHeads, HeadDim: C / cfg.DecoderHeads,
			Causal: true},
		crossAttn: infer.Attention{Heads: cfg.DecoderHeads, KVHeads: cfg.DecoderHeads, HeadDim: C / cfg.DecoderHeads},
	}
	if cfg.ScaleEmbedding {
		n.scale = float32(math.Sqrt(float64(C)))
	}
	md := b.Sub("model")
	n.embed = md.Embedding("shared.weight", V, C)
	if cfg.family() == Marian {
		n.encPos = marianPositions(P, C)
		n.decPos = n.encPos
	} else {
		if t := md.Tensor("encoder.embed_positions.weight", P+2, C); t != nil {
			n.encPos = t[2*C:]
		}
		if t := md.Tensor("decoder.embed_positions.weight", P+2, C); t != nil {
			n.decPos = t[2*C:]
		}
		n.encLN = md.LayerNorm("encoder.layernorm_embedding", C, bartEps)
		n.decLN = md.LayerNorm("decoder.layernorm_embedding", C, bartEps)
	}
	qkv := []string{"q_proj", "k_proj", "v_proj"}
	for l := range n.enc {
		p := md.Sub("encoder", "layers", l)
		n.enc[l] = bartEncLayer{
			qkv: p.Sub("self_attn").LinearCat(qkv, C, []int{C, C, C}, true),
			o:   p.Linear("self_attn.out_proj", C, C, true),
			ln1: p.LayerNorm("self_attn_layer_norm", C, bartEps),
			fc1: p.Linear("fc1", C, cfg.EncoderFFN, true),
			fc2: p.Linear("fc2", cfg.EncoderFFN, C, true),
			ln2: p.LayerNorm("final_layer_norm", C, bartEps),
		}
	}
	for l := range n.dec {
		p := md.Sub("decoder", "layers", l)
		n.dec[l] = bartDecLayer{
			qkv: p.Sub("self_attn").LinearCat(qkv, C, []int{C, C, C}, true),
			o:   p.Linear("self_attn.out_proj", C, C, true),
			ln1: p.LayerNorm("self_attn_layer_norm", C, bartEps),
			cq:  p.Linear("encoder_attn.q_proj", C, C, true),
			ckv: p.Sub("encoder_attn").LinearCat(qkv[1:], C, []int{C, C}, true),
			co:  p.Linear("encoder_attn.out_proj", C, C, true),
			ln2: p.LayerNorm("encoder_attn_layer_norm", C, bartEps),
			fc1: p.Linear("fc1", C, cfg.DecoderFFN, true),
			fc2: p.Linear("fc2", cfg.DecoderFFN, C, true),
			ln3: p.LayerNorm("final_layer_norm", C, bartEps),
		}
	}
	// final_logits_bias is a buffer that old checkpoints lack (HF then
	// keeps zeros).
	bias := make([]float32, V)
	if b.Has("final_logits_bias") {
		bias = b.Tensor("final_logits_bias", 1, V)
	}
	if cfg.tied() {
		n.head = n.embed.Head(bias)
	} else if w := b.Linear("lm_head", C, V, false); w != nil && bias != nil {
		n.head = infer.NewLinear(w.W, bias)
	}
	return n
}

// embed writes row i of x: E[id]·scale + pos[p] (then layernorm_embedding,
// by the caller).
func (n *bartNet) embedRow(x []float32, id, p int, pos []float32) {
	C := n.C
	n.embed.Lookup(x, id)
	if n.scale != 1 {
		for j := range x {
			x[j] *= n.scale
		}
	}
	add(x, pos[p*C:(p+1)*C])
}

func add(dst, x []float32) {
	for i, v := range x {
		dst[i] += v
	}
}

// encode runs the encoder:
//
//	x = E[id]·scale + pos[t]            (BART: x = LN_emb(x))
//	x = LN1(x + out_proj(attn(x)))       attention over the row's columns
//	x = LN2(x + fc2(act(fc1(x))))
func (n *bartNet) encode(sc *infer.Scratch, segs []infer.Segment, masks [][]bool, ids []int, x []float32, hidden func(int, []float32)) {
	C, N := n.C, len(ids)
	S := 0
	for _, sg := range segs {
		S = max(S, sg.T)
		for t := range sg.T {
			n.embedRow(x[(sg.Off+t)*C:(sg.Off+t+1)*C], ids[sg.Off+t], t, n.encPos)
		}
	}
	if n.encLN != nil {
		n.encLN.Forward(x, x, N)
	}
	cache, _ := infer.NewKVCache(1, len(segs), n.encAttn.Heads, n.encAttn.HeadDim, S)
	F := n.cfg.EncoderFFN
	qkv, att, h, f := make([]float32, N*3*C), make([]float32, N*C), make([]float32, N*C), make([]float32, N*F)
	opts := &infer.AttendOptions{KeyMask: masks}
	for l, L := range n.enc {
		hidden(l, x)
		L.qkv.Forward(sc, qkv, x, N)                              // [N, 3C]
		n.encAttn.SelfForward(sc, att, qkv, cache, 0, segs, opts) // [N, C]
		L.o.Forward(sc, h, att, N)
		L.ln1.AddForward(x, h, N)
		L.fc1.ForwardAct(sc, f, x, N, n.act) //                                    [N, F]
		L.fc2.Forward(sc, h, f, N)
		L.ln2.AddForward(x, h, N)
	}
	hidden(len(n.enc), x)
}

func (n *bartNet) crossKV(sc *infer.Scratch, l int, kv, mem []float32, N int) {
	n.dec[l].ckv.Forward(sc, kv, mem, N)
}

// decode runs the decoder over the new tokens of segs:
//
//	x = E[id]·scale + pos[Start+t]      (BART: x = LN_emb(x))
//	x = LN1(x + out_proj(causal self-attention(x)))
//	x = LN2(x + out_proj(attention(q_proj(x), memory keys and values)))
//	x = LN3(x + fc2(act(fc1(x))))
//	logits = x_last·Eᵀ + final_logits_bias
func (n *bartNet) decode(s *infer.State, segs []infer.Segment, ids []int, logits []float32, mem *infer.KVCache, cross []infer.Segment) {
	C, N, F := n.C, len(ids), n.cfg.DecoderFFN
	sc := &s.Scratch
	x, h, qkv, att, f := s.Buf(0, N*C), s.Buf(1, N*C), s.Buf(2, N*3*C), s.Buf(3, N*C), s.Buf(4, N*F)
	for _, sg := range segs {
		for t := range sg.T {
			n.embedRow(x[(sg.Off+t)*C:(sg.Off+t+1)*C], ids[sg.Off+t], sg.Start+t, n.decPos)
		}
	}
	if n.decLN != nil {
		n.decLN.Forward(x, x, N)
	}
	for l, L := range n.dec {
		s.Hidden(l, x)
		L.qkv.Forward(sc, qkv, x, N)
		n.selfAttn.SelfForward(sc, att, qkv, s.Cache, l, segs, s.Attend(l))
		L.o.Forward(sc, h, att, N)
		L.ln1.AddForward(x, h, N)

		q := qkv[:N*C] // the fused buffer is free again
		L.cq.Forward(sc, q, x, N)
		n.crossAttn.Forward(sc, att, C, q, C, mem, l, cross, nil)
		L.co.Forward(sc, h, att, N)
		L.ln2.AddForward(x, h, N)

		L.fc1.ForwardAct(sc, f, x, N, n.act)
		L.fc2.Forward(sc, h, f, N)
		L.ln3.AddForward(x, h, N)
	}
	s.Logits(logits, x, C, segs, nil, n.head) //                       [segments, V]
}
