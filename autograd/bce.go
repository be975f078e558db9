package autograd

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/tensor"
)

// BCEWithLogits returns PyTorch's BCEWithLogitsLoss of logits against
// targets in [0, 1], averaged over the entries whose weight is not zero:
//
//	loss = Σᵢ wᵢ·(softplus(xᵢ) − yᵢ·xᵢ) / Σᵢ wᵢ
//
// computed in float64 in the stable form max(x, 0) − x·y + log(1 + e^−|x|).
// weights nil means every entry counts 1 (the plain mean); a 0/1 weight
// vector selects entries, as ELECTRA's discriminator loss over the
// attention mask. The gradient is wᵢ·(σ(xᵢ) − yᵢ)/Σw. It is an error when
// the lengths differ or no entry has weight.
func BCEWithLogits(logits *Var, targets, weights []float32) (*Var, error) {
	n := logits.Value.Numel()
	if len(targets) != n || weights != nil && len(weights) != n {
		return nil, fmt.Errorf("autograd: bce: %d logits, %d targets, %d weights", n, len(targets), len(weights))
	}
	x := logits.Value.Contiguous().Data()
	var wsum float64
	for i := range n {
		w := 1.0
		if weights != nil {
			w = float64(weights[i])
		}
		if w < 0 || math.IsNaN(w) {
			return nil, fmt.Errorf("autograd: bce: weight %g at %d", w, i)
		}
		wsum += w
	}
	if wsum == 0 {
		return nil, fmt.Errorf("autograd: bce: no entry has a weight")
	}
	g := logits.graph
	var dl *tensor.Tensor
	if tracking(g, logits) {
		dl = g.alloc(logits.Value.Shape())
	}
	var loss float64
	for i, v := range x {
		w := 1.0
		if weights != nil {
			w = float64(weights[i])
		}
		xv, y := float64(v), float64(targets[i])
		loss += w * (math.Max(xv, 0) - xv*y + math.Log1p(math.Exp(-math.Abs(xv))))
		if dl != nil {
			dl.Data()[i] = float32(w * (1/(1+math.Exp(-xv)) - y) / wsum)
		}
	}
	return record(g, tensor.Scalar(float32(loss/wsum)), func(gr *tensor.Tensor) {
		s := gr.Item()
		accumulateWith(logits, func(dst *tensor.Tensor) { tensor.MulScalarInto(dst, dl, s) })
	}, logits), nil
}
