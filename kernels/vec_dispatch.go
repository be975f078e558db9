package kernels

// The kernel variants in use. vec_amd64.go may replace them at start-up with
// assembly versions; everywhere else they stay the portable references.
var (
	dotImpl               = DotGeneric
	axpyImpl              = AxpyGeneric
	scaleImpl             = ScaleGeneric
	addImpl               = AddGeneric
	subImpl               = SubGeneric
	mulImpl               = MulGeneric
	sumImpl               = SumGeneric
	maxImpl               = MaxGeneric
	expImpl               = ExpGeneric
	softmaxImpl           = SoftmaxGeneric
	logSoftmaxImpl        = LogSoftmaxGeneric
	softmaxBackwardImpl   = SoftmaxBackwardGeneric
	layerNormImpl         = LayerNormGeneric
	layerNormBackwardImpl = LayerNormBackwardGeneric
	rmsNormImpl           = RMSNormGeneric
	rmsNormBackwardImpl   = RMSNormBackwardGeneric
	geluImpl              = GELUGeneric
	geluBackwardImpl      = GELUBackwardGeneric
	geluTanhImpl          = GELUTanhGeneric
	geluTanhBackwardImpl  = GELUTanhBackwardGeneric
	siluImpl              = SiLUGeneric
	siluBackwardImpl      = SiLUBackwardGeneric
	tanhImpl              = TanhGeneric
	reluImpl              = ReLUGeneric
	adamWImpl             = AdamWGeneric
)
