package optim

import (
	"math"
	"testing"
)

// Reference values: torch 1.13.1 (Debian), three steps from p0 with the
// gradients below; see the case names for the hyper-parameters.
var (
	refP0    = []float32{0.5, -1.25, 2.0, 0.0, -0.3}
	refGrads = [][]float32{{0.1, -0.2, 0.3, 0.05, -0.4}, {0.2, 0.1, -0.1, 0.0, 0.3}, {-0.3, 0.25, 0.05, 0.1, -0.2}}
)

func newParam(name string, v []float32, shape ...int) Param {
	return Param{Name: name, Shape: shape, Value: append([]float32(nil), v...), Grad: make([]float32, len(v))}
}

func TestOptimizersMatchPyTorch(t *testing.T) {
	type mk func(g []Group) (Optimizer, error)
	sgd := func(c SGDConfig) mk { return func(g []Group) (Optimizer, error) { return NewSGD(g, c) } }
	adam := func(c AdamConfig) mk { return func(g []Group) (Optimizer, error) { return NewAdam(g, c) } }
	adamw := func(c AdamConfig) mk { return func(g []Group) (Optimizer, error) { return NewAdamW(g, c) } }
	cases := []struct {
		name string
		wd   float32
		new  mk
		want []float32
	}{
		{"sgd", 0, sgd(SGDConfig{LR: 0.1}), []float32{0.5, -1.2649999856948853, 1.975000023841858, -0.015000000596046448, -0.27000001072883606}},
		{"sgd_wd", 0.01, sgd(SGDConfig{LR: 0.1}), []float32{0.4985414743423462, -1.2612837553024292, 1.9690560102462769, -0.014990005642175674, -0.26915085315704346}},
		{"sgd_mom", 0, sgd(SGDConfig{LR: 0.1, Momentum: 0.9}), []float32{0.4648999869823456, -1.239799976348877, 1.9327000379562378, -0.02355000004172325, -0.22860001027584076}},
		{"sgd_mom_damp_wd", 0.01, sgd(SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.5}), []float32{0.4668450653553009, -1.2126381397247314, 1.9174388647079468, -0.018540501594543457, -0.2089211344718933}},
		{"sgd_nesterov", 0.01, sgd(SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true}), []float32{0.46456754207611084, -1.2459458112716675, 1.8986324071884155, -0.03614354506134987, -0.20363283157348633}},
		{"adam", 0, adam(AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}), []float32{0.4810141921043396, -1.2407281398773193, 1.9819434881210327, -0.024729959666728973, -0.2860915958881378}},
		{"adam_wd", 0.1, adam(AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.95, Eps: 1e-6}), []float32{0.4786814749240875, -1.2297322750091553, 1.9733909368515015, -0.024505168199539185, -0.28442877531051636}},
		{"adamw", 0.1, adamw(AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}), []float32{0.47960782051086426, -1.2369669675827026, 1.9758434295654297, -0.02466905117034912, -0.28517836332321167}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newParam("w", refP0, 5)
			opt, err := c.new([]Group{{Params: []Param{p}, WeightDecay: c.wd}})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range refGrads {
				copy(p.Grad, g)
				opt.Step()
			}
			for i := range c.want {
				if d := math.Abs(float64(p.Value[i] - c.want[i])); d > 2e-7 {
					t.Errorf("p[%d] = %.9g, want %.9g (PyTorch)", i, p.Value[i], c.want[i])
				}
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	mk := func() (*Adam, Param) {
		p := newParam("w", refP0, 5)
		o, err := NewAdamW([]Group{{Params: []Param{p}, WeightDecay: 0.1}}, AdamConfig{LR: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		return o, p
	}
	a, pa := mk()
	copy(pa.Grad, refGrads[0])
	a.Step()
	st := a.State()
	b, pb := mk()
	copy(pb.Value, pa.Value)
	if err := b.LoadState(st); err != nil {
		t.Fatal(err)
	}
	for _, g := range refGrads[1:] {
		copy(pa.Grad, g)
		copy(pb.Grad, g)
		a.Step()
		b.Step()
	}
	for i := range pa.Value {
		if pa.Value[i] != pb.Value[i] {
			t.Fatalf("resumed run differs at %d: %g vs %g", i, pb.Value[i], pa.Value[i])
		}
	}
	bad := State{Step: 1, Buffers: map[string][]float32{"w.exp_avg": {1}, "w.exp_avg_sq": {1}}}
	if err := b.LoadState(bad); err == nil {
		t.Error("LoadState accepted a buffer of the wrong length")
	}
	if err := b.LoadState(State{Step: 2}); err == nil {
		t.Error("LoadState accepted missing buffers at step 2")
	}
}

func TestClipGradNorm(t *testing.T) {
	a := newParam("a", []float32{0, 0}, 2)
	b := newParam("b", []float32{0}, 1)
	copy(a.Grad, []float32{3, 0})
	copy(b.Grad, []float32{4})
	ps := []Param{a, b}
	if n := GradNorm(ps); math.Abs(n-5) > 1e-6 {
		t.Fatalf("GradNorm = %g, want 5", n)
	}
	if n := ClipGradNorm(ps, 10); n != 5 || a.Grad[0] != 3 {
		t.Fatalf("clip above the norm changed gradients: norm %g, g %v", n, a.Grad)
	}
	n := ClipGradNorm(ps, 1)
	if math.Abs(n-5) > 1e-6 {
		t.Fatalf("ClipGradNorm returned %g, want 5", n)
	}
	if got := GradNorm(ps); math.Abs(got-1) > 1e-5 {
		t.Fatalf("norm after clipping = %g, want 1", got)
	}
}

func TestAccumulatorEqualsBigBatch(t *testing.T) {
	// Two micro-batches with gradients g1, g2 must step like one batch with
	// gradient (g1+g2)/2.
	p1 := newParam("w", refP0, 5)
	o1, _ := NewAdamW([]Group{{Params: []Param{p1}, WeightDecay: 0.1}}, AdamConfig{LR: 0.01})
	for i := range p1.Grad {
		p1.Grad[i] = (refGrads[0][i] + refGrads[1][i]) / 2
	}
	o1.Step()

	p2 := newParam("w", refP0, 5)
	o2, _ := NewAdamW([]Group{{Params: []Param{p2}, WeightDecay: 0.1}}, AdamConfig{LR: 0.01})
	acc := Accumulator{Every: 2}
	for k := 0; k < 2; k++ {
		for i := range p2.Grad {
			p2.Grad[i] += refGrads[k][i] // what Backward does
		}
		stepped, _ := acc.Micro(o2)
		if stepped != (k == 1) {
			t.Fatalf("micro-batch %d: stepped = %v", k, stepped)
		}
	}
	for i := range p1.Value {
		if d := math.Abs(float64(p1.Value[i] - p2.Value[i])); d > 1e-7 {
			t.Fatalf("accumulated step differs at %d: %g vs %g", i, p2.Value[i], p1.Value[i])
		}
		if p2.Grad[i] != 0 {
			t.Fatal("gradients not zeroed after the accumulated step")
		}
	}
}

func TestDecayGroups(t *testing.T) {
	ps := []Param{newParam("w", make([]float32, 4), 2, 2), newParam("b", make([]float32, 2), 2), newParam("e", make([]float32, 4), 4, 1)}
	g := DecayGroups(ps, 0.1)
	if len(g) != 2 || len(g[0].Params) != 2 || g[0].WeightDecay != 0.1 || len(g[1].Params) != 1 || g[1].Params[0].Name != "b" {
		t.Fatalf("DecayGroups = %+v", g)
	}
	if _, err := NewSGD([]Group{{Params: []Param{ps[0], ps[0]}}}, SGDConfig{LR: 1}); err == nil {
		t.Error("NewSGD accepted a repeated parameter name")
	}
}

func TestSchedules(t *testing.T) {
	cos := WarmupDecay{Peak: 1, Min: 0.1, WarmupSteps: 10, TotalSteps: 110, Decay: DecayCosine}
	lin := WarmupDecay{Peak: 1, WarmupSteps: 0, TotalSteps: 100, Decay: DecayLinear}
	cases := []struct {
		name string
		s    Schedule
		step int
		want float32
	}{
		{"constant", Constant(3e-4), 1000, 3e-4},
		{"warmup first", cos.At, 0, 0.1},
		{"warmup end", cos.At, 9, 1},
		{"cosine start", cos.At, 10, 1},
		{"cosine middle", cos.At, 60, 0.55},
		{"cosine end", cos.At, 110, 0.1},
		{"cosine after", cos.At, 500, 0.1},
		{"linear start", lin.At, 0, 1},
		{"linear middle", lin.At, 25, 0.75},
		{"linear end", lin.At, 100, 0},
		{"warmup only", WarmupDecay{Peak: 2, WarmupSteps: 4}.At, 100, 2},
	}
	for _, c := range cases {
		if got := c.s(c.step); math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("%s: lr(%d) = %g, want %g", c.name, c.step, got, c.want)
		}
	}
}
