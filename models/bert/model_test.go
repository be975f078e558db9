package bert

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
)

func tinyConfig() Config {
	return Config{VocabSize: 50, HiddenSize: 16, NumLayers: 2, NumHeads: 2, Intermediate: 24, MaxPositions: 12}
}

func TestConfig(t *testing.T) {
	c := Base()
	if c.VocabSize != 30522 || c.HiddenSize != 768 || c.NumLayers != 12 || c.Intermediate != 3072 ||
		c.LayerNormEps != 1e-12 || c.Activation != nn.GELU || c.HeadDim() != 64 || c.Labels() != 2 {
		t.Fatalf("Base() = %+v", c)
	}
	for _, tc := range []struct {
		json, err string
	}{
		{`{"hidden_size": 30, "num_attention_heads": 4}`, "not a multiple"},
		{`{"hidden_act": "tanhh"}`, "hidden_act"},
		{`{"hidden_act": "swiglu"}`, "hidden_act"},
		{`{"vocab_size": -1}`, "vocab_size"},
		{`{"hidden_dropout_prob": 1}`, "hidden_dropout_prob"},
		{`{"problem_type": "ranking"}`, "problem_type"},
		{`{"position_embedding_type": "relative_key"}`, "position_embedding_type"},
		{`{"pad_token_id": 40000}`, "pad_token_id"},
		{`{"id2label": {"0": "a", "5": "b"}}`, "id2label"},
		{`{"hidden_size": 99999999}`, "hidden_size"},
		{`[1]`, "config"},
	} {
		_, err := ParseConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "bert: ") {
			t.Errorf("ParseConfig(%s) = %v, want an error about %s", tc.json, err, tc.err)
		}
	}
	c, err := ParseConfig([]byte(`{"hidden_act": "gelu_new", "id2label": {"0": "neg", "1": "pos", "2": "mid"}, "problem_type": "regression"}`))
	if err != nil || c.Activation != nn.GELUTanh || c.Labels() != 3 || c.LabelName(1) != "pos" || c.LabelName(7) != "LABEL_7" || c.Problem != Regression ||
		c.HiddenDropout != 0.1 || c.AttentionDropout != 0.1 {
		t.Fatalf("ParseConfig = %+v, %v", c, err)
	}
	if c, err := ParseConfig([]byte(`{"hidden_dropout_prob": 0}`)); err != nil || c.HiddenDropout != 0 || c.AttentionDropout != 0.1 {
		t.Fatalf("explicit zero dropout: %+v, %v", c, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"vocab_size": 10, "hidden_size": 8, "num_attention_heads": 2}`))
	f.Add([]byte(`{"id2label": {"0": "a"}, "num_labels": 1, "classifier_dropout": 0.5}`))
	f.Add([]byte(`{"max_position_embeddings": 0, "type_vocab_size": 3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		// A valid config must round-trip through Save's encoding.
		raw, err := c.marshal("BertModel")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConfig(raw); err != nil {
			t.Fatalf("re-parse of %s: %v", raw, err)
		}
	})
}

