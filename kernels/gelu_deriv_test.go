package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGELUWithDerivative checks, for every variant, that GELUWithDerivative
// gives bit for bit the values of GELU and of GELUBackward at dy = 1 (so a
// backward through the saved derivative equals GELUBackward's), also with
// deriv aliasing x, on every tail length and on special values.
func TestGELUWithDerivative(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 5.5, -5.5, 13, -13, 1e4, -1e4, 3e38, -3e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	forEachVariant(t, func(t *testing.T) {
		for _, n := range testLengths {
			x := randSlice(r, n, 0, -12, 8)
			for i := 0; i < n && i < len(specials); i++ {
				x[(i*7)%n] = specials[i]
			}
			wantY, wantD := make([]float32, n), make([]float32, n)
			GELU(wantY, x)
			dy := make([]float32, n)
			for i := range dy {
				dy[i] = 1
			}
			GELUBackward(wantD, x, dy)

			y, d := make([]float32, n), make([]float32, n)
			GELUWithDerivative(y, d, x)
			sameBits(t, "dst", y, wantY, x)
			sameBits(t, "deriv", d, wantD, x)

			inPlace := slices.Clone(x)
			GELUWithDerivative(y, inPlace, inPlace)
			sameBits(t, "deriv aliasing x", inPlace, wantD, x)
		}
	})
	// The portable reference agrees with the generic kernels too.
	x := randSlice(r, 300, 0, -12, 8)
	y, d, wantY, wantD := make([]float32, 300), make([]float32, 300), make([]float32, 300), make([]float32, 300)
	GELUWithDerivativeGeneric(y, d, x)
	GELUGeneric(wantY, x)
	GELUBackwardGeneric(wantD, x, ones[:300])
	sameBits(t, "generic dst", y, wantY, x)
	sameBits(t, "generic deriv", d, wantD, x)
}

// sameBits fails unless got and want hold the same float32 bit patterns
// (any NaN matching any NaN).
func sameBits(t *testing.T, what string, got, want, x []float32) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("%s[%d] (x = %v, n = %d): got %v, want %v", what, i, x[i], len(x), g, w)
		}
	}
}
