package nn

import (
	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// Linear is an affine map y = x·Wᵀ + b over the last axis of x.
type Linear struct {
	// Weight is [Out, In] (PyTorch's nn.Linear), or [In, Out] when
	// Transposed (GPT-2's Conv1D layout).
	Weight *autograd.Var
	Bias   *autograd.Var // [Out], or nil
	// Transposed marks a weight stored [In, Out]: y = x·W + b.
	Transposed bool
}

// NewLinear returns a Linear from in to out features with PyTorch's default
// initialisation drawn from rng; bias selects a bias term.
func NewLinear(in, out int, bias bool, rng *tensor.RNG) *Linear {
	l := &Linear{Weight: autograd.Param(tensor.New(out, in))}
	if bias {
		l.Bias = autograd.Param(tensor.New(out))
	}
	initLinear(l.Weight, l.Bias, in, rng)
	return l
}

// NewConv1D returns GPT-2's Conv1D: a Linear with its weight stored [in, out],
// initialised N(0, 0.02²) with a zero bias, as Hugging Face does.
func NewConv1D(in, out int, rng *tensor.RNG) *Linear {
	l := &Linear{Weight: autograd.Param(tensor.New(in, out)), Bias: autograd.Param(tensor.New(out)), Transposed: true}
	InitNormal(l.Weight, 0.02, rng)
	return l
}

// Forward maps x [..., In] to [..., Out].
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	if l.Transposed {
		return autograd.LinearT(x, l.Weight, l.Bias)
	}
	return autograd.Linear(x, l.Weight, l.Bias)
}

// Params returns weight and (if present) bias.
func (l *Linear) Params() []NamedParam {
	ps := []NamedParam{{"weight", l.Weight}}
	if l.Bias != nil {
		ps = append(ps, NamedParam{"bias", l.Bias})
	}
	return ps
}

// Embedding is a lookup table of Num vectors of Dim values.
type Embedding struct {
	Weight *autograd.Var // [Num, Dim]
}

// NewEmbedding returns an embedding table initialised N(0, 1) as
// torch.nn.Embedding.
func NewEmbedding(num, dim int, rng *tensor.RNG) *Embedding {
	e := &Embedding{Weight: autograd.Param(tensor.New(num, dim))}
	InitNormal(e.Weight, 1, rng)
	return e
}

// Forward gathers the rows of ids into shape+[Dim] ([len(ids), Dim] when no
// shape is given). It returns an error for an id outside the table.
func (e *Embedding) Forward(ids []int, shape ...int) (*autograd.Var, error) {
	return autograd.Embedding(e.Weight, ids, shape...)
}

// Params returns the table.
func (e *Embedding) Params() []NamedParam { return []NamedParam{{"weight", e.Weight}} }

// LayerNorm normalises the last axis to zero mean and unit variance, then
// scales and shifts (Ba et al., 2016), as torch.nn.LayerNorm.
type LayerNorm struct {
	Weight, Bias *autograd.Var // [C]: ones and zeros initially
	Eps          float32
}

// NewLayerNorm returns a LayerNorm over c features.
func NewLayerNorm(c int, eps float32) *LayerNorm {
	return &LayerNorm{Weight: autograd.Param(tensor.Ones(c)), Bias: autograd.Param(tensor.New(c)), Eps: eps}
}

// Forward normalises x [..., C].
func (n *LayerNorm) Forward(x *autograd.Var) *autograd.Var {
	return autograd.LayerNorm(x, n.Weight, n.Bias, n.Eps)
}

// Params returns weight and bias.
func (n *LayerNorm) Params() []NamedParam {
	return []NamedParam{{"weight", n.Weight}, {"bias", n.Bias}}
}

// RMSNorm scales the last axis by its reciprocal root mean square and a gain
// (Zhang & Sennrich, 2019), as Llama.
type RMSNorm struct {
	Weight *autograd.Var // [C], ones initially
	Eps    float32
}

// NewRMSNorm returns an RMSNorm over c features.
func NewRMSNorm(c int, eps float32) *RMSNorm {
	return &RMSNorm{Weight: autograd.Param(tensor.Ones(c)), Eps: eps}
}

// Forward normalises x [..., C].
func (n *RMSNorm) Forward(x *autograd.Var) *autograd.Var { return autograd.RMSNorm(x, n.Weight, n.Eps) }

// Params returns the gain.
func (n *RMSNorm) Params() []NamedParam { return []NamedParam{{"weight", n.Weight}} }

// Dropout zeroes each value with probability P while Training, scaling the
// survivors by 1/(1−P) (inverted dropout); otherwise it is the identity.
type Dropout struct {
	P        float32
	Training bool
	RNG      *tensor.RNG // draws the masks; required when Training and P > 0
}

// Forward applies dropout to x.
func (d *Dropout) Forward(x *autograd.Var) *autograd.Var {
	if d == nil || !d.Training || d.P == 0 {
		return x
	}
	return autograd.Dropout(x, d.P, d.RNG)
}
