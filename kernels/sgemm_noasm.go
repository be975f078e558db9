//go:build !amd64 || purego

package kernels

// sgemmAsmVariants returns no variants: without amd64 assembly only the
// portable one exists.
func sgemmAsmVariants(Features) []*sgemmKernels { return nil }
