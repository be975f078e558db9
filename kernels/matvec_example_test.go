package kernels_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// A linear layer at batch 1, split over the cores by blocks of output rows.
func ExampleMatVec() {
	const in, out = 3, 4
	w := []float32{ // [out, in]
		1, 0, 0,
		0, 1, 0,
		0, 0, 1,
		1, 1, 1,
	}
	x := []float32{2, 3, 5}
	y := make([]float32, out)
	kernels.ParallelFor(out, 2, func(lo, hi int) {
		kernels.MatVec(y[lo:hi], x, w[lo*in:hi*in])
	})
	fmt.Println(y)
	// Output: [2 3 5 10]
}

// The same product with the weights stored as bfloat16, as a model loaded
// with half the bytes per weight would keep them.
func ExampleMatVecBF16() {
	w := []float32{1, 0.5, -2, 0.25, 3, 1}
	wb := make([]uint16, len(w))
	kernels.F32ToBF16(wb, w) // exact here: every value fits in bfloat16
	x := []float32{4, 2}
	y := make([]float32, 3)
	kernels.MatVecBF16(y, x, wb)
	fmt.Println(y)
	// Output: [5 -7.5 14]
}

// GPT-2's Conv1D stores W as [in, out]: y = b + x·W without a transposed
// copy.
func ExampleVecMatAdd() {
	w := []float32{ // [in = 2, out = 3]
		1, 2, 3,
		10, 20, 30,
	}
	b := []float32{0.5, 0.5, 0.5}
	y := append([]float32(nil), b...)
	kernels.VecMatAdd(y, []float32{1, 0.5}, w)
	fmt.Println(y)
	// Output: [6.5 12.5 18.5]
}
