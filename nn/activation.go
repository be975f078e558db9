package nn

import (
	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/infer"
)

// Activation names a position-wise non-linearity: infer.Activation, the one
// dispatch every model shares. Parse configuration strings once with
// ParseActivation; past the boundary, code passes the typed constant.
type Activation = infer.Activation

// The activations, as in package infer.
const (
	GELU     = infer.GELU
	GELUTanh = infer.GELUTanh
	ReLU     = infer.ReLU
	SiLU     = infer.SiLU
	SwiGLU   = infer.SwiGLU
	Tanh     = infer.Tanh
	Identity = infer.Identity
)

// ParseActivation maps a Hugging Face hidden_act / activation_function name
// to an Activation (see infer.ParseActivation).
func ParseActivation(name string) (Activation, error) { return infer.ParseActivation(name) }

// Activate applies a to x on the graph: the autograd twin of
// infer.Activation.Apply. SwiGLU, which needs a gate, is FeedForward's;
// here it is SiLU.
func Activate(a Activation, x *autograd.Var) *autograd.Var {
	switch a {
	case GELUTanh:
		return autograd.GELUTanh(x)
	case ReLU:
		return autograd.ReLU(x)
	case SiLU, SwiGLU:
		return autograd.SiLU(x)
	case Tanh:
		return autograd.Tanh(x)
	case Identity:
		return x
	}
	return autograd.GELU(x)
}
