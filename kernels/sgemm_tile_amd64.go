//go:build amd64 && !purego

package kernels

// sgemmMicroTile is the microkernel of the AMX variant: the 32×32 tile
// C = alpha·A·B + beta·C from packed micro-panels of depth kc.
func sgemmMicroTile(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	chunks := tileChunks(kc)
	_, _ = a[chunks*tileChunkSlots-1], b[chunks*tileChunkSlots-1]
	_ = c[31*ldc+31]
	if alpha == 1 && beta == 0 {
		sgemmTileKernel32x32(chunks, &a[0], &b[0], &c[0], ldc, 1, 0, false, nil)
		return
	}
	var scratch [tileScratchSize]float32
	sgemmTileKernel32x32(chunks, &a[0], &b[0], &c[0], ldc, alpha, beta, true, &scratch[0])
}

func init() {
	if cpuFeatures.AVX512 { // the packers are AVX-512 code
		tilePackFast = tilePackAsm
	}
}

// tilePackAsm is tilePackFast on amd64: the assembly packers, with bounds
// checked here.
func tilePackAsm(kind, chunks int, src []float32, ld int, dst []float32) {
	depth := chunks * tileDepth
	_ = dst[chunks*tileChunkSlots-1]
	switch kind {
	case 0:
		_ = src[31*ld+depth-1]
		sgemmTilePackA(chunks, &src[0], ld, &dst[0])
	case 1:
		_ = src[(depth-1)*ld+31]
		sgemmTilePackAT(chunks, &src[0], ld, &dst[0])
	case 2:
		_ = src[(depth-1)*ld+31]
		sgemmTilePackB(chunks, &src[0], ld, &dst[0])
	case 3:
		_ = src[31*ld+depth-1]
		sgemmTilePackBT(chunks, &src[0], ld, &dst[0])
	}
}

// sgemmRowTile is the row kernel of the AMX variant (sgemmKernels.row).
func sgemmRowTile(kc int, a, b []float32, bstride, panels int, c []float32, ldc int, accumulate bool) {
	chunks := tileChunks(kc)
	_, _ = a[chunks*tileChunkSlots-1], b[(panels-1)*bstride+chunks*tileChunkSlots-1]
	_ = c[31*ldc+32*panels-1]
	sgemmTileRow32(chunks, &a[0], &b[0], 4*bstride, panels, &c[0], ldc, accumulate)
}
