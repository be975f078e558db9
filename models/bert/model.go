// Package bert is BERT (Devlin et al., 2019) as Hugging Face's transformers
// defines it: BertModel (word + position + token-type embeddings, a
// LayerNorm, a stack of post-LayerNorm encoder layers and a tanh pooler over
// the first token) and the heads BertForPreTraining (masked-LM and
// next-sentence prediction), BertForMaskedLM and
// BertForSequenceClassification. Weights load from Hugging Face model
// folders under their own names (bert.encoder.layer.0.attention.self.query.weight,
// ...), with or without the "bert." prefix and with the original
// checkpoints' LayerNorm.gamma/beta names; Save writes the same layout back.
//
// Two paths compute the same function:
//
//   - Forward runs the model through package autograd, built from package
//     nn's parts, so that it trains: parameters require gradients, dropout
//     follows SetTraining, and autograd.Backward fills every gradient.
//   - Encoder (encoder.go) is the inference path on package infer: no
//     graph, weights packed in float32 or bfloat16, padded batches. It
//     loads from a folder (LoadEncoder) or a model in memory (Encoder).
//
// The Encoder also runs the encoders that are BERT under other names
// (Variant, variant.go): DistilBERT, RoBERTa and XLM-RoBERTa, with every
// head Hugging Face's pipelines use — masked LM, sequence classification,
// token classification (…ForTokenClassification) and extractive question
// answering (…ForQuestionAnswering, qa_outputs).
//
// Both paths are checked against the PyTorch goldens of
// ../shared/fixtures/bert-tiny{,-legacy,-cls}; the Encoder also against
// distilbert-*, roberta-*, xlmr-tiny and minilm-sentence-tiny, and against
// ../shared/golden/hf_pipelines/model_outputs for BERT's token-classification
// and question-answering heads.
//
// The letters used throughout:
//
//	B  batch rows       T  sequence length     C  hidden_size
//	H  attention heads  D = C/H head size      F  intermediate_size
//	V  vocab_size       P  max_position_embeddings
//	L  layers           N = B·T token rows
package bert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// Model is BertModel: embeddings, the encoder and (optionally) the pooler.
// Its parameters are autograd Vars that require gradients; call nn.Freeze
// for autograd inference without a graph, or use Encoder.
type Model struct {
	Config     Config      // the configuration the model was built from
	Embeddings *Embeddings // word, position and token-type embeddings, E wide
	// Project is ELECTRA's embeddings_project [C, E], mapping embeddings
	// narrower than the layers up to C; nil when E = C.
	Project *nn.Linear
	Layers  []*Layer   // encoder.layer.N
	Pooler  *nn.Linear // pooler.dense [C, C]; nil without a pooler (BertForMaskedLM, ELECTRA)
}

// Embeddings is BertEmbeddings: LayerNorm(word + position + token type),
// of width E (Config.EmbedDim).
type Embeddings struct {
	Word      *nn.Embedding        // word_embeddings [V, C]
	Position  *nn.LearnedPositions // position_embeddings [P, C]
	TokenType *nn.Embedding        // token_type_embeddings [types, C]
	Norm      *nn.LayerNorm        // LayerNorm [C]
	Dropout   nn.Dropout           // hidden_dropout_prob
}

// Layer is one BertLayer, post-LayerNorm:
//
//	x = LayerNorm(x + Dropout(Attention(x)))        attention.output.LayerNorm
//	x = LayerNorm(x + Dropout(W₂·act(W₁·x)))         output.LayerNorm
type Layer struct {
	Query, Key, Value *nn.Linear      // attention.self.{query,key,value} [C, C]
	AttnOut           *nn.Linear      // attention.output.dense [C, C]
	AttnNorm          *nn.LayerNorm   // attention.output.LayerNorm
	FF                *nn.FeedForward // Linear1: intermediate.dense [F, C]; Linear2: output.dense [C, F]
	OutNorm           *nn.LayerNorm   // output.LayerNorm
	Dropout           nn.Dropout      // hidden_dropout_prob, on both residual branches
	AttnDropout       nn.Dropout      // attention_probs_dropout_prob

	heads int
}

