package kernels

import "math"

// The portable references for the kernels in vec.go. They favour clarity and
// float64 accumulation where a row reduction would otherwise lose digits.

// DotGeneric is the portable Dot.
func DotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// AxpyGeneric is the portable Axpy.
func AxpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// ScaleGeneric is the portable Scale.
func ScaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// AddGeneric is the portable Add.
func AddGeneric(dst, x, y []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

// SubGeneric is the portable Sub.
func SubGeneric(dst, x, y []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = v - y[i]
	}
}

// MulGeneric is the portable Mul.
func MulGeneric(dst, x, y []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = v * y[i]
	}
}

// SumGeneric is the portable Sum.
func SumGeneric(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

// MaxGeneric is the portable Max.
func MaxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	seen := false
	for _, v := range x {
		if v != v {
			continue
		}
		if !seen || v > m {
			m, seen = v, true
		}
	}
	if !seen && len(x) > 0 {
		return float32(math.NaN())
	}
	return m
}

// ExpGeneric is the portable Exp.
func ExpGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// SoftmaxGeneric is the portable Softmax.
func SoftmaxGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	m := MaxGeneric(x)
	var s float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		dst[i] = e
		s += float64(e)
	}
	inv := float32(1 / s)
	for i := range dst {
		dst[i] *= inv
	}
}

// LogSoftmaxGeneric is the portable LogSoftmax.
func LogSoftmaxGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	m := MaxGeneric(x)
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v - m))
	}
	lse := m + float32(math.Log(s))
	for i, v := range x {
		dst[i] = v - lse
	}
}

// SoftmaxBackwardGeneric is the portable SoftmaxBackward.
func SoftmaxBackwardGeneric(dx, y, dy []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	var s float64
	for i, v := range y {
		s += float64(v * dy[i])
	}
	sf := float32(s)
	for i, v := range y {
		dx[i] = v * (dy[i] - sf)
	}
}

// LayerNormGeneric is the portable LayerNorm.
func LayerNormGeneric(dst, x, gamma, beta []float32, eps float32) (mean, rstd float32) {
	n := len(x)
	dst = dst[:n]
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mu := s / float64(n)
	var ss float64
	for _, v := range x {
		d := float64(v) - mu
		ss += d * d
	}
	mean = float32(mu)
	rstd = float32(1 / math.Sqrt(ss/float64(n)+float64(eps)))
	for i, v := range x {
		y := (v - mean) * rstd
		if gamma != nil {
			y *= gamma[i]
		}
		if beta != nil {
			y += beta[i]
		}
		dst[i] = y
	}
	return mean, rstd
}

// LayerNormBackwardGeneric is the portable LayerNormBackward.
func LayerNormBackwardGeneric(dx, x, gamma, dy []float32, mean, rstd float32, dgamma, dbeta []float32) {
	n := len(x)
	dx, dy = dx[:n], dy[:n]
	// With xhat = (x−mean)·rstd and g = dy·gamma:
	// dx = rstd·(g − mean(g) − xhat·mean(g·xhat)).
	var sg, sgx float64
	for i, v := range x {
		xhat := (v - mean) * rstd
		g := dy[i]
		if gamma != nil {
			g *= gamma[i]
		}
		sg += float64(g)
		sgx += float64(g * xhat)
		if dgamma != nil {
			dgamma[i] += dy[i] * xhat
		}
		if dbeta != nil {
			dbeta[i] += dy[i]
		}
	}
	mg := float32(sg / float64(n))
	mgx := float32(sgx / float64(n))
	for i, v := range x {
		xhat := (v - mean) * rstd
		g := dy[i]
		if gamma != nil {
			g *= gamma[i]
		}
		dx[i] = rstd * (g - mg - xhat*mgx)
	}
}

// RMSNormGeneric is the portable RMSNorm.
func RMSNormGeneric(dst, x, gamma []float32, eps float32) (rstd float32) {
	n := len(x)
	dst = dst[:n]
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	rstd = float32(1 / math.Sqrt(ss/float64(n)+float64(eps)))
	for i, v := range x {
		y := v * rstd
		if gamma != nil {
			y *= gamma[i]
		}
		dst[i] = y
	}
	return rstd
}

