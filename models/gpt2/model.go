// Package gpt2 is OpenAI's GPT-2 (Radford et al., 2019) as Hugging Face's
// GPT2LMHeadModel defines it: token and learned position embeddings, a stack
// of pre-LayerNorm blocks (causal self-attention, then a 4× MLP, each inside
// a residual connection), a final LayerNorm and an lm_head tied to the token
// embedding. Weights load from Hugging Face safetensors with their own names
// (transformer.h.0.attn.c_attn.weight, ...); GPT-2 stores its projections as
// Conv1D weights [in, out], and so does this package.
//
// The model trains: Forward computes the logits, Loss the causal-LM
// cross-entropy, Backward every parameter gradient, and Params exposes values
// and gradients to an optimizer (optim.NewAdamW). Like llm.c, parameters and
// gradients each live in one allocation, and the activations of a step in a
// workspace sized from the batch shape, so that after the first step a
// training loop allocates nothing. Gradients are checked against PyTorch on
// ../shared/fixtures/gpt2-train-tiny.
package gpt2

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
)

// Letters used in shape comments: B batch, T sequence length, C n_embd,
// V vocab_size, P n_positions, H n_head, D = C/H, F the MLP width (4·C),
// L n_layer.

// Weights are GPT-2's parameters, each a view into one flat buffer. The same
// type holds the gradients.
type Weights struct {
	Wte    []float32 // transformer.wte.weight [V, C]; also the lm_head
	Wpe    []float32 // transformer.wpe.weight [P, C]
	Blocks []BlockWeights
	LnFW   []float32 // transformer.ln_f.weight [C]
	LnFB   []float32 // transformer.ln_f.bias [C]
}

// BlockWeights are the parameters of one transformer block.
type BlockWeights struct {
	Ln1W, Ln1B       []float32 // ln_1 [C]
	AttnW, AttnB     []float32 // attn.c_attn [C, 3C], [3C]: q | k | v
	AttnPW, AttnPB   []float32 // attn.c_proj [C, C], [C]
	Ln2W, Ln2B       []float32 // ln_2 [C]
	FcW, FcB         []float32 // mlp.c_fc [C, F], [F]
	FcProjW, FcProjB []float32 // mlp.c_proj [F, C], [C]
}

// tensorSpec names one parameter: its HF name (without the "transformer."
// prefix), shape, and where its view lives in a Weights.
type tensorSpec struct {
	name  string
	shape []int
	view  func(w *Weights) *[]float32
}

// specs lists every parameter in a fixed order: HF's state_dict order.
func (c Config) specs() []tensorSpec {
	C, F := c.NumEmbd, c.Inner()
	s := []tensorSpec{
		{"wte.weight", []int{c.VocabSize, C}, func(w *Weights) *[]float32 { return &w.Wte }},
		{"wpe.weight", []int{c.NumPos, C}, func(w *Weights) *[]float32 { return &w.Wpe }},
	}
	for l := 0; l < c.NumLayer; l++ {
		p := fmt.Sprintf("h.%d.", l)
		blk := func(f func(b *BlockWeights) *[]float32) func(w *Weights) *[]float32 {
			return func(w *Weights) *[]float32 { return f(&w.Blocks[l]) }
		}
		s = append(s,
			tensorSpec{p + "ln_1.weight", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln1W })},
			tensorSpec{p + "ln_1.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln1B })},
			tensorSpec{p + "attn.c_attn.weight", []int{C, 3 * C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnW })},
			tensorSpec{p + "attn.c_attn.bias", []int{3 * C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnB })},
			tensorSpec{p + "attn.c_proj.weight", []int{C, C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnPW })},
			tensorSpec{p + "attn.c_proj.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnPB })},
			tensorSpec{p + "ln_2.weight", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln2W })},
			tensorSpec{p + "ln_2.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln2B })},
			tensorSpec{p + "mlp.c_fc.weight", []int{C, F}, blk(func(b *BlockWeights) *[]float32 { return &b.FcW })},
			tensorSpec{p + "mlp.c_fc.bias", []int{F}, blk(func(b *BlockWeights) *[]float32 { return &b.FcB })},
			tensorSpec{p + "mlp.c_proj.weight", []int{F, C}, blk(func(b *BlockWeights) *[]float32 { return &b.FcProjW })},
			tensorSpec{p + "mlp.c_proj.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.FcProjB })},
		)
	}
	s = append(s,
		tensorSpec{"ln_f.weight", []int{C}, func(w *Weights) *[]float32 { return &w.LnFW }},
		tensorSpec{"ln_f.bias", []int{C}, func(w *Weights) *[]float32 { return &w.LnFB }},
	)
	return s
}

