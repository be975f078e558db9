package transformer

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/nn"
)

// GenerationDefaults are the decoding defaults Save writes into
// generation_config.json.
type GenerationDefaults struct {
	NumBeams      int     // beam width (zero: 4, as the opus-mt models)
	LengthPenalty float64 // beam score divisor exponent (zero: 1)
}

// marianTensor is one tensor of the saved folder: rows [lo, hi) of a
// parameter (all of it when hi is 0).
type marianTensor struct {
	name   string
	param  nn.NamedParam
	lo, hi int
}

// marianLayerNames maps nn's layer parameter names to MarianMTModel's.
var marianLayerNames = strings.NewReplacer(
	"multihead_attn.", "encoder_attn.",
	"linear1.", "fc1.", "linear2.", "fc2.",
)

// marianNorm maps nn's norm names to Marian's, by stack.
var marianNorm = map[bool]map[string]string{
	false: {"norm1": "self_attn_layer_norm", "norm2": "final_layer_norm"},
	true:  {"norm1": "self_attn_layer_norm", "norm2": "encoder_attn_layer_norm", "norm3": "final_layer_norm"},
}

// marianTensors lists the saved tensors: the packed q|k|v input
// projections split into q_proj, k_proj and v_proj.
func (m *Model) marianTensors() []marianTensor {
	C := m.Config.Dim
	out := []marianTensor{{name: "model.shared.weight", param: nn.NamedParam{Name: "model.shared.weight", Var: m.Shared}}}
	add := func(stack string, ps []nn.NamedParam, decoder bool) {
		for _, p := range ps {
			full := nn.NamedParam{Name: stack + p.Name, Var: p.Var}
			name := marianLayerNames.Replace(p.Name)
			// name is layers.N.<rest>
			parts := strings.SplitN(name, ".", 4)
			if len(parts) == 4 {
				if n, ok := marianNorm[decoder][parts[2]]; ok {
					name = strings.Join([]string{parts[0], parts[1], n, parts[3]}, ".")
				}
			}
			if base, ok := strings.CutSuffix(name, "in_proj_weight"); ok {
				for i, x := range []string{"q", "k", "v"} {
					out = append(out, marianTensor{name: stack + base + x + "_proj.weight", param: full, lo: i * C, hi: (i + 1) * C})
				}
				continue
			}
			if base, ok := strings.CutSuffix(name, "in_proj_bias"); ok {
				for i, x := range []string{"q", "k", "v"} {
					out = append(out, marianTensor{name: stack + base + x + "_proj.bias", param: full, lo: i * C, hi: (i + 1) * C})
				}
				continue
			}
			out = append(out, marianTensor{name: stack + name, param: full})
		}
	}
	add("model.encoder.", m.Encoder.Params(), false)
	add("model.decoder.", m.Decoder.Params(), true)
	return out
}

// rows returns the tensor's data and shape.
func (t marianTensor) rows() ([]float32, []int) {
	v := t.param.Var.Value
	sh := append([]int(nil), v.Shape()...)
	d := v.Contiguous().Data()
	if t.hi == 0 {
		return d, sh
	}
	inner := len(d) / sh[0]
	sh[0] = t.hi - t.lo
	return d[t.lo*inner : t.hi*inner], sh
}

