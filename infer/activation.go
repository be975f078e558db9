package infer

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// Activation names a position-wise non-linearity. Parse configuration
// strings once with ParseActivation; past the boundary, code passes the
// typed constant.
type Activation int

const (
	// GELU is the exact Gaussian error linear unit, x·Φ(x) (PyTorch's
	// nn.GELU(), HF "gelu", BERT).
	GELU Activation = iota
	// GELUTanh is GELU's tanh approximation (HF "gelu_new", GPT-2).
	GELUTanh
	// ReLU is max(x, 0) (the original Transformer).
	ReLU
	// SiLU is x·σ(x), also called swish.
	SiLU
	// SwiGLU is the gated unit SiLU(x·W_gate)·(x·W_up) of Llama's MLP
	// (Shazeer, 2020); it names an MLP shape, and its Kernel is SiLU's.
	SwiGLU
	// Tanh is the hyperbolic tangent (BERT's pooler).
	Tanh
	// Identity leaves its input unchanged.
	Identity
)

var activationNames = spellings{GELU: {"gelu"}, GELUTanh: {"gelu_new", "gelu_pytorch_tanh", "gelu_fast"},
	ReLU: {"relu"}, SiLU: {"silu", "swish"}, SwiGLU: {"swiglu"}, Tanh: {"tanh"}, Identity: {"linear", "identity"}}

// String returns the Hugging Face name of a.
func (a Activation) String() string { return activationNames.name(int(a), "Activation") }

// ParseActivation maps a Hugging Face hidden_act / activation_function name
// to an Activation: "gelu"; "gelu_new", "gelu_pytorch_tanh", "gelu_fast";
// "relu"; "silu", "swish"; "swiglu"; "tanh"; "linear", "identity".
func ParseActivation(name string) (Activation, error) {
	if a, ok := activationNames.parse(name); ok {
		return Activation(a), nil
	}
	return 0, fmt.Errorf("infer: unknown activation %q", name)
}

// Kernel returns the SIMD kernel of a, applied as f(dst, x) (dst may alias
// x); nil for Identity.
func (a Activation) Kernel() func(dst, x []float32) {
	switch a {
	case GELU:
		return kernels.GELU
	case GELUTanh:
		return kernels.GELUTanh
	case ReLU:
		return kernels.ReLU
	case SiLU, SwiGLU:
		return kernels.SiLU
	case Tanh:
		return kernels.Tanh
	}
	return nil
}

// Backward returns the kernel of a's derivative, f(dx, x, dy) with
// dx = dy·a'(x) over the input x; nil for Identity and Tanh (whose
// derivative kernels.TanhBackward takes over the output).
func (a Activation) Backward() func(dx, x, dy []float32) {
	switch a {
	case GELU:
		return kernels.GELUBackward
	case GELUTanh:
		return kernels.GELUTanhBackward
	case ReLU:
		return kernels.ReLUBackward
	case SiLU, SwiGLU:
		return kernels.SiLUBackward
	}
	return nil
}

// Apply applies a to x in place.
func (a Activation) Apply(x []float32) {
	if f := a.Kernel(); f != nil {
		f(x, x)
	}
}

// Gate computes the gated activation act(gate)·up of N rows of gu [N, 2F],
// each row gate | up (the fused product of two projections, as Llama's
// SwiGLU and T5's gated GELU have), writing the products [N, F] into the
// front of gu, which it returns.
func Gate(gu []float32, N, F int, act Activation) []float32 {
	k, out := act.Kernel(), gu[:N*F]
	for i := range N {
		g, u := gu[i*2*F:i*2*F+F], gu[i*2*F+F:(i+1)*2*F]
		k(g, g)
		kernels.Mul(out[i*F:(i+1)*F], g, u)
	}
	return out
}
