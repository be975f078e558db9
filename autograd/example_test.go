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
	fmt.Println("dL/dw", w.Grad.Values())
	// Output:
	// loss 0.6931
	// loss 0.3133
	// dL/dw [-0.1566 0.1566 0.1566 -0.1566]
}
