package kernels

// vecKernels is one complete set of vector-kernel variants. The exported
// functions in vec.go and vec_convert.go call through the package's single
// instance, vec.
type vecKernels struct {
	name string // "generic", "avx2", "avx512"

	dot               func(x, y []float32) float32
	axpy              func(alpha float32, x, y []float32)
	scale             func(alpha float32, x []float32)
	add, sub, mul     func(dst, x, y []float32)
	sum               func(x []float32) float32
	max               func(x []float32) float32
	exp               func(dst, x []float32)
	softmax           func(dst, x []float32)
	logSoftmax        func(dst, x []float32)
	softmaxBackward   func(dx, y, dy []float32)
	layerNorm         func(dst, x, gamma, beta []float32, eps float32) (mean, rstd float32)
	layerNormBackward func(dx, x, gamma, dy []float32, mean, rstd float32, dgamma, dbeta []float32)
	rmsNorm           func(dst, x, gamma []float32, eps float32) (rstd float32)
	rmsNormBackward   func(dx, x, gamma, dy []float32, rstd float32, dgamma []float32)
	gelu              func(dst, x []float32)
	geluBackward      func(dx, x, dy []float32)
	geluDeriv         func(dst, deriv, x []float32) // nil: gelu then geluBackward (geluDerivFrom)
	geluTanh          func(dst, x []float32)
	geluTanhBackward  func(dx, x, dy []float32)
	silu              func(dst, x []float32)
	siluBackward      func(dx, x, dy []float32)
	tanh              func(dst, x []float32)
	tanhBackward      func(dx, y, dy []float32)
	relu              func(dst, x []float32)
	reluBackward      func(dx, x, dy []float32)
	adamW             func(p, g, m, v []float32, lr, beta1, beta2, eps, weightDecay, biasCorr1, biasCorr2 float32)

	bf16ToF32 func(dst []float32, src []uint16)
	f16ToF32  func(dst []float32, src []uint16)
	f32ToBF16 func(dst []uint16, src []float32)
	f32ToF16  func(dst []uint16, src []float32)
	dotBF16   func(x []float32, w []uint16) float32

	matVec     func(y, x, w []float32, ldw int) // see matvec.go
	matVecBF16 func(y, x []float32, w []uint16) // see matvec.go
	vecMatAdd  func(y, x, w []float32, ldw int) // see matvec.go
}

// genericVec is the portable variant set, available everywhere.
var genericVec = vecKernels{
	name:              "generic",
	dot:               DotGeneric,
	axpy:              AxpyGeneric,
	scale:             ScaleGeneric,
	add:               AddGeneric,
	sub:               SubGeneric,
	mul:               MulGeneric,
	sum:               SumGeneric,
	max:               MaxGeneric,
	exp:               ExpGeneric,
	softmax:           SoftmaxGeneric,
	logSoftmax:        LogSoftmaxGeneric,
	softmaxBackward:   SoftmaxBackwardGeneric,
	layerNorm:         LayerNormGeneric,
	layerNormBackward: LayerNormBackwardGeneric,
	rmsNorm:           RMSNormGeneric,
	rmsNormBackward:   RMSNormBackwardGeneric,
	gelu:              GELUGeneric,
	geluBackward:      GELUBackwardGeneric,
	geluTanh:          GELUTanhGeneric,
	geluTanhBackward:  GELUTanhBackwardGeneric,
	silu:              SiLUGeneric,
	siluBackward:      SiLUBackwardGeneric,
	tanh:              TanhGeneric,
	tanhBackward:      TanhBackwardGeneric,
	relu:              ReLUGeneric,
	reluBackward:      ReLUBackwardGeneric,
	adamW:             AdamWGeneric,
	bf16ToF32:         BF16ToF32Generic,
	f16ToF32:          F16ToF32Generic,
	f32ToBF16:         F32ToBF16Generic,
	f32ToF16:          F32ToF16Generic,
	dotBF16:           DotBF16Generic,
	matVec:            matVecGenericLd,
	matVecBF16:        MatVecBF16Generic,
	vecMatAdd:         vecMatAddGenericLd,
}

// vec is the variant set in use: the best of vecVariants for this CPU, chosen
// at start-up (see vec_amd64.go), or the generic one.
var vec = genericVec

// vecVariants lists every variant set this CPU can run, generic first; the
// last is the one installed at start-up. Tests iterate over it.
var vecVariants = []vecKernels{genericVec}

// useVecVariant installs the variant set called name for the whole package
// and returns a func restoring the previous one. It is for tests and
// benchmarks only (never from parallel tests) and panics on an unknown name.
func useVecVariant(name string) (restore func()) {
	prev := vec
	for _, v := range vecVariants {
		if v.name == name {
			vec = v
			return func() { vec = prev }
		}
	}
	panic("kernels: unknown vector variant " + name)
}

// forceGenericVec installs the portable kernels and returns a func restoring
// the previous ones.
func forceGenericVec() (restore func()) { return useVecVariant("generic") }
