package bert

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/nn"
)

// Config is a BERT architecture, decoded from a Hugging Face BertConfig
// config.json under its own field names. Validate fills the defaults
// BertConfig has for absent fields and parses the string-valued choices
// into typed ones.
type Config struct {
	Architectures []string `json:"architectures,omitempty"` // e.g. ["BertForMaskedLM"]
	ModelType     string   `json:"model_type,omitempty"`    // "bert"

	VocabSize  int `json:"vocab_size"`  // V: token vocabulary (zero: 30522)
	HiddenSize int `json:"hidden_size"` // C: model width (zero: 768)
	// EmbeddingSize is ELECTRA's embedding_size E: the width of the
	// embeddings, which embeddings_project maps to C when they differ.
	// Zero means C; other variants have no such key.
	EmbeddingSize int `json:"embedding_size,omitempty"`
	NumLayers     int `json:"num_hidden_layers"`       // L: encoder layers (zero: 12)
	NumHeads      int `json:"num_attention_heads"`     // H: attention heads, D = C/H (zero: 12)
	Intermediate  int `json:"intermediate_size"`       // F: feed-forward width (zero: 3072)
	MaxPositions  int `json:"max_position_embeddings"` // P: learned positions (zero: 512)
	TypeVocab     int `json:"type_vocab_size"`         // token types / segments (zero: 2)
	// HiddenAct is HF's activation name: "gelu" (exact erf, the default),
	// "gelu_new" / "gelu_pytorch_tanh" (tanh approximation), "relu",
	// "silu". Parsed into Activation by Validate.
	HiddenAct string `json:"hidden_act"`
	// HiddenDropout is the dropout on embeddings, residual branches and
	// the pooled output before a classifier. Zero means none; ParseConfig
	// gives 0.1 (BertConfig's default) when the key is absent.
	HiddenDropout float64 `json:"hidden_dropout_prob"`
	// AttentionDropout is the dropout on attention probabilities (absent
	// from JSON: 0.1, as HiddenDropout).
	AttentionDropout float64 `json:"attention_probs_dropout_prob"`
	// ClassifierDropout, when set, replaces HiddenDropout before the
	// sequence classifier.
	ClassifierDropout *float64 `json:"classifier_dropout"`
	LayerNormEps      float64  `json:"layer_norm_eps"`          // LayerNorm ε (zero: 1e-12)
	PadTokenID        int      `json:"pad_token_id"`            // [PAD] id (BERT: 0)
	InitializerRange  float64  `json:"initializer_range"`       // std of the normal init (zero: 0.02)
	PositionEmbedding string   `json:"position_embedding_type"` // only "absolute" (or empty)

	// ID2Label and Label2ID name the classes of a classification head.
	ID2Label map[int]string `json:"id2label,omitempty"`
	Label2ID map[string]int `json:"label2id,omitempty"`
	// NumLabels is the number of classifier outputs. It is not part of HF's
	// saved JSON (which derives it from id2label) but is accepted when
	// given; zero means len(ID2Label), or 2 when that is empty too.
	NumLabels int `json:"num_labels,omitempty"`
	// ProblemType is HF's problem_type: "regression",
	// "single_label_classification" or "multi_label_classification"; empty
	// means inferred from NumLabels at loss time. Parsed into Problem.
	ProblemType string `json:"problem_type,omitempty"`

	TorchDType string `json:"torch_dtype,omitempty"` // informational ("float32")

	// Activation is HiddenAct parsed by Validate.
	Activation nn.Activation `json:"-"`
	// Problem is ProblemType parsed by Validate.
	Problem Problem `json:"-"`
	// Variant is the encoder family: ModelType parsed by Validate (kept
	// as set when ModelType is empty, which is Bert's zero value).
	Variant Variant `json:"-"`
}

// Problem selects the loss of a sequence-classification head.
type Problem int

const (
	// ProblemAuto infers the loss as HF does: regression when there is one
	// label, single-label classification otherwise.
	ProblemAuto Problem = iota
	// Regression is mean squared error against one real target per output.
	Regression
	// SingleLabel is cross-entropy against one class index per sequence.
	SingleLabel
	// MultiLabel is binary cross-entropy per output (not supported yet).
	MultiLabel
)

var problemNames = [...]string{ProblemAuto: "", Regression: "regression",
	SingleLabel: "single_label_classification", MultiLabel: "multi_label_classification"}

// String returns the Hugging Face problem_type name of p ("" for auto).
func (p Problem) String() string {
	if p >= 0 && int(p) < len(problemNames) {
		return problemNames[p]
	}
	return fmt.Sprintf("Problem(%d)", int(p))
}

