package gpt2

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
)

// trainGolden is the part of gpt2-train-tiny/golden.json the test reads.
type trainGolden struct {
	Batch struct {
		InputIDs [][]int `json:"input_ids"`
		Labels   [][]int `json:"labels"`
	} `json:"batch"`
	Optimizer struct {
		LR    float32    `json:"lr"`
		Betas [2]float32 `json:"betas"`
		Eps   float32    `json:"eps"`
	} `json:"optimizer"`
	LossesBefore  []float32 `json:"losses_before_each_step"`
	LossAfterLast float32   `json:"loss_after_last_step"`
	Steps         []struct {
		GradGlobalNorm float64 `json:"grad_global_norm"`
	} `json:"steps"`
	ZeroGrad struct {
		FlatIndices map[string][]int `json:"flat_indices"`
	} `json:"zero_gradient_entries"`
}

func flatten2(x [][]int) (flat []int, B, T int) {
	for _, row := range x {
		flat = append(flat, row...)
	}
	return flat, len(x), len(x[0])
}

// maxDiff returns max |a−b| over the entries not in skip, and max |b|.
func maxDiff(a, b []float32, skip []int) (diff, scale float64) {
	skipped := map[int]bool{}
	for _, i := range skip {
		skipped[i] = true
	}
	for i := range b {
		scale = math.Max(scale, math.Abs(float64(b[i])))
		if skipped[i] {
			continue
		}
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
	}
	return diff, scale
}

// TestTrainParity is the PyTorch parity check of the training engine: the
// causal-LM loss of GPT-2 on a batch, every gradient, then three AdamW steps
// (losses, moments, parameters) against ../shared/fixtures/gpt2-train-tiny,
// with the tolerances of the fixtures README.
func TestTrainParity(t *testing.T) {
	dir := testenv.Shared(t, "fixtures", "gpt2-train-tiny")
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g trainGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	ref, err := nn.ReadTensors(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range []string{"autograd", "trainer"} {
		t.Run(engine, func(t *testing.T) { trainParity(t, dir, engine, &g, ref) })
	}
}

// trainParity runs the golden's three steps with one engine: "autograd"
// (Model.Forward, Loss, autograd.Backward) or "trainer" (the fused Trainer).
func trainParity(t *testing.T, dir, engine string, g *trainGolden, ref map[string]nn.Tensor) {
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, B, T := flatten2(g.Batch.InputIDs)
	labels, _, _ := flatten2(g.Batch.Labels)
	targets := ShiftLabels(labels, B, T)
	tr := NewTrainer(m)
	var loss *autograd.Var

	params := nn.OptimParams(m.Params())
	opt, err := optim.NewAdamW(optim.DecayGroups(params, 0.1), optim.AdamConfig{
		LR: g.Optimizer.LR, Beta1: g.Optimizer.Betas[0], Beta2: g.Optimizer.Betas[1], Eps: g.Optimizer.Eps})
	if err != nil {
		t.Fatal(err)
	}
	lossOf := func() float32 {
		t.Helper()
		if engine == "trainer" {
			if _, err := tr.Forward(ids, B, T); err != nil {
				t.Fatal(err)
			}
			l, err := tr.Loss(targets)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		logits, err := m.Forward(ids, B, T)
		if err != nil {
			t.Fatal(err)
		}
		if loss, err = m.Loss(logits, targets); err != nil {
			t.Fatal(err)
		}
		return loss.Value.Item()
	}
	backward := func() {
		t.Helper()
		if engine == "trainer" {
			if err := tr.Backward(); err != nil {
				t.Fatal(err)
			}
			return
		}
		autograd.Backward(loss)
	}
	// compare checks every parameter's tensor against ref[prefix+name].
	// AdamW's first update is lr·g/(|g|+eps) elementwise: its sensitivity to
	// the gradient, lr·eps/(|g|+eps)², exceeds 100 where |g| < 3e-7, so there
	// float32 gradient noise of ~1e-8 (the golden's own fp32-vs-fp64 gap is
	// 5e-8) moves parameters by more than the 1e-6 tolerance. Parameter
	// comparisons skip those ill-conditioned entries (besides the README's
	// zero-gradient entries); the optimizer itself is checked exactly on
	// every entry by TestOptimizersMatchPyTorch in package optim.
	illConditioned := map[string][]int{}
	for _, p := range params {
		skip := append([]int(nil), g.ZeroGrad.FlatIndices[p.Name]...)
		for i, v := range ref["grad.step1."+p.Name].Data {
			if math.Abs(float64(v)) < 1e-6 {
				skip = append(skip, i)
			}
		}
		illConditioned[p.Name] = skip
	}
	compare := func(what, prefix string, tol, relTol float64, get func(p optim.Param) []float32) {
		t.Helper()
		var worst float64
		var worstName string
		for _, p := range params {
			want, ok := ref[prefix+p.Name]
			if !ok {
				t.Fatalf("golden has no %s%s", prefix, p.Name)
			}
			skip := g.ZeroGrad.FlatIndices[p.Name]
			if strings.HasPrefix(prefix, "param.") {
				skip = illConditioned[p.Name]
			}
			d, scale := maxDiff(get(p), want.Data, skip)
			if d > tol && (relTol == 0 || d > relTol*scale) {
				t.Errorf("%s %s: max abs diff %.3g (tensor max abs %.3g)", what, p.Name, d, scale)
			}
			if d > worst {
				worst, worstName = d, p.Name
			}
		}
		t.Logf("%-22s max abs diff %.3g (%s)", what, worst, worstName)
	}

	for step := 1; step <= 3; step++ {
		loss := lossOf()
		want := g.LossesBefore[step-1]
		t.Logf("step %d loss %.7f, PyTorch %.7f, diff %.3g", step, loss, want, math.Abs(float64(loss-want)))
		if math.Abs(float64(loss-want)) > 1e-5 {
			t.Errorf("step %d: loss %.7f, want %.7f", step, loss, want)
		}
		m.ZeroGrad()
		backward()
		norm := optim.GradNorm(params)
		if wantNorm := g.Steps[step-1].GradGlobalNorm; math.Abs(norm-wantNorm) > 1e-5*wantNorm {
			t.Errorf("step %d: gradient norm %.7f, want %.7f", step, norm, wantNorm)
		}
		if step == 1 {
			compare("gradients step 1", "grad.step1.", 1e-5, 1e-4, func(p optim.Param) []float32 { return p.Grad })
		}
		opt.Step()
		switch step {
		case 1:
			compare("exp_avg step 1", "adam.exp_avg.step1.", 1e-6, 1e-4, func(p optim.Param) []float32 { mm, _ := opt.Moments(p.Name); return mm })
			compare("exp_avg_sq step 1", "adam.exp_avg_sq.step1.", 1e-8, 1e-4, func(p optim.Param) []float32 { _, v := opt.Moments(p.Name); return v })
			compare("parameters step 1", "param.step1.", 1e-6, 0, func(p optim.Param) []float32 { return p.Value })
		case 3:
			compare("parameters step 3", "param.step3.", 1e-5, 0, func(p optim.Param) []float32 { return p.Value })
		}
	}
	if loss := lossOf(); math.Abs(float64(loss-g.LossAfterLast)) > 1e-5 {
		t.Errorf("loss after 3 steps %.7f, want %.7f", loss, g.LossAfterLast)
	}
}
