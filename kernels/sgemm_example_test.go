package kernels_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// A linear layer's forward pass, y = x·Wᵀ, with the weight stored [out, in]
// as nn.Linear keeps it: op(B) = Bᵀ.
func ExampleSgemm() {
	x := []float32{ // 2 inputs of 3 features
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{ // 2 outputs × 3 features
		1, 0, -1,
		0.5, 0.5, 0.5,
	}
	y := make([]float32, 2*2)
	kernels.Sgemm(false, true, 2, 2, 3, 1, x, 3, w, 3, 0, y, 2)
	fmt.Println(y)
	// Output: [-2 3 -2 7.5]
}
