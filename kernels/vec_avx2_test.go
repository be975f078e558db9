//go:build amd64 && !purego

package kernels

import (
	"math"
	"reflect"
	"testing"
)

// The AVX2 kernels mirror the AVX-512 ones formula for formula, so on a CPU
// with both the two variants must agree closely everywhere, including on the
// special values whose limits the float64 references leave open (Inf·0
// forms): those must come out the same, NaN for NaN and Inf for Inf.

// variantNamed returns the vector variant called name, if this CPU runs it.
func variantNamed(name string) (vecKernels, bool) {
	for _, v := range vecVariants {
		if v.name == name {
			return v, true
		}
	}
	return vecKernels{}, false
}

// avx2AndAVX512 returns both variants or skips the test.
func avx2AndAVX512(t *testing.T) (avx2, avx512 vecKernels) {
	t.Helper()
	a, ok2 := variantNamed("avx2")
	b, ok5 := variantNamed("avx512")
	if !ok2 || !ok5 {
		t.Skip("needs a CPU with AVX2 and AVX-512")
	}
	return a, b
}

// agree reports whether the AVX2 result got matches the AVX-512 result want:
// the same NaN-ness, the same infinity, or within ulps of want (or abs).
func agree(got, want float32, ulps, abs float64) bool {
	g, w := float64(got), float64(want)
	switch {
	case math.IsNaN(g) || math.IsNaN(w):
		return math.IsNaN(g) && math.IsNaN(w)
	case math.IsInf(g, 0) || math.IsInf(w, 0):
		return g == w
	}
	d := math.Abs(g - w)
	return d <= abs || d <= ulps*ulp(w)
}

// specialBlocks returns each special value repeated over a whole 8-lane block,
// so that it goes through the AVX2 assembly and not through the Go tail.
func specialBlocks() []float32 {
	var x []float32
	for _, v := range specials {
		for range 8 {
			x = append(x, v)
		}
	}
	return x
}

// TestAVX2CoversEveryKernel checks that the AVX2 set replaces every kernel
// of the generic set: none of its functions is the generic one.
func TestAVX2CoversEveryKernel(t *testing.T) {
	a2, ok := variantNamed("avx2")
	if !ok {
		t.Skip("needs a CPU with AVX2 and FMA")
	}
	av, gv := reflect.ValueOf(a2), reflect.ValueOf(genericVec)
	for i := range av.NumField() {
		f, g := av.Field(i), gv.Field(i)
		if f.Kind() != reflect.Func {
			continue
		}
		if f.IsNil() || !g.IsNil() && f.Pointer() == g.Pointer() {
			t.Errorf("avx2: %s is not an AVX2 kernel", av.Type().Field(i).Name)
		}
	}
}

