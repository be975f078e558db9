package bert

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/nn"
)

// The inference path: the same function as Forward, computed over flat
// row-major buffers without a graph. Each layer is five steps,
//
//	qkv = x·[Wq; Wk; Wv]ᵀ + [bq; bk; bv]                 one Sgemm + epilogue [N, 3C]
//	ctx = softmax(q·kᵀ/√D + mask)·v, per (b, h)          parallel heads [N, C]
//	x   = LayerNorm(x + ctx·Woᵀ + bo)                     Sgemm + fused row pass
//	f   = act(x·W₁ᵀ + b₁)                                 Sgemm + epilogue [N, F]
//	x   = LayerNorm(x + f·W₂ᵀ + b₂)                       Sgemm + fused row pass
//
// where the epilogues (bias, activation) run inside the product as each
// strip of the output is finished (kernels.SgemmEpilogue), and the row
// passes (bias, residual, LayerNorm) on the SIMD kernels of package kernels,
// parallel over rows, while each row is still in cache. Every buffer lives in a Workspace; a pass allocates
// nothing but the goroutines of the parallel loops.

// rowGrain is the fewest rows a worker takes in the row-parallel passes.
const rowGrain = 8

// Workspace holds the activations of inference passes over batches of up
// to B×T tokens. It grows when a larger batch comes, and is otherwise reused
// without allocation. A Workspace is not safe for concurrent use; a loaded
// model is, each goroutine bringing its own Workspace. Slices returned by
// Infer point into the workspace and stay valid until its next use.
type Workspace struct {
	B, T   int       // shape of the last batch
	x      []float32 // [N, C] the residual stream: hidden states
	qkv    []float32 // [N, 3C] q | k | v per row
	ctx    []float32 // [N, C] attention output, heads side by side
	h      []float32 // [N, C] a projection's output before the residual
	ff     []float32 // [N, F] feed-forward hidden layer
	scores []float32 // [B, H, T, T] attention probabilities of the last layer
	first  []float32 // [B, C] the [CLS] rows
	pooled []float32 // [B, C] pooler output
	valid  []bool    // [B, T] attention mask as flags
	// Head outputs (MLM rows, NSP and classifier logits).
	mlm, logits []float32
}

// NewWorkspace returns a workspace sized for batches of B×T tokens.
func (m *Model) NewWorkspace(B, T int) *Workspace {
	ws := &Workspace{}
	ws.ensure(m.Config, B, T)
	return ws
}

// grow returns s resliced to n values, reallocating only when too short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// ensure sizes ws for a B×T batch of cfg's model.
func (ws *Workspace) ensure(cfg Config, B, T int) {
	N, C, F, H := B*T, cfg.HiddenSize, cfg.Intermediate, cfg.NumHeads
	ws.B, ws.T = B, T
	ws.x = grow(ws.x, N*C)
	ws.qkv = grow(ws.qkv, N*3*C)
	ws.ctx = grow(ws.ctx, N*C)
	ws.h = grow(ws.h, N*C)
	ws.ff = grow(ws.ff, N*F)
	ws.scores = grow(ws.scores, B*H*T*T)
	ws.first = grow(ws.first, B*C)
	ws.pooled = grow(ws.pooled, B*C)
	if cap(ws.valid) < N {
		ws.valid = make([]bool, N)
	}
	ws.valid = ws.valid[:N]
}

// Infer runs BertModel over in without a graph. It returns the last hidden
// state [B, T, C] and the pooler output [B, C] (nil for a model without a
// pooler), both views into ws.
func (m *Model) Infer(ws *Workspace, in Input) (hidden, pooled []float32, err error) {
	if err := in.check(m.Config); err != nil {
		return nil, nil, err
	}
	cfg := m.Config
	ws.ensure(cfg, in.B, in.T)
	for i := range ws.valid {
		ws.valid[i] = in.Mask == nil || in.Mask[i] == 1
	}
	m.embed(ws, in)
	for _, l := range m.Layers {
		l.infer(ws, cfg)
	}
	N := in.B * in.T
	hidden = ws.x[:N*cfg.HiddenSize]
	if m.Pooler == nil {
		return hidden, nil, nil
	}
	C := cfg.HiddenSize
	for b := range in.B { // x[:, 0]: the [CLS] rows   [B, C]
		copy(ws.first[b*C:(b+1)*C], ws.x[b*in.T*C:])
	}
	linearRows(ws.pooled, ws.first, m.Pooler, in.B, C, C)
	kernels.ParallelFor(in.B, rowGrain, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			row := ws.pooled[b*C : (b+1)*C]
			kernels.Add(row, row, m.Pooler.Bias.Value.Data())
			kernels.Tanh(row, row)
		}
	})
	return hidden, ws.pooled[:in.B*C], nil
}

