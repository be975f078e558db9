// Command vec generates kernels/vec_amd64.s and its Go declarations,
// kernels/vec_stubs_amd64.go: the AVX-512 variants of the vector kernels
// declared in kernels/vec.go and kernels/vec_convert.go.
//
// Run it through `go generate ./kernels` (see the directive in
// kernels/vec_amd64.go); never edit the generated files by hand.
//
// Every kernel walks its slices in blocks of 16 float32 lanes (one ZMM
// register), optionally unrolled, and finishes with one masked block for the
// remaining 1…15 elements, so no scalar tail loop exists. The slice-level
// wrappers in kernels/vec_amd64.go check lengths and pass raw pointers.
package main

import (
	. "github.com/mmcloughlin/avo/build"
)

func main() {
	ConstraintExpr("amd64,!purego")

	declareTables()
	genBasic()
	genSoftmax()
	genNorm()
	genActivations()
	genAdamW()
	genConvert()
	genAVX2()

	Generate()
}
