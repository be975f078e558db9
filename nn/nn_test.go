package nn

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

func randVar(rng *tensor.RNG, grad bool, shape ...int) *autograd.Var {
	t := tensor.New(shape...)
	rng.Normal(t, 0, 1)
	return autograd.NewVar(t, grad)
}

// naiveAttention is multi-head attention written out with loops in float64:
// the reference for MultiHeadAttention. x [B,T,C], mem [B,S,C]; w [3C, C]
// (nn.Linear layout), b [3C], wo [C, C], bo [C].
func naiveAttention(m *MultiHeadAttention, x, mem *tensor.Tensor, mask Mask) (out, probs []float64) {
	B, T, C := x.Dim(0), x.Dim(1), x.Dim(2)
	S := mem.Dim(1)
	H, D := m.Heads, C/m.Heads
	w, b := m.InWeight.Value, m.InBias.Value
	wAt := func(o, i int) float64 {
		if m.Transposed {
			return float64(w.At(i, o))
		}
		return float64(w.At(o, i))
	}
	proj := func(src *tensor.Tensor, bi, t, o int) float64 {
		s := float64(b.At(o))
		for i := 0; i < C; i++ {
			s += float64(src.At(bi, t, i)) * wAt(o, i)
		}
		return s
	}
	heads := make([]float64, B*T*C)
	probs = make([]float64, B*H*T*S)
	for bi := 0; bi < B; bi++ {
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				scores := make([]float64, S)
				mx := math.Inf(-1)
				for j := 0; j < S; j++ {
					scores[j] = math.Inf(-1)
					if (mask.Causal && j > i) || (mask.KeyPadding != nil && mask.KeyPadding[bi*S+j]) {
						continue
					}
					var s float64
					for d := 0; d < D; d++ {
						s += proj(x, bi, i, h*D+d) * proj(mem, bi, j, C+h*D+d)
					}
					scores[j] = s / math.Sqrt(float64(D))
					mx = math.Max(mx, scores[j])
				}
				var z float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					z += scores[j]
				}
				for j := range scores {
					p := scores[j] / z
					probs[((bi*H+h)*T+i)*S+j] = p
					for d := 0; d < D; d++ {
						heads[(bi*T+i)*C+h*D+d] += p * proj(mem, bi, j, 2*C+h*D+d)
					}
				}
			}
		}
	}
	out = make([]float64, B*T*C)
	for r := 0; r < B*T; r++ {
		for o := 0; o < C; o++ {
			s := float64(m.OutProj.Bias.Value.At(o))
			for i := 0; i < C; i++ {
				s += heads[r*C+i] * float64(m.OutProj.Weight.Value.At(o, i))
			}
			out[r*C+o] = s
		}
	}
	return out, probs
}

func maxAbsDiff(got []float32, want []float64) float64 {
	var d float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d
}

func TestMultiHeadAttentionMatchesNaive(t *testing.T) {
	const B, T, S, C, H = 2, 5, 4, 8, 2
	cases := []struct {
		name       string
		cross      bool
		transposed bool
		mask       Mask
	}{
		{name: "self"},
		{name: "self causal", mask: Mask{Causal: true}},
		{name: "self padding", mask: Mask{KeyPadding: []bool{false, false, false, true, true, false, false, false, false, false}}},
		{name: "self conv1d causal", transposed: true, mask: Mask{Causal: true}},
		{name: "cross", cross: true},
		{name: "cross padding", cross: true, mask: Mask{KeyPadding: []bool{false, false, true, true, false, false, false, true}}},
		{name: "cross conv1d", cross: true, transposed: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := tensor.NewRNG(1)
			m, err := NewMultiHeadAttention(C, H, true, rng)
			if err != nil {
				t.Fatal(err)
			}
			rng.Normal(m.InBias.Value, 0, 0.5)
			rng.Normal(m.OutProj.Bias.Value, 0, 0.5)
			if c.transposed {
				m.Transposed = true
				m.InWeight = autograd.Param(m.InWeight.Value.T().Contiguous())
			}
			x := randVar(rng, false, B, T, C)
			mem := x
			c.mask.ReturnProbs = true
			var y *autograd.Var
			var probs *tensor.Tensor
			if c.cross {
				mem = randVar(rng, false, B, S, C)
				y, probs = m.CrossForward(x, mem, c.mask)
			} else {
				y, probs = m.Forward(x, c.mask)
			}
			wantY, wantP := naiveAttention(m, x.Value, mem.Value, c.mask)
			if d := maxAbsDiff(y.Value.Values(), wantY); d > 1e-5 {
				t.Errorf("output differs from the naive reference by %g", d)
			}
			if d := maxAbsDiff(probs.Values(), wantP); d > 1e-6 {
				t.Errorf("probabilities differ from the naive reference by %g", d)
			}
		})
	}
}

