package kernels

import "fmt"

// MatVec computes y[o] = Σ_i x[i]·w[o·len(x)+i] for every o < len(y): the
// product of the row-major matrix w [len(y), len(x)] with the vector x, one
// contiguous dot product per row. len(w) must be at least len(y)·len(x); y
// must not overlap x or w.
//
// It runs on the calling goroutine; to use several cores, split the rows:
//
//	kernels.ParallelFor(out, 64, func(lo, hi int) {
//		kernels.MatVec(y[lo:hi], x, w[lo*in:hi*in])
//	})
//
// This is the batch-1 (decoding) shape of a linear layer, where every weight
// is read once per token and the cost is memory bandwidth: the assembly
// variants stream four rows at a time, share each load of x between them and
// prefetch ahead on every row.
func MatVec(y, x, w []float32) {
	checkMatVec("MatVec", len(y), len(x), len(w))
	vec.matVec(y, x, w[:len(y)*len(x)], len(x))
}

// MatVecStride is MatVec for a matrix whose rows lie ldw ≥ len(x) values
// apart: y[o] = Σ_i x[i]·w[o·ldw+i] for o < len(y). len(w) must be at least
// (len(y)−1)·ldw + len(x). Attention uses it on a cache block whose rows
// are MaxLen long, of which the first len(x) are filled.
func MatVecStride(y, x, w []float32, ldw int) {
	checkStride("MatVecStride", len(y), len(x), len(w), ldw)
	if len(y) == 0 {
		return
	}
	vec.matVec(y, x, w[:(len(y)-1)*ldw+len(x)], ldw)
}

// VecMatAddStride is VecMatAdd for a matrix whose rows lie ldw ≥ len(y)
// values apart: y[o] += Σ_i x[i]·w[i·ldw+o]. len(w) must be at least
// (len(x)−1)·ldw + len(y).
func VecMatAddStride(y, x, w []float32, ldw int) {
	checkStride("VecMatAddStride", len(x), len(y), len(w), ldw)
	if len(x) == 0 {
		return
	}
	vec.vecMatAdd(y, x, w[:(len(x)-1)*ldw+len(y)], ldw)
}

// checkStride panics unless m rows of n values, ldw ≥ n apart, fit in nw.
func checkStride(op string, m, n, nw, ldw int) {
	if ldw < n || (m > 0 && (m-1) > (nw-n)/max(ldw, 1)) || (m > 0 && nw < n) {
		panic(fmt.Sprintf("kernels: %s: len(w) = %d, too short for %d rows of %d with stride %d", op, nw, m, n, ldw))
	}
}

// MatVecBF16 is MatVec for bfloat16 weights: y[o] = Σ_i x[i]·w[o·len(x)+i]
// with w [len(y), len(x)] in bfloat16 (the high halves of float32s). The
// weights are widened exactly and x is used as it is (never rounded to
// bfloat16); products and sums are float32. Half the bytes of MatVec to
// stream, so up to twice as fast when memory-bound.
func MatVecBF16(y, x []float32, w []uint16) {
	checkMatVec("MatVecBF16", len(y), len(x), len(w))
	vec.matVecBF16(y, x, w[:len(y)*len(x)])
}

// VecMatAdd adds x·W to y: y[o] += Σ_i x[i]·w[i·len(y)+o] for every
// o < len(y), the row vector x times the row-major matrix w [len(x), len(y)],
// the layout in which GPT-2 stores its Conv1D weights ([in, out], y = x·W).
// len(w) must be at least len(x)·len(y); y must not overlap x or w.
//
// Like MatVec it runs on the calling goroutine and is meant for batch-1
// decoding, where it is bound by memory bandwidth: the assembly variants
// read w row after row, four rows per pass, with y held in L1. It adds to y
// so that the sum over i can be split: to use several cores, give each a
// block of rows of w (a contiguous part of memory) and its own partial y,
// and add those at the end.
func VecMatAdd(y, x, w []float32) {
	checkMatVec("VecMatAdd", len(x), len(y), len(w))
	vec.vecMatAdd(y, x, w[:len(x)*len(y)], len(y))
}

// checkMatVec panics unless a matrix of m rows of n fits in nw weights. The
// size overflowing int is caught too (m·n would wrap).
func checkMatVec(op string, m, n, nw int) {
	if n > 0 && m > nw/n {
		panic(fmt.Sprintf("kernels: %s: len(w) = %d, too short for a %d×%d matrix", op, nw, m, n))
	}
}
