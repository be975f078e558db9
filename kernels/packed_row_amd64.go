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
	if kind == rowGo || r < 1 || r > 4 {
		rowPanelGo(r, k, a, lda, b, nr, c, ldc, alpha, beta)
		return
	}
	// The last elements read and written; the kernels rely on them.
	_, _ = a[(r-1)*lda+k-1], b[k*nr-1]
	_ = c[(r-1)*ldc+nr-1]
	kpf = min(kpf, k)
	pa, pb, pc := &a[0], &b[0], &c[0]
	if kind == rowAVX512 {
		switch r {
		case 1:
			sgemvRows1x32(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
		case 2:
			sgemvRows2x32(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
		case 3:
			sgemvRows3x32(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
		default:
			sgemvRows4x32(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
		}
		return
	}
	switch r {
	case 1:
		sgemvRows1x16(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
	case 2:
		sgemvRows2x16(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
	case 3:
		sgemvRows3x16(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
	default:
		sgemvRows4x16(k, pa, lda, pb, pc, ldc, alpha, beta, kpf, rowPrefetch)
	}
}