// NumParams returns the number of parameters (the tied lm_head counted once).
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.specs() {
		n += numel(s.shape)
	}
	return n
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// newWeights lays out a zeroed Weights over one buffer.
func newWeights(c Config) (*Weights, []float32) {
	buf := make([]float32, c.NumParams())
	w := &Weights{Blocks: make([]BlockWeights, c.NumLayer)}
	off := 0
	for _, s := range c.specs() {
		n := numel(s.shape)
		*s.view(w) = buf[off : off+n : off+n]
		off += n
	}
	return w, buf
}

// Model is a GPT-2 language model with its gradients and the workspace of
// its last forward pass. A Model is not safe for concurrent use.
type Model struct {
	Config Config
	W      *Weights // parameters
	G      *Weights // gradients (zero until the first Backward)

	params, grads []float32 // the flat buffers behind W and G
	acts          *activations
}

// New returns a model with GPT-2's initialisation, drawn from rng: weights
// N(0, 0.02), the residual projections (attn.c_proj, mlp.c_proj) N(0,
// 0.02/√(2L)) as in the GPT-2 paper, LayerNorm gains 1, biases 0.
func New(cfg Config, rng *tensor.RNG) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newModel(cfg)
	std := 0.02
	projStd := 0.02 / math.Sqrt(2*float64(cfg.NumLayer))
	normal := func(x []float32, std float64) {
		for i := range x {
			x[i] = float32(std * rng.NormFloat64())
		}
	}
	normal(m.W.Wte, std)
	normal(m.W.Wpe, std)
	for l := range m.W.Blocks {
		b := &m.W.Blocks[l]
		fill(b.Ln1W, 1)
		fill(b.Ln2W, 1)
		normal(b.AttnW, std)
		normal(b.AttnPW, projStd)
		normal(b.FcW, std)
		normal(b.FcProjW, projStd)
	}
	fill(m.W.LnFW, 1)
	return m, nil
}

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

// newModel allocates zeroed parameters and gradients for a validated cfg.
func newModel(cfg Config) *Model {
	w, p := newWeights(cfg)
	g, gb := newWeights(cfg)
	return &Model{Config: cfg, W: w, G: g, params: p, grads: gb}
}

// Params lists every parameter with its gradient under its Hugging Face name
// (transformer.wte.weight, transformer.h.0.ln_1.weight, ...), in state_dict
// order, ready for optim.DecayGroups and the optimizers. The slices alias the
// model's parameters and gradients.
func (m *Model) Params() []optim.Param {
	specs := m.Config.specs()
	ps := make([]optim.Param, len(specs))
	for i, s := range specs {
		ps[i] = optim.Param{Name: "transformer." + s.name, Shape: s.shape, Value: *s.view(m.W), Grad: *s.view(m.G)}
	}
	return ps
}

// ZeroGrad clears every gradient.
func (m *Model) ZeroGrad() { clear(m.grads) }

// activations is the workspace of one forward pass for a batch shape B×T:
// every value the backward pass reads, plus the gradient scratch buffers.
type activations struct {
	B, T int

	ids, targets []int32     // [B·T]
	encoded      []float32   // [B·T, C] embeddings: the residual stream entering block 0
	layers       []layerActs // per block
	lnf          []float32   // [B·T, C] final LayerNorm output
	lnfMean      []float32   // [B·T]
	lnfRstd      []float32   // [B·T]
	logits       []float32   // [B·T, V]; dlogits after Backward
	losses       []float32   // [B·T] per-position loss
	count        int         // positions that count in the loss
	haveLoss     bool        // Loss ran after the last Forward

	// Gradient scratch, reused by every block.
	dres, dtmp []float32 // [B·T, C]
	datty      []float32 // [B·T, C]
	dqkv       []float32 // [B·T, 3C]
	dfch       []float32 // [B·T, F]
	datt       []float32 // [B, H, T, T]
}

// layerActs are the saved values of one block.
type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32 // [B·T, C], [B·T], [B·T]
	qkv                   []float32 // [B·T, 3C]
	att                   []float32 // [B, H, T, T] softmax probabilities
	atty                  []float32 // [B·T, C] attention output, heads merged
	res2                  []float32 // [B·T, C] x + attn(ln_1(x))
	ln2, ln2Mean, ln2Rstd []float32 // [B·T, C], [B·T], [B·T]
	fch                   []float32 // [B·T, F] c_fc output (pre-activation)
	fchAct                []float32 // [B·T, F] after the activation
	res3                  []float32 // [B·T, C] block output
}

