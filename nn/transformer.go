package nn

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// LayerConfig describes one encoder or decoder layer.
type LayerConfig struct {
	Dim    int // d_model
	Heads  int // attention heads (Dim must be a multiple)
	Hidden int // feed-forward width (zero: 4·Dim)
	// Activation of the feed-forward network (zero value: GELU; the original
	// Transformer and torch.nn.Transformer's default is ReLU).
	Activation Activation
	// NormFirst selects pre-norm (x + f(norm(x)), GPT-2 and most modern
	// models) instead of the original post-norm (norm(x + f(x))).
	NormFirst bool
	Eps       float32 // LayerNorm epsilon (zero: 1e-5)
	Dropout   float32 // dropout on residual branches and attention (zero: none)
	Bias      *bool   // biases in the attention projections (nil: true)
}

func (c LayerConfig) withDefaults() (LayerConfig, error) {
	if c.Hidden == 0 {
		c.Hidden = 4 * c.Dim
	}
	if c.Eps == 0 {
		c.Eps = 1e-5
	}
	if c.Dim <= 0 || c.Heads <= 0 || c.Dim%c.Heads != 0 || c.Hidden < 0 {
		return c, fmt.Errorf("nn: layer: dim %d must be a positive multiple of heads %d", c.Dim, c.Heads)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return c, fmt.Errorf("nn: layer: dropout %g outside [0, 1)", c.Dropout)
	}
	return c, nil
}

// EncoderLayer is one Transformer encoder layer: self-attention then a
// feed-forward network, each in a residual connection with a LayerNorm.
// Parameter names are torch.nn.TransformerEncoderLayer's.
type EncoderLayer struct {
	SelfAttn     *MultiHeadAttention
	FF           *FeedForward
	Norm1, Norm2 *LayerNorm
	NormFirst    bool
	Dropout      Dropout // on each residual branch
}

// NewEncoderLayer builds an encoder layer.
func NewEncoderLayer(cfg LayerConfig, rng *tensor.RNG) (*EncoderLayer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sa, err := NewMultiHeadAttention(cfg.Dim, cfg.Heads, cfg.Bias == nil || *cfg.Bias, rng)
	if err != nil {
		return nil, err
	}
	l := &EncoderLayer{SelfAttn: sa, FF: NewFeedForward(cfg.Dim, cfg.Hidden, cfg.Activation, rng),
		Norm1: NewLayerNorm(cfg.Dim, cfg.Eps), Norm2: NewLayerNorm(cfg.Dim, cfg.Eps), NormFirst: cfg.NormFirst}
	l.SetDropout(cfg.Dropout, rng)
	return l, nil
}

// SetDropout sets the dropout probability of the layer's residual
// branches, attention and feed-forward network, and the RNG that draws the
// masks. Dropout is active only after SetTraining(true).
func (l *EncoderLayer) SetDropout(p float32, rng *tensor.RNG) {
	for _, d := range []*Dropout{&l.Dropout, &l.SelfAttn.Dropout, &l.FF.Dropout} {
		d.P, d.RNG = p, rng
	}
}

// SetTraining switches dropout on or off.
func (l *EncoderLayer) SetTraining(on bool) {
	l.Dropout.Training, l.SelfAttn.Dropout.Training, l.FF.Dropout.Training = on, on, on
}

// Forward maps x [B, T, Dim] to [B, T, Dim]; mask applies to the
// self-attention (padding, or Causal for a decoder-only stack).
func (l *EncoderLayer) Forward(x *autograd.Var, mask Mask) *autograd.Var {
	mask.ReturnProbs = false
	sa := func(h *autograd.Var) *autograd.Var { y, _ := l.SelfAttn.Forward(h, mask); return l.Dropout.Forward(y) }
	ff := func(h *autograd.Var) *autograd.Var { return l.Dropout.Forward(l.FF.Forward(h)) }
	if l.NormFirst {
		x = autograd.Add(x, sa(l.Norm1.Forward(x)))
		return autograd.Add(x, ff(l.Norm2.Forward(x)))
	}
	x = l.Norm1.Forward(autograd.Add(x, sa(x)))
	return l.Norm2.Forward(autograd.Add(x, ff(x)))
}

// Params returns self_attn.*, linear1.*, linear2.*, norm1.*, norm2.*.
func (l *EncoderLayer) Params() []NamedParam {
	ps := prefixed("self_attn", l.SelfAttn.Params())
	ps = append(ps, l.FF.Params()...)
	ps = append(ps, prefixed("norm1", l.Norm1.Params())...)
	return append(ps, prefixed("norm2", l.Norm2.Params())...)
}