// embed writes x = LayerNorm(word[id] + position[t] + type[tt]) for every
// row.
func (m *Model) embed(ws *Workspace, in Input) {
	e, C, T := m.Embeddings, m.Config.HiddenSize, in.T
	word, pos, typ := e.Word.Weight.Value.Data(), e.Position.Weight.Value.Data(), e.TokenType.Weight.Value.Data()
	gamma, beta, eps := e.Norm.Weight.Value.Data(), e.Norm.Bias.Value.Data(), e.Norm.Eps
	kernels.ParallelFor(in.B*T, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			tt := 0
			if in.TypeIDs != nil {
				tt = in.TypeIDs[n]
			}
			row, id, t := ws.x[n*C:(n+1)*C], in.IDs[n], n%T
			kernels.Add(row, word[id*C:(id+1)*C], pos[t*C:(t+1)*C])
			kernels.Add(row, row, typ[tt*C:(tt+1)*C])
			kernels.LayerNorm(row, row, gamma, beta, eps)
		}
	})
}

// infer applies the layer to ws.x in place.
func (l *Layer) infer(ws *Workspace, cfg Config) {
	B, T, C, F, H := ws.B, ws.T, cfg.HiddenSize, cfg.Intermediate, cfg.NumHeads
	N := B * T
	x, qkv, ctx, h, ff := ws.x[:N*C], ws.qkv[:N*3*C], ws.ctx[:N*C], ws.h[:N*C], ws.ff[:N*F]

	// Fused q | k | v projection, bias added as the product is written. [N, 3C]
	kernels.SgemmEpilogue(false, true, N, 3*C, C, 1, x, C, l.qkvW, C, 0, qkv, 3*C, &kernels.Epilogue{Bias: l.qkvB})
	attend(ws, ctx, qkv, B, T, C, H) //                                [N, C]

	// Attention output, residual, LayerNorm.                         [N, C]
	linearRows(h, ctx, l.AttnOut, N, C, C)
	addNorm(x, h, l.AttnOut.Bias.Value.Data(), l.AttnNorm, N, C)

	// Feed-forward: bias and activation fused into the product.      [N, F]
	kernels.SgemmEpilogue(false, true, N, F, C, 1, x, C, l.FF.Linear1.Weight.Value.Data(), C, 0, ff, F,
		&kernels.Epilogue{Bias: l.FF.Linear1.Bias.Value.Data(), Act: activation(l.FF.Act)})
	linearRows(h, ff, l.FF.Linear2, N, F, C)
	addNorm(x, h, l.FF.Linear2.Bias.Value.Data(), l.OutNorm, N, C)
}

// linearRows computes out = x·Wᵀ for x [n, in] and lin's weight [out, in];
// the caller adds the bias in its row pass.
func linearRows(out, x []float32, lin *nn.Linear, n, in, outDim int) {
	kernels.Sgemm(false, true, n, outDim, in, 1, x, in, lin.Weight.Value.Data(), in, 0, out, outDim)
}

// addNorm computes x = LayerNorm(x + h + bias) row by row.
func addNorm(x, h, bias []float32, norm *nn.LayerNorm, N, C int) {
	gamma, beta, eps := norm.Weight.Value.Data(), norm.Bias.Value.Data(), norm.Eps
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			xr, hr := x[n*C:(n+1)*C], h[n*C:(n+1)*C]
			kernels.Add(hr, hr, bias)
			kernels.Add(hr, hr, xr)
			kernels.LayerNorm(xr, hr, gamma, beta, eps)
		}
	})
}

// activateRow applies act to row in place.
func activateRow(act nn.Activation, row []float32) { activation(act)(row, row) }

// activation returns the kernel of act (dst and x may alias).
func activation(act nn.Activation) func(dst, x []float32) {
	switch act {
	case nn.GELUTanh:
		return kernels.GELUTanh
	case nn.ReLU:
		return kernels.ReLU
	case nn.SiLU:
		return kernels.SiLU
	default:
		return kernels.GELU
	}
}