// RMSNormBackwardGeneric is the portable RMSNormBackward.
func RMSNormBackwardGeneric(dx, x, gamma, dy []float32, rstd float32, dgamma []float32) {
	n := len(x)
	dx, dy = dx[:n], dy[:n]
	// With xhat = x·rstd and g = dy·gamma: dx = rstd·(g − xhat·mean(g·xhat)).
	var sgx float64
	for i, v := range x {
		xhat := v * rstd
		g := dy[i]
		if gamma != nil {
			g *= gamma[i]
		}
		sgx += float64(g * xhat)
		if dgamma != nil {
			dgamma[i] += dy[i] * xhat
		}
	}
	mgx := float32(sgx / float64(n))
	for i, v := range x {
		xhat := v * rstd
		g := dy[i]
		if gamma != nil {
			g *= gamma[i]
		}
		dx[i] = rstd * (g - xhat*mgx)
	}
}

const (
	invSqrt2    = 0.70710678118654752440
	invSqrt2Pi  = 0.39894228040143267794
	sqrt2OverPi = 0.79788456080286535588
	geluCoeff   = 0.044715
)

// GELUGeneric is the portable GELU.
func GELUGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		xv := float64(v)
		// Φ(x) = ½·erfc(−x/√2) keeps its relative accuracy for x ≪ 0,
		// where 1 + erf(x/√2) would cancel.
		dst[i] = float32(0.5 * xv * math.Erfc(-xv*invSqrt2))
	}
}

// GELUWithDerivativeGeneric is the portable GELUWithDerivative: GELUGeneric
// and GELUBackwardGeneric at dy = 1, element by element.
func GELUWithDerivativeGeneric(dst, deriv, x []float32) {
	dst, deriv = dst[:len(x)], deriv[:len(x)]
	for i, v := range x {
		xv := float64(v)
		cdf := 0.5 * math.Erfc(-xv*invSqrt2)
		pdf := invSqrt2Pi * math.Exp(-0.5*xv*xv)
		dst[i] = float32(xv * cdf)
		deriv[i] = float32(cdf + xv*pdf)
	}
}

// GELUBackwardGeneric is the portable GELUBackward.
func GELUBackwardGeneric(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		xv := float64(v)
		cdf := 0.5 * math.Erfc(-xv*invSqrt2)
		pdf := invSqrt2Pi * math.Exp(-0.5*xv*xv)
		dx[i] = dy[i] * float32(cdf+xv*pdf)
	}
}

// GELUTanhGeneric is the portable GELUTanh.
func GELUTanhGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		xv := float64(v)
		// 0.5·x·(1 + tanh(u)) = x·σ(2u), which avoids cancellation for x ≪ 0.
		dst[i] = float32(xv / (1 + math.Exp(-2*sqrt2OverPi*(xv+geluCoeff*xv*xv*xv))))
	}
}

// GELUTanhBackwardGeneric is the portable GELUTanhBackward.
func GELUTanhBackwardGeneric(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		xv := float64(v)
		u := sqrt2OverPi * (xv + geluCoeff*xv*xv*xv)
		t := math.Tanh(u)
		du := sqrt2OverPi * (1 + 3*geluCoeff*xv*xv)
		dx[i] = dy[i] * float32(0.5*(1+t)+0.5*xv*(1-t*t)*du)
	}
}

// SiLUGeneric is the portable SiLU.
func SiLUGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		xv := float64(v)
		dst[i] = float32(xv / (1 + math.Exp(-xv)))
	}
}

// SiLUBackwardGeneric is the portable SiLUBackward.
func SiLUBackwardGeneric(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		xv := float64(v)
		s := 1 / (1 + math.Exp(-xv))
		dx[i] = dy[i] * float32(s*(1+xv*(1-s)))
	}
}

// TanhGeneric is the portable Tanh.
func TanhGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

// TanhBackwardGeneric is the portable TanhBackward.
func TanhBackwardGeneric(dx, y, dy []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		dx[i] = dy[i] * (1 - v*v)
	}
}

// ReLUBackwardGeneric is the portable ReLUBackward.
func ReLUBackwardGeneric(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// ReLUGeneric is the portable ReLU.
func ReLUGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v > 0 || v != v {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

// AdamWGeneric is the portable AdamW.
func AdamWGeneric(p, g, m, v []float32, lr, beta1, beta2, eps, weightDecay, biasCorr1, biasCorr2 float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	stepSize := lr / biasCorr1
	sqrtBC2 := float32(math.Sqrt(float64(biasCorr2)))
	decay := 1 - lr*weightDecay
	for i := range p {
		pi := p[i]
		if weightDecay != 0 {
			pi *= decay
		}
		gi := g[i]
		mi := beta1*m[i] + (1-beta1)*gi
		vi := beta2*v[i] + (1-beta2)*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/sqrtBC2 + eps
		p[i] = pi - stepSize*mi/denom
	}
}
