package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// bf16 returns x rounded to bfloat16 (to nearest even), as a float32.
func bf16(x float32) float32 {
	h := []uint16{0}
	kernels.F32ToBF16(h, []float32{x})
	f := []float32{0}
	kernels.BF16ToF32(f, h)
	return f[0]
}

// bf16Dot returns Σ bf16(a)·bf16(b) over the n pairs at(i), in float64,
// and the sum of the products' magnitudes.
func bf16Dot(n int, at func(i int) (a, b float32)) (sum, abs float64) {
	for i := range n {
		a, b := at(i)
		v := float64(bf16(a)) * float64(bf16(b))
		sum, abs = sum+v, abs+math.Abs(v)
	}
	return sum, abs
}

// TestLinearBF16 checks Linear and LinearT under SetBF16 against float64
// products of the operands rounded to bfloat16 — the forward output, the
// input gradient and the weight gradient, each summed in float32 (k sums
// off by at most γ_k·Σ|a·b|, well inside the 2⁻¹⁶ relative bound used here,
// while float32 products of the unrounded operands would be off by about
// 2⁻⁸) — and the bias gradient, which stays float32. A second backward pass
// checks that gradients accumulate, and a run without SetBF16 that the
// switch is what changes the results.
func TestLinearBF16(t *testing.T) {
	for _, tc := range []struct {
		wT, bias bool
		x        []int
	}{
		{false, true, []int{2, 5, 37}}, {true, true, []int{3, 37}}, {false, false, []int{1, 1, 37}}, {true, false, []int{4, 2, 37}},
	} {
		t.Run(fmt.Sprintf("wT=%v/bias=%v/x=%v", tc.wT, tc.bias, tc.x), func(t *testing.T) {
			rng := tensor.NewRNG(7)
			const in, out = 37, 45
			x := randVar(rng, tc.x...)
			w := randVar(rng, out, in)
			if tc.wT {
				w = randVar(rng, in, out)
			}
			var b *Var
			if tc.bias {
				b = randVar(rng, out)
			}
			rows := x.Value.Numel() / in
			gy := rng.Randn(append(tc.x[:len(tc.x)-1:len(tc.x)-1], out)...)
			run := func(on bool) (y *tensor.Tensor) {
				g := NewGraph()
				g.Attach(x, w)
				if prev := g.SetBF16(on); prev {
					t.Fatal("SetBF16 reported a previous setting of true on a new graph")
				}
				if g.BF16() != on {
					t.Fatalf("BF16() = %v after SetBF16(%v)", g.BF16(), on)
				}
				ZeroGrad(x, w)
				if b != nil {
					b.ZeroGrad()
				}
				for range 2 { // twice: the second pass accumulates
					var v *Var
					if tc.wT {
						v = LinearT(x, w, b)
					} else {
						v = Linear(x, w, b)
					}
					y = v.Value.Clone()
					BackwardWith(v, gy)
				}
				return y
			}
			y := run(true)
			xd, wd, gd := x.Value.Data(), w.Value.Data(), gy.Data()
			wAt := func(o, p int) float32 {
				if tc.wT {
					return wd[p*out+o]
				}
				return wd[o*in+p]
			}
			check := func(what string, got, want, scale float64) {
				t.Helper()
				if math.Abs(got-want) > 0x1p-16*scale+1e-30 {
					t.Fatalf("%s = %v, want %v (bfloat16 products summed in float32)", what, got, want)
				}
			}
			for i := range rows {
				for o := range out {
					s, a := bf16Dot(in, func(p int) (float32, float32) { return xd[i*in+p], wAt(o, p) })
					if tc.bias {
						s += float64(b.Value.Data()[o])
						a += math.Abs(float64(b.Value.Data()[o]))
					}
					check(fmt.Sprintf("y[%d, %d]", i, o), float64(y.Data()[i*out+o]), s, a)
				}
			}
			for i := range rows {
				for p := range in {
					s, a := bf16Dot(out, func(o int) (float32, float32) { return gd[i*out+o], wAt(o, p) })
					check(fmt.Sprintf("dx[%d, %d]", i, p), float64(x.Grad.Data()[i*in+p]), 2*s, 2*a)
				}
			}
			for o := range out {
				for p := range in {
					s, a := bf16Dot(rows, func(i int) (float32, float32) { return gd[i*out+o], xd[i*in+p] })
					idx := o*in + p
					if tc.wT {
						idx = p*out + o
					}
					check(fmt.Sprintf("dw[%d, %d]", o, p), float64(w.Grad.Data()[idx]), 2*s, 2*a)
				}
				if tc.bias {
					var s, a float64
					for i := range rows {
						s, a = s+float64(gd[i*out+o]), a+math.Abs(float64(gd[i*out+o]))
					}
					check(fmt.Sprintf("db[%d]", o), float64(b.Grad.Data()[o]), 2*s, 2*a)
				}
			}
			y32 := run(false)
			same := true
			for i, v := range y32.Data() {
				same = same && v == y.Data()[i]
			}
			if same {
				t.Error("the output is the same with and without SetBF16")
			}
		})
	}
}

// TestSetBF16NilGraph checks that a nil graph stays in float32.
func TestSetBF16NilGraph(t *testing.T) {
	var g *Graph
	if g.SetBF16(true) || g.BF16() {
		t.Error("a nil graph reports bfloat16 mixed precision")
	}
}
