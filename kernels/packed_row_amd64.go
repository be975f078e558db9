//go:build amd64 && !purego

package kernels

// rowKindOf returns the row-panel kernels for the Sgemm variant impl: the
// assembly ones of the AVX-512 (nr = 32) and AVX2 (nr = 16) variants, the
// portable one otherwise.
func rowKindOf(impl *sgemmKernels) rowKind {
	switch {
	case impl.name == "avx512" && impl.nr == 32:
		return rowAVX512
	case impl.name == "avx2" && impl.nr == 16:
		return rowAVX2
	}
	return rowGo
}

// rowPanel computes the r×nr block (1 <= r <= packedRowMax) C = alpha·A·B +
// beta·C of one packed micro-panel b (k steps of nr values) with the
// kernels kind selects: A holds r rows of k values with stride lda, C has
// stride ldc and is not read when beta is 0. The assembly kernels prefetch
// B rowPrefetch bytes ahead during the first kpf <= k steps.
func rowPanel(kind rowKind, r, k int, a []float32, lda int, b []float32, nr int, c []float32, ldc int, alpha, beta float32, kpf int) {
	if kind == rowGo || r < 1 || r > packedRowMax {
		rowPanelGo(r, k, a, lda, b, nr, c, ldc, alpha, beta)
		return
	}
	// The last elements read and written; the kernels rely on them.
	_, _ = a[(r-1)*lda+k-1], b[k*nr-1]
	_ = c[(r-1)*ldc+nr-1]
	kpf = min(kpf, k)
	kernels := &rowKernels16
	if kind == rowAVX512 {
		kernels = &rowKernels32
	}
	kernels[r-1](k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, kpf, rowPrefetch)
}

// rowKernels32 and rowKernels16 are the assembly row-panel kernels for
// 1…packedRowMax rows of the AVX-512 (nr = 32) and AVX2 (nr = 16) variants.
var (
	rowKernels32 = [packedRowMax]func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, kpf, prefetch int){
		sgemvRows1x32, sgemvRows2x32, sgemvRows3x32, sgemvRows4x32}
	rowKernels16 = [packedRowMax]func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, kpf, prefetch int){
		sgemvRows1x16, sgemvRows2x16, sgemvRows3x16, sgemvRows4x16}
)
