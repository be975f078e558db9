package kernels

// This file declares the vector kernels: element-wise maths, reductions,
// row-wise softmax and normalisation, activations and the AdamW update, each
// over flat float32 slices. Each exported function dispatches to the best
// variant for this CPU; the ...Generic functions in vec_generic.go are the
// portable references with the same contracts.
//
// Unless stated otherwise, all slices passed to one call must have the same
// length, and dst may alias x (but not partially overlap it).

// Dot returns Σ x[i]·y[i].
func Dot(x, y []float32) float32 { return dotImpl(x, y) }

// Axpy computes y += alpha·x.
func Axpy(alpha float32, x, y []float32) { axpyImpl(alpha, x, y) }

// Scale computes x *= alpha.
func Scale(alpha float32, x []float32) { scaleImpl(alpha, x) }

// Add computes dst = x + y.
func Add(dst, x, y []float32) { addImpl(dst, x, y) }

// Sub computes dst = x − y.
func Sub(dst, x, y []float32) { subImpl(dst, x, y) }

// Mul computes dst = x · y element-wise.
func Mul(dst, x, y []float32) { mulImpl(dst, x, y) }

// Sum returns Σ x[i].
func Sum(x []float32) float32 { return sumImpl(x) }

// Max returns the largest element of x, or −Inf for an empty slice. NaNs are
// ignored unless every element is NaN.
func Max(x []float32) float32 { return maxImpl(x) }

// Exp computes dst = exp(x) element-wise.
func Exp(dst, x []float32) { expImpl(dst, x) }

// Softmax writes the numerically stable softmax of one row x into dst:
// dst[i] = exp(x[i] − max x) / Σ exp(x[j] − max x).
func Softmax(dst, x []float32) { softmaxImpl(dst, x) }

// LogSoftmax writes log(softmax(x)) of one row into dst, computed stably as
// x[i] − max x − log Σ exp(x[j] − max x).
func LogSoftmax(dst, x []float32) { logSoftmaxImpl(dst, x) }

// SoftmaxBackward computes, for one row with softmax output y and upstream
// gradient dy, dx[i] = y[i]·(dy[i] − Σ dy[j]·y[j]). dx may alias dy.
func SoftmaxBackward(dx, y, dy []float32) { softmaxBackwardImpl(dx, y, dy) }

// LayerNorm normalises one row: dst = (x − mean)·rstd·gamma + beta, with
// rstd = 1/sqrt(var + eps) and the biased variance, as torch.nn.LayerNorm. A
// nil gamma means ones and a nil beta zeros. It returns mean and rstd, which
// LayerNormBackward needs.
func LayerNorm(dst, x, gamma, beta []float32, eps float32) (mean, rstd float32) {
	return layerNormImpl(dst, x, gamma, beta, eps)
}

// LayerNormBackward back-propagates one LayerNorm row: given input x, the
// saved mean and rstd, gamma (nil for ones) and upstream dy, it writes dx
// (overwriting) and accumulates into dgamma and dbeta when they are non-nil.
func LayerNormBackward(dx, x, gamma, dy []float32, mean, rstd float32, dgamma, dbeta []float32) {
	layerNormBackwardImpl(dx, x, gamma, dy, mean, rstd, dgamma, dbeta)
}

// RMSNorm normalises one row: dst = x·rstd·gamma with
// rstd = 1/sqrt(mean(x²) + eps), as Llama's RMSNorm. A nil gamma means ones.
func RMSNorm(dst, x, gamma []float32, eps float32) (rstd float32) {
	return rmsNormImpl(dst, x, gamma, eps)
}

// RMSNormBackward back-propagates one RMSNorm row, writing dx and
// accumulating into dgamma when it is non-nil.
func RMSNormBackward(dx, x, gamma, dy []float32, rstd float32, dgamma []float32) {
	rmsNormBackwardImpl(dx, x, gamma, dy, rstd, dgamma)
}

// GELU computes the exact GELU, dst = x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
func GELU(dst, x []float32) { geluImpl(dst, x) }

// GELUBackward computes dx = dy·GELU'(x) for the exact GELU. dx may alias dy.
func GELUBackward(dx, x, dy []float32) { geluBackwardImpl(dx, x, dy) }

// GELUTanh computes the tanh approximation of GELU (GPT-2's "gelu_new"):
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func GELUTanh(dst, x []float32) { geluTanhImpl(dst, x) }

// GELUTanhBackward computes dx = dy·GELUTanh'(x). dx may alias dy.
func GELUTanhBackward(dx, x, dy []float32) { geluTanhBackwardImpl(dx, x, dy) }

// SiLU computes dst = x·σ(x) (also called swish).
func SiLU(dst, x []float32) { siluImpl(dst, x) }

// SiLUBackward computes dx = dy·σ(x)·(1 + x·(1 − σ(x))). dx may alias dy.
func SiLUBackward(dx, x, dy []float32) { siluBackwardImpl(dx, x, dy) }

// Tanh computes dst = tanh(x).
func Tanh(dst, x []float32) { tanhImpl(dst, x) }

// ReLU computes dst = max(x, 0).
func ReLU(dst, x []float32) { reluImpl(dst, x) }

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
	adamWImpl(p, g, m, v, lr, beta1, beta2, eps, weightDecay, biasCorr1, biasCorr2)
}