// workspace returns the activations for B×T, allocating them on first use
// or when the shape changes.
func (m *Model) workspace(B, T int) *activations {
	if a := m.acts; a != nil && a.B == B && a.T == T {
		return a
	}
	c := m.Config
	N, C, F, H, V := B*T, c.NumEmbd, c.Inner(), c.NumHead, c.VocabSize
	// One allocation for all float buffers, carved in order.
	sizes := []int{}
	perLayer := []int{N * C, N, N, N * 3 * C, B * H * T * T, N * C, N * C, N * C, N, N, N * F, N * F, N * C}
	for range c.NumLayer {
		sizes = append(sizes, perLayer...)
	}
	sizes = append(sizes, N*C, N*C, N, N, N*V, N, N*C, N*C, N*C, N*3*C, N*F, B*H*T*T)
	total := 0
	for _, s := range sizes {
		total += s
	}
	buf := make([]float32, total)
	take := func(n int) []float32 {
		x := buf[:n:n]
		buf = buf[n:]
		return x
	}
	a := &activations{B: B, T: T, ids: make([]int32, N), targets: make([]int32, N)}
	a.layers = make([]layerActs, c.NumLayer)
	for l := range a.layers {
		la := &a.layers[l]
		la.ln1, la.ln1Mean, la.ln1Rstd = take(N*C), take(N), take(N)
		la.qkv, la.att, la.atty, la.res2 = take(N*3*C), take(B*H*T*T), take(N*C), take(N*C)
		la.ln2, la.ln2Mean, la.ln2Rstd = take(N*C), take(N), take(N)
		la.fch, la.fchAct, la.res3 = take(N*F), take(N*F), take(N*C)
	}
	a.encoded, a.lnf, a.lnfMean, a.lnfRstd = take(N*C), take(N*C), take(N), take(N)
	a.logits, a.losses = take(N*V), take(N)
	a.dres, a.dtmp, a.datty, a.dqkv, a.dfch, a.datt = take(N*C), take(N*C), take(N*C), take(N*3*C), take(N*F), take(B*H*T*T)
	m.acts = nil // drop the old workspace before the next one is used
	m.acts = a
	return a
}

// Forward runs the model on ids [B, T] (row-major, B·T token ids) and
// returns the logits [B, T, V]. The returned slice belongs to the model's
// workspace: it is valid until the next Forward or Backward (which turns it
// into the logits' gradient). It returns an error for a bad shape or an id
// outside the vocabulary.
func (m *Model) Forward(ids []int32, B, T int) ([]float32, error) {
	c := m.Config
	if B <= 0 || T <= 0 || len(ids) != B*T {
		return nil, fmt.Errorf("gpt2: forward: %d ids for batch %d × %d", len(ids), B, T)
	}
	if T > c.NumPos {
		return nil, fmt.Errorf("gpt2: forward: sequence length %d exceeds n_positions %d", T, c.NumPos)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= c.VocabSize {
			return nil, fmt.Errorf("gpt2: forward: token id %d at position %d outside vocabulary of %d", id, i, c.VocabSize)
		}
	}
	a := m.workspace(B, T)
	copy(a.ids, ids)
	a.haveLoss = false
	N, C, F, H, V := B*T, c.NumEmbd, c.Inner(), c.NumHead, c.VocabSize
	eps := float32(c.LayerNormEp)

	encoderForward(a.encoded, a.ids, m.W.Wte, m.W.Wpe, B, T, C) // x = wte[ids] + wpe[t]   [B, T, C]
	x := a.encoded
	for l := range m.W.Blocks {
		w, la := &m.W.Blocks[l], &a.layers[l]
		// x = x + attn(ln_1(x))
		layerNormForward(la.ln1, la.ln1Mean, la.ln1Rstd, x, w.Ln1W, w.Ln1B, N, C, eps)
		conv1dForward(la.qkv, la.ln1, w.AttnW, w.AttnB, N, C, 3*C) //           [B, T, 3C]
		attentionForward(la.atty, la.att, la.qkv, B, T, C, H)      // att [B, H, T, T], atty [B, T, C]
		conv1dForward(la.res2, la.atty, w.AttnPW, w.AttnPB, N, C, C)
		addInPlace(la.res2, x)
		// x = x + mlp(ln_2(x))
		layerNormForward(la.ln2, la.ln2Mean, la.ln2Rstd, la.res2, w.Ln2W, w.Ln2B, N, C, eps)
		conv1dForward(la.fch, la.ln2, w.FcW, w.FcB, N, C, F) //                  [B, T, F]
		activationForward(c.Activation, la.fchAct, la.fch)
		conv1dForward(la.res3, la.fchAct, w.FcProjW, w.FcProjB, N, F, C) //      [B, T, C]
		addInPlace(la.res3, la.res2)
		x = la.res3
	}
	layerNormForward(a.lnf, a.lnfMean, a.lnfRstd, x, m.W.LnFW, m.W.LnFB, N, C, eps)
	lmHeadForward(a.logits, a.lnf, m.W.Wte, N, C, V) // logits = ln_f(x)·wteᵀ   [B, T, V]
	return a.logits, nil
}

