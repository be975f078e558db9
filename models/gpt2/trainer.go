package gpt2

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// Trainer runs GPT-2's training step with fused, hand-written layers (the
// forward/backward pairs of layers.go, in the manner of llm.c) directly on
// the model's parameter and gradient buffers: the same maths as
// Model.Forward + autograd.Backward, without a graph. Its workspace is sized
// from the batch shape on the first step, so that later steps allocate
// nothing. A Trainer is not safe for concurrent use.
//
//	tr := gpt2.NewTrainer(model)
//	logits, _ := tr.Forward(ids, B, T)
//	loss, _ := tr.Loss(targets)
//	model.ZeroGrad()
//	tr.Backward()
//	opt.Step()
type Trainer struct {
	m    *Model
	acts *activations
	prod products
	attn attnPackPool // attention's packed operands in bfloat16
}

// NewTrainer returns a trainer over m's parameters and gradients.
func NewTrainer(m *Model) *Trainer { return &Trainer{m: m} }

// SetBF16 chooses bfloat16 mixed precision (on) or float32 (off, the
// default) for the steps that follow. In bfloat16 the products of every
// linear layer and of the tied lm_head — forward, input gradients and
// weight gradients — and attention's four batched products (q·kᵀ and p·v,
// and their gradients) run kernels.GemmBF16: both operands are rounded to
// bfloat16 as they are read and the products of bfloat16 pairs are summed
// in float32, as PyTorch's autocast does on CPU. The parameters (the master
// weights), gradients, LayerNorms, the attention scores, softmax and loss
// stay float32, and so does the optimizer, which reads only those.
// GemmBF16's results do not depend on the machine or on how its work is
// shared, so training resumes exactly as in float32; without AVX-512 BF16
// the products run its AVX2+FMA kernels (about float32's speed) or its
// generic twin (much slower), with the same results.
func (tr *Trainer) SetBF16(on bool) { tr.prod.bf16 = on }

// activations is the workspace of one forward pass for a batch shape B×T:
// every value the backward pass reads, plus the gradient scratch buffers.
type activations struct {
	B, T int
	bf16 bool // the bfloat16 copies below are allocated

	ids, targets []int       // [B·T]
	encoded      []float32   // [B·T, C] embeddings: the residual stream entering block 0
	layers       []layerActs // per block
	lnf          []float32   // [B·T, C] final LayerNorm output
	lnfMean      []float32   // [B·T]
	lnfRstd      []float32   // [B·T]
	logits       []float32   // [B·T, V]; dlogits after Backward
	logp         []float32   // [B·T, V] log-probabilities (Loss)
	losses       []float32   // [B·T] per-position loss
	count        int         // positions that count in the loss
	haveLoss     bool        // Loss ran after the last Forward

	// Gradient scratch, reused by every block.
	dres, dtmp []float32 // [B·T, C]
	datty      []float32 // [B·T, C]
	dqkv       []float32 // [B·T, 3C]
	dfch       []float32 // [B·T, F]
	datt       []float32 // [B, H, T, T]
	lnScratch  []float32 // per-thread LayerNorm parameter gradients

	// In bfloat16, the operands of the products rounded to bfloat16 by the
	// ops that write them (nil in float32): lnf's, and the gradients' that
	// feed an input-gradient product.
	lnfb         []uint16 // [B·T, C]
	dresb, dfchb []uint16 // [B·T, C], [B·T, F]
	dqkvb        []uint16 // [B·T, 3C]
}

// layerActs are the saved values of one block.
type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32 // [B·T, C], [B·T], [B·T]
	qkv                   []float32 // [B·T, 3C]
	att                   []float32 // [B, H, T, T] softmax probabilities
	atty                  []float32 // [B·T, C] attention output, heads merged
	res2                  []float32 // [B·T, C] x + attn(ln_1(x))
	ln2, ln2Mean, ln2Rstd []float32 // [B·T, C], [B·T], [B·T]
	fch                   []float32 // [B·T, F] c_fc output (pre-activation); GELU'(pre) for the exact GELU (activationForward)
	fchAct                []float32 // [B·T, F] after the activation
	res3                  []float32 // [B·T, C] block output

	// In bfloat16 (nil in float32), the inputs of the forward products
	// rounded to bfloat16 by the ops that write them.
	ln1b, attyb, ln2b []uint16 // [B·T, C]
	fchActb           []uint16 // [B·T, F]
}

