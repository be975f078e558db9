package autograd

import (
	"math"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// TestBCEWithLogits checks the value against the definition, for logits
// large enough that a naive log(σ(x)) would overflow, and the errors.
func TestBCEWithLogits(t *testing.T) {
	x := []float32{-120, -2, 0, 0.5, 3, 90}
	y := []float32{1, 0, 1, 0.3, 1, 0}
	w := []float32{1, 1, 0, 1, 1, 1}
	var want, wsum float64
	for i := range x {
		xv, yv := float64(x[i]), float64(y[i])
		// softplus(x) − x·y, with softplus written the other stable way.
		sp := xv + math.Log1p(math.Exp(-xv))
		if xv < 0 {
			sp = math.Log1p(math.Exp(xv))
		}
		want += float64(w[i]) * (sp - xv*yv)
		wsum += float64(w[i])
	}
	want /= wsum
	got, err := BCEWithLogits(Param(tensor.MustFromData(x, 2, 3)), y, w)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(float64(got.Value.Item()) - want); d > 1e-6*math.Abs(want) {
		t.Fatalf("loss %g, want %g", got.Value.Item(), want)
	}
	for _, c := range []struct {
		name    string
		targets []float32
		weights []float32
	}{
		{"short targets", y[:5], nil},
		{"short weights", y, w[:2]},
		{"no weight", y, make([]float32, 6)},
		{"negative weight", y, []float32{1, -1, 1, 1, 1, 1}},
	} {
		if _, err := BCEWithLogits(Param(tensor.MustFromData(x, 6)), c.targets, c.weights); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
