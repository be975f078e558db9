package autograd

import (
	"math"
	"runtime"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// tinyModel is a one-block pre-norm Transformer LM used to measure a whole
// training step. B, T, C, H, V as in the paper: batch, time, channels,
// heads, vocabulary.
type tinyModel struct {
	B, T, C, H, V          int
	wte, wpe               *Var
	ln1g, ln1b, ln2g, ln2b *Var
	wqkv, bqkv, wo, bo     *Var
	w1, b1, w2, b2         *Var
	lnfg, lnfb             *Var
	rng                    *tensor.RNG
}

func newTinyModel(B, T, C, H, V int) *tinyModel {
	rng := tensor.NewRNG(1)
	p := func(shape ...int) *Var {
		t := tensor.New(shape...)
		rng.Normal(t, 0, 0.02)
		return Param(t)
	}
	ones := func(n int) *Var { return Param(tensor.Ones(n)) }
	return &tinyModel{B: B, T: T, C: C, H: H, V: V,
		wte: p(V, C), wpe: p(T, C),
		ln1g: ones(C), ln1b: p(C), ln2g: ones(C), ln2b: p(C),
		wqkv: p(C, 3*C), bqkv: p(3 * C), wo: p(C, C), bo: p(C),
		w1: p(C, 4*C), b1: p(4 * C), w2: p(4*C, C), b2: p(C),
		lnfg: ones(C), lnfb: p(C), rng: tensor.NewRNG(2),
	}
}

func (m *tinyModel) params() []*Var {
	return []*Var{m.wte, m.wpe, m.ln1g, m.ln1b, m.ln2g, m.ln2b, m.wqkv, m.bqkv, m.wo, m.bo, m.w1, m.b1, m.w2, m.b2, m.lnfg, m.lnfb}
}

func (m *tinyModel) loss(ids, pos, targets []int) *Var {
	B, T, C, H := m.B, m.T, m.C, m.H
	D := C / H
	tok, _ := Embedding(m.wte, ids, B, T)  // [B, T, C]
	ps, _ := Embedding(m.wpe, pos, 1, T)   // [1, T, C]
	x := Dropout(Add(tok, ps), 0.1, m.rng) // [B, T, C]
	h := LayerNorm(x, m.ln1g, m.ln1b, 1e-5)
	qkv := Reshape(LinearT(h, m.wqkv, m.bqkv), B, T, 3, H, D)
	q := Permute(Select(qkv, 2, 0), 0, 2, 1, 3) // [B, H, T, D] views
	k := Permute(Select(qkv, 2, 1), 0, 2, 1, 3)
	v := Permute(Select(qkv, 2, 2), 0, 2, 1, 3)
	a, _ := ScaledDotProductAttention(q, k, v, AttentionOptions{Causal: true})
	a = Reshape(Permute(a, 0, 2, 1, 3), B, T, C)
	x = Add(x, LinearT(a, m.wo, m.bo))
	h = LayerNorm(x, m.ln2g, m.ln2b, 1e-5)
	x = Add(x, LinearT(GELUTanh(LinearT(h, m.w1, m.b1)), m.w2, m.b2))
	x = LayerNorm(x, m.lnfg, m.lnfb, 1e-5)
	logits := Linear(x, m.wte, nil) // tied embeddings, [B, T, V]
	loss, _ := CrossEntropy(logits, targets, tensor.CrossEntropyOptions{})
	return loss
}

func tinyBatch(B, T, V int) (ids, pos, targets []int) {
	rng := tensor.NewRNG(3)
	for i := 0; i < B*T; i++ {
		ids = append(ids, rng.IntN(V))
		targets = append(targets, rng.IntN(V))
	}
	for t := 0; t < T; t++ {
		pos = append(pos, t)
	}
	return
}

func TestTinyModelGradCheck(t *testing.T) {
	m := newTinyModel(2, 3, 4, 2, 5)
	ids, pos, targets := tinyBatch(2, 3, 5)
	m.rng = nil
	f := func() *Var {
		m.rng = tensor.NewRNG(9)
		return m.loss(ids, pos, targets)
	}
	// Small weights make the loss nearly flat: check absolute errors only.
	if err := GradCheck(f, m.params(), GradCheckOptions{Eps: 1e-2, ATol: 2e-3, RTol: 5e-2}); err != nil {
		t.Fatal(err)
	}
}

// TestTrainingStepSteadyState checks that with a Graph, a full forward and
// backward pass reuses its buffers: after warm-up, a step allocates only
// small bookkeeping objects (Vars, closures, tensor headers), not data.
func TestTrainingStepSteadyState(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const B, T, C, H, V = 2, 16, 32, 4, 50
	m := newTinyModel(B, T, C, H, V)
	g := NewGraph()
	g.Attach(m.params()...)
	ids, pos, targets := tinyBatch(B, T, V)
	step := func() {
		g.Reset()
		loss := m.loss(ids, pos, targets)
		Backward(loss)
	}
	step()
	step()
	allocs := testing.AllocsPerRun(5, step)
	// The kernels' packing buffers live in sync.Pools, which a garbage
	// collection may empty mid-window; the least of three windows is the
	// steady state (without reuse every window would allocate the
	// activations again).
	bytes := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const n = 5
		for i := 0; i < n; i++ {
			step()
		}
		runtime.ReadMemStats(&after)
		bytes = min(bytes, (after.TotalAlloc-before.TotalAlloc)/n)
	}
	t.Logf("steady-state step: %.0f allocs, %d bytes", allocs, bytes)
	// Activations alone are > 100 kB per step; pooled steps stay far below.
	if bytes > 64<<10 {
		t.Errorf("steady-state step allocates %d bytes; buffers are not being reused", bytes)
	}
}

func BenchmarkTrainingStep(b *testing.B) {
	for _, pooled := range []bool{false, true} {
		name := "heap"
		if pooled {
			name = "graph"
		}
		b.Run(name, func(b *testing.B) {
			const B, T, C, H, V = 4, 64, 128, 4, 512
			m := newTinyModel(B, T, C, H, V)
			var g *Graph
			if pooled {
				g = NewGraph()
				g.Attach(m.params()...)
			}
			ids, pos, targets := tinyBatch(B, T, V)
			b.ReportAllocs()
			for b.Loop() {
				g.Reset()
				Backward(m.loss(ids, pos, targets))
			}
		})
	}
}

// TestGraphReuseMatchesHeap checks that recycled (dirty) pool buffers never
// leak into results: several pooled steps give the same loss and gradients
// as a step computed on fresh heap memory.
func TestGraphReuseMatchesHeap(t *testing.T) {
	const B, T, C, H, V = 2, 8, 16, 2, 20
	ids, pos, targets := tinyBatch(B, T, V)
	run := func(pooled bool, steps int) []*tensor.Tensor {
		m := newTinyModel(B, T, C, H, V)
		var g *Graph
		if pooled {
			g = NewGraph()
			g.poison = true
			g.Attach(m.params()...)
		}
		var loss float32
		for s := 0; s < steps; s++ {
			g.Reset()
			ZeroGrad(m.params()...)
			m.rng = tensor.NewRNG(2)
			l := m.loss(ids, pos, targets)
			Backward(l)
			loss = l.Value.Item()
		}
		out := []*tensor.Tensor{tensor.Scalar(loss)}
		for _, p := range m.params() {
			out = append(out, p.Grad.Clone())
		}
		return out
	}
	want, got := run(false, 1), run(true, 4)
	for i := range want {
		assertClose(t, "step", got[i], want[i], 1e-6)
	}
}
