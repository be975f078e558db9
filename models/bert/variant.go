package bert

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
)

// Variant is one of the post-LayerNorm encoders that share BERT's maths and
// differ only in their names, their embeddings and their heads:
//
//	            names               positions                 token types  heads
//	Bert        bert.encoder.…      0 … T−1                   yes          cls.predictions, pooler → classifier
//	DistilBert  distilbert.trans…   0 … T−1                   none         vocab_*, pre_classifier + ReLU → classifier
//	Roberta     roberta.encoder.…   pad+1 …, counting only    one type     lm_head, classifier.dense + tanh → out_proj
//	XLMRoberta  (as Roberta)        non-pad tokens (pad: pad)
//	Electra     electra.encoder.…   0 … T−1                   yes          generator_predictions, classifier.dense + GELU → out_proj
//
// ELECTRA's embeddings may be narrower than its layers (embedding_size <
// hidden_size: embeddings_project maps them up); its pre-training heads are
// the discriminator's discriminator_predictions (ElectraForPreTraining, see
// ElectraDiscriminator) and the generator's generator_predictions and
// generator_lm_head (ElectraForMaskedLM, see ElectraGenerator).
//
// Every variant has the token-classification head classifier [labels, C]
// and the question-answering head qa_outputs [2, C] on every position.
// Validate parses Config.ModelType into it.
type Variant int

// The variants, named by their Hugging Face class prefix.
const (
	Bert       Variant = iota // model_type "bert": BertModel and its heads
	DistilBert                // "distilbert": six-layer distillation of BERT (Sanh et al., 2019)
	Roberta                   // "roberta" (and "camembert"): BERT retrained without NSP (Liu et al., 2019)
	XLMRoberta                // "xlm-roberta": RoBERTa on 100 languages (Conneau et al., 2020)
	Electra                   // "electra": BERT pre-trained by replaced-token detection (Clark et al., 2020)
)

// names are a variant's spellings: its model_type, class prefix and base
// model prefix, and the checkpoint names of its layers' parts and heads.
type names struct {
	modelType, class, base string // "bert", "Bert", "bert"
	layerNames
	headNames
}

// layerNames name the parts of the encoder's layers.
type layerNames struct {
	layers string // the layer list under base: "encoder.layer", "transformer.layer"
	// Within a layer.
	query, key, value, attnOut, attnNorm, inter, out, outNorm string
}

// headNames name the heads beside the base model.
type headNames struct {
	// The masked-LM head (named mlm in messages): LayerNorm(act(dense(x)))
	// then the tied decoder with bias mlmBias; act is the exact GELU with
	// mlmGELU, else hidden_act.
	mlm, mlmDense, mlmNorm, mlmBias string
	mlmGELU                         bool
	// The sequence classifier: seqOut(seqAct(seqPre(x₀))), or without
	// seqPre, seqOut over the pooler output.
	seqPre, seqOut string
	seqAct         infer.Activation
}

var (
	bertLayers = layerNames{layers: "encoder.layer",
		query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
		attnOut: "attention.output.dense", attnNorm: "attention.output.LayerNorm",
		inter: "intermediate.dense", out: "output.dense", outNorm: "output.LayerNorm"}
	robertaHeads = headNames{mlm: "lm_head", mlmDense: "lm_head.dense", mlmNorm: "lm_head.layer_norm", mlmBias: "lm_head.bias",
		mlmGELU: true, seqPre: "classifier.dense", seqAct: infer.Tanh, seqOut: "classifier.out_proj"}
	variants = [...]names{
		Bert: {"bert", "Bert", "bert", bertLayers, headNames{mlm: "cls.predictions",
			mlmDense: "cls.predictions.transform.dense", mlmNorm: "cls.predictions.transform.LayerNorm",
			mlmBias: "cls.predictions.bias", seqOut: "classifier"}},
		DistilBert: {"distilbert", "DistilBert", "distilbert", layerNames{layers: "transformer.layer",
			query: "attention.q_lin", key: "attention.k_lin", value: "attention.v_lin",
			attnOut: "attention.out_lin", attnNorm: "sa_layer_norm",
			inter: "ffn.lin1", out: "ffn.lin2", outNorm: "output_layer_norm"},
			headNames{mlm: "vocab_projector", mlmDense: "vocab_transform", mlmNorm: "vocab_layer_norm",
				mlmBias: "vocab_projector.bias", seqPre: "pre_classifier", seqAct: infer.ReLU, seqOut: "classifier"}},
		Roberta: {"roberta", "Roberta", "roberta", bertLayers, robertaHeads},
		// XLM-RoBERTa's classes keep RoBERTa's "roberta." prefix.
		XLMRoberta: {"xlm-roberta", "XLMRoberta", "roberta", bertLayers, robertaHeads},
		// ELECTRA's generator head maps C → E; its classifier has GELU where
		// RoBERTa's has tanh.
		Electra: {"electra", "Electra", "electra", bertLayers, headNames{mlm: "generator_predictions",
			mlmDense: "generator_predictions.dense", mlmNorm: "generator_predictions.LayerNorm",
			mlmBias: "generator_lm_head.bias", mlmGELU: true,
			seqPre: "classifier.dense", seqAct: infer.GELU, seqOut: "classifier.out_proj"}},
	}
)

// names returns v's spellings.
func (v Variant) names() names { return variants[v] }

