package transformer_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/models/transformer"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// tinyConfig is the shape of testdata/make_reference.py.
func tinyConfig() transformer.Config {
	return transformer.Config{Vocab: 48, Dim: 16, Heads: 4, FFN: 32, EncoderLayers: 2, DecoderLayers: 2, MaxLen: 32,
		Activation: nn.ReLU, PadID: 47, EOSID: 2}
}

type reference struct {
	f     *checkpoint.File
	batch transformer.Batch
}

func openReference(t *testing.T) reference {
	t.Helper()
	f, err := checkpoint.Open(filepath.Join("testdata", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ints := func(name string) ([]int, []int) {
		v, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := f.Info(name)
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out, info.Shape
	}
	src, ss := ints("source")
	tgt, ts := ints("target")
	labels, _ := ints("labels")
	return reference{f: f, batch: transformer.Batch{B: ss[0], S: ss[1], T: ts[1], Source: src, Target: tgt, Labels: labels}}
}

func (r reference) floats(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := r.f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// closeTo reports the largest |got−want| / (atol + rtol·|want|).
func worst(got, want []float32, atol, rtol float64) (float64, int) {
	w, at := 0.0, -1
	for i := range want {
		e := math.Abs(float64(got[i])-float64(want[i])) / (atol + rtol*math.Abs(float64(want[i])))
		if e > w || math.IsNaN(e) {
			w, at = e, i
		}
	}
	return w, at
}

// TestTrainStepMatchesPyTorch checks one training step of the tiny model
// — logits, label-smoothed loss and the gradient of every parameter —
// against the float64 PyTorch reference of testdata/make_reference.py,
// through Forward (every position) and through LabelledLogits (the
// labelled positions only).
func TestTrainStepMatchesPyTorch(t *testing.T) {
	ref := openReference(t)
	allLogits := ref.floats(t, "logits")
	V := tinyConfig().Vocab
	for _, tc := range []struct {
		name    string
		forward func(*transformer.Model, transformer.Batch) (*autograd.Var, []int, []float32, error)
	}{
		{"Forward", func(m *transformer.Model, b transformer.Batch) (*autograd.Var, []int, []float32, error) {
			l, err := m.Forward(b)
			return l, b.Labels, allLogits, err
		}},
		{"LabelledLogits", func(m *transformer.Model, b transformer.Batch) (*autograd.Var, []int, []float32, error) {
			l, labels, err := m.LabelledLogits(b)
			var want []float32
			for i, lab := range b.Labels {
				if lab != transformer.IgnoreIndex {
					want = append(want, allLogits[i*V:(i+1)*V]...)
				}
			}
			if len(labels) == len(b.Labels) {
				t.Fatal("the reference batch has no ignored labels")
			}
			return l, labels, want, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := transformer.New(tinyConfig(), tensor.NewRNG(1))
			if err != nil {
				t.Fatal(err)
			}
			if err := m.LoadWeights(filepath.Join("testdata", "tiny")); err != nil {
				t.Fatal(err)
			}
			g := autograd.NewGraph()
			for _, p := range m.Params() {
				g.Attach(p.Var)
			}
			logits, labels, wantLogits, err := tc.forward(m, ref.batch)
			if err != nil {
				t.Fatal(err)
			}
			got := logits.Value.Contiguous().Data()
			if len(got) != len(wantLogits) {
				t.Fatalf("%d logits, want %d", len(got), len(wantLogits))
			}
			if e, i := worst(got, wantLogits, 1e-5, 1e-4); e > 1 {
				t.Fatalf("logits: element %d off by %.2f× the tolerance", i, e)
			}
			loss, err := transformer.Loss(logits, labels, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.floats(t, "loss")[0]
			if got := loss.Value.Item(); math.Abs(float64(got-want)) > 1e-5 {
				t.Fatalf("loss %.7f, PyTorch %.7f", got, want)
			}
			autograd.Backward(loss)
			checkGrads(t, ref, m)
		})
	}
}

// checkGrads compares m's gradients with the reference's, per Marian
// tensor: the saved folder splits nn's packed q|k|v projections, so the
// comparison goes through a save of the gradients.
func checkGrads(t *testing.T, ref reference, m *transformer.Model) {
	t.Helper()
	grads := gradModel(t, m)
	dir := t.TempDir()
	if err := grads.Save(dir, transformer.GenerationDefaults{}); err != nil {
		t.Fatal(err)
	}
	gf, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer gf.Close()
	n := 0
	for _, name := range gf.Names() {
		if name == "final_logits_bias" {
			continue // a buffer in HF, not trained
		}
		got, _ := gf.Float32(name)
		if e, i := worst(got, ref.floats(t, "grad."+name), 1e-6, 1e-3); e > 1 {
			t.Errorf("grad %s: element %d is %g, PyTorch %g", name, i, got[i], ref.floats(t, "grad."+name)[i])
		}
		n++
	}
	if n != 1+2*16+2*26 {
		t.Errorf("compared %d gradients, want %d", n, 1+2*16+2*26)
	}
}

// gradModel returns a model of m's shape whose weights are m's gradients.
func gradModel(t *testing.T, m *transformer.Model) *transformer.Model {
	t.Helper()
	g, err := transformer.New(m.Config, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	src, dst := m.Params(), g.Params()
	for i, p := range src {
		if p.Var.Grad == nil {
			t.Fatalf("%s has no gradient", p.Name)
		}
		copy(dst[i].Var.Value.Data(), p.Var.Grad.Contiguous().Data())
	}
	return g
}

// TestSavedFolderRunsOnSeq2seq checks that a saved model is a
// MarianMTModel folder that models/seq2seq loads and runs to the same
// logits as the training forward pass.
func TestSavedFolderRunsOnSeq2seq(t *testing.T) {
	ref := openReference(t)
	m, err := transformer.New(tinyConfig(), tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadWeights(filepath.Join("testdata", "tiny")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir, transformer.GenerationDefaults{NumBeams: 5}); err != nil {
		t.Fatal(err)
	}
	inf, err := seq2seq.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := inf.GenerateOptions(); o.NumBeams != 5 {
		t.Errorf("num_beams %d, want 5 from generation_config.json", o.NumBeams)
	}
	b := ref.batch
	var rows [][]int
	for r := range b.B {
		row := b.Source[r*b.S : (r+1)*b.S]
		n := len(row)
		for n > 0 && row[n-1] == m.Config.PadID {
			n--
		}
		rows = append(rows, row[:n])
	}
	mem, err := inf.EncodeRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := inf.ForwardTrace(mem, b.Target)
	if err != nil {
		t.Fatal(err)
	}
	want := ref.floats(t, "logits")
	V := m.Config.Vocab
	for i, l := range b.Labels {
		if l == transformer.IgnoreIndex {
			continue
		}
		if e, j := worst(tr.Logits[i*V:(i+1)*V], want[i*V:(i+1)*V], 1e-4, 1e-4); e > 1 {
			t.Fatalf("position %d: seq2seq logit %d off by %.2f× the tolerance", i, j, e)
		}
	}
	// And the folder reloads into the training model bit for bit.
	m2, err := transformer.New(tinyConfig(), tensor.NewRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.LoadWeights(dir); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		a, b := p.Var.Value.Data(), m2.Params()[i].Var.Value.Data()
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("%s[%d] reloads as %g, saved %g", p.Name, j, b[j], a[j])
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	cfgs := map[string]transformer.Config{
		"heads":   {Vocab: 10, Dim: 10, Heads: 3, EncoderLayers: 1, DecoderLayers: 1, PadID: 1, EOSID: 2},
		"pad=eos": {Vocab: 10, Dim: 8, Heads: 2, EncoderLayers: 1, DecoderLayers: 1, PadID: 2, EOSID: 2},
		"layers":  {Vocab: 10, Dim: 8, Heads: 2, DecoderLayers: 1, PadID: 1, EOSID: 2},
		"swiglu":  {Vocab: 10, Dim: 8, Heads: 2, EncoderLayers: 1, DecoderLayers: 1, PadID: 1, EOSID: 2, Activation: nn.SwiGLU},
	}
	for name, c := range cfgs {
		if _, err := transformer.New(c, tensor.NewRNG(1)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	m, err := transformer.New(tinyConfig(), tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]transformer.Batch{
		"shape":    {B: 1, S: 2, T: 1, Source: []int{1}, Target: []int{47}},
		"id":       {B: 1, S: 1, T: 1, Source: []int{48}, Target: []int{47}},
		"too long": {B: 1, S: 40, T: 1, Source: make([]int, 40), Target: []int{47}},
	} {
		if _, err := m.Forward(b); err == nil || !strings.HasPrefix(err.Error(), "transformer:") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	ign := transformer.IgnoreIndex
	for name, b := range map[string]transformer.Batch{
		"labels length": {B: 1, S: 1, T: 2, Source: []int{1}, Target: []int{47, 1}, Labels: []int{1}},
		"no labels":     {B: 1, S: 1, T: 2, Source: []int{1}, Target: []int{47, 1}, Labels: []int{ign, ign}},
		"bad source":    {B: 1, S: 1, T: 1, Source: []int{48}, Target: []int{47}, Labels: []int{1}},
	} {
		if _, _, err := m.LabelledLogits(b); err == nil || !strings.HasPrefix(err.Error(), "transformer:") {
			t.Errorf("LabelledLogits %s: error %v", name, err)
		}
	}
	if err := m.LoadWeights(t.TempDir()); err == nil {
		t.Error("LoadWeights of an empty folder: no error")
	}
}
