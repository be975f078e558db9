package kernels

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, like
// BLAS's cblas_sgemm with CblasRowMajor.
//
// op(A) is m×k: when transA is false A holds m rows of k values with row
// stride lda (lda >= k); when true A holds k rows of m values (lda >= m) and is
// read transposed. op(B) is k×n likewise with ldb. C holds m rows of n values
// with row stride ldc (ldc >= n). When beta is 0, C is not read (NaNs in it do
// not propagate). C must not alias A or B.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmGeneric(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmGeneric is the portable reference for Sgemm, with the same contract.
func SgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if transB {
				for j := range row {
					row[j] += av * b[j*ldb+p]
				}
			} else {
				brow := b[p*ldb : p*ldb+n]
				for j, bv := range brow {
					row[j] += av * bv
				}
			}
		}
	}
}
