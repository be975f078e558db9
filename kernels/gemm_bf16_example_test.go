package kernels_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// Causal attention's scores in bfloat16: the keys are packed once, and each
// block of queries multiplies only against the keys it may see.
func ExamplePackedBF16_Columns() {
	const d, keys = 2, 64
	k := make([]float32, keys*d) // [keys, d]: key j is (j, 1)
	for j := range keys {
		k[2*j], k[2*j+1] = float32(j), 1
	}
	packed := kernels.PackF32BF16(true, d, keys, k, d) // op(B) = kᵀ, d × keys
	q := []float32{1, 0.5}                             // one query of the first block
	visible := packed.Columns(32)                      // keys [0, 32)
	scores := make([]float32, 32)
	kernels.GemmBF16(false, 1, q, d, &visible, 0, scores, 32, nil)
	fmt.Println(scores[0], scores[1], scores[31])
	// Output: 0.5 1.5 31.5
}
