package infer

import "github.com/glossa-ai/glossa/kernels"

// rowGrain is the fewest rows a worker takes in row-parallel passes.
const rowGrain = 8

// LayerNorm is y = (x − mean)/√(var + Eps)·W + B over each row.
type LayerNorm struct {
	W, B []float32 // [C]
	Eps  float32
}

// Forward normalises N rows of x into dst (dst may alias x).
func (n *LayerNorm) Forward(dst, x []float32, N int) {
	C := len(n.W)
	if N < 2*rowGrain {
		for r := range N {
			kernels.LayerNorm(dst[r*C:(r+1)*C], x[r*C:(r+1)*C], n.W, n.B, n.Eps)
		}
		return
	}
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kernels.LayerNorm(dst[r*C:(r+1)*C], x[r*C:(r+1)*C], n.W, n.B, n.Eps)
		}
	})
}

// AddForward computes x = LayerNorm(x + h) row by row, h left as x + h: the
// post-norm residual of BERT-style encoders.
func (n *LayerNorm) AddForward(x, h []float32, N int) {
	C := len(n.W)
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, hr := x[r*C:(r+1)*C], h[r*C:(r+1)*C]
			kernels.Add(hr, hr, xr)
			kernels.LayerNorm(xr, hr, n.W, n.B, n.Eps)
		}
	})
}

// RMSNorm is y = x/√(mean(x²) + Eps)·W over each row: Llama's norm, and
// T5's "layer norm" (no mean subtraction, no bias).
type RMSNorm struct {
	W   []float32 // [C]
	Eps float32
}

// Forward normalises N rows of x into dst (dst may alias x).
func (n *RMSNorm) Forward(dst, x []float32, N int) {
	C := len(n.W)
	if N < 2*rowGrain {
		for r := range N {
			kernels.RMSNorm(dst[r*C:(r+1)*C], x[r*C:(r+1)*C], n.W, n.Eps)
		}
		return
	}
	kernels.ParallelFor(N, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kernels.RMSNorm(dst[r*C:(r+1)*C], x[r*C:(r+1)*C], n.W, n.Eps)
		}
	})
}