// attend computes scaled dot-product attention for every (batch, head)
// pair in parallel: for q, k, v [T, D] read in place from qkv [N, 3C],
//
//	P = softmax(q·kᵀ/√D with padding keys at −max float32)     [T, T]
//	ctx[:, h·D:(h+1)·D] = P·v                                   [T, D]
//
// As in Hugging Face (whose additive mask is float32's lowest value),
// padding keys get probability exactly 0.
func attend(ws *Workspace, ctx, qkv []float32, B, T, C, H int) {
	D := C / H
	scale := float32(1 / math.Sqrt(float64(D)))
	lowest := float32(-math.MaxFloat32)
	ld := 3 * C
	kernels.ParallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			base := b * T * ld
			q, k, v := qkv[base+h*D:], qkv[base+C+h*D:], qkv[base+2*C+h*D:]
			P := ws.scores[bh*T*T : (bh+1)*T*T]
			kernels.Sgemm(false, true, T, T, D, scale, q, ld, k, ld, 0, P, T)
			valid := ws.valid[b*T : (b+1)*T]
			for i := range T {
				row := P[i*T : (i+1)*T]
				for j, ok := range valid {
					if !ok {
						row[j] = lowest
					}
				}
				kernels.Softmax(row, row)
			}
			kernels.Sgemm(false, false, T, D, T, 1, P, T, v, ld, 0, ctx[b*T*C+h*D:], C)
		}
	})
}

// Infer computes the masked-LM logits [len(rows), V] for the given rows of
// the hidden state the last Model.Infer on ws produced (row = b·T + t),
// for instance the [MASK] positions. The result is a view into ws.
func (h *MLMHead) Infer(ws *Workspace, rows []int) ([]float32, error) {
	C, V := h.Dense.Weight.Value.Dim(1), h.Decoder.Value.Dim(0)
	N := ws.B * ws.T
	for _, r := range rows {
		if r < 0 || r >= N {
			return nil, fmt.Errorf("bert: MLM row %d outside [0, %d)", r, N)
		}
	}
	R := len(rows)
	sel := grow(ws.first, R*C) // gather the rows                       [R, C]
	ws.first = sel
	for i, r := range rows {
		copy(sel[i*C:(i+1)*C], ws.x[r*C:(r+1)*C])
	}
	t := grow(ws.mlm, R*C)
	ws.mlm = t
	linearRows(t, sel, h.Dense, R, C, C) //                                   [R, C]
	bias, gamma, beta := h.Dense.Bias.Value.Data(), h.Norm.Weight.Value.Data(), h.Norm.Bias.Value.Data()
	for i := range R {
		row := t[i*C : (i+1)*C]
		kernels.Add(row, row, bias)
		activateRow(h.Act, row)
		kernels.LayerNorm(row, row, gamma, beta, h.Norm.Eps)
	}
	logits := grow(ws.logits, R*V)
	ws.logits = logits
	kernels.Sgemm(false, true, R, V, C, 1, t, C, h.Decoder.Value.Data(), C, 0, logits, V) // [R, V]
	vb := h.Bias.Value.Data()
	for i := range R {
		row := logits[i*V : (i+1)*V]
		kernels.Add(row, row, vb)
	}
	return logits, nil
}

// InferNSP returns the next-sentence logits [B, 2] of the batch the last
// Infer of m.Bert on ws ran (0 = "B follows A").
func (m *ForPreTraining) InferNSP(ws *Workspace) []float32 {
	return headRows(ws, ws.pooled[:ws.B*m.Bert.Config.HiddenSize], m.NSP, ws.B)
}

// Infer runs the classifier without a graph and returns its logits
// [B, labels], a view into ws.
func (m *ForSequenceClassification) Infer(ws *Workspace, in Input) ([]float32, error) {
	_, pooled, err := m.Bert.Infer(ws, in)
	if err != nil {
		return nil, err
	}
	return headRows(ws, pooled, m.Classifier, in.B), nil
}

// headRows computes W·x + b for n rows of x into ws.logits.
func headRows(ws *Workspace, x []float32, lin *nn.Linear, n int) []float32 {
	out, in := lin.Weight.Value.Dim(0), lin.Weight.Value.Dim(1)
	logits := grow(ws.logits, n*out)
	ws.logits = logits
	linearRows(logits, x, lin, n, in, out)
	for i := range n {
		row := logits[i*out : (i+1)*out]
		kernels.Add(row, row, lin.Bias.Value.Data())
	}
	return logits
}
