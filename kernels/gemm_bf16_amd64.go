//go:build amd64 && !purego

package kernels

//go:generate sh -c "cd _asm && go run ./bf16gemm -out ../gemm_bf16_amd64.s -stubs ../gemm_bf16_stubs_amd64.go -pkg kernels"

// gemmBF16Native is the table of VDPBF16PS microkernels by tile height
// (entry h computes h rows; entry 0 is unused), where the CPU has AVX-512
// with BF16; nil elsewhere, and GemmBF16 runs its generic twin.
var gemmBF16Native = func() *[gemmBF16MR + 1]gemmBF16Micro {
	if !cpuFeatures.AVX512 || !cpuFeatures.BF16 {
		return nil
	}
	return &[gemmBF16MR + 1]gemmBF16Micro{nil,
		gemmBF16Kernel1x32, gemmBF16Kernel2x32, gemmBF16Kernel3x32, gemmBF16Kernel4x32, gemmBF16Kernel5x32,
		gemmBF16Kernel6x32, gemmBF16Kernel7x32, gemmBF16Kernel8x32, gemmBF16Kernel9x32, gemmBF16Kernel10x32,
		gemmBF16Kernel11x32, gemmBF16Kernel12x32, gemmBF16Kernel13x32, gemmBF16Kernel14x32}
}()