// DecoderLayer is one Transformer decoder layer: causal self-attention,
// cross-attention over the encoder's output, then a feed-forward network,
// each in a residual connection with a LayerNorm. Parameter names are
// torch.nn.TransformerDecoderLayer's.
type DecoderLayer struct {
	SelfAttn, CrossAttn *MultiHeadAttention
	FF                  *FeedForward
	Norm1, Norm2, Norm3 *LayerNorm
	NormFirst           bool
	Dropout             Dropout
}

// NewDecoderLayer builds a decoder layer.
func NewDecoderLayer(cfg LayerConfig, rng *tensor.RNG) (*DecoderLayer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	bias := cfg.Bias == nil || *cfg.Bias
	sa, err := NewMultiHeadAttention(cfg.Dim, cfg.Heads, bias, rng)
	if err != nil {
		return nil, err
	}
	ca, err := NewMultiHeadAttention(cfg.Dim, cfg.Heads, bias, rng)
	if err != nil {
		return nil, err
	}
	l := &DecoderLayer{SelfAttn: sa, CrossAttn: ca, FF: NewFeedForward(cfg.Dim, cfg.Hidden, cfg.Activation, rng),
		Norm1: NewLayerNorm(cfg.Dim, cfg.Eps), Norm2: NewLayerNorm(cfg.Dim, cfg.Eps), Norm3: NewLayerNorm(cfg.Dim, cfg.Eps),
		NormFirst: cfg.NormFirst}
	l.SetDropout(cfg.Dropout, rng)
	return l, nil
}

// SetDropout sets the dropout probability and RNG of the layer.
func (l *DecoderLayer) SetDropout(p float32, rng *tensor.RNG) {
	for _, d := range []*Dropout{&l.Dropout, &l.SelfAttn.Dropout, &l.CrossAttn.Dropout, &l.FF.Dropout} {
		d.P, d.RNG = p, rng
	}
}

// SetTraining switches dropout on or off.
func (l *DecoderLayer) SetTraining(on bool) {
	l.Dropout.Training, l.SelfAttn.Dropout.Training, l.CrossAttn.Dropout.Training, l.FF.Dropout.Training = on, on, on, on
}

// Forward maps x [B, T, Dim] to [B, T, Dim], attending causally over x and
// fully over memory [B, S, Dim]. selfMask.Causal is forced on; memMask
// typically carries the encoder's key padding.
func (l *DecoderLayer) Forward(x, memory *autograd.Var, selfMask, memMask Mask) *autograd.Var {
	selfMask.Causal, selfMask.ReturnProbs, memMask.ReturnProbs = true, false, false
	sa := func(h *autograd.Var) *autograd.Var {
		y, _ := l.SelfAttn.Forward(h, selfMask)
		return l.Dropout.Forward(y)
	}
	ca := func(h *autograd.Var) *autograd.Var {
		y, _ := l.CrossAttn.CrossForward(h, memory, memMask)
		return l.Dropout.Forward(y)
	}
	ff := func(h *autograd.Var) *autograd.Var { return l.Dropout.Forward(l.FF.Forward(h)) }
	if l.NormFirst {
		x = autograd.Add(x, sa(l.Norm1.Forward(x)))
		x = autograd.Add(x, ca(l.Norm2.Forward(x)))
		return autograd.Add(x, ff(l.Norm3.Forward(x)))
	}
	x = l.Norm1.Forward(autograd.Add(x, sa(x)))
	x = l.Norm2.Forward(autograd.Add(x, ca(x)))
	return l.Norm3.Forward(autograd.Add(x, ff(x)))
}

// Params returns self_attn.*, multihead_attn.*, linear1.*, linear2.*,
// norm1.*, norm2.*, norm3.*.
func (l *DecoderLayer) Params() []NamedParam {
	ps := prefixed("self_attn", l.SelfAttn.Params())
	ps = append(ps, prefixed("multihead_attn", l.CrossAttn.Params())...)
	ps = append(ps, l.FF.Params()...)
	ps = append(ps, prefixed("norm1", l.Norm1.Params())...)
	ps = append(ps, prefixed("norm2", l.Norm2.Params())...)
	return append(ps, prefixed("norm3", l.Norm3.Params())...)
}

// Positions selects how a stack encodes token positions.
type Positions int

const (
	// PositionsSinusoidal adds the fixed sine/cosine table (the default).
	PositionsSinusoidal Positions = iota
	// PositionsLearned adds a trained embedding per position.
	PositionsLearned
	// PositionsRotary rotates queries and keys (RoPE) in every
	// self-attention.
	PositionsRotary
	// PositionsNone adds nothing (the caller encodes positions).
	PositionsNone
)