// Base returns bert-base-uncased's configuration (and HF BertConfig's
// defaults): 12 layers, 768 wide, 12 heads, 3072 feed-forward, exact GELU.
func Base() Config {
	c := Config{ModelType: "bert", HiddenDropout: 0.1, AttentionDropout: 0.1}
	if err := c.Validate(); err != nil {
		panic(err) // the defaults are valid
	}
	return c
}

// EmbedDim returns the width E of the embedding tables: EmbeddingSize, or
// HiddenSize when it is zero.
func (c Config) EmbedDim() int {
	if c.EmbeddingSize > 0 {
		return c.EmbeddingSize
	}
	return c.HiddenSize
}

// HeadDim returns D = C/H.
func (c Config) HeadDim() int { return c.HiddenSize / c.NumHeads }

// Labels returns the number of classifier outputs: NumLabels, or the size
// of ID2Label, or 2 (BertConfig's default).
func (c Config) Labels() int {
	switch {
	case c.NumLabels > 0:
		return c.NumLabels
	case len(c.ID2Label) > 0:
		return len(c.ID2Label)
	}
	return 2
}

// LabelName returns the name of class i (id2label), or "LABEL_i".
func (c Config) LabelName(i int) string {
	if s, ok := c.ID2Label[i]; ok {
		return s
	}
	return fmt.Sprintf("LABEL_%d", i)
}

// maxDim bounds every dimension read from a file, so that sizes computed
// from them cannot overflow or ask for absurd allocations.
const maxDim = 1 << 22

