package pretrain

import (
	"math"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// electraRefConfigs are the shapes of testdata/electra/gen_electra_step.py:
// a discriminator 16 wide and a generator 8 wide on shared 12-wide
// embeddings, so both have an embeddings_project.
func electraRefConfigs() (gen, disc bert.Config) {
	disc = bert.Config{ModelType: "electra", VocabSize: 40, EmbeddingSize: 12, HiddenSize: 16, NumLayers: 2,
		NumHeads: 2, Intermediate: 32, MaxPositions: 10, TypeVocab: 2, HiddenAct: "gelu", LayerNormEps: 1e-12}
	gen = disc
	gen.HiddenSize, gen.Intermediate = 8, 16
	return gen, disc
}

// TestElectraStepMatchesPyTorch runs one ELECTRA step — generator MLM on a
// fixed masking, fixed sampled replacements, discriminator BCE over the
// attention mask, loss = gen + 50·disc — and compares the three losses and
// the gradient of every parameter of both networks (the shared embeddings'
// being the sum of both) with a float64 PyTorch run of Hugging Face's
// ELECTRA semantics (testdata/electra/gen_electra_step.py).
func TestElectraStepMatchesPyTorch(t *testing.T) {
	ref, err := checkpoint.Open("testdata/electra/electra_step.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	get := func(name string) []float32 {
		t.Helper()
		v, err := ref.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	asInts := func(name string) []int32 {
		v := get(name)
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out
	}
	genCfg, discCfg := electraRefConfigs()
	rng := tensor.NewRNG(1)
	disc, err := bert.NewElectraDiscriminator(discCfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := bert.NewElectraGenerator(genCfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	masker, err := data.NewMasker(data.MaskOptions{MaskID: 1, VocabSize: 40, Special: []bool{true, true, true, true}})
	if err != nil {
		t.Fatal(err)
	}
	ex := []data.PretrainExample{{InputIDs: []int32{2, 10, 3}, TokenTypeIDs: []int32{0, 0, 0}, NextSentence: -1}}
	task, err := NewElectraTask(gen, disc, ex, masker, ElectraOptions{BatchSize: 2, MaxLen: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range disc.Params() {
		copy(p.Var.Value.Data(), get("disc."+p.Name))
	}
	for _, p := range gen.Params() {
		if !strings.HasPrefix(p.Name, "electra.embeddings.") { // shared: loaded with the discriminator
			copy(p.Var.Value.Data(), get("gen."+p.Name))
		}
	}
	sampled := asInts("input.sampled")
	b := data.MLMBatch{B: 2, T: 10, InputIDs: asInts("input.masked"), TokenTypeIDs: asInts("input.types"),
		AttentionMask: asInts("input.mask"), Labels: asInts("input.labels"), NextSentence: []int32{-1, -1}}
	st, err := task.forward(b, func(_ []float32, rows, _ int) []int {
		if rows != len(sampled) {
			t.Fatalf("%d masked rows, the reference has %d", rows, len(sampled))
		}
		out := make([]int, rows)
		for i, v := range sampled {
			out[i] = int(v)
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	autograd.Backward(st.total)
	for _, c := range []struct {
		name string
		got  *autograd.Var
	}{{"loss.total", st.total}, {"loss.gen", st.genLoss}, {"loss.disc", st.discLoss}} {
		want := float64(get(c.name)[0])
		if d := math.Abs(float64(c.got.Value.Item()) - want); d > 2e-6*math.Abs(want) {
			t.Errorf("%s = %.8f, PyTorch %.8f", c.name, c.got.Value.Item(), want)
		}
	}
	compare := func(name string, got []float32) {
		t.Helper()
		want := get(name)
		scale := 0.0
		for _, w := range want {
			scale = math.Max(scale, math.Abs(float64(w)))
		}
		worst := 0.0
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		// float32 against float64: errors of a few units in the 6th digit
		// of the tensor's largest entry. The key biases' gradients are 0 in
		// exact arithmetic (softmax ignores a shift shared by all keys);
		// float32 rounding leaves ~3e-8 there, hence the absolute floor.
		if worst > 1e-5*scale+1e-7 {
			t.Errorf("%s: max |Δ| %.3g against a largest entry %.3g", name, worst, scale)
		}
	}
	n := 0
	for _, p := range disc.Params() {
		compare("grad.disc."+p.Name, p.Var.Grad.Data())
		n++
	}
	for _, p := range gen.Params() {
		if !strings.HasPrefix(p.Name, "electra.embeddings.") {
			compare("grad.gen."+p.Name, p.Var.Grad.Data())
			n++
		}
	}
	if n != len(task.Params()) {
		t.Errorf("compared %d gradients, the task trains %d parameters", n, len(task.Params()))
	}
}
