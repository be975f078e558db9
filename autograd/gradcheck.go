package autograd

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/tensor"
)

// GradCheckOptions configures GradCheck. The zero value gives defaults
// suited to float32 ops on O(1) values.
type GradCheckOptions struct {
	// Eps is the central-difference step; 0 means 1e-2.
	Eps float64
	// ATol and RTol bound |analytic − numeric| <= ATol + RTol·|numeric|;
	// 0 means 1e-2 each.
	ATol, RTol float64
	// Seed seeds the random projection of the output; any value is fine.
	Seed uint64
}

// GradCheck verifies the gradients of f with respect to inputs by central
// finite differences. f must build its output from inputs deterministically
// (reseed any RNG inside f); inputs must be leaves with contiguous values.
// The output is projected onto fixed random weights R, so that the checked
// scalar Σ R·f() (accumulated in float64) exercises every output element.
// Input gradients are overwritten. It returns an error naming the first
// element out of tolerance.
func GradCheck(f func() *Var, inputs []*Var, opts GradCheckOptions) error {
	eps, atol, rtol := opts.Eps, opts.ATol, opts.RTol
	if eps == 0 {
		eps = 1e-2
	}
	if atol == 0 {
		atol = 1e-2
	}
	if rtol == 0 {
		rtol = 1e-2
	}
	for _, in := range inputs {
		in.Grad = nil
	}
	out := f()
	rng := tensor.NewRNG(opts.Seed + 1)
	r := rng.Randn(out.Value.Shape()...)
	rs := r.Data()
	project := func(y *tensor.Tensor) float64 {
		vals := y.Values()
		var s float64
		for i, v := range vals {
			s += float64(rs[i]) * float64(v)
		}
		return s
	}
	if !out.RequiresGrad() {
		return fmt.Errorf("autograd: gradcheck: output does not require gradients")
	}
	BackwardWith(out, r)
	for k, in := range inputs {
		if !in.RequiresGrad() {
			continue
		}
		if in.Grad == nil {
			in.Grad = tensor.New(in.Value.Shape()...)
		}
		analytic := in.Grad.Values()
		data := in.Value.Data()
		for i := range data {
			orig := data[i]
			xp, xm := float32(float64(orig)+eps), float32(float64(orig)-eps)
			data[i] = xp
			fp := project(f().Value)
			data[i] = xm
			fm := project(f().Value)
			data[i] = orig
			num := (fp - fm) / (float64(xp) - float64(xm))
			a := float64(analytic[i])
			if !(math.Abs(a-num) <= atol+rtol*math.Abs(num)) { // also catches NaN
				return fmt.Errorf("autograd: gradcheck: input %d %v element %d: analytic %.6g, numeric %.6g", k, in.Value.Shape(), i, a, num)
			}
		}
	}
	return nil
}
