package nn

import (
	"math"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// TestActivateMatchesInfer checks that the graph's activations compute what
// infer's kernels compute, over a range that covers both tails.
func TestActivateMatchesInfer(t *testing.T) {
	x := make([]float32, 41)
	for i := range x {
		x[i] = float32(i-20) / 4
	}
	for _, a := range []Activation{GELU, GELUTanh, ReLU, SiLU, Tanh, Identity} {
		want := append([]float32(nil), x...)
		a.Apply(want)
		got := Activate(a, autograd.Const(tensor.MustFromData(append([]float32(nil), x...), len(x)))).Value.Data()
		for i := range x {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 {
				t.Errorf("%v(%g): graph %g, infer %g", a, x[i], got[i], want[i])
				break
			}
		}
	}
}