// StackConfig describes a TransformerEncoder or TransformerDecoder.
type StackConfig struct {
	LayerConfig
	Layers int // number of layers
	// Vocab, when positive, adds a token embedding (embed_tokens) so that
	// the stack takes token ids; zero means inputs are vectors.
	Vocab     int
	MaxLen    int       // longest sequence (zero: 512)
	Positions Positions // position encoding (zero: sinusoidal)
	// ScaleEmbedding multiplies token embeddings by √Dim, as in the
	// original Transformer.
	ScaleEmbedding bool
	RopeTheta      float64 // rotary base (zero: 10000)
	RopeInterleave bool    // rotary pairs 2i, 2i+1 instead of i, i+D/2
	// FinalNorm adds a LayerNorm after the last layer (usual with pre-norm).
	FinalNorm bool
}

// stack is what encoder and decoder share: embeddings, positions, final norm.
type stack struct {
	cfg     StackConfig
	Embed   *Embedding           // embed_tokens, or nil
	Sin     *SinusoidalPositions // or nil
	Learned *LearnedPositions    // embed_positions, or nil
	Rotary  *Rotary              // or nil
	Norm    *LayerNorm           // final norm, or nil
	Dropout Dropout              // on the embeddings
}

func newStack(cfg StackConfig, rng *tensor.RNG) (*stack, StackConfig, error) {
	lc, err := cfg.LayerConfig.withDefaults()
	if err != nil {
		return nil, cfg, err
	}
	cfg.LayerConfig = lc
	if cfg.MaxLen == 0 {
		cfg.MaxLen = 512
	}
	if cfg.RopeTheta == 0 {
		cfg.RopeTheta = 10000
	}
	if cfg.Layers < 0 || cfg.MaxLen < 0 || cfg.Vocab < 0 {
		return nil, cfg, fmt.Errorf("nn: stack: negative size in %+v", cfg)
	}
	s := &stack{cfg: cfg, Dropout: Dropout{P: cfg.Dropout, RNG: rng}}
	if cfg.Vocab > 0 {
		s.Embed = NewEmbedding(cfg.Vocab, cfg.Dim, rng)
	}
	switch cfg.Positions {
	case PositionsSinusoidal:
		s.Sin = NewSinusoidalPositions(cfg.MaxLen, cfg.Dim)
	case PositionsLearned:
		s.Learned = NewLearnedPositions(cfg.MaxLen, cfg.Dim, rng)
	case PositionsRotary:
		s.Rotary = NewRotary(cfg.Dim/cfg.Heads, cfg.MaxLen, cfg.RopeTheta, cfg.RopeInterleave)
	}
	if cfg.FinalNorm {
		s.Norm = NewLayerNorm(cfg.Dim, cfg.Eps)
	}
	return s, cfg, nil
}

// embed turns ids [B, T] into vectors [B, T, Dim] (scaled if configured).
func (s *stack) embed(ids []int, B, T int) (*autograd.Var, error) {
	if s.Embed == nil {
		return nil, fmt.Errorf("nn: stack has no token embedding (Vocab 0)")
	}
	if B <= 0 || T <= 0 || len(ids) != B*T {
		return nil, fmt.Errorf("nn: stack: %d ids for batch %d × %d", len(ids), B, T)
	}
	x, err := s.Embed.Forward(ids, B, T)
	if err != nil {
		return nil, err
	}
	if s.cfg.ScaleEmbedding {
		x = autograd.MulScalar(x, float32(math.Sqrt(float64(s.cfg.Dim))))
	}
	return x, nil
}

// positions adds the position encoding to x [B, T, Dim].
func (s *stack) positions(x *autograd.Var) (*autograd.Var, error) {
	if T := x.Value.Dim(1); T > s.cfg.MaxLen {
		return nil, fmt.Errorf("nn: stack: sequence length %d exceeds MaxLen %d", T, s.cfg.MaxLen)
	}
	switch {
	case s.Sin != nil:
		x = s.Sin.Forward(x, 0)
	case s.Learned != nil:
		x = s.Learned.Forward(x, 0)
	}
	return s.Dropout.Forward(x), nil
}

func (s *stack) finish(x *autograd.Var) *autograd.Var {
	if s.Norm != nil {
		return s.Norm.Forward(x)
	}
	return x
}

func (s *stack) params() (pre, post []NamedParam) {
	if s.Embed != nil {
		pre = prefixed("embed_tokens", s.Embed.Params())
	}
	if s.Learned != nil {
		pre = append(pre, prefixed("embed_positions", s.Learned.Params())...)
	}
	if s.Norm != nil {
		post = prefixed("norm", s.Norm.Params())
	}
	return pre, post
}

// TransformerEncoder is a stack of EncoderLayers with optional token
// embedding, position encoding and final LayerNorm.
type TransformerEncoder struct {
	*stack
	Layers []*EncoderLayer
}