func TestGradients(t *testing.T) {
	const B, T, C, H = 2, 4, 8, 2
	type tc struct {
		name string
		f    func(rng *tensor.RNG, x, mem *autograd.Var) (func() *autograd.Var, []*autograd.Var)
	}
	cases := []tc{
		{"attention causal", func(rng *tensor.RNG, x, _ *autograd.Var) (func() *autograd.Var, []*autograd.Var) {
			m, _ := NewMultiHeadAttention(C, H, true, rng)
			return func() *autograd.Var { y, _ := m.Forward(x, Mask{Causal: true}); return y }, append(Vars(m.Params()), x)
		}},
		{"attention cross padded", func(rng *tensor.RNG, x, mem *autograd.Var) (func() *autograd.Var, []*autograd.Var) {
			m, _ := NewMultiHeadAttention(C, H, true, rng)
			pad := []bool{false, false, false, true, false, true, false, false}
			return func() *autograd.Var { y, _ := m.CrossForward(x, mem, Mask{KeyPadding: pad}); return y }, append(Vars(m.Params()), x, mem)
		}},
		{"rotary half-split", func(rng *tensor.RNG, x, _ *autograd.Var) (func() *autograd.Var, []*autograd.Var) {
			r := NewRotary(C, T, 10000, false)
			x4 := randVar(rng, true, B, H, T, C)
			return func() *autograd.Var { return r.Apply(x4, 0) }, []*autograd.Var{x4}
		}},
		{"rotary interleaved", func(rng *tensor.RNG, x, _ *autograd.Var) (func() *autograd.Var, []*autograd.Var) {
			r := NewRotary(C, T+2, 100, true)
			x4 := randVar(rng, true, B, H, T, C)
			return func() *autograd.Var { return r.Apply(x4, 2) }, []*autograd.Var{x4}
		}},
	}
	for _, act := range []Activation{GELU, GELUTanh, ReLU, SiLU, SwiGLU} {
		cases = append(cases, tc{"feedforward " + act.String(), func(rng *tensor.RNG, x, _ *autograd.Var) (func() *autograd.Var, []*autograd.Var) {
			f := NewFeedForward(C, 16, act, rng)
			return func() *autograd.Var { return f.Forward(x) }, append(Vars(f.Params()), x)
		}})
	}
	for _, pre := range []bool{false, true} {
		cases = append(cases, tc{fmt.Sprintf("decoder layer prenorm=%v", pre), func(rng *tensor.RNG, x, mem *autograd.Var) (func() *autograd.Var, []*autograd.Var) {
			l, _ := NewDecoderLayer(LayerConfig{Dim: C, Heads: H, Hidden: 12, NormFirst: pre}, rng)
			return func() *autograd.Var { return l.Forward(x, mem, Mask{}, Mask{}) }, append(Vars(l.Params()), x, mem)
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seed := uint64(7)
			if strings.Contains(c.name, "relu") {
				seed = 2 // no pre-activation within the difference step of ReLU's kink
			}
			rng := tensor.NewRNG(seed)
			x := randVar(rng, true, B, T, C)
			mem := randVar(rng, true, B, T, C)
			f, inputs := c.f(rng, x, mem)
			if err := autograd.GradCheck(f, inputs, autograd.GradCheckOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRotaryLayouts(t *testing.T) {
	const T, D = 6, 8
	rng := tensor.NewRNG(3)
	x := randVar(rng, false, 1, 1, T, D)
	half := NewRotary(D, T, 10000, false).Apply(x, 0).Value
	inter := NewRotary(D, T, 10000, true)
	// Interleaved on features permuted (i, i+D/2) → (2i, 2i+1) equals the
	// half-split result permuted the same way.
	perm := tensor.New(1, 1, T, D)
	for p := 0; p < T; p++ {
		for i := 0; i < D/2; i++ {
			perm.Set(x.Value.At(0, 0, p, i), 0, 0, p, 2*i)
			perm.Set(x.Value.At(0, 0, p, i+D/2), 0, 0, p, 2*i+1)
		}
	}
	got := inter.Apply(autograd.Const(perm), 0).Value
	for p := 0; p < T; p++ {
		for i := 0; i < D/2; i++ {
			if d := math.Abs(float64(got.At(0, 0, p, 2*i) - half.At(0, 0, p, i))); d > 1e-6 {
				t.Fatalf("layouts disagree at position %d pair %d: %g", p, i, d)
			}
			if d := math.Abs(float64(got.At(0, 0, p, 2*i+1) - half.At(0, 0, p, i+D/2))); d > 1e-6 {
				t.Fatalf("layouts disagree at position %d pair %d (second): %g", p, i, d)
			}
		}
	}
	// Position 0 is the identity.
	for i := 0; i < D; i++ {
		if half.At(0, 0, 0, i) != x.Value.At(0, 0, 0, i) {
			t.Fatal("rotation at position 0 is not the identity")
		}
	}
}

func TestSinusoidalTable(t *testing.T) {
	pe := SinusoidalTable(50, 512)
	cases := []struct {
		p, i int
		want float64
	}{
		{0, 0, 0}, {0, 1, 1}, {1, 0, math.Sin(1)}, {1, 1, math.Cos(1)},
		{7, 10, math.Sin(7 / math.Pow(10000, 10.0/512))}, {49, 511, math.Cos(49 / math.Pow(10000, 510.0/512))},
	}
	for _, c := range cases {
		if got := pe.At(c.p, c.i); math.Abs(float64(got)-c.want) > 1e-6 {
			t.Errorf("PE[%d, %d] = %g, want %g", c.p, c.i, got, c.want)
		}
	}
}

func TestEncoderMasksAndNames(t *testing.T) {
	const B, T = 2, 6
	rng := tensor.NewRNG(11)
	enc, err := NewTransformerEncoder(StackConfig{LayerConfig: LayerConfig{Dim: 16, Heads: 4, Hidden: 32, Activation: ReLU},
		Layers: 2, Vocab: 50, MaxLen: 16, FinalNorm: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	Freeze(enc)
	ids := []int{1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10}
	pad := []bool{false, false, false, false, true, true, false, false, false, false, false, false}
	y1, err := enc.ForwardIDs(ids, B, T, pad)
	if err != nil {
		t.Fatal(err)
	}
	// Changing padded tokens must not change the valid positions.
	ids2 := append([]int(nil), ids...)
	ids2[4], ids2[5] = 42, 43
	y2, _ := enc.ForwardIDs(ids2, B, T, pad)
	a, b := y1.Value.Values(), y2.Value.Values()
	for i := range a {
		if pos := i / 16; !pad[pos] && a[i] != b[i] {
			t.Fatalf("padding leaked into position %d", pos)
		}
	}
	if _, err := enc.ForwardIDs([]int{1, 2, 3, 99}, 1, 4, nil); err == nil {
		t.Error("out-of-vocabulary id accepted")
	}
	names := []string{}
	for _, p := range enc.Params() {
		names = append(names, p.Name)
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"embed_tokens.weight", "layers.0.self_attn.in_proj_weight", "layers.1.self_attn.out_proj.bias",
		"layers.1.linear2.weight", "layers.0.norm2.bias", "norm.weight"} {
		if !strings.Contains(joined, want) {
			t.Errorf("parameter %s missing from %v", want, names)
		}
	}
}

func TestDecoderIsCausal(t *testing.T) {
	const B, T, S, C = 1, 5, 3, 8
	rng := tensor.NewRNG(5)
	dec, err := NewTransformerDecoder(StackConfig{LayerConfig: LayerConfig{Dim: C, Heads: 2, NormFirst: true}, Layers: 2, Vocab: 20, Positions: PositionsRotary, FinalNorm: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	Freeze(dec)
	mem := randVar(rng, false, B, S, C)
	y1, err := dec.ForwardIDs([]int{1, 2, 3, 4, 5}, B, T, mem, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	y2, _ := dec.ForwardIDs([]int{1, 2, 3, 9, 9}, B, T, mem, nil, nil)
	a, b := y1.Value.Values(), y2.Value.Values()
	for i := 0; i < 3*C; i++ {
		if a[i] != b[i] {
			t.Fatalf("future tokens changed position %d", i/C)
		}
	}
	if a[3*C] == b[3*C] {
		t.Fatal("changed token did not change its own output")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	mk := func(seed uint64) *TransformerEncoder {
		e, err := NewTransformerEncoder(StackConfig{LayerConfig: LayerConfig{Dim: 8, Heads: 2}, Layers: 1, Vocab: 10, Positions: PositionsLearned, MaxLen: 8}, tensor.NewRNG(seed))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := mk(1), mk(2)
	path := filepath.Join(t.TempDir(), "enc.safetensors")
	if err := SaveParams(path, a.Params()); err != nil {
		t.Fatal(err)
	}
	if err := LoadParams(path, b.Params(), nil); err != nil {
		t.Fatal(err)
	}
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		if pa[i].Name != pb[i].Name {
			t.Fatalf("parameter order differs: %s vs %s", pa[i].Name, pb[i].Name)
		}
		va, vb := pa[i].Var.Value.Values(), pb[i].Var.Value.Values()
		for j := range va {
			if va[j] != vb[j] {
				t.Fatalf("%s differs after load", pa[i].Name)
			}
		}
	}
	small, _ := NewTransformerEncoder(StackConfig{LayerConfig: LayerConfig{Dim: 4, Heads: 2}, Layers: 1, Vocab: 10, Positions: PositionsLearned, MaxLen: 8}, tensor.NewRNG(1))
	if err := LoadParams(path, small.Params(), nil); err == nil {
		t.Error("loading mismatched shapes succeeded")
	}
}

func TestNorms(t *testing.T) {
	rng := tensor.NewRNG(9)
	x := randVar(rng, true, 3, 6)
	rms := NewRMSNorm(6, 1e-6)
	rng.Normal(rms.Weight.Value, 1, 0.1)
	y := rms.Forward(x).Value
	for r := 0; r < 3; r++ {
		var ss float64
		for i := 0; i < 6; i++ {
			ss += float64(x.Value.At(r, i)) * float64(x.Value.At(r, i))
		}
		inv := 1 / math.Sqrt(ss/6+1e-6)
		for i := 0; i < 6; i++ {
			want := float64(x.Value.At(r, i)) * inv * float64(rms.Weight.Value.At(i))
			if d := math.Abs(float64(y.At(r, i)) - want); d > 1e-6 {
				t.Fatalf("RMSNorm[%d,%d] = %g, want %g", r, i, y.At(r, i), want)
			}
		}
	}
	ln := NewLayerNorm(6, 1e-5)
	for _, c := range []struct {
		name string
		f    func() *autograd.Var
		in   []*autograd.Var
	}{
		{"rmsnorm", func() *autograd.Var { return rms.Forward(x) }, append(Vars(rms.Params()), x)},
		{"layernorm", func() *autograd.Var { return ln.Forward(x) }, append(Vars(ln.Params()), x)},
	} {
		if err := autograd.GradCheck(c.f, c.in, autograd.GradCheckOptions{}); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestDropout(t *testing.T) {
	rng := tensor.NewRNG(4)
	x := autograd.Const(tensor.Ones(1000))
	d := &Dropout{P: 0.25, RNG: rng}
	if d.Forward(x) != x {
		t.Fatal("dropout active outside training")
	}
	d.Training = true
	y := d.Forward(x).Value.Values()
	zeros := 0
	for _, v := range y {
		switch v {
		case 0:
			zeros++
		case 1 / 0.75:
		default:
			t.Fatalf("dropout produced %g, want 0 or 1/(1-p)", v)
		}
	}
	if zeros < 200 || zeros > 300 {
		t.Fatalf("%d of 1000 dropped, want about 250", zeros)
	}
}

func TestActivationNames(t *testing.T) {
	for _, a := range []Activation{GELU, GELUTanh, ReLU, SiLU, SwiGLU} {
		got, err := ParseActivation(a.String())
		if err != nil || got != a {
			t.Errorf("ParseActivation(%q) = %v, %v", a.String(), got, err)
		}
	}
	if _, err := ParseActivation("gelu_fancy"); err == nil {
		t.Error("unknown activation accepted")
	}
}
