package optim

import (
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// The update rules on flat slices, one function per optimizer. They follow
// torch.optim's single-tensor (non-foreach) code paths of PyTorch 1.13–2.x.

// sgdUpdate applies one torch.optim.SGD step to p with gradient g. buf is the
// momentum buffer (len(p), unused when momentum is 0); first reports whether
// this is the buffer's first step, when PyTorch initialises it with the
// (decayed) gradient instead of blending.
func sgdUpdate(p, g, buf []float32, lr, momentum, dampening, weightDecay float32, nesterov, first bool) {
	g = g[:len(p)]
	if momentum == 0 {
		for i, gi := range g {
			if weightDecay != 0 {
				gi += weightDecay * p[i]
			}
			p[i] -= lr * gi
		}
		return
	}
	buf = buf[:len(p)]
	for i, gi := range g {
		if weightDecay != 0 {
			gi += weightDecay * p[i] // d_p = d_p.add(p, alpha=weight_decay)
		}
		b := gi
		if !first {
			b = momentum*buf[i] + (1-dampening)*gi // buf.mul_(momentum).add_(d_p, alpha=1-dampening)
		}
		buf[i] = b
		if nesterov {
			gi += momentum * b // d_p = d_p.add(buf, alpha=momentum)
		} else {
			gi = b
		}
		p[i] -= lr * gi
	}
}

// adamUpdate applies one torch.optim.Adam step (L2 weight decay folded into
// the gradient, not decoupled) without modifying g. With weightDecay 0 it is
// exactly kernels.AdamW with weightDecay 0.
func adamUpdate(p, g, m, v []float32, lr, beta1, beta2, eps, weightDecay, bc1, bc2 float32) {
	if weightDecay == 0 {
		kernels.AdamW(p, g, m, v, lr, beta1, beta2, eps, 0, bc1, bc2)
		return
	}
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	stepSize := lr / bc1
	sqrtBC2 := float32(math.Sqrt(float64(bc2)))
	for i, pi := range p {
		gi := g[i] + weightDecay*pi // grad = grad.add(param, alpha=weight_decay)
		mi := beta1*m[i] + (1-beta1)*gi
		vi := beta2*v[i] + (1-beta2)*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/sqrtBC2 + eps
		p[i] = pi - stepSize*mi/denom
	}
}

// sumSquares returns Σ x² accumulated in float64.
func sumSquares(x []float32) float64 {
	// Blocks of float32 dot products keep the kernel's speed while the
	// float64 outer sum bounds the rounding error on long tensors.
	const block = 4096
	var s float64
	for len(x) > 0 {
		n := min(block, len(x))
		s += float64(kernels.Dot(x[:n], x[:n]))
		x = x[n:]
	}
	return s
}
