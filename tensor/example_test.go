package tensor_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/tensor"
)

func Example() {
	x := tensor.MustFromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // [2, 3]
	xt := x.T()                                                 // [3, 2] view, no copy
	fmt.Println(xt.Shape(), xt.IsContiguous())

	// Broadcasting: add a bias row to every row.
	b := tensor.MustFromData([]float32{10, 20, 30}, 3)
	fmt.Println(tensor.Add(x, b).Values())

	// The transposed view is handed to Sgemm as a flag: x @ xᵀ.
	fmt.Println(tensor.MatMul(x, xt).Values())

	fmt.Println(tensor.Sum(x, 0, false).Values(), tensor.ArgMax(x, 1))
	// Output:
	// [3 2] false
	// [11 22 33 14 25 36]
	// [14 32 32 77]
	// [5 7 9] [2 2]
}

func ExampleCrossEntropy() {
	logits := tensor.MustFromData([]float32{0, 0, 0, 0, 5, 0}, 2, 3)
	loss, err := tensor.CrossEntropy(logits, []int{1, tensor.DefaultIgnoreIndex}, tensor.CrossEntropyOptions{})
	fmt.Printf("%.4f %v\n", loss, err) // ln 3: only the first row counts
	// Output: 1.0986 <nil>
}

func ExampleRNG() {
	rng := tensor.NewRNG(42)
	w := tensor.New(2, 2)
	rng.TruncNormal(w, 0, 0.02, -0.04, 0.04) // GPT-style init
	fmt.Println(w.Shape(), tensor.MaxAll(w) <= 0.04)
	// Output: [2 2] true
}
