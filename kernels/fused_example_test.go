package kernels_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// The backward pass of a linear layer y = x·w + b (w stored [in, out], as
// GPT-2's Conv1D): the weight gradient dw += xᵀ·dy, with the bias gradient
// db += Σ_rows dy taken while dy is packed for that product.
func ExampleEpilogue_sumsB() {
	const rows, in, out = 3, 2, 2
	x := []float32{ // [rows, in]
		1, 2,
		3, 4,
		5, 6,
	}
	dy := []float32{ // [rows, out]
		1, 0,
		0, 1,
		1, 1,
	}
	dw := make([]float32, in*out)
	db := make([]float32, out)
	kernels.SgemmEpilogue(true, false, in, out, rows, 1, x, in, dy, out, 1, dw, out, &kernels.Epilogue{SumsB: db})
	fmt.Println(dw, db)
	// Output: [6 8 8 10] [2 2]
}

// Causal attention scores s = q·kᵀ and outputs o = p·v for three positions:
// only s's lower triangle is wanted, and p is zero above its diagonal, so
// SgemmTriangle may skip that work (on products large enough for tiles).
func ExampleSgemmTriangle() {
	const T, D = 3, 2
	q := []float32{1, 0, 0, 1, 1, 1}
	k := []float32{1, 0, 0, 1, 1, 1}
	s := make([]float32, T*T)
	kernels.SgemmTriangle(kernels.Triangle{LowerC: true}, false, true, T, T, D, 1, q, D, k, D, 0, s, T)
	for i := 0; i < T; i++ {
		fmt.Println(s[i*T : i*T+i+1]) // the wanted part of each row
	}

	p := []float32{ // causal probabilities: zero above the diagonal
		1, 0, 0,
		0.5, 0.5, 0,
		0.25, 0.25, 0.5,
	}
	v := []float32{2, 0, 0, 2, 2, 2}
	o := make([]float32, T*D)
	kernels.SgemmTriangle(kernels.Triangle{ALower: true}, false, false, T, D, T, 1, p, T, v, D, 0, o, D)
	fmt.Println(o)
	// Output:
	// [1]
	// [0 1]
	// [1 1 2]
	// [2 0 1 1 1.5 1.5]
}

// A training forward keeps GELU'(x) in place of x; the backward is then
// one product, dx = dy·GELU'(x).
func ExampleGELUWithDerivative() {
	x := []float32{-1, 0, 1, 3}
	y := make([]float32, len(x))
	kernels.GELUWithDerivative(y, x, x) // x now holds GELU'(x)
	fmt.Printf("GELU  %.4f\n", y)
	fmt.Printf("GELU' %.4f\n", x)

	dy := []float32{1, 1, 1, 1}
	dx := make([]float32, len(x))
	kernels.Mul(dx, dy, x)
	fmt.Printf("dx    %.4f\n", dx)
	// Output:
	// GELU  [-0.1587 0.0000 0.8413 2.9960]
	// GELU' [-0.0833 0.5000 1.0833 1.0119]
	// dx    [-0.0833 0.5000 1.0833 1.0119]
}