// workspace returns the activations for B×T, allocating them on first use
// or when the shape changes.
func (tr *Trainer) workspace(B, T int) *activations {
	if a := tr.acts; a != nil && a.B == B && a.T == T && a.bf16 == tr.prod.bf16 {
		return a
	}
	c := tr.m.Config
	N, C, F, H, V := B*T, c.NumEmbd, c.Inner(), c.NumHead, c.VocabSize
	// One allocation for all float buffers, carved in order.
	sizes := []int{}
	perLayer := []int{N * C, N, N, N * 3 * C, B * H * T * T, N * C, N * C, N * C, N, N, N * F, N * F, N * C}
	for range c.NumLayer {
		sizes = append(sizes, perLayer...)
	}
	sizes = append(sizes, N*C, N*C, N, N, N*V, N*V, N, N*C, N*C, N*C, N*3*C, N*F, B*H*T*T)
	total := 0
	for _, s := range sizes {
		total += s
	}
	buf := make([]float32, total)
	kernels.AdviseHugePages(buf) // before the first touch: see there
	take := func(n int) []float32 {
		x := buf[:n:n]
		buf = buf[n:]
		return x
	}
	a := &activations{B: B, T: T, ids: make([]int, N), targets: make([]int, N)}
	a.lnScratch = make([]float32, 2*C*max(kernels.Threads(), 1))
	a.layers = make([]layerActs, c.NumLayer)
	for l := range a.layers {
		la := &a.layers[l]
		la.ln1, la.ln1Mean, la.ln1Rstd = take(N*C), take(N), take(N)
		la.qkv, la.att, la.atty, la.res2 = take(N*3*C), take(B*H*T*T), take(N*C), take(N*C)
		la.ln2, la.ln2Mean, la.ln2Rstd = take(N*C), take(N), take(N)
		la.fch, la.fchAct, la.res3 = take(N*F), take(N*F), take(N*C)
	}
	a.encoded, a.lnf, a.lnfMean, a.lnfRstd = take(N*C), take(N*C), take(N), take(N)
	a.logits, a.logp, a.losses = take(N*V), take(N*V), take(N)
	a.dres, a.dtmp, a.datty, a.dqkv, a.dfch, a.datt = take(N*C), take(N*C), take(N*C), take(N*3*C), take(N*F), take(B*H*T*T)
	if tr.prod.bf16 {
		a.bf16 = true
		hb := make([]uint16, c.NumLayer*(3*N*C+N*F)+N*C+N*C+N*F+N*3*C)
		takeb := func(n int) []uint16 {
			x := hb[:n:n]
			hb = hb[n:]
			return x
		}
		for l := range a.layers {
			la := &a.layers[l]
			la.ln1b, la.attyb, la.ln2b, la.fchActb = takeb(N*C), takeb(N*C), takeb(N*C), takeb(N*F)
		}
		a.lnfb, a.dresb, a.dfchb, a.dqkvb = takeb(N*C), takeb(N*C), takeb(N*F), takeb(N*3*C)
	}
	tr.acts = nil // let the old workspace go before the next one fills memory
	tr.acts = a
	return a
}