func TestAVX2MatchesAVX512Elementwise(t *testing.T) {
	a2, a5 := avx2AndAVX512(t)
	type kernel struct {
		name    string
		f       func(v vecKernels, dst, x, dy []float32)
		forward bool // dy unused
	}
	kernels := []kernel{
		{"GELUBackward", func(v vecKernels, dst, x, dy []float32) { v.geluBackward(dst, x, dy) }, false},
		{"GELUTanhBackward", func(v vecKernels, dst, x, dy []float32) { v.geluTanhBackward(dst, x, dy) }, false},
		{"SiLUBackward", func(v vecKernels, dst, x, dy []float32) { v.siluBackward(dst, x, dy) }, false},
		{"TanhBackward", func(v vecKernels, dst, x, dy []float32) { v.tanhBackward(dst, x, dy) }, false},
		{"ReLUBackward", func(v vecKernels, dst, x, dy []float32) { v.reluBackward(dst, x, dy) }, false},
		{"ReLU", func(v vecKernels, dst, x, _ []float32) { v.relu(dst, x) }, true},
		{"GELU", func(v vecKernels, dst, x, _ []float32) { v.gelu(dst, x) }, true},
		{"GELUTanh", func(v vecKernels, dst, x, _ []float32) { v.geluTanh(dst, x) }, true},
		{"SiLU", func(v vecKernels, dst, x, _ []float32) { v.silu(dst, x) }, true},
		{"Tanh", func(v vecKernels, dst, x, _ []float32) { v.tanh(dst, x) }, true},
	}
	r := rng(21)
	sp := specialBlocks()
	inputs := []struct {
		name  string
		x, dy []float32
	}{
		{"random", randSlice(r, 4096, 0, -30, 30), randSlice(r, 4096, 0, -2, 2)},
		{"specials", sp, func() []float32 {
			dy := make([]float32, len(sp))
			for i := range dy {
				dy[i] = 1
			}
			return dy
		}()},
		// Special dy against ordinary x, block by block.
		{"special dy", randSlice(r, len(sp), 0, -5, 5), sp},
	}
	for _, k := range kernels {
		for _, in := range inputs {
			got, want := make([]float32, len(in.x)), make([]float32, len(in.x))
			k.f(a2, got, in.x, in.dy)
			k.f(a5, want, in.x, in.dy)
			bad := 0
			for i := range got {
				abs := 1e-7 * math.Abs(float64(in.dy[i])) // per unit of dy, for the backward passes
				if k.forward {
					abs = 0
				}
				ulps := 4.0
				if k.name == "GELU" || k.name == "GELUBackward" {
					// The exact GELU's tail is t·exp(P(t) − x²/2) on AVX2 and
					// t·Q(t)·exp(−x²/2) on AVX-512: each rounds an exponent
					// of about x²/2, which costs up to x²/2 units of 2⁻²⁴
					// (measured against float64 for x in [−14, −8]: 4.1e-6
					// and 4.0e-6 relative), so they may differ by up to x²
					// ulps beyond the usual 4.
					ulps += float64(in.x[i]) * float64(in.x[i])
				}
				if !agree(got[i], want[i], ulps, abs) {
					if bad++; bad <= 5 {
						t.Errorf("%s %s: x=%v dy=%v: avx2 %v, avx512 %v", k.name, in.name, in.x[i], in.dy[i], got[i], want[i])
					}
				}
			}
		}
	}
}

// TestAVX2Tails runs the AVX2 element-wise kernels on every length up to 40
// and checks that the assembly part and the Go tail together cover exactly
// the slice: nothing written past its end, nothing left unwritten.
func TestAVX2Tails(t *testing.T) {
	a2, ok := variantNamed("avx2")
	if !ok {
		t.Skip("needs a CPU with AVX2 and FMA")
	}
	const guard = 12345
	r := rng(22)
	for n := 0; n <= 40; n++ {
		x, dy := randSlice(r, n, 1, 0.5, 2), randSlice(r, n, 3, 0.5, 2)
		for name, f := range map[string]func(dst []float32){
			"GELUBackward":     func(dst []float32) { a2.geluBackward(dst, x, dy) },
			"GELUTanhBackward": func(dst []float32) { a2.geluTanhBackward(dst, x, dy) },
			"SiLUBackward":     func(dst []float32) { a2.siluBackward(dst, x, dy) },
			"TanhBackward":     func(dst []float32) { a2.tanhBackward(dst, x, dy) },
			"ReLUBackward":     func(dst []float32) { a2.reluBackward(dst, x, dy) },
			"ReLU":             func(dst []float32) { a2.relu(dst, x) },
		} {
			buf := make([]float32, n+1)
			for i := range buf {
				buf[i] = guard
			}
			f(buf[:n])
			for i, v := range buf[:n] {
				if v == guard || v == 0 {
					t.Errorf("%s n=%d: [%d] not written (%v)", name, n, i, v)
				}
			}
			if buf[n] != guard {
				t.Errorf("%s n=%d: wrote past the end", name, n)
			}
		}
	}
}

