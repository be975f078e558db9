// Package gpt2 is OpenAI's GPT-2 (Radford et al., 2019) as Hugging Face's
// GPT2LMHeadModel defines it: token and learned position embeddings, a stack
// of pre-LayerNorm blocks (causal self-attention, then a 4× MLP, each inside
// a residual connection), a final LayerNorm and an lm_head tied to the token
// embedding. Weights load from Hugging Face safetensors under their own
// names (transformer.h.0.attn.c_attn.weight, ...); GPT-2 stores its
// projections as Conv1D weights [in, out], and so does this package.
//
// A Model is built from package nn's parts; Forward runs them through
// autograd, so a model trains with autograd.Backward and package optim.
// Like llm.c, all parameters live in one buffer and all gradients in
// another, which the Trainer's fused forward/backward layers also use: the
// Trainer is the fast training path (no graph, no allocation after the first
// step), checked against the same PyTorch goldens as the autograd path
// (../shared/fixtures/gpt2-train-tiny: loss, every gradient, three AdamW
// steps).
package gpt2

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// Model is GPT2LMHeadModel: the modules read like nanoGPT's model.py.
type Model struct {
	Config Config
	Wte    *nn.Embedding        // transformer.wte [V, C]; the lm_head too (tied)
	Wpe    *nn.LearnedPositions // transformer.wpe [P, C]
	H      []*Block             // transformer.h.N
	LnF    *nn.LayerNorm        // transformer.ln_f

	// W and G view the parameters and their gradients as flat slices
	// (the same memory as the modules' Vars), for the Trainer.
	W, G *Weights

	vars          map[string]*autograd.Var // by name without "transformer."
	params, grads []float32                // the buffers behind W and G
}

// Block is one pre-norm transformer block.
type Block struct {
	Ln1  *nn.LayerNorm          // ln_1
	Attn *nn.MultiHeadAttention // attn: c_attn [C, 3C] (Conv1D), c_proj
	Ln2  *nn.LayerNorm          // ln_2
	MLP  *nn.FeedForward        // mlp: c_fc [C, F], c_proj [F, C] (Conv1D)
}

// Forward applies the block to x [B, T, C]:
//
//	x = x + attn(ln_1(x))   causal self-attention
//	x = x + mlp(ln_2(x))
func (b *Block) Forward(x *autograd.Var) *autograd.Var {
	a, _ := b.Attn.Forward(b.Ln1.Forward(x), nn.Mask{Causal: true})
	x = autograd.Add(x, a)
	return autograd.Add(x, b.MLP.Forward(b.Ln2.Forward(x)))
}

// newModel allocates zeroed parameters and gradients for a validated cfg
// and wires the modules over them.
func newModel(cfg Config) *Model {
	w, pbuf := newWeights(cfg)
	g, gbuf := newWeights(cfg)
	m := &Model{Config: cfg, W: w, G: g, params: pbuf, grads: gbuf, vars: map[string]*autograd.Var{}}
	grads := cfg.specs(g)
	for i, s := range cfg.specs(w) {
		v := autograd.Param(tensor.MustFromData(*s.data, s.shape...))
		v.Grad = tensor.MustFromData(*grads[i].data, s.shape...) // Backward accumulates here
		m.vars[s.name] = v
	}
	p := func(name string) *autograd.Var { return m.vars[name] }
	eps := float32(cfg.LayerNormEp)
	conv1d := func(prefix string) *nn.Linear {
		return &nn.Linear{Weight: p(prefix + ".weight"), Bias: p(prefix + ".bias"), Transposed: true}
	}
	norm := func(prefix string) *nn.LayerNorm {
		return &nn.LayerNorm{Weight: p(prefix + ".weight"), Bias: p(prefix + ".bias"), Eps: eps}
	}
	m.Wte = &nn.Embedding{Weight: p("wte.weight")}
	m.Wpe = &nn.LearnedPositions{Weight: p("wpe.weight")}
	for l := 0; l < cfg.NumLayer; l++ {
		h := fmt.Sprintf("h.%d.", l)
		m.H = append(m.H, &Block{
			Ln1: norm(h + "ln_1"),
			Attn: &nn.MultiHeadAttention{Dim: cfg.NumEmbd, Heads: cfg.NumHead, Transposed: true,
				InWeight: p(h + "attn.c_attn.weight"), InBias: p(h + "attn.c_attn.bias"), OutProj: conv1d(h + "attn.c_proj")},
			Ln2: norm(h + "ln_2"),
			MLP: &nn.FeedForward{Act: cfg.Activation, Linear1: conv1d(h + "mlp.c_fc"), Linear2: conv1d(h + "mlp.c_proj")},
		})
	}
	m.LnF = norm("ln_f")
	return m
}

