package autograd_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// One gradient-descent step on a tiny linear classifier.
func Example() {
	w := autograd.Param(tensor.MustFromData([]float32{0, 0, 0, 0}, 2, 2)) // [out=2, in=2]
	b := autograd.Param(tensor.Zeros(2))
	x := autograd.Const(tensor.MustFromData([]float32{1, 0, 0, 1}, 2, 2)) // two examples
	targets := []int{0, 1}

	step := func() float32 {
		logits := autograd.Linear(x, w, b)
		loss, err := autograd.CrossEntropy(logits, targets, tensor.CrossEntropyOptions{})
		if err != nil {
			panic(err)
		}
		autograd.ZeroGrad(w, b)
		autograd.Backward(loss)
		for _, p := range []*autograd.Var{w, b} {
			tensor.AddInto(p.Value, p.Value, tensor.MulScalar(p.Grad, -1)) // p -= lr·grad, lr = 1
		}
		return loss.Value.Item()
	}
	fmt.Printf("loss %.4f\n", step())
	fmt.Printf("loss %.4f\n", step())
	fmt.Printf("dL/dw %.4f\n", w.Grad.Values())
	// Output:
	// loss 0.6931
	// loss 0.4741
	// dL/dw [-0.1888 0.1888 0.1888 -0.1888]
}

// A training loop reuses one Graph: after the first step, forward and
// backward draw every activation and intermediate gradient from its pool.
func ExampleGraph() {
	rng := tensor.NewRNG(1)
	w := autograd.Param(rng.Randn(4, 8)) // [out, in]
	g := autograd.NewGraph()
	g.Attach(w)
	x := g.Var(rng.Randn(16, 8), false) // a fixed batch
	targets := make([]int, 16)
	for i := range targets {
		targets[i] = i % 4
	}
	var first, last float32
	for step := 0; step < 50; step++ {
		g.Reset() // recycle the previous step's buffers
		loss, err := autograd.CrossEntropy(autograd.Linear(x, w, nil), targets, tensor.CrossEntropyOptions{})
		if err != nil {
			panic(err)
		}
		autograd.Backward(loss)
		tensor.AddInto(w.Value, w.Value, tensor.MulScalar(w.Grad, -0.5)) // SGD, lr 0.5
		w.ZeroGrad()
		if step == 0 {
			first = loss.Value.Item()
		}
		last = loss.Value.Item()
	}
	fmt.Println(last < first)
	// Output: true
}

func ExampleScaledDotProductAttention() {
	const B, H, T, D = 1, 2, 4, 8
	rng := tensor.NewRNG(1)
	q := autograd.Const(rng.Randn(B, H, T, D))
	k := autograd.Const(rng.Randn(B, H, T, D))
	v := autograd.Const(rng.Randn(B, H, T, D))
	out, probs := autograd.ScaledDotProductAttention(q, k, v, autograd.AttentionOptions{Causal: true, ReturnProbs: true})
	fmt.Println(out.Shape(), probs.Shape(), probs.At(0, 0, 0, 0), probs.At(0, 0, 0, 1))
	// Output: [1 2 4 8] [1 2 4 4] 1 0
}

// A linear layer in bfloat16 mixed precision: the product rounds its
// operands to bfloat16 (1.001 becomes 1: bfloat16 values near 1 are 2⁻⁷
// apart) and sums in float32; the weight and its gradient stay float32.
func ExampleGraph_SetBF16() {
	for _, bf16 := range []bool{false, true} {
		g := autograd.NewGraph()
		g.SetBF16(bf16)
		w := g.Var(tensor.MustFromData([]float32{1.001, 2}, 1, 2), true) // [out=1, in=2]
		x := g.Var(tensor.MustFromData([]float32{1, 0.5}, 1, 2), false)
		y := autograd.Linear(x, w, nil)
		autograd.Backward(autograd.SumAll(y))
		fmt.Printf("bf16=%v: y %.4f, w %.4f, dL/dw %.4f\n", bf16, y.Value.Item(), w.Value.Values(), w.Grad.Values())
	}
	// Output:
	// bf16=false: y 2.0010, w [1.0010 2.0000], dL/dw [1.0000 0.5000]
	// bf16=true: y 2.0000, w [1.0010 2.0000], dL/dw [1.0000 0.5000]
}
