package kernels_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// A linear layer y = x·Wᵀ + b with a PyTorch-style weight W [out, in],
// packed once and applied to a batch of rows with the bias fused.
func ExampleSgemmPacked() {
	const in, out, rows = 3, 2, 2
	w := []float32{ // [out, in]
		1, 0, -1,
		2, 1, 0,
	}
	bias := []float32{10, 20}
	pw := kernels.PackB(true, in, out, w, in) // op(B) = Wᵀ, in × out

	x := []float32{ // [rows, in]
		1, 2, 3,
		4, 5, 6,
	}
	y := make([]float32, rows*out)
	kernels.SgemmPacked(false, rows, 1, x, in, pw, 0, y, out, &kernels.Epilogue{Bias: bias})
	fmt.Println(y)
	// Output: [8 24 8 33]
}
