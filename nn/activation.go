package nn

import "fmt"

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
	// (Shazeer, 2020); only FeedForward accepts it.
	SwiGLU
)

var activationNames = [...]string{GELU: "gelu", GELUTanh: "gelu_new", ReLU: "relu", SiLU: "silu", SwiGLU: "swiglu"}

// String returns the Hugging Face name of a.
func (a Activation) String() string {
	if a >= 0 && int(a) < len(activationNames) {
		return activationNames[a]
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// ParseActivation maps a Hugging Face hidden_act / activation_function name
// to an Activation: "gelu"; "gelu_new", "gelu_pytorch_tanh", "gelu_fast";
// "relu"; "silu", "swish"; "swiglu".
func ParseActivation(name string) (Activation, error) {
	switch name {
	case "gelu":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return GELUTanh, nil
	case "relu":
		return ReLU, nil
	case "silu", "swish":
		return SiLU, nil
	case "swiglu":
		return SwiGLU, nil
	}
	return 0, fmt.Errorf("nn: unknown activation %q", name)
}