// TestLoadErrors checks that a missing or mis-shaped tensor and a broken
// folder are errors naming the problem.
func TestLoadErrors(t *testing.T) {
	src := testenv.Shared(t, "fixtures", "bert-tiny")
	m, err := LoadForPreTraining(src)
	if err != nil {
		t.Fatal(err)
	}
	loaders := map[string]func(string) error{
		"LoadForPreTraining": func(d string) error { _, err := LoadForPreTraining(d); return err },
		"LoadEncoder":        func(d string) error { _, err := LoadEncoder(d, nil); return err },
	}
	write := func(ps []nn.NamedParam, edit func([]checkpoint.Tensor) []checkpoint.Tensor) string {
		dir := t.TempDir()
		cfg, _ := os.ReadFile(filepath.Join(src, "config.json"))
		if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		var ts []checkpoint.Tensor
		for _, p := range ps {
			ts = append(ts, checkpoint.Tensor{Name: p.Name, Shape: p.Var.Value.Shape().Clone(), Data: p.Var.Value.Data()})
		}
		if err := checkpoint.Save(filepath.Join(dir, "model.safetensors"), edit(ts), nil); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	drop := write(m.Params(), func(ts []checkpoint.Tensor) []checkpoint.Tensor {
		var out []checkpoint.Tensor
		for _, x := range ts {
			if x.Name != "bert.encoder.layer.1.attention.self.key.bias" {
				out = append(out, x)
			}
		}
		return out
	})
	// Both paths name the tensor and the file.
	for name, load := range loaders {
		err = load(drop)
		if !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "bert.encoder.layer.1.attention.self.key.bias") ||
			!strings.Contains(err.Error(), filepath.Join(drop, "model.safetensors")) {
			t.Errorf("%s: missing tensor: %v", name, err)
		}
	}
	reshape := write(m.Params(), func(ts []checkpoint.Tensor) []checkpoint.Tensor {
		for i := range ts {
			if ts[i].Name == "bert.encoder.layer.0.intermediate.dense.weight" {
				ts[i].Shape = []int{32, 128}
			}
		}
		return ts
	})
	for name, load := range loaders {
		err = load(reshape)
		if !errors.Is(err, infer.ErrShape) || !strings.Contains(err.Error(), "intermediate.dense.weight") ||
			!strings.Contains(err.Error(), "[32 128]") || !strings.Contains(err.Error(), reshape) {
			t.Errorf("%s: mis-shaped tensor: %v", name, err)
		}
	}
	// A config declaring a huge model next to a small checkpoint is
	// rejected before the weights are allocated (this would need ~300 GB).
	huge := write(m.Params(), func(ts []checkpoint.Tensor) []checkpoint.Tensor { return ts })
	cfgJSON := `{"vocab_size": 30522, "hidden_size": 65536, "num_hidden_layers": 16, "num_attention_heads": 64,
		"intermediate_size": 262144, "max_position_embeddings": 512}`
	if err := os.WriteFile(filepath.Join(huge, "config.json"), []byte(cfgJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, load := range loaders {
		if err = load(huge); err == nil || !strings.Contains(err.Error(), "encoder parameters") {
			t.Errorf("%s: huge config: %v", name, err)
		}
		if err := load(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "bert: ") {
			t.Errorf("%s: empty folder: %v", name, err)
		}
	}
	// A pre-training checkpoint loads as BertModel and BertForMaskedLM
	// (extra heads ignored), but not as a classifier (no classifier.*).
	if _, err := Load(src); err != nil {
		t.Error(err)
	}
	if _, err := LoadForMaskedLM(src); err != nil {
		t.Error(err)
	}
	if _, err := LoadForSequenceClassification(src); !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "classifier.weight") {
		t.Errorf("classifier from a pre-training checkpoint: %v", err)
	}
	if _, err := LoadEncoder(src, &EncoderOptions{Heads: HeadClassifier}); !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "classifier.weight") {
		t.Errorf("Encoder with a classifier from a pre-training checkpoint: %v", err)
	}
}