// Forward runs the model on ids [B, T] (row-major, B·T token ids) and
// returns the logits [B, T, V]. The returned slice belongs to the trainer's
// workspace: it is valid until the next Forward or Backward (which turns it
// into the logits' gradient). It returns an error for a bad shape or an id
// outside the vocabulary.
func (tr *Trainer) Forward(ids []int, B, T int) ([]float32, error) {
	m, c := tr.m, tr.m.Config
	if B <= 0 || T <= 0 || len(ids) != B*T {
		return nil, fmt.Errorf("gpt2: forward: %d ids for batch %d × %d", len(ids), B, T)
	}
	if T > c.NumPos {
		return nil, fmt.Errorf("gpt2: forward: sequence length %d exceeds n_positions %d", T, c.NumPos)
	}
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return nil, fmt.Errorf("gpt2: forward: token id %d at position %d outside vocabulary of %d", id, i, c.VocabSize)
		}
	}
	a := tr.workspace(B, T)
	copy(a.ids, ids)
	a.haveLoss = false
	N, C, F, H, V := B*T, c.NumEmbd, c.Inner(), c.NumHead, c.VocabSize
	eps := float32(c.LayerNormEp)

	encoderForward(a.encoded, a.ids, m.W.Wte, m.W.Wpe, B, T, C) // x = wte[ids] + wpe[t]   [B, T, C]
	x := a.encoded
	for l := range m.W.Blocks {
		w, la := &m.W.Blocks[l], &a.layers[l]
		// x = x + attn(ln_1(x))
		layerNormForward(la.ln1, la.ln1b, la.ln1Mean, la.ln1Rstd, x, w.Ln1W, w.Ln1B, N, C, eps)
		conv1dForward(&tr.prod, la.qkv, la.ln1, la.ln1b, w.AttnW, w.AttnB, N, C, 3*C)               //           [B, T, 3C]
		attnForward(&tr.prod, &tr.attn, la.atty, la.attyb, la.att, la.qkv, B, T, C, H)              // att [B, H, T, T], atty [B, T, C]
		residualConv1dForward(&tr.prod, la.res2, x, la.atty, la.attyb, w.AttnPW, w.AttnPB, N, C, C) // x + c_proj(atty)
		// x = x + mlp(ln_2(x))
		layerNormForward(la.ln2, la.ln2b, la.ln2Mean, la.ln2Rstd, la.res2, w.Ln2W, w.Ln2B, N, C, eps)
		mlpUpForward(&tr.prod, c.Activation, la.fchAct, la.fchActb, la.fch, la.ln2, la.ln2b, w.FcW, w.FcB, N, C, F) // [B, T, F]
		residualConv1dForward(&tr.prod, la.res3, la.res2, la.fchAct, la.fchActb, w.FcProjW, w.FcProjB, N, F, C)     // [B, T, C]
		x = la.res3
	}
	layerNormForward(a.lnf, a.lnfb, a.lnfMean, a.lnfRstd, x, m.W.LnFW, m.W.LnFB, N, C, eps)
	lmHeadForward(&tr.prod, a.logits, a.lnf, a.lnfb, m.W.Wte, N, C, V) // logits = ln_f(x)·wteᵀ   [B, T, V]
	return a.logits, nil
}

// Loss computes the mean cross-entropy of the last Forward's logits against
// targets [B, T]: targets[b, t] is the token expected after position t;
// negative values (HF uses -100) are ignored. It returns an error when no
// Forward ran with this shape or a target is outside the vocabulary.
func (tr *Trainer) Loss(targets []int) (float32, error) {
	m, a := tr.m, tr.acts
	if a == nil || len(targets) != a.B*a.T {
		return 0, fmt.Errorf("gpt2: loss: %d targets do not match the last forward pass", len(targets))
	}
	for i, y := range targets {
		if y >= m.Config.VocabSize {
			return 0, fmt.Errorf("gpt2: loss: target %d at position %d outside vocabulary of %d", y, i, m.Config.VocabSize)
		}
	}
	copy(a.targets, targets)
	loss, count := crossEntropyForward(a.losses, a.logp, a.logits, a.targets, a.B*a.T, m.Config.VocabSize)
	a.count, a.haveLoss = count, true
	return loss, nil
}

