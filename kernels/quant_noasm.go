//go:build !amd64 || purego

package kernels

// quantAsmVariants returns no variants: without amd64 assembly only the
// portable one exists.
func quantAsmVariants(Features) []quantKernels { return nil }
