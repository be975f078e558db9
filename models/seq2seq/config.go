package seq2seq

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
)

// Family is an encoder-decoder architecture, parsed once from config.json.
type Family int

// The families this package loads.
const (
	Marian Family = iota + 1 // MarianMTModel (model_type "marian"; Helsinki-NLP/opus-mt-*)
	BART                     // BartForConditionalGeneration (model_type "bart")
	T5                       // T5ForConditionalGeneration (model_type "t5"; t5, t5-v1_1, flan-t5)
)

var familyNames = [...]string{Marian: "marian", BART: "bart", T5: "t5"}

// String returns the family's model_type.
func (f Family) String() string {
	if f > 0 && int(f) < len(familyNames) {
		return familyNames[f]
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

// ParseFamily returns the family of a config.json's model_type, or, when
// that is empty, of the first architectures entry it recognises.
func ParseFamily(h checkpoint.ConfigHeader) (Family, error) {
	switch strings.ToLower(h.ModelType) {
	case "marian":
		return Marian, nil
	case "bart":
		return BART, nil
	case "t5":
		return T5, nil
	case "":
		for _, a := range h.Architectures {
			switch {
			case strings.HasPrefix(a, "Marian"):
				return Marian, nil
			case strings.HasPrefix(a, "Bart"):
				return BART, nil
			case strings.HasPrefix(a, "T5"):
				return T5, nil
			}
		}
		if len(h.Architectures) == 0 {
			return 0, errors.New("seq2seq: config.json names neither model_type nor architectures")
		}
		return 0, fmt.Errorf("seq2seq: architectures %q are not marian, bart or t5", h.Architectures)
	}
	return 0, fmt.Errorf("seq2seq: model_type %q is not marian, bart or t5", h.ModelType)
}

// TokenIDs is a token id or a list of them, as eos_token_id and
// forced_eos_token_id may be written (checkpoint.TokenIDs).
type TokenIDs = checkpoint.TokenIDs

// SpecialTokens are the token ids a config.json (or generation_config.json)
// names. A nil pointer or empty list means the file does not set it.
type SpecialTokens struct {
	PadTokenID          *int     `json:"pad_token_id"`
	BOSTokenID          *int     `json:"bos_token_id"`
	EOSTokenID          TokenIDs `json:"eos_token_id"`
	DecoderStartTokenID *int     `json:"decoder_start_token_id"`
}

// BartConfig is the config.json of a MarianMTModel or a
// BartForConditionalGeneration — Marian's configuration class is a copy of
// BART's — with the checkpoint's own field names. Absent fields take the
// defaults of transformers' MarianConfig / BartConfig.
//
// The two families differ in fixed ways that HF derives from model_type, not
// from these fields: Marian has sinusoidal positions (the table is rebuilt at
// load, never stored) and no embedding LayerNorm; BART has learned positions
// offset by 2 and layernorm_embedding. Both are post-LN. The legacy keys of
// older configs are checked against that: a config claiming pre-LN layers,
// final layer norms or the other position scheme is refused rather than run
// with HF's (different) maths.
type BartConfig struct {
	ModelType          string `json:"model_type"`              // "marian" or "bart"
	VocabSize          int    `json:"vocab_size"`              // V
	DecoderVocabSize   int    `json:"decoder_vocab_size"`      // Marian: must be 0 or V (shared vocabularies)
	DModel             int    `json:"d_model"`                 // C
	EncoderLayers      int    `json:"encoder_layers"`          //
	DecoderLayers      int    `json:"decoder_layers"`          //
	EncoderHeads       int    `json:"encoder_attention_heads"` //
	DecoderHeads       int    `json:"decoder_attention_heads"` //
	EncoderFFN         int    `json:"encoder_ffn_dim"`         //
	DecoderFFN         int    `json:"decoder_ffn_dim"`         //
	ActivationFunction string `json:"activation_function"`     // "gelu", "swish", "relu", …
	MaxPositions       int    `json:"max_position_embeddings"` // longest source and target
	ScaleEmbedding     bool   `json:"scale_embedding"`         // token embeddings × √C (Marian)
	// TieWordEmbeddings ties lm_head to model.shared (nil: true).
	TieWordEmbeddings *bool `json:"tie_word_embeddings"`
	// ShareEncoderDecoderEmbeddings (Marian; nil: true) must be true.
	ShareEncoderDecoderEmbeddings *bool `json:"share_encoder_decoder_embeddings"`

	// Legacy keys (fairseq-era configs); see the type's comment.
	StaticPositionEmbeddings *bool `json:"static_position_embeddings"` // true: sinusoidal (Marian)
	NormalizeBefore          bool  `json:"normalize_before"`           // pre-LN layers (mBART): refused
	AddFinalLayerNorm        bool  `json:"add_final_layer_norm"`       // final layer norms (mBART): refused
	NormalizeEmbedding       *bool `json:"normalize_embedding"`        // layernorm_embedding (BART)

	SpecialTokens

	// Activation is ActivationFunction parsed (set by Validate).
	Activation infer.Activation `json:"-"`
}

// defaultBart returns the defaults of transformers' MarianConfig or
// BartConfig.
func defaultBart(f Family) BartConfig {
	c := BartConfig{VocabSize: 50265, DModel: 1024, EncoderLayers: 12, DecoderLayers: 12, EncoderHeads: 16,
		DecoderHeads: 16, EncoderFFN: 4096, DecoderFFN: 4096, ActivationFunction: "gelu", MaxPositions: 1024}
	// Token ids: only eos_token_id is defaulted here; a missing decoder
	// start token is resolved by decoderStart with HF's class defaults.
	if f == Marian {
		c.ModelType, c.VocabSize, c.EOSTokenID = "marian", 58101, TokenIDs{0}
	} else {
		c.ModelType, c.EOSTokenID = "bart", TokenIDs{2}
	}
	return c
}

func intp(i int) *int { return &i }

// maxDim bounds sizes read from a config, so that allocations computed from
// user input stay sane.
const maxDim = 1 << 24

// Validate checks that c describes a model this package runs and parses
// the activation.
func (c *BartConfig) Validate() error {
	f := Marian
	switch c.ModelType {
	case "marian":
	case "bart":
		f = BART
	default:
		return fmt.Errorf("seq2seq: config: model_type %q is not marian or bart", c.ModelType)
	}
	act, err := infer.ParseActivation(c.ActivationFunction)
	if err != nil || act == infer.SwiGLU {
		return fmt.Errorf("seq2seq: config: activation_function %q is not supported", c.ActivationFunction)
	}
	c.Activation = act
	dims := []int{c.VocabSize, c.DModel, c.EncoderLayers, c.DecoderLayers, c.EncoderHeads, c.DecoderHeads, c.EncoderFFN, c.DecoderFFN, c.MaxPositions}
	for _, d := range dims {
		if d <= 0 || d > maxDim {
			return fmt.Errorf("seq2seq: config: vocab_size %d, d_model %d, encoder/decoder layers %d/%d, heads %d/%d, ffn %d/%d "+
				"and max_position_embeddings %d must be positive and at most %d", c.VocabSize, c.DModel, c.EncoderLayers,
				c.DecoderLayers, c.EncoderHeads, c.DecoderHeads, c.EncoderFFN, c.DecoderFFN, c.MaxPositions, maxDim)
		}
	}
	static := f == Marian
	switch {
	case c.EncoderLayers > 1024 || c.DecoderLayers > 1024:
		return fmt.Errorf("seq2seq: config: %d encoder and %d decoder layers are too many", c.EncoderLayers, c.DecoderLayers)
	case c.DModel%c.EncoderHeads != 0 || c.DModel%c.DecoderHeads != 0:
		return fmt.Errorf("seq2seq: config: d_model %d is not a multiple of the heads (%d, %d)", c.DModel, c.EncoderHeads, c.DecoderHeads)
	case c.DecoderVocabSize != 0 && c.DecoderVocabSize != c.VocabSize:
		return fmt.Errorf("seq2seq: config: decoder_vocab_size %d differs from vocab_size %d (separate vocabularies are not supported)", c.DecoderVocabSize, c.VocabSize)
	case c.ShareEncoderDecoderEmbeddings != nil && !*c.ShareEncoderDecoderEmbeddings:
		return errors.New("seq2seq: config: share_encoder_decoder_embeddings false (separate vocabularies) is not supported")
	case c.NormalizeBefore || c.AddFinalLayerNorm:
		return fmt.Errorf("seq2seq: config: normalize_before / add_final_layer_norm (pre-LN, mBART's layout) do not apply to %s, "+
			"whose layers are post-LN", c.ModelType)
	case c.StaticPositionEmbeddings != nil && *c.StaticPositionEmbeddings != static:
		return fmt.Errorf("seq2seq: config: static_position_embeddings %v contradicts %s's %s positions", *c.StaticPositionEmbeddings,
			c.ModelType, map[bool]string{true: "sinusoidal", false: "learned"}[static])
	case f == Marian && c.NormalizeEmbedding != nil && *c.NormalizeEmbedding:
		return errors.New("seq2seq: config: normalize_embedding true: Marian has no embedding LayerNorm")
	case c.MaxPositions*c.DModel > 1<<28:
		return fmt.Errorf("seq2seq: config: max_position_embeddings %d × d_model %d is too large", c.MaxPositions, c.DModel)
	}
	return c.SpecialTokens.check(c.VocabSize)
}

// family returns Marian or BART (after Validate).
func (c *BartConfig) family() Family {
	if c.ModelType == "bart" {
		return BART
	}
	return Marian
}

// tied reports whether lm_head shares model.shared.
func (c *BartConfig) tied() bool { return c.TieWordEmbeddings == nil || *c.TieWordEmbeddings }

// T5Config is the config.json of a T5ForConditionalGeneration (t5 v1.0,
// t5-v1_1 and flan-t5), with its own field names; absent fields take the
// defaults of transformers' T5Config.
type T5Config struct {
	VocabSize int `json:"vocab_size"` // V
	DModel    int `json:"d_model"`    // C
	DKV       int `json:"d_kv"`       // D: per-head width (H·D may differ from C)
	DFF       int `json:"d_ff"`       // F
	NumLayers int `json:"num_layers"` // encoder layers
	// NumDecoderLayers is the decoder's depth (nil: NumLayers).
	NumDecoderLayers *int `json:"num_decoder_layers"`
	NumHeads         int  `json:"num_heads"` // H
	// RelBuckets and RelMaxDistance shape the relative position buckets.
	RelBuckets     int     `json:"relative_attention_num_buckets"`
	RelMaxDistance int     `json:"relative_attention_max_distance"`
	LayerNormEps   float64 `json:"layer_norm_epsilon"`
	// FeedForwardProj is "relu" (t5 v1.0), "gated-gelu" (v1.1, flan) or
	// another "ACT" / "gated-ACT".
	FeedForwardProj string `json:"feed_forward_proj"`
	// TieWordEmbeddings ties lm_head to shared (nil: true); a tied head
	// rescales the decoder output by d_model^−0.5.
	TieWordEmbeddings *bool `json:"tie_word_embeddings"`
	// NPositions is the legacy n_positions (512): T5's relative positions
	// bound neither input, but it caps the decoder's states here.
	NPositions int `json:"n_positions"`

	SpecialTokens

	// Gated and Activation are FeedForwardProj parsed (set by Validate);
	// "gated-gelu" means gelu_new (tanh), as in HF.
	Gated      bool             `json:"-"`
	Activation infer.Activation `json:"-"`
}

func defaultT5() T5Config {
	return T5Config{VocabSize: 32128, DModel: 512, DKV: 64, DFF: 2048, NumLayers: 6, NumHeads: 8, RelBuckets: 32,
		RelMaxDistance: 128, LayerNormEps: 1e-6, FeedForwardProj: "relu",
		SpecialTokens: SpecialTokens{EOSTokenID: TokenIDs{1}}}
}

// Validate checks that c describes a model this package runs and parses
// feed_forward_proj.
func (c *T5Config) Validate() error {
	if c.NumDecoderLayers == nil {
		c.NumDecoderLayers = intp(c.NumLayers)
	}
	parts := strings.Split(c.FeedForwardProj, "-")
	actName := parts[len(parts)-1]
	c.Gated = len(parts) == 2 && parts[0] == "gated"
	if len(parts) > 2 || len(parts) == 2 && !c.Gated {
		return fmt.Errorf("seq2seq: config: feed_forward_proj %q is not ACT or gated-ACT", c.FeedForwardProj)
	}
	if c.FeedForwardProj == "gated-gelu" {
		actName = "gelu_new" // HF's backwards-compatible reading
	}
	act, err := infer.ParseActivation(actName)
	if err != nil || act == infer.SwiGLU || act == infer.Identity {
		return fmt.Errorf("seq2seq: config: feed_forward_proj %q: activation %q is not supported", c.FeedForwardProj, actName)
	}
	c.Activation = act
	for _, d := range []int{c.VocabSize, c.DModel, c.DKV, c.DFF, c.NumLayers, *c.NumDecoderLayers, c.NumHeads, c.RelBuckets, c.RelMaxDistance} {
		if d <= 0 || d > maxDim {
			return fmt.Errorf("seq2seq: config: vocab_size %d, d_model %d, d_kv %d, d_ff %d, num_layers %d, num_decoder_layers %d, "+
				"num_heads %d, relative_attention_num_buckets %d and _max_distance %d must be positive and at most %d",
				c.VocabSize, c.DModel, c.DKV, c.DFF, c.NumLayers, *c.NumDecoderLayers, c.NumHeads, c.RelBuckets, c.RelMaxDistance, maxDim)
		}
	}
	switch {
	case c.NumLayers > 1024 || *c.NumDecoderLayers > 1024 || c.NumHeads > 4096 || c.DKV > 4096:
		return errors.New("seq2seq: config: too many layers or heads")
	case c.RelBuckets < 4 || c.RelBuckets > 4096 || c.RelMaxDistance > 1<<16:
		return fmt.Errorf("seq2seq: config: relative_attention_num_buckets %d must be in [4, 4096] and _max_distance %d at most 65536",
			c.RelBuckets, c.RelMaxDistance)
	case 2*c.RelMaxDistance <= c.RelBuckets:
		// Beyond max_distance every position shares the last bucket only
		// when max_distance exceeds the exact range (num_buckets / 2).
		return fmt.Errorf("seq2seq: config: relative_attention_max_distance %d must exceed num_buckets / 2 = %d",
			c.RelMaxDistance, c.RelBuckets/2)
	case !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 0):
		return fmt.Errorf("seq2seq: config: layer_norm_epsilon %g must be positive", c.LayerNormEps)
	case c.NPositions < 0 || c.NPositions > maxDim:
		return fmt.Errorf("seq2seq: config: n_positions %d out of range", c.NPositions)
	}
	return c.SpecialTokens.check(c.VocabSize)
}

// decoderLayers returns num_decoder_layers (after Validate).
func (c *T5Config) decoderLayers() int { return *c.NumDecoderLayers }

// tied reports whether lm_head shares the embeddings.
func (c *T5Config) tied() bool { return c.TieWordEmbeddings == nil || *c.TieWordEmbeddings }

// maxTarget is the most positions a decoder state holds: n_positions, 512
// when absent.
func (c *T5Config) maxTarget() int {
	if c.NPositions > 0 {
		return c.NPositions
	}
	return 512
}

// check reports special token ids outside the vocabulary.
func (t SpecialTokens) check(V int) error {
	ids := map[string][]int{"eos_token_id": t.EOSTokenID}
	for name, p := range map[string]*int{"pad_token_id": t.PadTokenID, "bos_token_id": t.BOSTokenID, "decoder_start_token_id": t.DecoderStartTokenID} {
		if p != nil {
			ids[name] = []int{*p}
		}
	}
	for name, list := range ids {
		for _, id := range list {
			if id < 0 || id >= V {
				return fmt.Errorf("seq2seq: config: %s %d outside the vocabulary of %d", name, id, V)
			}
		}
	}
	return nil
}
