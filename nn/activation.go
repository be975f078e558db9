package nn

import "github.com/glossa-ai/glossa/infer"

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
)

// ParseActivation maps a Hugging Face hidden_act / activation_function name
// to an Activation (see infer.ParseActivation).
func ParseActivation(name string) (Activation, error) { return infer.ParseActivation(name) }