// Validate fills BertConfig's defaults for zero fields and checks that the
// configuration describes a buildable model.
func (c *Config) Validate() error {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.VocabSize, 30522)
	def(&c.HiddenSize, 768)
	def(&c.NumLayers, 12)
	def(&c.NumHeads, 12)
	def(&c.Intermediate, 3072)
	def(&c.MaxPositions, 512)
	def(&c.TypeVocab, 2)
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-12
	}
	if c.InitializerRange == 0 {
		c.InitializerRange = 0.02
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	act, err := nn.ParseActivation(c.HiddenAct)
	if err != nil || act == nn.SwiGLU {
		return fmt.Errorf("bert: config: unsupported hidden_act %q", c.HiddenAct)
	}
	c.Activation = act
	if c.ModelType != "" {
		v, err := ParseVariant(c.ModelType)
		if err != nil {
			return err
		}
		c.Variant = v
	}
	if c.Variant < Bert || c.Variant > Electra {
		return fmt.Errorf("bert: config: unknown variant %d", int(c.Variant))
	}
	switch c.PositionEmbedding {
	case "", "absolute":
	default:
		return fmt.Errorf("bert: config: position_embedding_type %q is not supported (only absolute)", c.PositionEmbedding)
	}
	p := slices.Index(problemNames[:], c.ProblemType)
	if p < 0 {
		return fmt.Errorf("bert: config: unknown problem_type %q", c.ProblemType)
	}
	c.Problem = Problem(p)
	dims := []struct {
		name string
		v    int
	}{{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumLayers},
		{"num_attention_heads", c.NumHeads}, {"intermediate_size", c.Intermediate},
		{"max_position_embeddings", c.MaxPositions}, {"type_vocab_size", c.TypeVocab}, {"num_labels", c.Labels()}}
	for _, d := range dims {
		if d.v <= 0 || d.v > maxDim {
			return fmt.Errorf("bert: config: %s %d outside [1, %d]", d.name, d.v, maxDim)
		}
	}
	if c.EmbeddingSize < 0 || c.EmbeddingSize > maxDim {
		return fmt.Errorf("bert: config: embedding_size %d outside [0, %d]", c.EmbeddingSize, maxDim)
	}
	if c.EmbedDim() != c.HiddenSize && c.Variant != Electra {
		return fmt.Errorf("bert: config: embedding_size %d differs from hidden_size %d, which only ELECTRA supports", c.EmbeddingSize, c.HiddenSize)
	}
	if c.NumLayers > 1024 {
		return fmt.Errorf("bert: config: num_hidden_layers %d is too large", c.NumLayers)
	}
	if c.HiddenSize%c.NumHeads != 0 {
		return fmt.Errorf("bert: config: hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumHeads)
	}
	if int64(c.VocabSize)*int64(c.HiddenSize) > 1<<34 || int64(c.Intermediate)*int64(c.HiddenSize) > 1<<34 {
		return fmt.Errorf("bert: config: matrices of %d×%d or %d×%d are too large", c.VocabSize, c.HiddenSize, c.Intermediate, c.HiddenSize)
	}
	probs := []struct {
		name string
		v    float64
	}{{"hidden_dropout_prob", c.HiddenDropout}, {"attention_probs_dropout_prob", c.AttentionDropout}}
	if c.ClassifierDropout != nil {
		probs = append(probs, struct {
			name string
			v    float64
		}{"classifier_dropout", *c.ClassifierDropout})
	}
	for _, p := range probs {
		if !(p.v >= 0 && p.v < 1) {
			return fmt.Errorf("bert: config: %s %g outside [0, 1)", p.name, p.v)
		}
	}
	if !(c.LayerNormEps > 0) || !(c.InitializerRange > 0) {
		return fmt.Errorf("bert: config: layer_norm_eps %g and initializer_range %g must be positive", c.LayerNormEps, c.InitializerRange)
	}
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize {
		return fmt.Errorf("bert: config: pad_token_id %d outside the vocabulary of %d", c.PadTokenID, c.VocabSize)
	}
	if c.MaxLen() < 1 {
		return fmt.Errorf("bert: config: max_position_embeddings %d leaves no position after the offset %d", c.MaxPositions, c.PositionOffset())
	}
	for i := range c.ID2Label {
		if i < 0 || i >= c.Labels() {
			return fmt.Errorf("bert: config: id2label has id %d, want [0, %d)", i, c.Labels())
		}
	}
	return nil
}

// classifierDropout returns the dropout before the classifier.
func (c Config) classifierDropout() float32 {
	if c.ClassifierDropout != nil {
		return float32(*c.ClassifierDropout)
	}
	return float32(c.HiddenDropout)
}

// ParseConfig decodes and validates a config.json document: a BertConfig,
// a RobertaConfig or XLMRobertaConfig (BERT's keys), or a DistilBertConfig
// (dim, n_layers, … mapped onto BERT's fields). Keys it lacks take the
// defaults of the config class.
func ParseConfig(data []byte) (Config, error) { return parseConfig(data, "config") }

// ReadConfig reads and validates a config.json file (see ParseConfig).
func ReadConfig(path string) (Config, error) {
	var raw json.RawMessage
	if _, err := checkpoint.ReadConfig(path, &raw); err != nil {
		return Config{}, fmt.Errorf("bert: %w", err)
	}
	return parseConfig(raw, path)
}

// parseConfig decodes data (named where in errors): the header names the
// variant, whose config class gives the defaults of absent keys (ELECTRA's
// are electra-small's shape; DistilBERT's keys are its own), then validates.
func parseConfig(data []byte, where string) (Config, error) {
	var h checkpoint.ConfigHeader
	if err := checkpoint.DecodeJSON(data, &h); err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", where, err)
	}
	v, err := variantOf(h)
	if err != nil {
		return Config{}, err
	}
	c := Config{HiddenDropout: 0.1, AttentionDropout: 0.1, Variant: v} // the defaults zero cannot express
	if v == Electra {
		c.EmbeddingSize, c.HiddenSize, c.NumHeads, c.Intermediate = 128, 256, 4, 1024
	}
	if err := checkpoint.DecodeJSON(data, &c); err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", where, err)
	}
	if v == DistilBert {
		if err := c.fromDistil(data); err != nil {
			return Config{}, fmt.Errorf("bert: config: %w", err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// marshal encodes c as HF writes config.json: sorted keys, two-space
// indent, id2label/label2id filled in for a classifier.
func (c Config) marshal(arch string) ([]byte, error) {
	c.Architectures = []string{arch}
	c.ModelType = c.Variant.String()
	if c.Variant == Electra {
		c.EmbeddingSize = c.EmbedDim() // ElectraConfig's default is 128: always write it
	}
	if c.PositionEmbedding == "" {
		c.PositionEmbedding = "absolute"
	}
	n := c.Labels()
	c.NumLabels = 0 // HF derives it from id2label
	if strings.HasSuffix(arch, "ForSequenceClassification") || strings.HasSuffix(arch, "ForTokenClassification") {
		id2label, label2id := make(map[int]string, n), make(map[string]int, n)
		for i := 0; i < n; i++ {
			name := c.LabelName(i) // reads the old id2label: build the new maps aside
			id2label[i] = name
			label2id[name] = i
		}
		c.ID2Label, c.Label2ID = id2label, label2id
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	// Re-encode through a map so the keys come out sorted, as HF's
	// to_json_string(sort_keys=True).
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(m, "", "  ") // encoding/json sorts map keys
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
