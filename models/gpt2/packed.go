package gpt2

import "github.com/glossa-ai/glossa/kernels"

// Float32 Conv1D weights are also packed once at load (kernels.PackB) into
// the panel layout of the blocked matrix product, so that a pass over
// several rows (a prefill, a batch) multiplies by them with
// kernels.SgemmPacked without re-packing every weight on every call: in a
// prefill of a few dozen tokens each weight serves only those rows, and
// packing it cost about as much as the product itself. The bias is added in
// the product's epilogue, while each strip of the output is still in cache.
// Decoding reads the packed copy too (SgemmPacked's row-vector path streams
// it once per token), so the file's matrix is released after packing and
// the weights cost their size once.

// packLinear packs l's float32 weight w [in, out] for forwardPacked.
func packLinear(l *linear, w []float32) {
	l.pw = kernels.PackB(false, l.in, l.out, w, l.out)
	l.ep = &kernels.Epilogue{Bias: l.b}
}

// forwardPacked computes y [N, out] = x [N, in]·W + b with the packed weight.
func (l *linear) forwardPacked(y, x []float32, N int) {
	kernels.SgemmPacked(false, N, 1, x, l.in, l.pw, 0, y, l.out, l.ep)
}
