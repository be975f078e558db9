//go:build !amd64 || purego

package kernels

// gemmBF16Native is nil without assembly: GemmBF16 runs its generic twin.
var gemmBF16Native *[gemmBF16MR + 1]gemmBF16Micro
