//go:build amd64 && !purego

package kernels

//go:generate sh -c "cd _asm && go run ./bf16gemm -out ../gemm_bf16_amd64.s -stubs ../gemm_bf16_stubs_amd64.go -pkg kernels"

import "unsafe"

// gemmBF16Native holds the VDPBF16PS microkernels where the CPU has AVX-512
// with BF16, else the AVX2+FMA kernels with the same results where it has
// those (gemmBF16AVX2Kernels); nil elsewhere, and GemmBF16 runs its generic
// twin.
var gemmBF16Native = func() *gemmBF16Kernels {
	if !gemmBF16VDP {
		if cpuFeatures.AVX2FMA {
			return gemmBF16AVX2Kernels()
		}
		return nil
	}
	return &gemmBF16Kernels{
		rows: [gemmBF16MR + 1]gemmBF16Micro{nil,
			gemmBF16Kernel1x32, gemmBF16Kernel2x32, gemmBF16Kernel3x32, gemmBF16Kernel4x32, gemmBF16Kernel5x32,
			gemmBF16Kernel6x32, gemmBF16Kernel7x32, gemmBF16Kernel8x32, gemmBF16Kernel9x32, gemmBF16Kernel10x32,
			gemmBF16Kernel11x32, gemmBF16Kernel12x32, gemmBF16Kernel13x32, gemmBF16Kernel14x32},
		steps: [gemmBF16MR + 1]gemmBF16Micro{nil,
			gemmBF16KernelS1x32, gemmBF16KernelS2x32, gemmBF16KernelS3x32, gemmBF16KernelS4x32, gemmBF16KernelS5x32,
			gemmBF16KernelS6x32, gemmBF16KernelS7x32, gemmBF16KernelS8x32, gemmBF16KernelS9x32, gemmBF16KernelS10x32,
			gemmBF16KernelS11x32, gemmBF16KernelS12x32, gemmBF16KernelS13x32, gemmBF16KernelS14x32},
	}
}()

// gemmBF16VDP reports whether the CPU has AVX-512 with BF16 (VDPBF16PS).
var gemmBF16VDP = cpuFeatures.AVX512 && cpuFeatures.BF16

// bf16PairRowsVec is the packer of two float32 rows into bfloat16 pairs, 32
// columns at a time (see gemmBF16PairRows): AVX-512, else AVX2; nil without
// either.
var bf16PairRowsVec = func() func(n int, r0, r1 *float32, dst *uint16, stride int) {
	switch {
	case cpuFeatures.AVX512:
		return gemmBF16PairRows
	case cpuFeatures.AVX2FMA:
		return gemmBF16PairRows256
	}
	return nil
}()

// gemmBF16AVX2Blocks are the generated AVX2 kernels of r rows × 16 columns
// (entry r; 0 unused), A in rows and in steps.
var gemmBF16AVX2Blocks = [2][6]func(kq int, a *float32, lda int, b *uint16, c *float32, ldc int, load int){
	{nil, gemmBF16AVX2Kernel1x16, gemmBF16AVX2Kernel2x16, gemmBF16AVX2Kernel3x16, gemmBF16AVX2Kernel4x16, gemmBF16AVX2Kernel5x16},
	{nil, gemmBF16AVX2KernelS1x16, gemmBF16AVX2KernelS2x16, gemmBF16AVX2KernelS3x16, gemmBF16AVX2KernelS4x16, gemmBF16AVX2KernelS5x16},
}

// gemmBF16AVX2Kernels returns GemmBF16's microkernels made of the AVX2
// blocks (gemmBF16AVX2Tile), which read A widened to float32.
func gemmBF16AVX2Kernels() *gemmBF16Kernels {
	k := &gemmBF16Kernels{wideA: true}
	for h := 1; h <= gemmBF16MR; h++ {
		k.rows[h] = gemmBF16AVX2Tile(h, false)
		k.steps[h] = gemmBF16AVX2Tile(h, true)
	}
	return k
}

// gemmBF16AVX2Tile returns the h-row microkernel of GemmBF16 on AVX2: the
// rows in groups of up to 5, each group through the whole depth once per
// half (16 columns) of the panel. Each element of C gets the same chain of
// sums as from VDPBF16PS, so the grouping does not change the results. The
// prefetch address is not used.
func gemmBF16AVX2Tile(h int, steps bool) gemmBF16Micro {
	blocks := &gemmBF16AVX2Blocks[0]
	if steps {
		blocks = &gemmBF16AVX2Blocks[1]
	}
	return func(kq int, a *uint16, lda int, b *uint16, c *float32, ldc int, load int, _ *uint16) {
		bHi := (*uint16)(unsafe.Add(unsafe.Pointer(b), 2*16*2)) // columns 16–31: the second 16 pairs of a step
		for i0 := 0; i0 < h; i0 += 5 {
			r := min(5, h-i0)
			// a points to float32 values (wideA). Only the address used is
			// formed: row i0 of a step-major A lies lda·i0 values beyond it,
			// past the allocation (checkptr refuses such a pointer).
			var ai *float32
			if steps {
				ai = (*float32)(unsafe.Add(unsafe.Pointer(a), 4*2*i0)) // row i0's pair in each step
			} else {
				ai = (*float32)(unsafe.Add(unsafe.Pointer(a), 4*i0*lda)) // row i0
			}
			ci := (*float32)(unsafe.Add(unsafe.Pointer(c), 4*i0*ldc))
			blocks[r](kq, ai, lda, b, ci, ldc, load)
			blocks[r](kq, ai, lda, bHi, (*float32)(unsafe.Add(unsafe.Pointer(ci), 4*16)), ldc, load)
		}
	}
}
