package kernels

// This file declares the vector kernels: element-wise maths, reductions,
// row-wise softmax and normalisation, activations and the AdamW update, each
// over flat float32 slices. Each exported function dispatches to the best
// variant for this CPU; the ...Generic functions in vec_generic.go are the
// portable references with the same contracts.
//
// Unless stated otherwise, all slices passed to one call must have the same
// length, and dst may alias x (but not partially overlap it).
//
// Accuracy. The generic references compute transcendental functions in float64
// and round once. The AVX-512 variants (vec_amd64.go, generated from
// kernels/_asm/vec), and the AVX2 ones of Exp, the softmax rows, GELU,
// GELUTanh, SiLU and Tanh, evaluate float32 approximations; their worst errors
// against float64, as measured on dense sweeps (the tests enforce these with
// some margin), are: Exp 1 ulp; Tanh and SiLU 2 ulp; GELU 7 ulp or 1e-8
// absolute; GELUTanh 8 ulp or 1e-7 absolute (from rounding its cubic
// argument); the activation backward passes 2e-7·|dy| absolute. Special values
// behave as in the references: NaN propagates, Exp overflows to +Inf and
// underflows through the subnormals to 0. Reductions (Dot, Sum, the row sums
// inside Softmax and the norms) add in float32 over several 16-lane partial
// sums rather than sequentially, which is usually more accurate than the
// generic loop but not bit-identical to it.

// Dot returns Σ x[i]·y[i].
func Dot(x, y []float32) float32 { return vec.dot(x, y) }

// Axpy computes y += alpha·x.
func Axpy(alpha float32, x, y []float32) { vec.axpy(alpha, x, y) }

// Scale computes x *= alpha.
func Scale(alpha float32, x []float32) { vec.scale(alpha, x) }

// Add computes dst = x + y.
func Add(dst, x, y []float32) { vec.add(dst, x, y) }

// Sub computes dst = x − y.
func Sub(dst, x, y []float32) { vec.sub(dst, x, y) }

// Mul computes dst = x · y element-wise.
func Mul(dst, x, y []float32) { vec.mul(dst, x, y) }

// Sum returns Σ x[i].
func Sum(x []float32) float32 { return vec.sum(x) }

// Max returns the largest element of x, or −Inf for an empty slice. NaNs are
// ignored unless every element is NaN.
func Max(x []float32) float32 { return vec.max(x) }

// Exp computes dst = exp(x) element-wise: +Inf above about 88.72, subnormal
// results down to about −103.97 and 0 below.
func Exp(dst, x []float32) { vec.exp(dst, x) }

// Softmax writes the numerically stable softmax of one row x into dst:
// dst[i] = exp(x[i] − max x) / Σ exp(x[j] − max x).
func Softmax(dst, x []float32) { vec.softmax(dst, x) }

// LogSoftmax writes log(softmax(x)) of one row into dst, computed stably as
// x[i] − max x − log Σ exp(x[j] − max x).
func LogSoftmax(dst, x []float32) { vec.logSoftmax(dst, x) }

// SoftmaxBackward computes, for one row with softmax output y and upstream
// gradient dy, dx[i] = y[i]·(dy[i] − Σ dy[j]·y[j]). dx may alias dy.
func SoftmaxBackward(dx, y, dy []float32) { vec.softmaxBackward(dx, y, dy) }

// LayerNorm normalises one row: dst = (x − mean)·rstd·gamma + beta, with
// rstd = 1/sqrt(var + eps) and the biased variance, as torch.nn.LayerNorm. A
// nil gamma means ones and a nil beta zeros. It returns mean and rstd, which
// LayerNormBackward needs.
func LayerNorm(dst, x, gamma, beta []float32, eps float32) (mean, rstd float32) {
	return vec.layerNorm(dst, x, gamma, beta, eps)
}

// LayerNormBackward back-propagates one LayerNorm row: given input x, the
// saved mean and rstd, gamma (nil for ones) and upstream dy, it writes dx
// (overwriting) and accumulates into dgamma and dbeta when they are non-nil.
func LayerNormBackward(dx, x, gamma, dy []float32, mean, rstd float32, dgamma, dbeta []float32) {
	vec.layerNormBackward(dx, x, gamma, dy, mean, rstd, dgamma, dbeta)
}

// RMSNorm normalises one row: dst = x·rstd·gamma with
// rstd = 1/sqrt(mean(x²) + eps), as Llama's RMSNorm. A nil gamma means ones.
func RMSNorm(dst, x, gamma []float32, eps float32) (rstd float32) {
	return vec.rmsNorm(dst, x, gamma, eps)
}