// Save writes the model into dir as a Hugging Face MarianMTModel folder:
// config.json, generation_config.json (beam search defaults, the pad token
// banned, EOS forced at the length limit) and model.safetensors, each
// atomically. The tokenizer files are the caller's.
func (m *Model) Save(dir string, gen GenerationDefaults) error {
	ts := m.marianTensors()
	out := make([]checkpoint.Tensor, 0, len(ts)+1)
	for _, t := range ts {
		d, sh := t.rows()
		out = append(out, checkpoint.Tensor{Name: t.name, Shape: sh, Data: d})
	}
	out = append(out, checkpoint.Tensor{Name: "final_logits_bias", Shape: []int{1, m.Config.Vocab},
		Data: make([]float32, m.Config.Vocab)})
	if err := checkpoint.Save(filepath.Join(dir, "model.safetensors"), out, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("transformer: save: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), m.marianConfig()); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "generation_config.json"), m.generationConfig(gen))
}

// ActivationName returns Hugging Face's activation_function name of a.
func ActivationName(a nn.Activation) (string, error) {
	switch a {
	case nn.ReLU:
		return "relu", nil
	case nn.GELU:
		return "gelu", nil
	case nn.GELUTanh:
		return "gelu_new", nil
	case nn.SiLU:
		return "swish", nil
	}
	return "", fmt.Errorf("transformer: activation %v has no Hugging Face name", a)
}

func (m *Model) marianConfig() map[string]any {
	c := m.Config
	act, _ := ActivationName(c.Activation) // Validate ruled the others out
	return map[string]any{
		"architectures":                    []string{"MarianMTModel"},
		"model_type":                       "marian",
		"vocab_size":                       c.Vocab,
		"decoder_vocab_size":               c.Vocab,
		"d_model":                          c.Dim,
		"encoder_layers":                   c.EncoderLayers,
		"decoder_layers":                   c.DecoderLayers,
		"num_hidden_layers":                c.EncoderLayers,
		"encoder_attention_heads":          c.Heads,
		"decoder_attention_heads":          c.Heads,
		"encoder_ffn_dim":                  c.FFN,
		"decoder_ffn_dim":                  c.FFN,
		"activation_function":              act,
		"max_position_embeddings":          c.MaxLen,
		"scale_embedding":                  true,
		"share_encoder_decoder_embeddings": true,
		"tie_word_embeddings":              true,
		"static_position_embeddings":       true,
		"normalize_before":                 false,
		"normalize_embedding":              false,
		"add_final_layer_norm":             false,
		"dropout":                          c.Dropout,
		"attention_dropout":                c.Dropout,
		"activation_dropout":               c.Dropout,
		"encoder_layerdrop":                0.0,
		"decoder_layerdrop":                0.0,
		"init_std":                         0.02,
		"is_encoder_decoder":               true,
		"use_cache":                        true,
		"pad_token_id":                     c.PadID,
		"eos_token_id":                     c.EOSID,
		"decoder_start_token_id":           c.PadID,
		"forced_eos_token_id":              c.EOSID,
		"torch_dtype":                      "float32",
	}
}

func (m *Model) generationConfig(g GenerationDefaults) map[string]any {
	c := m.Config
	if g.NumBeams == 0 {
		g.NumBeams = 4
	}
	if g.LengthPenalty == 0 {
		g.LengthPenalty = 1
	}
	return map[string]any{
		"bad_words_ids":          [][]int{{c.PadID}},
		"decoder_start_token_id": c.PadID,
		"eos_token_id":           c.EOSID,
		"forced_eos_token_id":    c.EOSID,
		"pad_token_id":           c.PadID,
		"max_length":             c.MaxLen,
		"num_beams":              g.NumBeams,
		"length_penalty":         g.LengthPenalty,
	}
}

// LoadWeights reads the weights of a folder written by Save (or any
// MarianMTModel of the same shape with tied embeddings) into m.
func (m *Model) LoadWeights(dir string) error {
	f, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	defer f.Close()
	for _, t := range m.marianTensors() {
		dst, sh := t.rows()
		info, ok := f.Info(t.name)
		if !ok {
			return fmt.Errorf("transformer: %s: no tensor %s", f.Path(), t.name)
		}
		if !slices.Equal(info.Shape, sh) {
			return fmt.Errorf("transformer: %s: %s has shape %v, want %v", f.Path(), t.name, info.Shape, sh)
		}
		if !t.param.Var.Value.IsContiguous() {
			return fmt.Errorf("transformer: parameter %s is not contiguous", t.param.Name)
		}
		if err := f.Float32Into(dst, t.name); err != nil {
			return fmt.Errorf("transformer: %w", err)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	return nil
}