// Loss computes the mean cross-entropy of the last Forward's logits against
// targets [B, T]: targets[b, t] is the token expected after position t;
// negative values (HF uses -100) are ignored. It returns an error when no
// Forward ran with this shape or a target is outside the vocabulary.
func (m *Model) Loss(targets []int32) (float32, error) {
	a := m.acts
	if a == nil || len(targets) != a.B*a.T {
		return 0, fmt.Errorf("gpt2: loss: %d targets do not match the last forward pass", len(targets))
	}
	for i, y := range targets {
		if int(y) >= m.Config.VocabSize {
			return 0, fmt.Errorf("gpt2: loss: target %d at position %d outside vocabulary of %d", y, i, m.Config.VocabSize)
		}
	}
	copy(a.targets, targets)
	loss, count := crossEntropyForward(a.losses, a.logits, a.targets, a.B*a.T, m.Config.VocabSize)
	a.count, a.haveLoss = count, true
	return loss, nil
}

// ShiftLabels turns Hugging Face causal-LM labels [B, T] (labels[b, t] is
// the token at t, -100 to ignore) into next-token targets for Loss:
// targets[b, t] = labels[b, t+1], and the last position of each row is
// ignored. This is HF's shift: logits[:, :-1] against labels[:, 1:].
func ShiftLabels(labels []int32, B, T int) []int32 {
	targets := make([]int32, B*T)
	for b := 0; b < B; b++ {
		copy(targets[b*T:b*T+T-1], labels[b*T+1:(b+1)*T])
		targets[b*T+T-1] = -100
	}
	return targets
}

// Backward accumulates into m.G the gradient of the last Loss with respect to
// every parameter. It overwrites the logits returned by Forward.
func (m *Model) Backward() error {
	a := m.acts
	if a == nil || !a.haveLoss {
		return fmt.Errorf("gpt2: backward: call Forward and Loss first")
	}
	a.haveLoss = false
	c := m.Config
	B, T := a.B, a.T
	N, C, F, H, V := B*T, c.NumEmbd, c.Inner(), c.NumHead, c.VocabSize
	if a.count == 0 {
		return nil // every target ignored: the loss is constant
	}

	// Loss and lm_head (tied to wte).
	crossEntropyBackward(a.logits, a.targets, N, V, 1/float32(a.count)) //  dlogits   [B, T, V]
	lmHeadBackward(a.dtmp, m.G.Wte, a.logits, a.lnf, m.W.Wte, N, C, V)
	last := a.encoded
	if L := len(a.layers); L > 0 {
		last = a.layers[L-1].res3
	}
	layerNormBackward(a.dres, m.G.LnFW, m.G.LnFB, a.dtmp, last, m.W.LnFW, a.lnfMean, a.lnfRstd, N, C)

	// Blocks in reverse; a.dres carries the gradient of the residual stream.
	for l := len(m.W.Blocks) - 1; l >= 0; l-- {
		w, g, la := &m.W.Blocks[l], &m.G.Blocks[l], &a.layers[l]
		x := a.encoded
		if l > 0 {
			x = a.layers[l-1].res3
		}
		// res3 = res2 + mlp(ln_2(res2))
		conv1dBackward(a.dfch, g.FcProjW, g.FcProjB, a.dres, la.fchAct, w.FcProjW, N, F, C)
		activationBackward(c.Activation, a.dfch, la.fch, a.dfch)
		conv1dBackward(a.dtmp, g.FcW, g.FcB, a.dfch, la.ln2, w.FcW, N, C, F)
		layerNormBackward(a.datty, g.Ln2W, g.Ln2B, a.dtmp, la.res2, w.Ln2W, la.ln2Mean, la.ln2Rstd, N, C)
		addInPlace(a.dres, a.datty)
		// res2 = x + c_proj(attention(c_attn(ln_1(x))))
		conv1dBackward(a.datty, g.AttnPW, g.AttnPB, a.dres, la.atty, w.AttnPW, N, C, C)
		attentionBackward(a.dqkv, a.datt, a.datty, la.att, la.qkv, B, T, C, H)
		conv1dBackward(a.dtmp, g.AttnW, g.AttnB, a.dqkv, la.ln1, w.AttnW, N, C, 3*C)
		layerNormBackward(a.datty, g.Ln1W, g.Ln1B, a.dtmp, x, w.Ln1W, la.ln1Mean, la.ln1Rstd, N, C)
		addInPlace(a.dres, a.datty)
	}
	encoderBackward(m.G.Wte, m.G.Wpe, a.dres, a.ids, B, T, C)
	return nil
}

// addInPlace computes dst += x.
func addInPlace(dst, x []float32) {
	const grain = 1 << 14
	kernels.ParallelFor(len(dst), grain, func(lo, hi int) {
		kernels.Add(dst[lo:hi], dst[lo:hi], x[lo:hi])
	})
}
