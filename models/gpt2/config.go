package gpt2

import (
	"fmt"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/nn"
)

// Config is a GPT-2 architecture, decoded from a Hugging Face GPT2Config
// config.json with its own field names. Zero fields take GPT-2 124M's values
// when passed through Defaults (Load does this).
type Config struct {
	VocabSize   int     `json:"vocab_size"`         // V: token vocabulary
	NumPos      int     `json:"n_positions"`        // maximum sequence length (learned positions)
	NumEmbd     int     `json:"n_embd"`             // C: model width
	NumLayer    int     `json:"n_layer"`            // transformer blocks
	NumHead     int     `json:"n_head"`             // H: attention heads (C/H per head)
	NumInner    *int    `json:"n_inner"`            // MLP width; nil or 0 means 4·C
	LayerNormEp float64 `json:"layer_norm_epsilon"` // LayerNorm eps (zero: 1e-5)
	// ActivationFunction is HF's activation name: "gelu_new" (GPT-2's tanh
	// approximation, the default), "gelu" (exact erf), "relu", "silu" or
	// "gelu_pytorch_tanh". Parsed once into Activation by Validate.
	ActivationFunction string `json:"activation_function"`
	// TieWordEmbeddings shares the lm_head with transformer.wte (nil: true,
	// as GPT2Config). Glossa's GPT-2 always ties them; false is rejected.
	TieWordEmbeddings *bool `json:"tie_word_embeddings"`

	// Activation is ActivationFunction parsed by Validate.
	Activation nn.Activation `json:"-"`
}

// Small124M returns GPT-2 124M's configuration (openai-community/gpt2).
func Small124M() Config {
	return Config{VocabSize: 50257, NumPos: 1024, NumEmbd: 768, NumLayer: 12, NumHead: 12,
		LayerNormEp: 1e-5, ActivationFunction: "gelu_new", Activation: nn.GELUTanh}
}

// Inner returns the MLP width: n_inner, or 4·n_embd when unset.
func (c Config) Inner() int {
	if c.NumInner != nil && *c.NumInner > 0 {
		return *c.NumInner
	}
	return 4 * c.NumEmbd
}

// Validate fills defaults (eps 1e-5, activation gelu_new) and checks that the
// configuration describes a buildable model.
func (c *Config) Validate() error {
	if c.LayerNormEp == 0 {
		c.LayerNormEp = 1e-5
	}
	if c.ActivationFunction == "" {
		c.ActivationFunction = "gelu_new"
	}
	act, err := nn.ParseActivation(c.ActivationFunction)
	if err != nil || act.Backward() == nil || act == nn.SwiGLU { // the trainer needs the derivative
		return fmt.Errorf("gpt2: config: unsupported activation_function %q", c.ActivationFunction)
	}
	c.Activation = act
	switch {
	case c.VocabSize <= 0 || c.NumPos <= 0 || c.NumEmbd <= 0 || c.NumLayer <= 0 || c.NumHead <= 0:
		return fmt.Errorf("gpt2: config: vocab_size %d, n_positions %d, n_embd %d, n_layer %d, n_head %d must all be positive",
			c.VocabSize, c.NumPos, c.NumEmbd, c.NumLayer, c.NumHead)
	case c.NumEmbd%c.NumHead != 0:
		return fmt.Errorf("gpt2: config: n_embd %d is not a multiple of n_head %d", c.NumEmbd, c.NumHead)
	case c.TieWordEmbeddings != nil && !*c.TieWordEmbeddings:
		return fmt.Errorf("gpt2: config: tie_word_embeddings false is not supported")
	case c.LayerNormEp < 0:
		return fmt.Errorf("gpt2: config: negative layer_norm_epsilon %g", c.LayerNormEp)
	}
	const maxDim = 1 << 24 // guards allocation sizes computed from user input
	if c.VocabSize > maxDim || c.NumPos > maxDim || c.NumEmbd > maxDim || c.NumLayer > 4096 || c.Inner() > maxDim {
		return fmt.Errorf("gpt2: config: dimensions too large")
	}
	return nil
}

// family names gpt2's checkpoints.
var family = infer.Family{Package: "gpt2", ModelType: "gpt2", Class: "GPT2"}

// ParseConfig decodes and validates a config.json document. A model_type
// or architectures other than gpt2's is an error.
func ParseConfig(data []byte) (Config, error) { return infer.ParseConfig[Config](family, data) }

// ReadConfig reads and validates a config.json file; path may also name the
// model folder holding it. The file is bounded (checkpoint.MaxConfigSize)
// and named in errors.
func ReadConfig(path string) (Config, error) { return infer.ReadConfig[Config](family, path) }