// newModel allocates a zeroed BertModel (LayerNorm gains 1) for a
// validated cfg.
func newModel(cfg Config, pooler bool) *Model {
	C, E, F, eps := cfg.HiddenSize, cfg.EmbedDim(), cfg.Intermediate, float32(cfg.LayerNormEps)
	pd := float32(cfg.HiddenDropout)
	m := &Model{Config: cfg, Embeddings: &Embeddings{
		Word:      &nn.Embedding{Weight: autograd.Param(tensor.New(cfg.VocabSize, E))},
		Position:  &nn.LearnedPositions{Weight: autograd.Param(tensor.New(cfg.MaxPositions, E))},
		TokenType: &nn.Embedding{Weight: autograd.Param(tensor.New(cfg.TypeVocab, E))},
		Norm:      nn.NewLayerNorm(E, eps),
		Dropout:   nn.Dropout{P: pd},
	}}
	if E != C {
		m.Project = zeroLinear(E, C)
	}
	for range cfg.NumLayers {
		l := &Layer{heads: cfg.NumHeads, Query: zeroLinear(C, C), Key: zeroLinear(C, C), Value: zeroLinear(C, C)}
		l.AttnOut = zeroLinear(C, C)
		l.AttnNorm = nn.NewLayerNorm(C, eps)
		l.FF = &nn.FeedForward{Act: cfg.Activation, Linear1: zeroLinear(C, F), Linear2: zeroLinear(F, C)}
		l.OutNorm = nn.NewLayerNorm(C, eps)
		l.Dropout = nn.Dropout{P: pd}
		l.AttnDropout = nn.Dropout{P: float32(cfg.AttentionDropout)}
		m.Layers = append(m.Layers, l)
	}
	if pooler {
		m.Pooler = zeroLinear(C, C)
	}
	return m
}

func zeroLinear(in, out int) *nn.Linear {
	return &nn.Linear{Weight: autograd.Param(tensor.New(out, in)), Bias: autograd.Param(tensor.New(out))}
}

// Input is one batch of B sequences of T tokens, row-major [B, T], as a
// tokenizer produces them (tokenizer.Encoding's IDs, TypeIDs and
// AttentionMask).
type Input struct {
	B, T    int   // batch size and sequence length
	IDs     []int // input_ids [B, T]
	TypeIDs []int // token_type_ids [B, T]; nil means all 0
	// Mask is attention_mask [B, T]: 1 for a real token, 0 for padding
	// that no query attends to; nil means all ones. Positions are
	// arange(T) regardless of the mask (HF's default position_ids), so
	// pad on the right.
	Mask []int
}

// check validates in against cfg.
func (in Input) check(cfg Config) error {
	if in.B <= 0 || in.T <= 0 || len(in.IDs) != in.B*in.T {
		return fmt.Errorf("bert: input: %d ids for batch %d × %d", len(in.IDs), in.B, in.T)
	}
	if in.T > cfg.MaxLen() {
		return fmt.Errorf("bert: input: sequence length %d exceeds the model's %d positions", in.T, cfg.MaxLen())
	}
	if err := tensor.CheckIDs(in.IDs, cfg.VocabSize); err != nil {
		return fmt.Errorf("bert: input ids: %w", err)
	}
	if in.TypeIDs != nil && cfg.hasTokenTypes() {
		if len(in.TypeIDs) != len(in.IDs) {
			return fmt.Errorf("bert: input: %d token type ids for %d ids", len(in.TypeIDs), len(in.IDs))
		}
		if err := tensor.CheckIDs(in.TypeIDs, cfg.TypeVocab); err != nil {
			return fmt.Errorf("bert: token type ids: %w", err)
		}
	}
	if in.Mask != nil {
		if len(in.Mask) != len(in.IDs) {
			return fmt.Errorf("bert: input: attention mask of %d for %d ids", len(in.Mask), len(in.IDs))
		}
		for i, v := range in.Mask {
			if v != 0 && v != 1 {
				return fmt.Errorf("bert: input: attention mask value %d at %d (want 0 or 1)", v, i)
			}
		}
	}
	return nil
}

// typeIDs returns in.TypeIDs, or B·T zeros.
func (in Input) typeIDs() []int {
	if in.TypeIDs != nil {
		return in.TypeIDs
	}
	return make([]int, in.B*in.T)
}

// padding returns the key-padding flags [B, T] (true = padding), or nil
// when nothing is masked.
func (in Input) padding() []bool {
	if !slices.Contains(in.Mask, 0) {
		return nil
	}
	pad := make([]bool, len(in.Mask))
	for i, v := range in.Mask {
		pad[i] = v == 0
	}
	return pad
}

