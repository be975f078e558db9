package autograd

import (
	"math"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// randVar returns a seeded standard-normal parameter of the given shape.
func randVar(rng *tensor.RNG, shape ...int) *Var { return Param(rng.Randn(shape...)) }

// posVar returns a parameter with values in [0.5, 1.5).
func posVar(rng *tensor.RNG, shape ...int) *Var {
	t := tensor.New(shape...)
	rng.Uniform(t, 0.5, 1.5)
	return Param(t)
}

type gradCase struct {
	name   string
	inputs func(rng *tensor.RNG) []*Var
	f      func(in []*Var) *Var
	opts   GradCheckOptions
}

func must(v *Var, err error) *Var {
	if err != nil {
		panic(err)
	}
	return v
}

func gradCases() []gradCase {
	two := func(sa, sb []int) func(rng *tensor.RNG) []*Var {
		return func(rng *tensor.RNG) []*Var { return []*Var{randVar(rng, sa...), randVar(rng, sb...)} }
	}
	one := func(s ...int) func(rng *tensor.RNG) []*Var {
		return func(rng *tensor.RNG) []*Var { return []*Var{randVar(rng, s...)} }
	}
	pos := func(s ...int) func(rng *tensor.RNG) []*Var {
		return func(rng *tensor.RNG) []*Var { return []*Var{posVar(rng, s...)} }
	}
	return []gradCase{
		{"add", two([]int{2, 3}, []int{2, 3}), func(v []*Var) *Var { return Add(v[0], v[1]) }, GradCheckOptions{}},
		{"add/broadcast", two([]int{2, 3, 4}, []int{3, 1}), func(v []*Var) *Var { return Add(v[0], v[1]) }, GradCheckOptions{}},
		{"add/self", one(3, 2), func(v []*Var) *Var { return Add(v[0], v[0]) }, GradCheckOptions{}},
		{"sub/broadcast", two([]int{4}, []int{3, 4}), func(v []*Var) *Var { return Sub(v[0], v[1]) }, GradCheckOptions{}},
		{"mul/broadcast", two([]int{2, 1, 4}, []int{3, 1}), func(v []*Var) *Var { return Mul(v[0], v[1]) }, GradCheckOptions{}},
		{"mul/self", one(5), func(v []*Var) *Var { return Mul(v[0], v[0]) }, GradCheckOptions{}},
		{"div", func(rng *tensor.RNG) []*Var { return []*Var{randVar(rng, 2, 3), posVar(rng, 3)} },
			func(v []*Var) *Var { return Div(v[0], v[1]) }, GradCheckOptions{}},
		{"add-scalar", one(4), func(v []*Var) *Var { return AddScalar(v[0], 2) }, GradCheckOptions{}},
		{"mul-scalar", one(4), func(v []*Var) *Var { return MulScalar(v[0], -3) }, GradCheckOptions{}},
		{"neg", one(4), func(v []*Var) *Var { return Neg(v[0]) }, GradCheckOptions{}},
		{"exp", one(2, 3), func(v []*Var) *Var { return Exp(v[0]) }, GradCheckOptions{}},
		{"log", pos(2, 3), func(v []*Var) *Var { return Log(v[0]) }, GradCheckOptions{}},
		{"sqrt", pos(2, 3), func(v []*Var) *Var { return Sqrt(v[0]) }, GradCheckOptions{}},
		{"pow", pos(2, 3), func(v []*Var) *Var { return Pow(v[0], 2.5) }, GradCheckOptions{}},
		{"tanh", one(2, 3), func(v []*Var) *Var { return Tanh(v[0]) }, GradCheckOptions{}},
		{"sigmoid", one(2, 3), func(v []*Var) *Var { return Sigmoid(v[0]) }, GradCheckOptions{}},
		{"relu", one(2, 5), func(v []*Var) *Var { return ReLU(v[0]) }, GradCheckOptions{Eps: 1e-3}},
		{"gelu", one(2, 5), func(v []*Var) *Var { return GELU(v[0]) }, GradCheckOptions{}},
		{"gelu-tanh", one(2, 5), func(v []*Var) *Var { return GELUTanh(v[0]) }, GradCheckOptions{}},
		{"silu", one(2, 5), func(v []*Var) *Var { return SiLU(v[0]) }, GradCheckOptions{}},
		{"masked-fill", one(2, 3), func(v []*Var) *Var {
			return MaskedFill(v[0], tensor.MustFromData([]float32{0, 1, 0}, 3), -5)
		}, GradCheckOptions{}},
		{"dropout", one(4, 5), func(v []*Var) *Var { return Dropout(v[0], 0.3, tensor.NewRNG(7)) }, GradCheckOptions{}},
		{"sum/axis0", one(3, 4), func(v []*Var) *Var { return Sum(v[0], 0, false) }, GradCheckOptions{}},
		{"sum/axis-1/keep", one(2, 3, 4), func(v []*Var) *Var { return Sum(v[0], -1, true) }, GradCheckOptions{}},
		{"mean/axis1", one(2, 3, 4), func(v []*Var) *Var { return Mean(v[0], 1, false) }, GradCheckOptions{}},
		{"sum-all", one(2, 3), func(v []*Var) *Var { return SumAll(v[0]) }, GradCheckOptions{}},
		{"mean-all", one(2, 3), func(v []*Var) *Var { return MeanAll(v[0]) }, GradCheckOptions{}},
		{"max/axis1", one(3, 4), func(v []*Var) *Var { return Max(v[0], 1, false) }, GradCheckOptions{Eps: 1e-3}},
		{"matmul", two([]int{3, 4}, []int{4, 5}), func(v []*Var) *Var { return MatMul(v[0], v[1]) }, GradCheckOptions{}},
		{"matmul/batched", two([]int{2, 3, 4}, []int{2, 4, 2}), func(v []*Var) *Var { return MatMul(v[0], v[1]) }, GradCheckOptions{}},
		{"matmul/shared-weight", two([]int{2, 3, 4}, []int{4, 2}), func(v []*Var) *Var { return MatMul(v[0], v[1]) }, GradCheckOptions{}},
		{"matmul/broadcast-a", two([]int{3, 4}, []int{2, 4, 2}), func(v []*Var) *Var { return MatMul(v[0], v[1]) }, GradCheckOptions{}},
		{"matmul/transposed-views", two([]int{2, 4, 3}, []int{2, 5, 4}), func(v []*Var) *Var {
			return MatMul(Transpose(v[0], 1, 2), Transpose(v[1], -1, -2))
		}, GradCheckOptions{}},
		{"linear", func(rng *tensor.RNG) []*Var {
			return []*Var{randVar(rng, 2, 3, 4), randVar(rng, 5, 4), randVar(rng, 5)}
		}, func(v []*Var) *Var { return Linear(v[0], v[1], v[2]) }, GradCheckOptions{}},
		{"linear/no-bias", two([]int{3, 4}, []int{2, 4}), func(v []*Var) *Var { return Linear(v[0], v[1], nil) }, GradCheckOptions{}},
		{"linear-t", func(rng *tensor.RNG) []*Var {
			return []*Var{randVar(rng, 2, 3, 4), randVar(rng, 4, 5), randVar(rng, 5)}
		}, func(v []*Var) *Var { return LinearT(v[0], v[1], v[2]) }, GradCheckOptions{}},
		{"softmax", one(3, 5), func(v []*Var) *Var { return Softmax(v[0]) }, GradCheckOptions{}},
		{"log-softmax", one(3, 5), func(v []*Var) *Var { return LogSoftmax(v[0]) }, GradCheckOptions{}},
		{"layer-norm", func(rng *tensor.RNG) []*Var {
			return []*Var{randVar(rng, 2, 3, 6), randVar(rng, 6), randVar(rng, 6)}
		}, func(v []*Var) *Var { return LayerNorm(v[0], v[1], v[2], 1e-5) }, GradCheckOptions{RTol: 2e-2}},
		{"layer-norm/no-affine", one(4, 6), func(v []*Var) *Var { return LayerNorm(v[0], nil, nil, 1e-5) }, GradCheckOptions{RTol: 2e-2}},
		{"rms-norm", two([]int{3, 6}, []int{6}), func(v []*Var) *Var { return RMSNorm(v[0], v[1], 1e-6) }, GradCheckOptions{RTol: 2e-2}},
		{"rms-norm/no-gamma", one(3, 6), func(v []*Var) *Var { return RMSNorm(v[0], nil, 1e-6) }, GradCheckOptions{RTol: 2e-2}},
		{"layer-norm/const-x", func(rng *tensor.RNG) []*Var {
			return []*Var{Const(rng.Randn(3, 5)), randVar(rng, 5), randVar(rng, 5)}
		}, func(v []*Var) *Var { return LayerNorm(v[0], v[1], v[2], 1e-5) }, GradCheckOptions{}},
		{"softmax/masked", one(2, 4), func(v []*Var) *Var {
			inf := float32(math.Inf(-1))
			return Softmax(Add(v[0], Const(tensor.MustFromData([]float32{0, inf, 0, inf}, 4))))
		}, GradCheckOptions{}},
		{"embedding", one(5, 3), func(v []*Var) *Var { return must(Embedding(v[0], []int{1, 4, 1, 0, 2, 1}, 2, 3)) }, GradCheckOptions{}},
		{"cross-entropy", one(4, 5), func(v []*Var) *Var {
			return must(CrossEntropy(v[0], []int{1, -100, 4, 0}, tensor.CrossEntropyOptions{}))
		}, GradCheckOptions{}},
		{"cross-entropy/smoothing", one(2, 3, 5), func(v []*Var) *Var {
			return must(CrossEntropy(v[0], []int{1, 2, 4, 0, 3, 3}, tensor.CrossEntropyOptions{LabelSmoothing: 0.1}))
		}, GradCheckOptions{}},
		{"bce-with-logits", one(2, 4), func(v []*Var) *Var {
			return must(BCEWithLogits(v[0], []float32{1, 0, 0, 1, 0.25, 1, 0, 0}, nil))
		}, GradCheckOptions{}},
		{"bce-with-logits/weighted", one(3, 2), func(v []*Var) *Var {
			return must(BCEWithLogits(v[0], []float32{1, 0, 0, 1, 1, 0}, []float32{1, 1, 0, 1, 0, 1}))
		}, GradCheckOptions{}},
		{"reshape", one(2, 6), func(v []*Var) *Var { return Mul(Reshape(v[0], 3, -1), Reshape(v[0], 3, 4)) }, GradCheckOptions{}},
		{"permute", one(2, 3, 4), func(v []*Var) *Var { return Reshape(Permute(v[0], 2, 0, 1), -1) }, GradCheckOptions{}},
		{"slice", one(4, 3), func(v []*Var) *Var { return Mul(Slice(v[0], 0, 1, 3), Slice(v[0], 0, 2, 4)) }, GradCheckOptions{}},
		{"select", one(4, 3), func(v []*Var) *Var { return Select(v[0], 1, 2) }, GradCheckOptions{}},
		{"expand", one(3, 1), func(v []*Var) *Var { return Exp(Expand(v[0], 2, 3, 4)) }, GradCheckOptions{}},
		{"unsqueeze-squeeze", one(3, 2), func(v []*Var) *Var { return Squeeze(Unsqueeze(v[0], 1), 1) }, GradCheckOptions{}},
		{"concat", two([]int{2, 3}, []int{2, 2}), func(v []*Var) *Var { return Tanh(Concat(1, v[0], v[1], v[0])) }, GradCheckOptions{}},
		{"split", one(5, 2), func(v []*Var) *Var {
			p := Split(v[0], 0, 2, 3)
			return Concat(0, Exp(p[1]), p[0])
		}, GradCheckOptions{}},
		{"contiguous", one(3, 4), func(v []*Var) *Var { return Contiguous(Transpose(v[0], 0, 1)) }, GradCheckOptions{}},
		{"composite/mlp", func(rng *tensor.RNG) []*Var {
			return []*Var{randVar(rng, 3, 4), randVar(rng, 6, 4), randVar(rng, 6), randVar(rng, 2, 6)}
		}, func(v []*Var) *Var {
			h := GELUTanh(Linear(v[0], v[1], v[2]))
			return must(CrossEntropy(Linear(h, v[3], nil), []int{0, 1, 1}, tensor.CrossEntropyOptions{}))
		}, GradCheckOptions{}},
	}
}

func TestGradCheck(t *testing.T) {
	for i, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			rng := tensor.NewRNG(uint64(100 + i))
			in := tc.inputs(rng)
			if err := GradCheck(func() *Var { return tc.f(in) }, in, tc.opts); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGradCheckCatchesWrongGradient makes sure GradCheck can fail: an op
// whose backward is off by a factor must be reported.
func TestGradCheckCatchesWrongGradient(t *testing.T) {
	x := Param(tensor.NewRNG(1).Randn(3))
	wrongSquare := func(x *Var) *Var {
		out := tensor.Mul(x.Value, x.Value)
		return record(nil, out, func(gr *tensor.Tensor) {
			accumulateWith(x, func(dst *tensor.Tensor) { tensor.MulInto(dst, gr, x.Value) }) // misses the 2
		}, x)
	}
	if err := GradCheck(func() *Var { return wrongSquare(x) }, []*Var{x}, GradCheckOptions{}); err == nil {
		t.Fatal("GradCheck accepted a wrong gradient")
	}
}

func TestGradAccumulatesAcrossBackward(t *testing.T) {
	w := Param(tensor.MustFromData([]float32{1, 2}, 2))
	for i := 0; i < 3; i++ {
		Backward(SumAll(Mul(w, w)))
	}
	// d/dw Σw² = 2w, three times.
	if got := w.Grad.Values(); got[0] != 6 || got[1] != 12 {
		t.Fatalf("accumulated grad %v, want [6 12]", got)
	}
	buf := w.Grad
	ZeroGrad(w)
	Backward(SumAll(w))
	if w.Grad != buf || w.Grad.Values()[0] != 1 {
		t.Fatalf("after ZeroGrad: grad %v (same buffer %v)", w.Grad.Values(), w.Grad == buf)
	}
}

func TestNoGraphWithoutGrad(t *testing.T) {
	w := Const(tensor.NewRNG(1).Randn(3, 3))
	x := Const(tensor.NewRNG(2).Randn(2, 3))
	y := Softmax(Linear(x, w, nil))
	if y.RequiresGrad() || y.parents != nil || y.backward != nil {
		t.Fatal("inference recorded a graph")
	}
}

func TestIntermediateGradsReleased(t *testing.T) {
	g := NewGraph()
	w := Param(tensor.NewRNG(1).Randn(4, 4))
	g.Attach(w)
	x := g.Var(tensor.NewRNG(2).Randn(3, 4), false)
	h := GELU(Linear(x, w, nil))
	loss := MeanAll(h)
	Backward(loss)
	if h.Grad != nil || loss.Grad != nil {
		t.Error("intermediate gradients kept after Backward")
	}
	if w.Grad == nil {
		t.Error("leaf gradient missing")
	}
}

func TestGraphNoGrad(t *testing.T) {
	g := NewGraph()
	w := Param(tensor.NewRNG(1).Randn(3, 3))
	g.Attach(w)
	x := g.Var(tensor.NewRNG(2).Randn(2, 3), false)
	prev := g.SetGradEnabled(false)
	y := Linear(x, w, nil)
	if !prev || y.RequiresGrad() {
		t.Fatalf("no-grad mode recorded a graph (prev %v)", prev)
	}
	g.SetGradEnabled(true)
	if !Linear(x, w, nil).RequiresGrad() {
		t.Fatal("grad mode not restored")
	}
}

// TestOpsUnderPoisonedGraph runs every gradient case twice through a Graph
// whose recycled buffers are filled with NaN, and compares values and
// gradients with heap-allocated runs: an op that reads memory it did not
// write would show NaNs or differences.
func TestOpsUnderPoisonedGraph(t *testing.T) {
	for i, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.inputs(tensor.NewRNG(uint64(100 + i)))
			run := func(g *Graph, steps int) []*tensor.Tensor {
				for _, v := range in {
					v.graph = g
				}
				var res []*tensor.Tensor
				for s := 0; s < steps; s++ {
					g.Reset()
					for _, v := range in {
						v.Grad = nil
					}
					out := tc.f(in)
					r := tensor.NewRNG(1).Randn(out.Value.Shape()...)
					res = []*tensor.Tensor{out.Value.Clone()}
					BackwardWith(out, r)
					for _, v := range in {
						if v.Grad == nil {
							res = append(res, tensor.Scalar(0)) // constant input
							continue
						}
						res = append(res, v.Grad.Clone())
					}
				}
				return res
			}
			want := run(nil, 1)
			g := NewGraph()
			g.poison = true
			got := run(g, 3)
			for k := range want {
				assertClose(t, "result", got[k], want[k], 1e-6)
			}
		})
	}
}

func TestDropoutEdgeCases(t *testing.T) {
	x := Param(tensor.NewRNG(1).Randn(4, 4))
	if Dropout(x, 0, tensor.NewRNG(1)) != x {
		t.Error("Dropout(p=0) must return its input")
	}
	y := Dropout(x, 1, tensor.NewRNG(1))
	if tensor.MaxAll(tensor.Abs(y.Value)) != 0 {
		t.Error("Dropout(p=1) must zero everything")
	}
	Backward(SumAll(y))
	if tensor.MaxAll(tensor.Abs(x.Grad)) != 0 {
		t.Error("Dropout(p=1) must pass no gradient")
	}
}
