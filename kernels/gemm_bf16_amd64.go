//go:build amd64 && !purego

package kernels

import "unsafe"

//go:generate sh -c "cd _asm && go run ./bf16gemm -out ../gemm_bf16_amd64.s -stubs ../gemm_bf16_stubs_amd64.go -pkg kernels"

// gemmBF16Native holds the VDPBF16PS microkernels where the CPU has AVX-512
// with BF16; nil elsewhere, and GemmBF16 runs its generic twin.
var gemmBF16Native = func() *gemmBF16Kernels {
	if !cpuFeatures.AVX512 || !cpuFeatures.BF16 {
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

// bf16PairRowsVec is the AVX-512 packer of two float32 rows into bfloat16
// pairs, 32 columns at a time (see gemmBF16PairRows); nil without AVX-512.
var bf16PairRowsVec = func() func(n int, r0, r1 *float32, dst *uint16, stride int) {
	if !cpuFeatures.AVX512 {
		return nil
	}
	return gemmBF16PairRows
}()

// gemmBF16AVX2 holds the AVX2+FMA kernels where the CPU has them: each h×32
// tile is built from the generated r×16 kernels (rows four at a time, the
// two 16-column halves of the panel in turn), which give VDPBF16PS's bits
// with float32 FMAs (see kernels/_asm/bf16gemm/avx2.go); nil elsewhere.
var gemmBF16AVX2 = func() *gemmBF16Kernels {
	if !cpuFeatures.AVX2FMA {
		return nil
	}
	k := new(gemmBF16Kernels)
	for h := 1; h <= gemmBF16MR; h++ {
		k.rows[h] = avx2BF16Tile(h, false)
		k.steps[h] = avx2BF16Tile(h, true)
	}
	return k
}()

// gemmBF16AVX2Sub are the generated r×16 kernels (entry r−1), A stored
// row by row and step by step.
var gemmBF16AVX2Sub = [2][4]func(kq int, a *uint16, lda int, b *uint16, c *float32, ldc int, load int){
	{gemmBF16AVX2R1x16, gemmBF16AVX2R2x16, gemmBF16AVX2R3x16, gemmBF16AVX2R4x16},
	{gemmBF16AVX2S1x16, gemmBF16AVX2S2x16, gemmBF16AVX2S3x16, gemmBF16AVX2S4x16},
}

// avx2BF16Tile returns the gemmBF16Micro of an h×32 tile on the AVX2
// kernels. It does not prefetch.
func avx2BF16Tile(h int, strided bool) gemmBF16Micro {
	sub := &gemmBF16AVX2Sub[0]
	if strided {
		sub = &gemmBF16AVX2Sub[1]
	}
	return func(kq int, a *uint16, lda int, b *uint16, c *float32, ldc int, load int, _ *uint16) {
		bHigh := (*uint16)(unsafe.Add(unsafe.Pointer(b), 64)) // columns 16…31 of each step
		for i0 := 0; i0 < h; i0 += 4 {
			r := min(4, h-i0)
			off := i0 * lda // elements of A to row i0
			if strided {
				off = 2 * i0
			}
			ai := (*uint16)(unsafe.Add(unsafe.Pointer(a), 2*off))
			ci := (*float32)(unsafe.Add(unsafe.Pointer(c), 4*i0*ldc))
			sub[r-1](kq, ai, lda, b, ci, ldc, load)
			sub[r-1](kq, ai, lda, bHigh, (*float32)(unsafe.Add(unsafe.Pointer(ci), 64)), ldc, load)
		}
	}
}