// TestAVX2MatchesAVX512Rows compares the row kernels of training (LayerNorm,
// RMSNorm, their backward passes, SoftmaxBackward and AdamW) between the two
// variants, on ordinary rows and on rows poisoned by a NaN or an infinity
// inside the assembly part or inside the Go tail: the results must agree
// closely, and NaN where the other has NaN.
func TestAVX2MatchesAVX512Rows(t *testing.T) {
	a2, a5 := avx2AndAVX512(t)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	// run applies every row kernel of v to copies of x, dy, gamma and beta
	// and returns all outputs, concatenated.
	run := func(v vecKernels, x, dy, gamma, beta []float32) []float32 {
		n := len(x)
		var out []float32
		for _, gb := range [][2][]float32{{nil, nil}, {gamma, nil}, {nil, beta}, {gamma, beta}} {
			dst := make([]float32, n)
			mean, rstd := v.layerNorm(dst, x, gb[0], gb[1], 1e-5)
			out = append(out, dst...)
			out = append(out, mean, rstd)
			dx, dg, db := make([]float32, n), append([]float32(nil), beta...), append([]float32(nil), gamma...)
			v.layerNormBackward(dx, x, gb[0], dy, mean, rstd, dg, db)
			out = append(append(append(out, dx...), dg...), db...)
		}
		for _, g := range [][]float32{nil, gamma} {
			dst := make([]float32, n)
			rstd := v.rmsNorm(dst, x, g, 1e-6)
			out = append(append(out, dst...), rstd)
			dx, dg := make([]float32, n), append([]float32(nil), beta...)
			v.rmsNormBackward(dx, x, g, dy, rstd, dg)
			out = append(append(out, dx...), dg...)
		}
		y := make([]float32, n)
		v.softmax(y, x)
		dx := make([]float32, n)
		v.softmaxBackward(dx, y, dy)
		out = append(out, dx...)
		p, m, s := append([]float32(nil), x...), append([]float32(nil), dy...), make([]float32, n)
		for i := range s {
			s[i] = 1e-4 * gamma[i]
		}
		v.adamW(p, dy, m, s, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5, 0.1)
		return append(append(append(out, p...), m...), s...)
	}
	r := rng(23)
	for _, n := range []int{8, 13, 64, 1001} {
		for _, poison := range []struct {
			at int // index of the poisoned x; −1 for none
			v  float32
		}{{-1, 0}, {3, nan}, {n - 1, nan}, {5, inf}, {n - 1, -inf}} {
			if poison.at >= n {
				continue
			}
			x, dy := randSlice(r, n, 1, -3, 3), randSlice(r, n, 0, -1, 1)
			gamma, beta := randSlice(r, n, 0, 0.5, 1.5), randSlice(r, n, 0, -1, 1)
			if poison.at >= 0 {
				x[poison.at] = poison.v
			}
			got, want := run(a2, x, dy, gamma, beta), run(a5, x, dy, gamma, beta)
			bad := 0
			for i := range got {
				if !agree(got[i], want[i], 64, 1e-5) {
					if bad++; bad <= 5 {
						t.Errorf("n=%d x[%d]=%v: output %d: avx2 %v, avx512 %v", n, poison.at, poison.v, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkGELUDerivVariants times GELUWithDerivative under each variant,
// against GELU followed by GELUBackward, which it replaces in training.
func BenchmarkGELUDerivVariants(b *testing.B) {
	const n = 1024
	r := rng(24)
	x, dst, deriv := randSlice(r, n, 0, -4, 4), make([]float32, n), make([]float32, n)
	b.Run("fused", func(b *testing.B) { benchVariants(b, 12, n, func() { GELUWithDerivative(dst, deriv, x) }) })
	b.Run("separate", func(b *testing.B) {
		benchVariants(b, 12, n, func() {
			GELU(dst, x)
			GELUBackward(deriv, x, ones[:n])
		})
	})
}