// NewTransformerEncoder builds an encoder. Matrices are initialised
// Xavier-uniform, as torch.nn.Transformer does.
func NewTransformerEncoder(cfg StackConfig, rng *tensor.RNG) (*TransformerEncoder, error) {
	s, cfg, err := newStack(cfg, rng)
	if err != nil {
		return nil, err
	}
	e := &TransformerEncoder{stack: s}
	for range cfg.Layers {
		l, err := NewEncoderLayer(cfg.LayerConfig, rng)
		if err != nil {
			return nil, err
		}
		l.SelfAttn.Rotary = s.Rotary
		e.Layers = append(e.Layers, l)
	}
	xavierMatrices(e.layerParams(), rng)
	return e, nil
}

// SetTraining switches dropout on or off in every layer.
func (e *TransformerEncoder) SetTraining(on bool) {
	e.Dropout.Training = on
	for _, l := range e.Layers {
		l.SetTraining(on)
	}
}

// Forward encodes x [B, T, Dim] (already embedded; positions are added
// here) with an optional key-padding mask [B, T] (true = padding).
func (e *TransformerEncoder) Forward(x *autograd.Var, padding []bool) (*autograd.Var, error) {
	x, err := e.positions(x)
	if err != nil {
		return nil, err
	}
	for _, l := range e.Layers {
		x = l.Forward(x, Mask{KeyPadding: padding})
	}
	return e.finish(x), nil
}

// ForwardIDs embeds token ids [B, T] and encodes them.
func (e *TransformerEncoder) ForwardIDs(ids []int, B, T int, padding []bool) (*autograd.Var, error) {
	x, err := e.embed(ids, B, T)
	if err != nil {
		return nil, err
	}
	return e.Forward(x, padding)
}

func (e *TransformerEncoder) layerParams() []NamedParam {
	var ps []NamedParam
	for i, l := range e.Layers {
		ps = append(ps, prefixed(fmt.Sprintf("layers.%d", i), l.Params())...)
	}
	return ps
}

// Params returns embed_tokens.*, embed_positions.*, layers.N.*, norm.*.
func (e *TransformerEncoder) Params() []NamedParam {
	pre, post := e.params()
	return append(append(pre, e.layerParams()...), post...)
}

// TransformerDecoder is a stack of DecoderLayers with optional token
// embedding, position encoding and final LayerNorm.
type TransformerDecoder struct {
	*stack
	Layers []*DecoderLayer
}

// NewTransformerDecoder builds a decoder.
func NewTransformerDecoder(cfg StackConfig, rng *tensor.RNG) (*TransformerDecoder, error) {
	s, cfg, err := newStack(cfg, rng)
	if err != nil {
		return nil, err
	}
	d := &TransformerDecoder{stack: s}
	for range cfg.Layers {
		l, err := NewDecoderLayer(cfg.LayerConfig, rng)
		if err != nil {
			return nil, err
		}
		l.SelfAttn.Rotary = s.Rotary
		d.Layers = append(d.Layers, l)
	}
	xavierMatrices(d.layerParams(), rng)
	return d, nil
}

// SetTraining switches dropout on or off in every layer.
func (d *TransformerDecoder) SetTraining(on bool) {
	d.Dropout.Training = on
	for _, l := range d.Layers {
		l.SetTraining(on)
	}
}

// Forward decodes x [B, T, Dim] (embedded; positions added here) causally,
// attending to memory [B, S, Dim] whose padding keys memPadding [B, S]
// marks; padding [B, T] marks the target's own padding.
func (d *TransformerDecoder) Forward(x, memory *autograd.Var, padding, memPadding []bool) (*autograd.Var, error) {
	x, err := d.positions(x)
	if err != nil {
		return nil, err
	}
	for _, l := range d.Layers {
		x = l.Forward(x, memory, Mask{KeyPadding: padding}, Mask{KeyPadding: memPadding})
	}
	return d.finish(x), nil
}

// ForwardIDs embeds target ids [B, T] and decodes them against memory.
func (d *TransformerDecoder) ForwardIDs(ids []int, B, T int, memory *autograd.Var, padding, memPadding []bool) (*autograd.Var, error) {
	x, err := d.embed(ids, B, T)
	if err != nil {
		return nil, err
	}
	return d.Forward(x, memory, padding, memPadding)
}

func (d *TransformerDecoder) layerParams() []NamedParam {
	var ps []NamedParam
	for i, l := range d.Layers {
		ps = append(ps, prefixed(fmt.Sprintf("layers.%d", i), l.Params())...)
	}
	return ps
}

// Params returns embed_tokens.*, embed_positions.*, layers.N.*, norm.*.
func (d *TransformerDecoder) Params() []NamedParam {
	pre, post := d.params()
	return append(append(pre, d.layerParams()...), post...)
}

// xavierMatrices re-initialises every parameter with two or more dimensions
// Xavier-uniform (torch.nn.Transformer._reset_parameters).
func xavierMatrices(ps []NamedParam, rng *tensor.RNG) {
	for _, p := range ps {
		if p.Var.Value.NDim() >= 2 {
			InitXavierUniform(p.Var, rng)
		}
	}
}
