package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestBF16VectorSpecials checks the bfloat16 vector kernels — F32ToBF16,
// BF16ToF32, DotBF16 and MatVecBF16 — on NaN, ±Inf, ±0, float32 and
// bfloat16 subnormals and values at the edge of the range, under every
// variant: conversions exactly as the generic twins (NaNs stay NaNs,
// overflow rounds to ±Inf, subnormals are kept, not flushed), and dot
// products NaN or ±Inf where the float64 product of the widened weights is
// NaN or infinite, within the float32 summation bound of that product
// elsewhere. The inputs are placed at every position of a 37-long vector
// (tails and vector blocks) and rows of a matrix.
func TestBF16VectorSpecials(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	vals := []float32{nan, inf, -inf, 0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, 0x1p-126, 0x1.fep-127,
		0x1p-133, 3.4e38, -3.39e38, 0x1.ffp127, 1, -1.5}
	const n = 37
	forEachVariant(t, func(t *testing.T) {
		for _, v := range vals {
			for pos := 0; pos < n; pos++ {
				x, y := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = float32(i%5) - 2 // -2..2, exact in bfloat16
					y[i] = 0.25 * float32(i%3+1)
				}
				x[pos] = v
				// Conversions, against the generic twins bit for bit.
				h, hw := make([]uint16, n), make([]uint16, n)
				F32ToBF16(h, x)
				F32ToBF16Generic(hw, x)
				for i := range h {
					if h[i] != hw[i] && !(bf16IsNaN(h[i]) && bf16IsNaN(hw[i])) {
						t.Fatalf("F32ToBF16(%g) at %d = %#04x, want %#04x", x[i], i, h[i], hw[i])
					}
				}
				back, backw := make([]float32, n), make([]float32, n)
				BF16ToF32(back, h)
				BF16ToF32Generic(backw, h)
				for i := range back {
					if math.Float32bits(back[i]) != math.Float32bits(backw[i]) && !(back[i] != back[i] && backw[i] != backw[i]) {
						t.Fatalf("BF16ToF32(%#04x) = %g, want %g", h[i], back[i], backw[i])
					}
				}
				if v == v && math.Abs(float64(v)) < 0x1p127 && (v > 0) != (back[pos] > 0) && v != 0 {
					t.Errorf("F32ToBF16(%g) changed sign or flushed to zero: %g", v, back[pos])
				}
				// Dot products: the special in the weights (w = h), and in x.
				for _, swap := range []bool{false, true} {
					xs, ws := y, h
					if swap {
						xs = x
						ws = make([]uint16, n)
						F32ToBF16(ws, y)
					}
					var want, abs float64
					for i := range xs {
						p := float64(xs[i]) * float64(math.Float32frombits(uint32(ws[i])<<16))
						want += p
						abs += math.Abs(p)
					}
					name := fmt.Sprintf("DotBF16 with %g at %d (in x: %v)", v, pos, swap)
					checkSpecialDot(t, name, DotBF16(xs, ws), want, abs, n)
					m := 3
					wm := make([]uint16, m*n)
					for r := range m {
						copy(wm[r*n:], ws)
					}
					out := make([]float32, m)
					MatVecBF16(out, xs, wm)
					for r := range out {
						checkSpecialDot(t, fmt.Sprintf("MatVecBF16 row %d: %s", r, name), out[r], want, abs, n)
					}
				}
			}
		}
	})
}

func bf16IsNaN(h uint16) bool { return h&0x7f80 == 0x7f80 && h&0x7f != 0 }

// checkSpecialDot fails unless got is NaN when want is, the infinity of
// want when want is infinite (or overflows float32), and otherwise within
// the float32 summation bound of want.
func checkSpecialDot(t *testing.T, name string, got float32, want, abs float64, n int) {
	t.Helper()
	switch {
	case math.IsNaN(want):
		if got == got {
			t.Fatalf("%s = %g, want NaN", name, got)
		}
	case math.IsInf(want, 0) || math.Abs(want) > math.MaxFloat32:
		if !math.IsInf(float64(got), int(math.Copysign(1, want))) {
			t.Fatalf("%s = %g, want %g", name, got, want)
		}
	case math.IsInf(abs, 0) || abs > math.MaxFloat32:
		// Partial sums may overflow in float32 although the total does not.
	default:
		if math.Abs(float64(got)-want) > reductionTol(n, abs) {
			t.Fatalf("%s = %g, want %g (±%g)", name, got, want, reductionTol(n, abs))
		}
	}
}