// String returns the variant's model_type.
func (v Variant) String() string {
	if v >= 0 && int(v) < len(variants) {
		return variants[v].modelType
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// ParseVariant maps a config.json model_type to a Variant; "" is Bert.
func ParseVariant(modelType string) (Variant, error) {
	switch t := strings.ToLower(modelType); t {
	case "":
		return Bert, nil
	case "camembert":
		return Roberta, nil
	case "xlm_roberta":
		return XLMRoberta, nil
	default:
		for v, n := range variants {
			if n.modelType == t {
				return Variant(v), nil
			}
		}
	}
	return 0, fmt.Errorf("bert: model_type %q is not an encoder this package knows (bert, distilbert, roberta, xlm-roberta, electra)", modelType)
}

// variantOf returns the variant a config header names: its model_type, or
// the prefix of its first architecture class.
func variantOf(h checkpoint.ConfigHeader) (Variant, error) {
	if h.ModelType != "" {
		return ParseVariant(h.ModelType)
	}
	for _, a := range h.Architectures {
		for v, n := range variants {
			if strings.HasPrefix(a, n.class) {
				return Variant(v), nil
			}
		}
	}
	if len(h.Architectures) > 0 {
		return 0, fmt.Errorf("bert: architectures %q are not BERT, DistilBERT, RoBERTa, XLM-RoBERTa or ELECTRA models", h.Architectures)
	}
	return Bert, nil
}

// headPrefixes start the names of heads, which sit beside the base model
// rather than under its prefix.
var headPrefixes = []string{"cls.", "classifier.", "qa_outputs.", "lm_head.", "pre_classifier.", "vocab_",
	"discriminator_predictions.", "generator_predictions.", "generator_lm_head."}

// Aliases returns the other checkpoint names under which the tensor named
// name may be stored, in the order they are tried: without or with the
// "bert." prefix, cls.predictions.decoder.bias for cls.predictions.bias, and
// the gamma/beta names of LayerNorm parameters. Every BERT loader looks
// names up through it (as infer.BuilderOptions.Aliases); AliasesOf gives
// the other variants' rules.
func Aliases(name string) []string { return aliases("bert", name) }

// AliasesOf returns the alias rules of variant v: Aliases with v's base
// prefix ("roberta.", "distilbert."), and lm_head.decoder.bias for
// RoBERTa's lm_head.bias.
func AliasesOf(v Variant) func(name string) []string {
	base := v.names().base
	return func(name string) []string { return aliases(base, name) }
}

func aliases(base, name string) []string {
	names := []string{name}
	if rest, ok := strings.CutPrefix(name, base+"."); ok {
		names = append(names, rest)
	} else if !hasAnyPrefix(name, headPrefixes) {
		names = append(names, base+"."+name)
	}
	switch name {
	case "cls.predictions.bias":
		names = append(names, "cls.predictions.decoder.bias")
	case "lm_head.bias":
		names = append(names, "lm_head.decoder.bias")
	}
	for _, n := range names {
		if b, ok := strings.CutSuffix(n, "LayerNorm.weight"); ok {
			names = append(names, b+"LayerNorm.gamma")
		} else if b, ok := strings.CutSuffix(n, "LayerNorm.bias"); ok {
			names = append(names, b+"LayerNorm.beta")
		}
	}
	return names[1:]
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// distilConfig holds the keys of a DistilBertConfig that differ from
// BertConfig's (HF maps hidden_size → dim and so on).
type distilConfig struct {
	Dim              int     `json:"dim"`
	Layers           int     `json:"n_layers"`
	Heads            int     `json:"n_heads"`
	Hidden           int     `json:"hidden_dim"`
	Activation       string  `json:"activation"`
	Dropout          float64 `json:"dropout"`
	AttentionDropout float64 `json:"attention_dropout"`
	SeqClassDropout  float64 `json:"seq_classif_dropout"`
	Sinusoidal       bool    `json:"sinusoidal_pos_embds"`
}

// fromDistil fills c's BertConfig fields from a DistilBertConfig document.
// DistilBERT has no token types and a fixed LayerNorm ε of 1e-12.
func (c *Config) fromDistil(data []byte) error {
	d := distilConfig{Dim: 768, Layers: 6, Heads: 12, Hidden: 3072, Activation: "gelu", Dropout: 0.1, AttentionDropout: 0.1, SeqClassDropout: 0.2}
	if err := checkpoint.DecodeJSON(data, &d); err != nil {
		return err
	}
	c.HiddenSize, c.NumLayers, c.NumHeads, c.Intermediate = d.Dim, d.Layers, d.Heads, d.Hidden
	c.HiddenAct, c.HiddenDropout, c.AttentionDropout = d.Activation, d.Dropout, d.AttentionDropout
	cd := d.SeqClassDropout
	c.ClassifierDropout = &cd
	c.TypeVocab, c.LayerNormEps = 1, 1e-12
	return nil
}

// PositionOffset returns the position id of a sequence's first token:
// RoBERTa's positions start after its padding index (pad_token_id + 1,
// 2 for roberta-base); BERT's and DistilBERT's at 0.
func (c Config) PositionOffset() int {
	if c.Variant == Roberta || c.Variant == XLMRoberta {
		return c.PadTokenID + 1
	}
	return 0
}

// MaxLen returns the longest sequence the model takes: its learned
// positions less RoBERTa's offset (512 for roberta-base's 514).
func (c Config) MaxLen() int { return c.MaxPositions - c.PositionOffset() }

// hasTokenTypes reports whether the variant adds token-type embeddings
// (DistilBERT has none and ignores token_type_ids).
func (c Config) hasTokenTypes() bool { return c.Variant != DistilBert }