// Backward accumulates into the model's gradients (Model.G, the Grad of
// every parameter) the gradient of the last Loss with respect to
// every parameter. It overwrites the logits returned by Forward.
func (tr *Trainer) Backward() error {
	m, a := tr.m, tr.acts
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
	crossEntropyBackward(a.logits, a.logp, a.targets, N, V, 1/float32(a.count)) //  dlogits   [B, T, V]
	lmHeadBackward(&tr.prod, a.dtmp, m.G.Wte, a.logits, a.lnf, m.W.Wte, N, C, V)
	last := a.encoded
	if L := len(a.layers); L > 0 {
		last = a.layers[L-1].res3
	}
	layerNormBackward(a.dres, a.dresb, m.G.LnFW, m.G.LnFB, a.dtmp, last, m.W.LnFW, a.lnfMean, a.lnfRstd, a.lnScratch, N, C)

	// Blocks in reverse; a.dres carries the gradient of the residual stream.
	for l := len(m.W.Blocks) - 1; l >= 0; l-- {
		w, g, la := &m.W.Blocks[l], &m.G.Blocks[l], &a.layers[l]
		x := a.encoded
		if l > 0 {
			x = a.layers[l-1].res3
		}
		// res3 = res2 + mlp(ln_2(res2))
		dfchb := a.dfchb // dfch rounded to bfloat16, when the epilogue writes it
		if savesDerivative(c.Activation) {
			// la.fch holds the activation's derivative: dfch = dres·wᵀ ⊙ it.
			conv1dBackward(&tr.prod, a.dfch, dfchb, la.fch, g.FcProjW, g.FcProjB, a.dres, a.dresb, la.fchAct, w.FcProjW, N, F, C)
		} else {
			dfchb = nil
			conv1dBackward(&tr.prod, a.dfch, nil, nil, g.FcProjW, g.FcProjB, a.dres, a.dresb, la.fchAct, w.FcProjW, N, F, C)
			activationBackward(c.Activation, a.dfch, la.fch, a.dfch)
		}
		conv1dBackward(&tr.prod, a.dtmp, nil, nil, g.FcW, g.FcB, a.dfch, dfchb, la.ln2, w.FcW, N, C, F)
		layerNormBackward(a.datty, nil, g.Ln2W, g.Ln2B, a.dtmp, la.res2, w.Ln2W, la.ln2Mean, la.ln2Rstd, a.lnScratch, N, C)
		addInPlace(a.dres, a.dresb, a.datty)
		// res2 = x + c_proj(attention(c_attn(ln_1(x))))
		conv1dBackward(&tr.prod, a.datty, nil, nil, g.AttnPW, g.AttnPB, a.dres, a.dresb, la.atty, w.AttnPW, N, C, C)
		attnBackward(&tr.prod, &tr.attn, a.dqkv, a.dqkvb, a.datt, a.datty, la.att, la.qkv, B, T, C, H)
		conv1dBackward(&tr.prod, a.dtmp, nil, nil, g.AttnW, g.AttnB, a.dqkv, a.dqkvb, la.ln1, w.AttnW, N, C, 3*C)
		layerNormBackward(a.datty, nil, g.Ln1W, g.Ln1B, a.dtmp, x, w.Ln1W, la.ln1Mean, la.ln1Rstd, a.lnScratch, N, C)
		addInPlace(a.dres, a.dresb, a.datty)
	}
	encoderBackward(m.G.Wte, m.G.Wpe, a.dres, a.ids, B, T, C)
	return nil
}

// addInPlace computes dst += x and, when dstb is not nil, rounds the sums
// to bfloat16 into dstb, a cache-sized piece at a time.
func addInPlace(dst []float32, dstb []uint16, x []float32) {
	const grain, piece = 1 << 14, 1 << 11
	kernels.ParallelFor(len(dst), grain, func(lo, hi int) {
		for i := lo; i < hi; i += piece {
			j := min(i+piece, hi)
			kernels.Add(dst[i:j], dst[i:j], x[i:j])
			if dstb != nil {
				kernels.F32ToBF16(dstb[i:j], dst[i:j])
			}
		}
	})
}
