package nn

import (
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// MultiHeadAttention is scaled dot-product attention over Heads heads of
// Dim/Heads features (Vaswani et al., 2017), with torch.nn.MultiheadAttention's
// parameters: one packed input projection (q | k | v rows) and an output
// projection.
//
// Self-attention (Forward) projects q, k and v with one fused matrix
// product. Cross-attention (CrossForward) projects the queries with the q
// rows and the memory with the k | v rows of the same matrix.
type MultiHeadAttention struct {
	Dim, Heads int
	InWeight   *autograd.Var // in_proj_weight [3·Dim, Dim], or [Dim, 3·Dim] when Transposed
	// Transposed stores the input projection [Dim, 3·Dim] (GPT-2's Conv1D
	// c_attn layout: y = x·W + b) instead of nn.Linear's [3·Dim, Dim].
	Transposed bool
	InBias     *autograd.Var // in_proj_bias [3·Dim], or nil
	OutProj    *Linear       // out_proj [Dim, Dim]
	Rotary     *Rotary       // rotary embedding of q and k, or nil
	Dropout    Dropout       // on the attention probabilities
}

// NewMultiHeadAttention returns attention with dim features in heads heads,
// initialised like torch.nn.MultiheadAttention (Xavier-uniform input
// projection, zero biases).
func NewMultiHeadAttention(dim, heads int, bias bool, rng *tensor.RNG) (*MultiHeadAttention, error) {
	if dim <= 0 || heads <= 0 || dim%heads != 0 {
		return nil, fmt.Errorf("nn: attention: dim %d is not a positive multiple of heads %d", dim, heads)
	}
	m := &MultiHeadAttention{Dim: dim, Heads: heads, InWeight: autograd.Param(tensor.New(3*dim, dim)), OutProj: NewLinear(dim, dim, bias, rng)}
	InitXavierUniform(m.InWeight, rng)
	if bias {
		m.InBias = autograd.Param(tensor.New(3 * dim))
		m.OutProj.Bias.Value.Zero()
	}
	return m, nil
}

// Mask says which keys a query may attend to.
type Mask struct {
	// Causal hides later positions (key j from query i when j > i).
	Causal bool
	// KeyPadding, if non-nil, holds B·S flags in [B, S] order; true marks a
	// padding key that no query attends to.
	KeyPadding []bool
	// Additive, if non-nil, is added to the scores; it must broadcast to
	// [B, Heads, T, S] (−Inf forbids a position).
	Additive *tensor.Tensor
	// ReturnProbs asks for the attention probabilities [B, Heads, T, S].
	ReturnProbs bool
	// Offset is the position of the first query, for rotary embeddings.
	Offset int
}

// Forward is self-attention over x [B, T, Dim]. It returns [B, T, Dim] and,
// when mask.ReturnProbs is set, the probabilities [B, Heads, T, T].
func (m *MultiHeadAttention) Forward(x *autograd.Var, mask Mask) (*autograd.Var, *tensor.Tensor) {
	sh := x.Value.Shape()
	B, T := sh[0], sh[1]
	H, D := m.Heads, m.Dim/m.Heads
	qkv := m.project(x, m.InWeight, m.InBias)                     // [B, T, 3·Dim]
	qkv = autograd.Reshape(qkv, B, T, 3, H, D)                    // [B, T, 3, H, D]
	q := autograd.Permute(autograd.Select(qkv, 2, 0), 0, 2, 1, 3) // [B, H, T, D]
	k := autograd.Permute(autograd.Select(qkv, 2, 1), 0, 2, 1, 3)
	v := autograd.Permute(autograd.Select(qkv, 2, 2), 0, 2, 1, 3)
	return m.attend(q, k, v, B, T, mask)
}

// CrossForward is attention of queries x [B, T, Dim] over memory [B, S, Dim]
// (an encoder's output). It returns [B, T, Dim] and, when asked, the
// probabilities [B, Heads, T, S].
func (m *MultiHeadAttention) CrossForward(x, memory *autograd.Var, mask Mask) (*autograd.Var, *tensor.Tensor) {
	B, T := x.Value.Dim(0), x.Value.Dim(1)
	S := memory.Value.Dim(1)
	H, D, C := m.Heads, m.Dim/m.Heads, m.Dim
	var bq, bkv *autograd.Var
	if m.InBias != nil {
		bq, bkv = autograd.Slice(m.InBias, 0, 0, C), autograd.Slice(m.InBias, 0, C, 3*C)
	}
	axis := 0 // the output axis of the packed weight
	if m.Transposed {
		axis = 1
	}
	q := m.project(x, autograd.Slice(m.InWeight, axis, 0, C), bq)          // [B, T, Dim]
	kv := m.project(memory, autograd.Slice(m.InWeight, axis, C, 3*C), bkv) // [B, S, 2·Dim]
	q = autograd.Permute(autograd.Reshape(q, B, T, H, D), 0, 2, 1, 3)      // [B, H, T, D]
	kv = autograd.Reshape(kv, B, S, 2, H, D)
	k := autograd.Permute(autograd.Select(kv, 2, 0), 0, 2, 1, 3) // [B, H, S, D]
	v := autograd.Permute(autograd.Select(kv, 2, 1), 0, 2, 1, 3)
	return m.attend(q, k, v, B, T, mask)
}

// project applies (a slice of) the input projection.
func (m *MultiHeadAttention) project(x, w, b *autograd.Var) *autograd.Var {
	if m.Transposed {
		return autograd.LinearT(x, w, b)
	}
	return autograd.Linear(x, w, b)
}

// attend runs the fused attention and the output projection.
func (m *MultiHeadAttention) attend(q, k, v *autograd.Var, B, T int, mask Mask) (*autograd.Var, *tensor.Tensor) {
	if m.Rotary != nil {
		q = m.Rotary.Apply(q, mask.Offset)
		k = m.Rotary.Apply(k, mask.Offset)
	}
	opts := autograd.AttentionOptions{Causal: mask.Causal, KeyPadding: mask.KeyPadding, Mask: mask.Additive, ReturnProbs: mask.ReturnProbs}
	if m.Dropout.Training && m.Dropout.P > 0 {
		opts.DropoutP, opts.RNG = m.Dropout.P, m.Dropout.RNG
	}
	y, probs := autograd.ScaledDotProductAttention(q, k, v, opts)      // [B, H, T, D]
	y = autograd.Reshape(autograd.Permute(y, 0, 2, 1, 3), B, T, m.Dim) // [B, T, Dim]
	return m.OutProj.Forward(y), probs
}

// Params returns in_proj_weight, in_proj_bias, out_proj.weight and
// out_proj.bias (PyTorch's names).
func (m *MultiHeadAttention) Params() []NamedParam {
	ps := []NamedParam{{"in_proj_weight", m.InWeight}}
	if m.InBias != nil {
		ps = append(ps, NamedParam{"in_proj_bias", m.InBias})
	}
	return append(ps, prefixed("out_proj", m.OutProj.Params())...)
}

// FeedForward is the position-wise network of a Transformer layer:
// Linear2(act(Linear1(x))), or with SwiGLU Down(SiLU(Gate(x))·Up(x)).
type FeedForward struct {
	Act     Activation
	Linear1 *Linear // dim → hidden (SwiGLU: up_proj)
	Gate    *Linear // SwiGLU only: gate_proj, dim → hidden
	Linear2 *Linear // hidden → dim (SwiGLU: down_proj)
	Dropout Dropout // between the two layers
}

// NewFeedForward returns a feed-forward network dim → hidden → dim with
// PyTorch's default Linear initialisation. SwiGLU layers have no biases
// (Llama); the others do.
func NewFeedForward(dim, hidden int, act Activation, rng *tensor.RNG) *FeedForward {
	f := &FeedForward{Act: act}
	if act == SwiGLU {
		f.Gate = NewLinear(dim, hidden, false, rng)
		f.Linear1 = NewLinear(dim, hidden, false, rng)
		f.Linear2 = NewLinear(hidden, dim, false, rng)
		return f
	}
	f.Linear1 = NewLinear(dim, hidden, true, rng)
	f.Linear2 = NewLinear(hidden, dim, true, rng)
	return f
}

// Forward maps x [..., dim] to [..., dim].
func (f *FeedForward) Forward(x *autograd.Var) *autograd.Var {
	h := f.Linear1.Forward(x)
	if f.Act == SwiGLU {
		h = autograd.Mul(autograd.SiLU(f.Gate.Forward(x)), h)
	} else {
		h = Activate(f.Act, h)
	}
	return f.Linear2.Forward(f.Dropout.Forward(h))
}

// Params returns linear1.* and linear2.* (PyTorch's Transformer names), or
// gate_proj, up_proj and down_proj for SwiGLU (Llama's names).
func (f *FeedForward) Params() []NamedParam {
	if f.Act == SwiGLU {
		ps := prefixed("gate_proj", f.Gate.Params())
		ps = append(ps, prefixed("up_proj", f.Linear1.Params())...)
		return append(ps, prefixed("down_proj", f.Linear2.Params())...)
	}
	return append(prefixed("linear1", f.Linear1.Params()), prefixed("linear2", f.Linear2.Params())...)
}
