//go:build amd64 && !purego

package kernels

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