func TestInputErrors(t *testing.T) {
	m, err := New(tinyConfig(), tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ws Workspace
	for _, tc := range []struct {
		name string
		in   Input
	}{
		{"count", Input{B: 2, T: 3, IDs: []int{1, 2, 3}}},
		{"empty", Input{}},
		{"id range", Input{B: 1, T: 2, IDs: []int{1, 50}}},
		{"negative id", Input{B: 1, T: 2, IDs: []int{-1, 5}}},
		{"too long", Input{B: 1, T: 13, IDs: make([]int, 13)}},
		{"type range", Input{B: 1, T: 2, IDs: []int{1, 2}, TypeIDs: []int{0, 2}}},
		{"type count", Input{B: 1, T: 2, IDs: []int{1, 2}, TypeIDs: []int{0}}},
		{"mask value", Input{B: 1, T: 2, IDs: []int{1, 2}, Mask: []int{1, 3}}},
		{"mask count", Input{B: 1, T: 2, IDs: []int{1, 2}, Mask: []int{1, 1, 1}}},
	} {
		if _, err := m.Forward(tc.in, nil); err == nil || !strings.HasPrefix(err.Error(), "bert: ") {
			t.Errorf("%s: Forward error %v", tc.name, err)
		}
		if _, _, err := enc.Forward(&ws, tc.in); err == nil || !strings.HasPrefix(err.Error(), "bert: ") {
			t.Errorf("%s: Encoder.Forward error %v", tc.name, err)
		}
	}
}

// TestSaveLoad saves each class and reloads it bit for bit.
func TestSaveLoad(t *testing.T) {
	rng := tensor.NewRNG(3)
	cfg := tinyConfig()
	cfg.ID2Label = map[int]string{0: "no", 1: "yes"}
	pt, err := NewForPreTraining(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	cls, err := NewForSequenceClassification(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    interface {
			nn.Module
			Save(string) error
		}
		load func(string) (nn.Module, error)
	}{
		{"pretraining", pt, func(d string) (nn.Module, error) { return LoadForPreTraining(d) }},
		{"classifier", cls, func(d string) (nn.Module, error) { return LoadForSequenceClassification(d) }},
		{"base", pt.Bert, func(d string) (nn.Module, error) { return Load(d) }},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if err := tc.m.Save(dir); err != nil {
			t.Fatal(err)
		}
		got, err := tc.load(dir)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := tc.m.Params()
		for i, p := range got.Params() {
			if p.Name != want[i].Name || !equal(p.Var.Value.Data(), want[i].Var.Value.Data()) {
				t.Fatalf("%s: %s differs after save and load", tc.name, p.Name)
			}
		}
		f, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Info("cls.predictions.decoder.weight"); ok {
			t.Errorf("%s: the tied decoder weight was saved", tc.name)
		}
		f.Close()
	}
	c, err := ReadConfig(filepath.Join(t.TempDir(), "missing.json"))
	if err == nil {
		t.Fatalf("ReadConfig of a missing file = %+v", c)
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestTrainStep checks the training path: gradients reach every parameter
// (the fused q|k|v concatenation and the tied decoder included), they
// match finite differences, and a few AdamW steps lower the pre-training
// loss.
func TestTrainStep(t *testing.T) {
	cfg := tinyConfig()
	cfg.HiddenDropout, cfg.AttentionDropout = 0.1, 0.1
	m, in, labels, nsp := tinyPretrainBatch(t, cfg, 5)
	lossOf := func() *autograd.Var {
		out, err := m.Forward(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		loss, _, _, err := m.Loss(out, labels, nsp)
		if err != nil {
			t.Fatal(err)
		}
		return loss
	}
	// Finite differences on a few parameters, dropout off.
	ps := m.Params()
	byName := map[string]*autograd.Var{}
	for _, p := range ps {
		byName[p.Name] = p.Var
	}
	check := []*autograd.Var{byName["bert.encoder.layer.0.attention.self.key.weight"],
		byName["bert.encoder.layer.1.attention.self.value.bias"], byName["cls.predictions.bias"],
		byName["bert.embeddings.token_type_embeddings.weight"]}
	if err := autograd.GradCheck(lossOf, check, autograd.GradCheckOptions{}); err != nil {
		t.Fatal(err)
	}

	m.SetTraining(true, tensor.NewRNG(9))
	params := nn.OptimParams(ps)
	opt, err := optim.NewAdamW(optim.DecayGroups(params, 0.01), optim.AdamConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	var first, last float32
	for step := range 20 {
		for _, p := range ps {
			p.Var.ZeroGrad()
		}
		loss := lossOf()
		autograd.Backward(loss)
		if step == 0 {
			first = loss.Value.Item()
			for _, p := range ps {
				if g := p.Var.Grad; g == nil || tensor.SumAll(tensor.Abs(g)) == 0 {
					if p.Name != "bert.embeddings.position_embeddings.weight" { // rows ≥ T get none, but some do
						t.Errorf("no gradient reached %s", p.Name)
					}
				}
			}
		}
		last = loss.Value.Item()
		opt.Step()
	}
	if !(last < 0.5*first) {
		t.Errorf("loss %g -> %g after 20 AdamW steps", first, last)
	}
}

// TestLoadBF16 stores bert-tiny in bfloat16 and checks that it loads widened
// exactly: every parameter equals its float32 value rounded to bfloat16.
func TestLoadBF16(t *testing.T) {
	m, dir := bf16Folder(t)
	got, err := LoadForPreTraining(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := m.Params()
	for i, p := range got.Params() {
		for j, v := range p.Var.Value.Data() {
			if w := roundBF16(want[i].Var.Value.Data()[j]); v != w {
				t.Fatalf("%s[%d] = %g, want %g", p.Name, j, v, w)
			}
		}
	}
}

// bf16Folder writes bert-tiny with every tensor in bfloat16 and returns
// the float32 model and the folder.
func bf16Folder(t *testing.T) (*ForPreTraining, string) {
	t.Helper()
	src := testenv.Shared(t, "fixtures", "bert-tiny")
	m, err := LoadForPreTraining(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg, _ := os.ReadFile(filepath.Join(src, "config.json"))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	var ts []checkpoint.Tensor
	for _, p := range m.Params() {
		ts = append(ts, checkpoint.Tensor{Name: p.Name, Shape: p.Var.Value.Shape().Clone(), Data: p.Var.Value.Data(), DType: checkpoint.BF16})
	}
	if err := checkpoint.Save(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return m, dir
}

// roundBF16 rounds f to the nearest bfloat16 (ties to even).
func roundBF16(f float32) float32 {
	b := math.Float32bits(f)
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b &^ 0xffff)
}

// ForwardMasked computes the masked-LM head on the labelled positions only;
// the loss and every gradient must equal Forward's.
func TestForwardMasked(t *testing.T) {
	m, in, labels, nsp := tinyPretrainBatch(t, tinyConfig(), 11)
	var err error
	run := func(masked bool) (float32, map[string][]float32) {
		for _, p := range m.Params() {
			p.Var.ZeroGrad()
		}
		var out *PreTrainingOutput
		if masked {
			out, err = m.ForwardMasked(in, labels, nil)
		} else {
			out, err = m.Forward(in, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if masked && out.PredictionLogits.Value.Dim(0) != 4 {
			t.Fatalf("masked logits %v, want 4 rows", out.PredictionLogits.Value.Shape())
		}
		loss, _, _, err := m.Loss(out, labels, nsp)
		if err != nil {
			t.Fatal(err)
		}
		autograd.Backward(loss)
		grads := map[string][]float32{}
		for _, p := range m.Params() {
			if p.Var.Grad != nil {
				grads[p.Name] = slices.Clone(p.Var.Grad.Contiguous().Data())
			}
		}
		return loss.Value.Item(), grads
	}
	full, gFull := run(false)
	masked, gMasked := run(true)
	if d := math.Abs(float64(full - masked)); d > 1e-6 {
		t.Errorf("loss %v (all positions) vs %v (masked only)", full, masked)
	}
	if len(gFull) != len(gMasked) {
		t.Fatalf("%d gradients vs %d", len(gFull), len(gMasked))
	}
	for name, g := range gFull {
		h := gMasked[name]
		for i := range g {
			if d := math.Abs(float64(g[i] - h[i])); d > 1e-6+1e-5*math.Abs(float64(g[i])) {
				t.Fatalf("%s[%d]: gradient %v vs %v", name, i, g[i], h[i])
			}
		}
	}
	if _, err := m.ForwardMasked(in, labels[:3], nil); err == nil {
		t.Error("ForwardMasked accepted a short label slice")
	}
}

// tinyPretrainBatch returns a randomly initialised BertForPreTraining and a
// [2, 6] batch (one padded row) with masked-LM and next-sentence labels.
func tinyPretrainBatch(t *testing.T, cfg Config, seed uint64) (m *ForPreTraining, in Input, mlm, nsp []int) {
	t.Helper()
	rng := tensor.NewRNG(seed)
	m, err := NewForPreTraining(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	in = Input{B: 2, T: 6, IDs: make([]int, 12), Mask: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}}
	for i := range in.IDs {
		in.IDs[i] = rng.IntN(cfg.VocabSize)
	}
	return m, in, []int{-100, 3, -100, -100, 7, -100, 9, -100, -100, 11, -100, -100}, []int{0, 1}
}
