package kernels_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

func ExampleSoftmax() {
	logits := []float32{1, 2, 3, 4}
	probs := make([]float32, len(logits))
	kernels.Softmax(probs, logits)
	fmt.Printf("%.4f\n", probs)
	// Output: [0.0321 0.0871 0.2369 0.6439]
}

func ExampleLayerNorm() {
	x := []float32{1, 2, 3, 4}
	y := make([]float32, len(x))
	mean, rstd := kernels.LayerNorm(y, x, nil, nil, 1e-5)
	fmt.Printf("mean %.2f rstd %.4f y %.4f\n", mean, rstd, y)
	// Output: mean 2.50 rstd 0.8944 y [-1.3416 -0.4472 0.4472 1.3416]
}

func ExampleBF16ToF32() {
	raw := []uint16{0x3f80, 0xc000, 0x3fc0} // bfloat16 bit patterns from a checkpoint
	w := make([]float32, len(raw))
	kernels.BF16ToF32(w, raw)
	fmt.Println(w)
	// Output: [1 -2 1.5]
}