// ForwardOptions asks Forward for more than the last hidden state. The zero
// value asks for nothing more.
type ForwardOptions struct {
	HiddenStates bool // Output.HiddenStates: the embeddings and every layer's output
	Attentions   bool // Output.Attentions: every layer's attention probabilities
}

// Output is what Model.Forward returns.
type Output struct {
	LastHidden *autograd.Var // last_hidden_state [B, T, C]
	Pooled     *autograd.Var // pooler_output [B, C]: tanh(W·x[:, 0] + b); nil without a pooler
	// HiddenStates, when asked for, holds L+1 tensors [B, T, C]: the
	// embedding output, then each layer's output (HF output_hidden_states).
	HiddenStates []*autograd.Var
	// Attentions, when asked for, holds L tensors [B, H, T, T] of
	// attention probabilities; padding keys are exactly 0.
	Attentions []*tensor.Tensor
}

// Forward runs BertModel over in through autograd.
func (m *Model) Forward(in Input, opts *ForwardOptions) (*Output, error) {
	if opts == nil {
		opts = &ForwardOptions{}
	}
	if err := in.check(m.Config); err != nil {
		return nil, err
	}
	x, err := m.Embeddings.Forward(in) // [B, T, E]
	if err != nil {
		return nil, err
	}
	if m.Project != nil {
		x = m.Project.Forward(x) // embeddings_project [B, T, C]
	}
	out := &Output{}
	if opts.HiddenStates {
		out.HiddenStates = append(out.HiddenStates, x)
	}
	mask := nn.Mask{KeyPadding: in.padding(), ReturnProbs: opts.Attentions}
	for _, l := range m.Layers {
		var probs *tensor.Tensor
		x, probs = l.Forward(x, mask)
		if opts.HiddenStates {
			out.HiddenStates = append(out.HiddenStates, x)
		}
		if opts.Attentions {
			out.Attentions = append(out.Attentions, probs)
		}
	}
	out.LastHidden = x
	if m.Pooler != nil {
		first := autograd.Select(x, 1, 0)                   // [B, C]: the [CLS] token
		out.Pooled = autograd.Tanh(m.Pooler.Forward(first)) // [B, C]
	}
	return out, nil
}

// Forward embeds a validated input: LayerNorm(word + position + type),
// then dropout. Result [B, T, C].
func (e *Embeddings) Forward(in Input) (*autograd.Var, error) {
	x, err := e.Word.Forward(in.IDs, in.B, in.T) // [B, T, C]
	if err != nil {
		return nil, fmt.Errorf("bert: embeddings: %w", err)
	}
	tt, err := e.TokenType.Forward(in.typeIDs(), in.B, in.T) // [B, T, C]
	if err != nil {
		return nil, fmt.Errorf("bert: embeddings: %w", err)
	}
	x = e.Position.Forward(autograd.Add(x, tt), 0) // + position_embeddings[0:T]
	return e.Dropout.Forward(e.Norm.Forward(x)), nil
}

// Forward applies the layer to x [B, T, C]. It returns [B, T, C] and, when
// mask.ReturnProbs is set, the attention probabilities [B, H, T, T].
func (l *Layer) Forward(x *autograd.Var, mask nn.Mask) (*autograd.Var, *tensor.Tensor) {
	a, probs := l.attention().Forward(x, mask)                                 // self-attention [B, T, C]
	x = l.AttnNorm.Forward(autograd.Add(x, l.Dropout.Forward(a)))              // attention.output
	x = l.OutNorm.Forward(autograd.Add(x, l.Dropout.Forward(l.FF.Forward(x)))) // intermediate + output
	return x, probs
}

// attention assembles the layer's self-attention as an
// nn.MultiHeadAttention whose packed input projection is [query; key; value]
// (a graph op, so gradients flow back to the three named parameters).
func (l *Layer) attention() *nn.MultiHeadAttention {
	C := l.AttnOut.Weight.Value.Dim(0)
	return &nn.MultiHeadAttention{Dim: C, Heads: l.heads,
		InWeight: autograd.Concat(0, l.Query.Weight, l.Key.Weight, l.Value.Weight), // [3C, C]
		InBias:   autograd.Concat(0, l.Query.Bias, l.Key.Bias, l.Value.Bias),       // [3C]
		OutProj:  l.AttnOut,
		Dropout:  l.AttnDropout,
	}
}

