//go:build !amd64 || purego

package kernels

// rowKindOf returns rowGo: without amd64 assembly only the portable
// row-panel kernel exists.
func rowKindOf(*sgemmKernels) rowKind { return rowGo }

// rowPanel computes the r×nr block C = alpha·A·B + beta·C of one packed
// micro-panel with rowPanelGo; kind and kpf (the assembly kernels' choice
// and prefetch extent) are unused.
func rowPanel(_ rowKind, r, k int, a []float32, lda int, b []float32, nr int, c []float32, ldc int, alpha, beta float32, _ int) {
	rowPanelGo(r, k, a, lda, b, nr, c, ldc, alpha, beta)
}
