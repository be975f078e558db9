package nn

import (
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
)

// NamedParam is one parameter of a module under its dotted name.
type NamedParam struct {
	Name string
	Var  *autograd.Var
}

// Module is anything that lists its parameters.
type Module interface {
	// Params returns every parameter with its dotted name, in a fixed order.
	Params() []NamedParam
}

// prefixed returns ps with prefix+"." prepended to every name.
func prefixed(prefix string, ps []NamedParam) []NamedParam {
	out := make([]NamedParam, len(ps))
	for i, p := range ps {
		out[i] = NamedParam{prefix + "." + p.Name, p.Var}
	}
	return out
}

// Vars returns the variables of ps.
func Vars(ps []NamedParam) []*autograd.Var {
	vs := make([]*autograd.Var, len(ps))
	for i, p := range ps {
		vs[i] = p.Var
	}
	return vs
}

// Freeze stops gradient tracking for every parameter of m, for inference
// without a graph; Unfreeze turns it back on.
func Freeze(m Module) {
	for _, p := range m.Params() {
		p.Var.SetRequiresGrad(false)
	}
}

// Unfreeze turns gradient tracking back on for every parameter of m.
func Unfreeze(m Module) {
	for _, p := range m.Params() {
		p.Var.SetRequiresGrad(true)
	}
}

// OptimParams returns the parameters of ps that require gradients as
// optimizer parameters. It gives every one a zeroed gradient buffer if it has
// none yet, so the slices the optimizer holds stay valid: autograd then
// accumulates into that same buffer.
func OptimParams(ps []NamedParam) []optim.Param {
	var out []optim.Param
	for _, p := range ps {
		v := p.Var
		if !v.RequiresGrad() {
			continue
		}
		if v.Grad == nil {
			v.Grad = tensor.ZerosLike(v.Value)
		}
		out = append(out, optim.Param{Name: p.Name, Shape: v.Value.Shape().Clone(), Value: v.Value.Data(), Grad: v.Grad.Data()})
	}
	return out
}

// NumParams returns the number of values in ps.
func NumParams(ps []NamedParam) int {
	n := 0
	for _, p := range ps {
		n += p.Var.Value.Numel()
	}
	return n
}

// Initialisers. Each fills a parameter in place from rng.

// InitNormal fills v with N(0, std²) (GPT-2 and BERT use std 0.02).
func InitNormal(v *autograd.Var, std float32, rng *tensor.RNG) { rng.Normal(v.Value, 0, std) }

// InitXavierUniform fills a [out, in] matrix with U(−a, a), a = √(6/(in+out))
// (torch.nn.init.xavier_uniform_).
func InitXavierUniform(v *autograd.Var, rng *tensor.RNG) {
	sh := v.Value.Shape()
	fanOut, fanIn := sh[0], sh.Numel()/sh[0]
	a := float32(math.Sqrt(6 / float64(fanIn+fanOut)))
	rng.Uniform(v.Value, -a, a)
}

// initLinear is torch.nn.Linear's default: weight and bias U(−1/√in, 1/√in)
// (kaiming_uniform_ with a = √5 reduces to this bound).
func initLinear(w, b *autograd.Var, in int, rng *tensor.RNG) {
	bound := float32(1 / math.Sqrt(float64(in)))
	rng.Uniform(w.Value, -bound, bound)
	if b != nil {
		rng.Uniform(b.Value, -bound, bound)
	}
}