// SetTraining switches dropout on (rng draws the masks) or, with on false,
// off, as PyTorch's train() / eval().
func (m *Model) SetTraining(on bool, rng *tensor.RNG) {
	set := func(d *nn.Dropout) { d.Training, d.RNG = on, rng }
	set(&m.Embeddings.Dropout)
	for _, l := range m.Layers {
		set(&l.Dropout)
		set(&l.AttnDropout)
	}
}

// SetDropout changes the dropout probabilities (hidden_dropout_prob and
// attention_probs_dropout_prob) of a built model, in its layers and its
// Config, so that a model loaded from a folder can be trained further with
// other settings and saves them.
func (m *Model) SetDropout(hidden, attention float64) {
	m.Config.HiddenDropout, m.Config.AttentionDropout = hidden, attention
	m.Embeddings.Dropout.P = float32(hidden)
	for _, l := range m.Layers {
		l.Dropout.P = float32(hidden)
		l.AttnDropout.P = float32(attention)
	}
}

// Params lists every parameter under its BertModel state_dict name
// (embeddings.word_embeddings.weight, encoder.layer.0.attention.self.query.weight,
// ..., pooler.dense.bias), in that order; the layers' names are those of
// the variant, as the Encoder reads them.
func (m *Model) Params() []nn.NamedParam {
	e, nm := m.Embeddings, m.Config.Variant.names()
	parts := []part{{"embeddings.word_embeddings.weight", param{e.Word.Weight}},
		{"embeddings.position_embeddings.weight", param{e.Position.Weight}},
		{"embeddings.token_type_embeddings.weight", param{e.TokenType.Weight}}, {"embeddings.LayerNorm", e.Norm}}
	if m.Project != nil {
		parts = append(parts, part{"embeddings_project", m.Project})
	}
	for i, l := range m.Layers {
		p := fmt.Sprintf("%s.%d.", nm.layers, i)
		parts = append(parts, part{p + nm.query, l.Query}, part{p + nm.key, l.Key}, part{p + nm.value, l.Value},
			part{p + nm.attnOut, l.AttnOut}, part{p + nm.attnNorm, l.AttnNorm}, part{p + nm.inter, l.FF.Linear1},
			part{p + nm.out, l.FF.Linear2}, part{p + nm.outNorm, l.OutNorm})
	}
	if m.Pooler != nil {
		parts = append(parts, part{"pooler.dense", m.Pooler})
	}
	return collect(parts)
}

// collect lists the parameters of parts under their prefixes.
func collect(parts []part) []nn.NamedParam {
	var ps []nn.NamedParam
	for _, p := range parts {
		ps = append(ps, prefixed(p.prefix, p.m.Params())...)
	}
	return ps
}

func prefixed(prefix string, ps []nn.NamedParam) []nn.NamedParam {
	out := make([]nn.NamedParam, len(ps))
	for i, p := range ps {
		out[i] = nn.NamedParam{Name: prefix, Var: p.Var}
		if p.Name != "" { // a lone parameter (param) is named by the prefix
			out[i].Name += "." + p.Name
		}
	}
	return out
}

// init draws HF's initialisation (BertPreTrainedModel._init_weights):
// matrices and embeddings N(0, initializer_range²), the [PAD] row of the
// word embeddings 0, biases 0, LayerNorm gains 1.
func initParams(ps []nn.NamedParam, cfg Config, rng *tensor.RNG) {
	std := float32(cfg.InitializerRange)
	for _, p := range ps {
		v := p.Var.Value
		switch {
		case v.NDim() >= 2:
			rng.Normal(v, 0, std)
		case strings.HasSuffix(p.Name, "LayerNorm.weight"):
			v.Fill(1)
		default:
			v.Zero()
		}
		if strings.HasSuffix(p.Name, "word_embeddings.weight") {
			C := v.Dim(1)
			clear(v.Data()[cfg.PadTokenID*C : (cfg.PadTokenID+1)*C])
		}
	}
}

// New returns a BertModel with a pooler (an ElectraModel, which has none)
// and HF's random initialisation.
func New(cfg Config, rng *tensor.RNG) (*Model, error) {
	return newInit(cfg, rng, newBase)
}

func (m *Model) layout() layout { return layout{suffix: "Model", variants: bertElectra, base: m} }

// newBase returns cfg's base model: BertModel with its pooler, or
// ElectraModel, which has none.
func newBase(cfg Config) *Model { return newModel(cfg, cfg.Variant != Electra) }
