package gpt2

import "github.com/glossa-ai/glossa/kernels"

// columnSums adds to sums (n values) the column sums of the k×n float32
// op(B) (b holds n rows of k values when transB, else k rows of n), each
// column summed in row order: the bias gradient of bfloat16 training.
// Workers take disjoint columns, so the sums do not depend on their number.
func columnSums(sums []float32, transB bool, k, n int, b []float32, ldb int) {
	const grain = 64 // columns
	kernels.ParallelFor(n, grain, func(lo, hi int) {
		if transB {
			for j := lo; j < hi; j++ {
				sums[j] += kernels.Sum(b[j*ldb : j*ldb+k])
			}
			return
		}
		for r := range k {
			kernels.Add(sums[lo:hi], sums[lo:hi], b[r*ldb+lo:r*ldb+hi])
		}
	})
}
