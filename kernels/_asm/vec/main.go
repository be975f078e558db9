// Command vec generates kernels/vec_amd64.s and its Go declarations,
// kernels/vec_stubs_amd64.go: the assembly variants of the vector kernels
// declared in kernels/vec.go and kernels/vec_convert.go — every one, for
// AVX-512 and for AVX2+FMA — and the matrix-vector kernels
// of kernels/matvec.go (MatVec, MatVecBF16, VecMatAdd; see matvec.go here) for
// both. With -set quant it generates the quantized kernels of
// kernels/quant.go instead (see quant.go here).
//
// Run it through `go generate ./kernels` (see the directive in
// kernels/vec_amd64.go); never edit the generated files by hand.
//
// The AVX-512 kernels walk their slices in blocks of 16 float32 lanes (one
// ZMM register), optionally unrolled, and finish with one masked block for
// the remaining 1…15 elements, so there is no scalar tail loop. The AVX2
// kernels use 8-lane blocks and take a multiple of 8 elements; their Go
// wrappers finish the rest. Only VEX/EVEX encodings are emitted (no legacy
// SSE, which can cost a state transition next to dirty upper registers), and
// every kernel ends with VZEROUPPER. The slice-level wrappers in
// kernels/vec_amd64.go check lengths and pass raw pointers.
package main

import (
	"flag"

	. "github.com/mmcloughlin/avo/build"
)

// set selects the kernels to generate: "vec" (kernels/vec_amd64.s) or
// "quant" (kernels/quant_amd64.s, see quant.go); both sets share this
// program's helpers.
var set = flag.String("set", "vec", "kernel set: vec or quant")

func main() {
	flag.Parse()
	ConstraintExpr("amd64,!purego")
	if *set == "quant" {
		genQuant()
		Generate()
		return
	}

	declareTables()
	declareTables256()
	genBasic()
	genSoftmax()
	genSoftmaxBackward(zmmWidth)
	genNorm(zmmWidth)
	genActivations()
	genAdamW(zmmWidth)
	genConvert()
	genAVX2()
	genAVX2Exp()
	genAVX2Activations()
	genAVX2Backward()
	genAdamW(ymmWidth)
	genSoftmaxBackward(ymmWidth)
	genNorm(ymmWidth)
	genAVX2Convert()
	genMatVec()
	genVecMatAdd()

	Generate()
}
