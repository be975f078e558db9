package autograd

import (
	"math"
	"math/bits"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// Graph is the arena a training step draws its buffers from: the values of
// intermediate results and the temporary gradients of Backward. Reusing the
// same Graph step after step reaches a steady state in which forward and
// backward allocate almost nothing.
//
// Bind the model's parameters to the graph once with Attach; every op that
// has an attached (or op-produced) input then allocates from it, and its
// result carries the graph on. Intermediate gradients return to the pool as
// soon as Backward has used them; values return on Reset, which the training
// loop calls once the step's results (loss, logits) have been read:
//
//	g := autograd.NewGraph()
//	g.Attach(params...)
//	for step := range steps {
//		g.Reset()                  // recycle the previous step's buffers
//		loss := model.Loss(batch)  // ops allocate from g
//		autograd.Backward(loss)    // grads accumulate into params' Grad
//		opt.Step(); autograd.ZeroGrad(params...)
//	}
//
// A nil *Graph is valid and allocates from the Go heap. A Graph is not safe
// for concurrent use: one per training goroutine.
type Graph struct {
	free   map[int][][]float32 // idle buffers by capacity (a size class)
	used   [][]float32
	topo   []*Var
	stack  []*Var
	noGrad bool
	poison bool // tests: fill recycled buffers with NaN to expose reads of stale data

	bf16   bool                // linear layers in bfloat16 mixed precision (SetBF16)
	packed *kernels.PackedBF16 // the B operand of the last bfloat16 product, reused
}

// SetGradEnabled switches gradient recording for ops drawing from g (like
// torch.no_grad when off): with it off, ops on parameters attached to g
// record nothing, e.g. for evaluation during training. It returns the
// previous setting.
func (g *Graph) SetGradEnabled(on bool) (prev bool) {
	prev = !g.noGrad
	g.noGrad = !on
	return prev
}

// NewGraph returns an empty graph arena.
func NewGraph() *Graph { return &Graph{free: make(map[int][][]float32)} }

// Attach binds vs (typically parameters or inputs) to g, so that ops on them
// draw their buffers from g.
func (g *Graph) Attach(vs ...*Var) {
	for _, v := range vs {
		v.graph = g
	}
}

// Var returns a leaf bound to g.
func (g *Graph) Var(value *tensor.Tensor, requiresGrad bool) *Var {
	v := NewVar(value, requiresGrad)
	v.graph = g
	return v
}

// Reset returns every buffer handed out since the previous Reset to the
// pool. Values of Vars computed under g before the call must not be used
// afterwards; leaf values and leaf gradients are never pooled.
func (g *Graph) Reset() {
	if g == nil {
		return
	}
	for i, b := range g.used {
		g.put(b)
		g.used[i] = nil
	}
	g.used = g.used[:0]
}

// Free drops every pooled buffer (after a Reset), returning the memory to
// the garbage collector, for example after the batch shape has shrunk for
// good.
func (g *Graph) Free() {
	if g == nil {
		return
	}
	g.Reset()
	clear(g.free)
}

// Alloc returns a zeroed contiguous tensor from g's pool, valid until Reset.
// On a nil Graph it is tensor.New.
func (g *Graph) Alloc(shape ...int) *tensor.Tensor {
	t := g.alloc(shape)
	t.Zero()
	return t
}

// get returns a buffer of length n with undefined contents.
// get returns a buffer of length n whose capacity is n's size class, so
// that steps whose shapes vary a little (dynamic padding, a masked-LM head
// over a varying number of positions) reuse each other's buffers instead of
// growing the pool with every new size.
func (g *Graph) get(n int) []float32 {
	if g == nil {
		return make([]float32, n)
	}
	c := sizeClass(n)
	if l := g.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		g.free[c] = l[:len(l)-1]
		return b[:n]
	}
	return make([]float32, n, c)
}

func (g *Graph) put(b []float32) {
	c := cap(b)
	if g == nil || b == nil || sizeClass(c) != c {
		return // not from get: leave it to the garbage collector
	}
	b = b[:c]
	if g.poison {
		nan := float32(math.NaN())
		for i := range b {
			b[i] = nan
		}
	}
	g.free[c] = append(g.free[c], b)
}

// sizeClass rounds n up to the next of eight steps between consecutive
// powers of two (at most 12.5 % more), with a floor of 16.
func sizeClass(n int) int {
	if n <= 16 {
		return 16
	}
	step := 1 << max(bits.Len(uint(n-1))-4, 0)
	return (n + step - 1) &^ (step - 1)
}

// alloc returns a tensor with undefined contents (zero on a nil graph),
// recycled on Reset.
func (g *Graph) alloc(shape tensor.Shape) *tensor.Tensor {
	b := g.get(shape.Numel())
	if g != nil {
		g.used = append(g.used, b)
	}
	return tensor.MustFromData(b, shape...)
}

// floats returns a scratch slice recycled on Reset.
func (g *Graph) floats(n int) []float32 {
	b := g.get(n)
	if g != nil {
		g.used = append(g.used, b)
	}
	return b
}

// allocTemp returns a tensor with undefined contents that the caller
// returns with releaseTemp.
func (g *Graph) allocTemp(shape tensor.Shape) *tensor.Tensor {
	return tensor.MustFromData(g.get(shape.Numel()), shape...)
}

// releaseTemp returns a tensor obtained from allocTemp to the pool.
func (g *Graph) releaseTemp(t *tensor.Tensor) {
	if g == nil || t == nil {
		return
	}
	g.put(t.Data())
}

// gradients

// accumulateWith adds the result of fill into v.Grad. fill must overwrite
// every element of the contiguous dst it is given (v.Value's shape). When v
// has no gradient yet, fill writes straight into the new gradient buffer.
func accumulateWith(v *Var, fill func(dst *tensor.Tensor)) {
	if !v.requiresGrad {
		return
	}
	if v.Grad == nil {
		v.Grad = newGrad(v)
		fill(v.Grad)
		return
	}
	tmp := v.graph.allocTemp(v.Value.Shape())
	fill(tmp)
	tensor.AddInto(v.Grad, v.Grad, tmp)
	v.graph.releaseTemp(tmp)
}

// accumulate adds g, summed over the dimensions along which v was
// broadcast, into v.Grad.
func accumulate(v *Var, g *tensor.Tensor) {
	if !v.requiresGrad {
		return
	}
	if v.Grad == nil && g.Shape().Equal(v.Value.Shape()) {
		v.Grad = newGrad(v)
		v.Grad.CopyFrom(g)
		return
	}
	tensor.AccumulateInto(gradZeroed(v), g)
}

// gradZeroed returns v.Grad, creating it zero-filled when missing.
func gradZeroed(v *Var) *tensor.Tensor {
	if v.Grad == nil {
		v.Grad = newGrad(v)
		v.Grad.Zero()
	}
	return v.Grad
}

// gradBeta returns v.Grad (created when missing) and the Gemm beta to use:
// 0 when the buffer is new (its contents are undefined), 1 to accumulate.
func gradBeta(v *Var) (*tensor.Tensor, float32) {
	if v.Grad == nil {
		v.Grad = newGrad(v)
		return v.Grad, 0
	}
	return v.Grad, 1
}

// newGrad allocates a gradient buffer for v with undefined contents: leaves
// get a persistent heap buffer, intermediates a pooled temporary.
func newGrad(v *Var) *tensor.Tensor {
	if v.leaf {
		return tensor.New(v.Value.Shape()...)
	}
	return v.graph.allocTemp(v.Value.Shape())
}
