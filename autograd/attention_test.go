package autograd

import (
	"math"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// naiveAttention composes attention from elementary ops (for k, v with the
// same head count as q).
func naiveAttention(q, k, v *Var, opts AttentionOptions) *Var {
	sh := q.Value.Shape()
	B, H, T, D := sh[0], sh[1], sh[2], sh[3]
	S := k.Value.Dim(2)
	s := MulScalar(MatMul(q, Transpose(k, -2, -1)), float32(1/math.Sqrt(float64(D))))
	if opts.Mask != nil {
		s = Add(s, Const(opts.Mask))
	}
	fill := tensor.New(B, 1, T, S)
	for b := 0; b < B; b++ {
		for i := 0; i < T; i++ {
			for j := 0; j < S; j++ {
				if (opts.Causal && j > i+S-T) || (opts.KeyPadding != nil && opts.KeyPadding[b*S+j]) {
					fill.Set(1, b, 0, i, j)
				}
			}
		}
	}
	s = MaskedFill(s, fill, float32(math.Inf(-1)))
	_ = H
	return MatMul(Softmax(s), v)
}

func attnInputs(seed uint64, B, H, Hkv, T, S, D int) (q, k, v *Var) {
	rng := tensor.NewRNG(seed)
	return randVar(rng, B, H, T, D), randVar(rng, B, Hkv, S, D), randVar(rng, B, Hkv, S, D)
}

func TestAttentionMatchesNaive(t *testing.T) {
	rng := tensor.NewRNG(3)
	mask := rng.Randn(1, 2, 1, 5)
	cases := []struct {
		name    string
		B, H, T int
		S, D    int
		opts    AttentionOptions
	}{
		{"plain", 2, 2, 4, 4, 3, AttentionOptions{}},
		{"causal", 2, 2, 5, 5, 4, AttentionOptions{Causal: true}},
		{"causal/kv-cache", 1, 2, 2, 5, 4, AttentionOptions{Causal: true}},
		{"padding", 2, 2, 3, 5, 4, AttentionOptions{KeyPadding: []bool{false, false, false, true, true, false, false, false, false, true}}},
		{"additive+causal", 2, 2, 5, 5, 3, AttentionOptions{Mask: mask, Causal: true}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, k, v := attnInputs(uint64(10+i), tc.B, tc.H, tc.H, tc.T, tc.S, tc.D)
			got, _ := ScaledDotProductAttention(q, k, v, tc.opts)
			want := naiveAttention(q, k, v, tc.opts)
			assertClose(t, "out", got.Value, want.Value, 1e-5)
			r := tensor.NewRNG(1).Randn(got.Value.Shape()...)
			BackwardWith(got, r)
			gq, gk, gv := q.Grad.Clone(), k.Grad.Clone(), v.Grad.Clone()
			ZeroGrad(q, k, v)
			BackwardWith(want, r)
			assertClose(t, "dq", gq, q.Grad, 1e-4)
			assertClose(t, "dk", gk, k.Grad, 1e-4)
			assertClose(t, "dv", gv, v.Grad, 1e-4)
		})
	}
}

func TestAttentionGradCheck(t *testing.T) {
	cases := []struct {
		name             string
		B, H, Hkv, T, S  int
		D                int
		opts             AttentionOptions
		permuted, reseed bool
	}{
		{"causal", 1, 2, 2, 3, 3, 2, AttentionOptions{Causal: true}, false, false},
		{"gqa", 1, 4, 2, 3, 3, 2, AttentionOptions{Causal: true}, false, false},
		{"padding", 2, 1, 1, 2, 3, 2, AttentionOptions{KeyPadding: []bool{false, true, false, false, false, true}}, false, false},
		{"permuted-views", 2, 2, 2, 3, 3, 2, AttentionOptions{}, true, false},
		{"dropout", 1, 2, 2, 3, 3, 2, AttentionOptions{DropoutP: 0.3}, false, true},
		{"additive-mask/scale", 2, 2, 1, 2, 4, 3, AttentionOptions{Mask: tensor.NewRNG(8).Randn(2, 1, 1, 4), Scale: 0.7}, false, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := tensor.NewRNG(uint64(40 + i))
			var q, k, v *Var
			if tc.permuted {
				// Stored as [B, T, H, D] and viewed as [B, H, T, D].
				q, k, v = randVar(rng, tc.B, tc.T, tc.H, tc.D), randVar(rng, tc.B, tc.S, tc.Hkv, tc.D), randVar(rng, tc.B, tc.S, tc.Hkv, tc.D)
			} else {
				q, k, v = attnInputs(uint64(40+i), tc.B, tc.H, tc.Hkv, tc.T, tc.S, tc.D)
			}
			f := func() *Var {
				o := tc.opts
				if tc.reseed {
					o.RNG = tensor.NewRNG(5)
				}
				qq, kk, vv := q, k, v
				if tc.permuted {
					qq, kk, vv = Permute(q, 0, 2, 1, 3), Permute(k, 0, 2, 1, 3), Permute(v, 0, 2, 1, 3)
				}
				out, _ := ScaledDotProductAttention(qq, kk, vv, o)
				return out
			}
			if err := GradCheck(f, []*Var{q, k, v}, GradCheckOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAttentionReturnProbs(t *testing.T) {
	q, k, v := attnInputs(1, 1, 1, 1, 3, 3, 2)
	_, p := ScaledDotProductAttention(Const(q.Value), Const(k.Value), Const(v.Value), AttentionOptions{Causal: true, ReturnProbs: true})
	if p == nil || !p.Shape().Equal(tensor.Shape{1, 1, 3, 3}) {
		t.Fatalf("probs = %v", p)
	}
	for i := 0; i < 3; i++ {
		var s float32
		for j := 0; j < 3; j++ {
			if j > i && p.At(0, 0, i, j) != 0 {
				t.Errorf("p[%d,%d] = %v, want 0 (causal)", i, j, p.At(0, 0, i, j))
			}
			s += p.At(0, 0, i, j)
		}
		if math.Abs(float64(s-1)) > 1e-6 {
			t.Errorf("row %d sums to %v", i, s)
		}
	}
}

func assertClose(t *testing.T, what string, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if !got.Shape().Equal(want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
	}
	g, w := got.Values(), want.Values()
	for i := range g {
		d := math.Abs(float64(g[i] - w[i]))
		if !(d <= tol*(1+math.Abs(float64(w[i])))) && !(math.IsNaN(float64(g[i])) && math.IsNaN(float64(w[i]))) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, g[i], w[i])
		}
	}
}