// RMSNormBackward back-propagates one RMSNorm row, writing dx and
// accumulating into dgamma when it is non-nil.
func RMSNormBackward(dx, x, gamma, dy []float32, rstd float32, dgamma []float32) {
	vec.rmsNormBackward(dx, x, gamma, dy, rstd, dgamma)
}

// GELU computes the exact GELU, dst = x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
func GELU(dst, x []float32) { vec.gelu(dst, x) }

// GELUBackward computes dx = dy·GELU'(x) for the exact GELU. dx may alias dy.
func GELUBackward(dx, x, dy []float32) { vec.geluBackward(dx, x, dy) }

// GELUWithDerivative computes dst = GELU(x) and deriv = GELU'(x) for the
// exact GELU in one pass, with the values of GELU and of GELUBackward at
// dy = 1. A training forward can keep deriv in place of x (deriv may alias
// x; dst must not alias deriv): the backward is then dx = dy·deriv (Mul),
// the same values GELUBackward gives, and the normal tail of Φ is computed
// once instead of twice.
func GELUWithDerivative(dst, deriv, x []float32) {
	if vec.geluDeriv != nil {
		vec.geluDeriv(dst, deriv, x)
		return
	}
	geluDerivFrom(vec, dst, deriv, x)
}

// ones is a block of 1s, the dy with which geluDerivFrom turns a GELU
// backward kernel into GELU'.
var ones = func() (o [1024]float32) {
	for i := range o {
		o[i] = 1
	}
	return o
}()

// geluDerivFrom computes GELUWithDerivative with a variant's separate GELU
// and GELU backward kernels, block by block (x is read before deriv, which
// may alias it, is written).
func geluDerivFrom(v vecKernels, dst, deriv, x []float32) {
	dst, deriv = dst[:len(x)], deriv[:len(x)]
	for lo := 0; lo < len(x); lo += len(ones) {
		hi := min(lo+len(ones), len(x))
		v.gelu(dst[lo:hi], x[lo:hi])
		v.geluBackward(deriv[lo:hi], x[lo:hi], ones[:hi-lo])
	}
}

// GELUTanh computes the tanh approximation of GELU (GPT-2's "gelu_new"):
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func GELUTanh(dst, x []float32) { vec.geluTanh(dst, x) }

// GELUTanhBackward computes dx = dy·GELUTanh'(x). dx may alias dy.
func GELUTanhBackward(dx, x, dy []float32) { vec.geluTanhBackward(dx, x, dy) }

// SiLU computes dst = x·σ(x) (also called swish).
func SiLU(dst, x []float32) { vec.silu(dst, x) }

// SiLUBackward computes dx = dy·σ(x)·(1 + x·(1 − σ(x))). dx may alias dy.
func SiLUBackward(dx, x, dy []float32) { vec.siluBackward(dx, x, dy) }

// Tanh computes dst = tanh(x).
func Tanh(dst, x []float32) { vec.tanh(dst, x) }

// TanhBackward computes dx = dy·(1 − y²) from the forward output
// y = tanh(x). dx may alias dy.
func TanhBackward(dx, y, dy []float32) { vec.tanhBackward(dx, y, dy) }

// ReLU computes dst = max(x, 0). NaNs propagate and −0 becomes +0.
func ReLU(dst, x []float32) { vec.relu(dst, x) }

// ReLUBackward computes dx = dy where x > 0 and 0 elsewhere (NaN x included).
// dx may alias dy.
func ReLUBackward(dx, x, dy []float32) { vec.reluBackward(dx, x, dy) }

// AdamW applies one AdamW step with PyTorch's semantics (torch.optim.AdamW,
// non-amsgrad) to parameters p with gradient g and moments m, v:
//
//	p -= lr·weightDecay·p
//	m = β1·m + (1−β1)·g
//	v = β2·v + (1−β2)·g²
//	p -= lr/biasCorr1 · m / (sqrt(v)/sqrt(biasCorr2) + eps)
//
// where biasCorr1 = 1−β1^t and biasCorr2 = 1−β2^t for step t. With
// weightDecay 0 it is Adam.
func AdamW(p, g, m, v []float32, lr, beta1, beta2, eps, weightDecay, biasCorr1, biasCorr2 float32) {
	vec.adamW(p, g, m, v, lr, beta1, beta2, eps, weightDecay, biasCorr1, biasCorr2)
}
