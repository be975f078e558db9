package llama

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
)

// Config is a Llama architecture, decoded from a Hugging Face LlamaConfig
// config.json with its own field names. Validate fills the defaults
// LlamaConfig uses for absent fields.
type Config struct {
	VocabSize      int                 `json:"vocab_size"`              // V
	HiddenSize     int                 `json:"hidden_size"`             // C: model width
	Intermediate   int                 `json:"intermediate_size"`       // F: SwiGLU width
	NumLayers      int                 `json:"num_hidden_layers"`       // L
	NumHeads       int                 `json:"num_attention_heads"`     // H: query heads
	NumKVHeads     int                 `json:"num_key_value_heads"`     // Hkv: key/value heads (GQA); 0 means H
	HeadDim        int                 `json:"head_dim"`                // D; 0 means C/H
	RMSNormEps     float64             `json:"rms_norm_eps"`            // 0 means 1e-6 (LlamaConfig's default)
	RopeTheta      float64             `json:"rope_theta"`              // RoPE base; 0 means 10000
	MaxPositions   int                 `json:"max_position_embeddings"` // longest sequence; 0 means 2048
	TieEmbeddings  bool                `json:"tie_word_embeddings"`     // lm_head shares embed_tokens
	HiddenAct      string              `json:"hidden_act"`              // must be "silu" (or empty)
	AttentionBias  bool                `json:"attention_bias"`          // unsupported when true
	MLPBias        bool                `json:"mlp_bias"`                // unsupported when true
	ModelType      string              `json:"model_type"`              // "llama" (or empty)
	BOSTokenID     *int                `json:"bos_token_id"`            // nil: none
	EOSTokenIDs    checkpoint.TokenIDs `json:"eos_token_id"`            // one id or a list
	RopeScaling    any                 `json:"rope_scaling"`            // only null / "default" supported
	RopeParameters *struct {
		RopeType  string  `json:"rope_type"`
		RopeTheta float64 `json:"rope_theta"`
	} `json:"rope_parameters"` // transformers v5 spelling of rope_theta
}

// Dim returns the head dimension D.
func (c Config) Dim() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	if c.NumHeads > 0 {
		return c.HiddenSize / c.NumHeads
	}
	return 0
}

// Validate fills defaults and checks that the configuration describes a model
// this package can run.
func (c *Config) Validate() error {
	if c.NumKVHeads == 0 {
		c.NumKVHeads = c.NumHeads
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = 1e-6
	}
	if c.RopeParameters != nil && c.RopeParameters.RopeTheta != 0 {
		if c.RopeParameters.RopeType != "" && c.RopeParameters.RopeType != "default" {
			return fmt.Errorf("llama: config: rope_type %q is not supported", c.RopeParameters.RopeType)
		}
		c.RopeTheta = c.RopeParameters.RopeTheta
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.MaxPositions == 0 {
		c.MaxPositions = 2048
	}
	if c.HeadDim == 0 && c.NumHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumHeads
	}
	if s, ok := c.RopeScaling.(map[string]any); ok {
		t, _ := s["rope_type"].(string)
		if t == "" {
			t, _ = s["type"].(string) // older spelling
		}
		if t != "default" {
			return fmt.Errorf("llama: config: rope_scaling %v is not supported", s)
		}
	} else if c.RopeScaling != nil {
		return fmt.Errorf("llama: config: rope_scaling %v is not supported", c.RopeScaling)
	}
	const maxDim = 1 << 24 // bounds allocations computed from user input
	switch {
	case c.ModelType != "" && c.ModelType != "llama":
		return fmt.Errorf("llama: config: model_type %q is not llama", c.ModelType)
	case c.VocabSize <= 0 || c.HiddenSize <= 0 || c.Intermediate <= 0 || c.NumLayers <= 0 || c.NumHeads <= 0 || c.NumKVHeads <= 0:
		return fmt.Errorf("llama: config: vocab_size %d, hidden_size %d, intermediate_size %d, num_hidden_layers %d, "+
			"num_attention_heads %d, num_key_value_heads %d must all be positive",
			c.VocabSize, c.HiddenSize, c.Intermediate, c.NumLayers, c.NumHeads, c.NumKVHeads)
	case c.VocabSize > maxDim || c.HiddenSize > maxDim || c.Intermediate > maxDim || c.NumLayers > 4096 ||
		c.NumHeads > 4096 || c.MaxPositions > maxDim || c.HeadDim > 4096:
		return fmt.Errorf("llama: config: dimensions too large")
	case c.MaxPositions*c.HeadDim > 1<<28:
		return fmt.Errorf("llama: config: max_position_embeddings %d × head_dim %d too large for the RoPE tables", c.MaxPositions, c.HeadDim)
	case c.NumHeads%c.NumKVHeads != 0:
		return fmt.Errorf("llama: config: num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumHeads, c.NumKVHeads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return fmt.Errorf("llama: config: head_dim %d must be positive and even", c.HeadDim)
	case c.MaxPositions < 0:
		return fmt.Errorf("llama: config: negative max_position_embeddings %d", c.MaxPositions)
	case !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0):
		return fmt.Errorf("llama: config: rms_norm_eps %g must be positive", c.RMSNormEps)
	case !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0):
		return fmt.Errorf("llama: config: rope_theta %g must be positive", c.RopeTheta)
	case c.HiddenAct != "" && c.HiddenAct != "silu":
		return fmt.Errorf("llama: config: hidden_act %q is not supported (want silu)", c.HiddenAct)
	case c.AttentionBias || c.MLPBias:
		return fmt.Errorf("llama: config: attention_bias / mlp_bias are not supported")
	}
	if c.BOSTokenID != nil && (*c.BOSTokenID < 0 || *c.BOSTokenID >= c.VocabSize) {
		return fmt.Errorf("llama: config: bos_token_id %d outside the vocabulary of %d", *c.BOSTokenID, c.VocabSize)
	}
	for _, id := range c.EOSTokenIDs {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("llama: config: eos_token_id %d outside the vocabulary of %d", id, c.VocabSize)
		}
	}
	return nil
}

// family names llama's checkpoints.
var family = infer.Family{Package: "llama", ModelType: "llama", Class: "Llama"}

// ParseConfig decodes and validates a config.json document. A model_type
// or architectures other than llama's is an error.
func ParseConfig(data []byte) (Config, error) { return infer.ParseConfig[Config](family, data) }

// ReadConfig reads and validates a config.json file; path may also name the
// model folder holding it. The file is bounded (checkpoint.MaxConfigSize)
// and named in errors.
func ReadConfig(path string) (Config, error) { return infer.ReadConfig[Config](family, path) }
