package kernels

// Triangle describes triangular structure in a product that SgemmTriangle
// skips work for: the structure of causal attention, whose score matrix is
// wanted only on and below its diagonal and whose probability matrix is zero
// above it. The diagonal is the line j = i + Diag, for i a row and j a
// column of C or of op(A).
type Triangle struct {
	// Diag shifts the diagonal: element (i, j) is on or below it when
	// j <= i + Diag.
	Diag int
	// LowerC: only C's elements on or below the diagonal are wanted.
	// Microkernel tiles of C wholly above it are not computed and keep
	// their values; the others are computed whole.
	LowerC bool
	// ALower: op(A)[i][p] is zero wherever p > i + Diag (a causal matrix).
	ALower bool
	// AUpper: op(A)[i][p] is zero wherever p < i + Diag (the transpose of
	// one).
	AUpper bool
}

// SgemmTriangle is Sgemm for products with the triangular structure tri
// describes, skipping the tiles of C that are not wanted and the terms whose
// op(A) factor is zero (taken as exact zeros: an Inf or NaN of op(B) facing
// one does not reach C). Where a product takes a path without tiles (too
// small or too skinny for them, or on AMX) it is computed whole, which gives
// the same values up to the sign of zero sums.
//
// The tiles of C above the diagonal that LowerC skips keep whatever they
// held; a caller reads C's lower part only.
func SgemmTriangle(tri Triangle, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(&tri, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