// New returns a model with GPT-2's initialisation, drawn from rng: weights
// N(0, 0.02²), the residual projections (attn.c_proj, mlp.c_proj) with std
// 0.02/√(2L) as in the GPT-2 paper, LayerNorm gains 1, biases 0.
func New(cfg Config, rng *tensor.RNG) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newModel(cfg)
	projStd := float32(0.02 / math.Sqrt(2*float64(cfg.NumLayer)))
	nn.InitNormal(m.Wte.Weight, 0.02, rng)
	nn.InitNormal(m.Wpe.Weight, 0.02, rng)
	for _, b := range m.H {
		b.Ln1.Weight.Value.Fill(1)
		b.Ln2.Weight.Value.Fill(1)
		nn.InitNormal(b.Attn.InWeight, 0.02, rng)
		nn.InitNormal(b.Attn.OutProj.Weight, projStd, rng)
		nn.InitNormal(b.MLP.Linear1.Weight, 0.02, rng)
		nn.InitNormal(b.MLP.Linear2.Weight, projStd, rng)
	}
	m.LnF.Weight.Value.Fill(1)
	return m, nil
}

// Forward returns the logits [B, T, V] for ids [B, T] (row-major). Through
// autograd it records the graph when the parameters require gradients
// (nn.Freeze(model) for inference without one). It returns an error for a bad
// shape or an id outside the vocabulary.
func (m *Model) Forward(ids []int, B, T int) (*autograd.Var, error) {
	if err := m.checkInput(len(ids), B, T); err != nil {
		return nil, err
	}
	x, err := m.Wte.Forward(ids, B, T) // token embeddings        [B, T, C]
	if err != nil {
		return nil, fmt.Errorf("gpt2: forward: %w", err)
	}
	x = m.Wpe.Forward(x, 0) //            + position embeddings   [B, T, C]
	for _, b := range m.H {
		x = b.Forward(x)
	}
	x = m.LnF.Forward(x)
	return autograd.Linear(x, m.Wte.Weight, nil), nil // lm_head tied to wte: x·wteᵀ   [B, T, V]
}

func (m *Model) checkInput(n, B, T int) error {
	if B <= 0 || T <= 0 || n != B*T {
		return fmt.Errorf("gpt2: forward: %d ids for batch %d × %d", n, B, T)
	}
	if T > m.Config.NumPos {
		return fmt.Errorf("gpt2: forward: sequence length %d exceeds n_positions %d", T, m.Config.NumPos)
	}
	return nil
}

// Loss returns the mean cross-entropy of logits [B, T, V] against targets
// [B, T] (the token expected after each position; -100 ignores a position).
// For Hugging Face labels, pass ShiftLabels(labels, B, T).
func (m *Model) Loss(logits *autograd.Var, targets []int) (*autograd.Var, error) {
	V := m.Config.VocabSize
	loss, err := autograd.CrossEntropy(autograd.Reshape(logits, -1, V), targets, tensor.CrossEntropyOptions{})
	if err != nil {
		return nil, fmt.Errorf("gpt2: loss: %w", err)
	}
	return loss, nil
}

// Params lists every parameter with its Hugging Face name
// (transformer.wte.weight, transformer.h.0.ln_1.weight, ...) in state_dict
// order. Each Var's Grad is preallocated in the model's gradient buffer, so
// nn.OptimParams(m.Params()) hands the optimizer stable slices.
func (m *Model) Params() []nn.NamedParam {
	specs := m.Config.specs(m.W)
	ps := make([]nn.NamedParam, len(specs))
	for i, s := range specs {
		ps[i] = nn.NamedParam{Name: "transformer." + s.name, Var: m.vars[s.name]}
	}
	return ps
}

// ZeroGrad clears every gradient.
func (m *Model) ZeroGrad() { clear(m.grads) }

// ShiftLabels turns Hugging Face causal-LM labels [B, T] (labels[b, t] is
// the token at t, -100 to ignore) into next-token targets for Loss:
// targets[b, t] = labels[b, t+1], and the last position of each row is
// ignored. This is HF's shift: logits[:, :-1] against labels[:, 1:].
func ShiftLabels(labels []int, B, T int) []int {
	targets := make([]int, B*T)
	for b := 0; b < B; b++ {
		copy(targets[b*T:b*T+T-1], labels[b*T+1:(b+1)*T])
		targets[b*T+T-1] = -100
	}
	return targets
}
