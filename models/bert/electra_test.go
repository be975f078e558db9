package bert

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// electraTestConfig is a small ELECTRA whose embeddings (12) are narrower
// than its layers (16), so embeddings_project is in every path.
func electraTestConfig() Config {
	return Config{ModelType: "electra", VocabSize: 50, EmbeddingSize: 12, HiddenSize: 16, NumLayers: 2,
		NumHeads: 2, Intermediate: 24, MaxPositions: 12, NumLabels: 3, InitializerRange: 0.2}
}

func randomizeAll(ps []nn.NamedParam, rng *tensor.RNG) {
	for _, p := range ps {
		if p.Var.Value.NDim() == 1 {
			rng.Normal(p.Var.Value, 0.3, 0.2)
		}
	}
}

func electraInput() Input {
	in := Input{B: 2, T: 7, IDs: []int{2, 9, 14, 33, 41, 7, 3, 2, 17, 8, 3, 0, 0, 0},
		TypeIDs: []int{0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, Mask: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}}
	return in
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestElectraClassifierPaths checks that an ELECTRA sequence classifier
// (embeddings_project, no pooler, classifier.dense + GELU + out_proj)
// computes the same logits through autograd and through the Encoder, that
// it saves under HF's ElectraForSequenceClassification names and loads
// back equal, through LoadForSequenceClassification and LoadEncoder.
func TestElectraClassifierPaths(t *testing.T) {
	rng := tensor.NewRNG(5)
	m, err := NewForSequenceClassification(electraTestConfig(), rng)
	if err != nil {
		t.Fatal(err)
	}
	randomizeAll(m.Params(), rng)
	if m.Bert.Pooler != nil || m.Bert.Project == nil || m.Dense == nil {
		t.Fatalf("ELECTRA classifier: pooler %v, project %v, dense %v", m.Bert.Pooler != nil, m.Bert.Project != nil, m.Dense != nil)
	}
	in := electraInput()
	_, logits, err := m.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := logits.Value.Contiguous().Data()
	enc, err := m.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := enc.Classify(&Workspace{}, in)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got, want); d > 1e-5 {
		t.Fatalf("Encoder logits differ from autograd's by %g", d)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(f.Names(), " ")
	f.Close()
	for _, n := range []string{"electra.embeddings.word_embeddings.weight", "electra.embeddings_project.weight",
		"electra.encoder.layer.1.output.LayerNorm.bias", "classifier.dense.weight", "classifier.out_proj.bias"} {
		if !strings.Contains(names, n) {
			t.Errorf("saved file lacks %s (has %s)", n, names)
		}
	}
	cfgJSON, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"model_type": "electra"`, `"ElectraForSequenceClassification"`, `"embedding_size": 12`} {
		if !strings.Contains(string(cfgJSON), s) {
			t.Errorf("config.json lacks %s:\n%s", s, cfgJSON)
		}
	}
	back, err := LoadForSequenceClassification(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, l2, err := back.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(l2.Value.Contiguous().Data(), want); d != 0 {
		t.Errorf("reloaded classifier differs by %g", d)
	}
	le, err := LoadEncoder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !le.Has(HeadClassifier) {
		t.Fatalf("LoadEncoder heads %v, want the classifier", le.Heads())
	}
	l3, err := le.Classify(&Workspace{}, in)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(l3, want); d > 1e-5 {
		t.Errorf("loaded Encoder differs by %g", d)
	}
}

// TestElectraPretrainingHeads saves a discriminator and a generator and
// checks what a fine-tuning run and HF's loaders see: the discriminator
// folder loads as an ELECTRA encoder (bert.Load, no pooler) equal to the
// discriminator's own, and the generator's masked-LM logits equal the
// Encoder's MaskedLM head.
func TestElectraPretrainingHeads(t *testing.T) {
	rng := tensor.NewRNG(8)
	cfg := electraTestConfig()
	disc, err := NewElectraDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	randomizeAll(disc.Params(), rng)
	gcfg := cfg
	gcfg.HiddenSize, gcfg.Intermediate, gcfg.NumHeads = 8, 12, 1
	gen, err := NewElectraGenerator(gcfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	randomizeAll(gen.Params(), rng)
	if err := gen.ShareEmbeddings(disc); err != nil {
		t.Fatal(err)
	}
	in := electraInput()
	dir := t.TempDir()
	if err := disc.Save(dir); err != nil {
		t.Fatal(err)
	}
	enc, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := disc.Electra.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := enc.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Pooler != nil || got.Pooled != nil {
		t.Error("an ELECTRA encoder has no pooler")
	}
	if d := maxDiff(got.LastHidden.Value.Contiguous().Data(), want.LastHidden.Value.Contiguous().Data()); d != 0 {
		t.Errorf("loaded discriminator encoder differs by %g", d)
	}
	if _, err := LoadForPreTraining(dir); err == nil {
		t.Error("an ELECTRA folder loaded as BertForPreTraining")
	}
	gdir := t.TempDir()
	if err := gen.Save(gdir); err != nil {
		t.Fatal(err)
	}
	ge, err := LoadEncoder(gdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, in.B*in.T)
	for i := range labels {
		labels[i] = -100
	}
	rows := []int{2, 5, 9}
	for _, r := range rows {
		labels[r] = in.IDs[r]
	}
	logits, pos, err := gen.ForwardMasked(in, labels)
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != len(rows) {
		t.Fatalf("positions %v, want %v", pos, rows)
	}
	ws := &Workspace{}
	if _, _, err := ge.Forward(ws, in); err != nil {
		t.Fatal(err)
	}
	ml, err := ge.MaskedLM(ws, rows)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(ml, logits.Value.Contiguous().Data()); d > 1e-5 {
		t.Errorf("generator masked-LM logits: Encoder differs from autograd by %g", d)
	}
}

// TestElectraConfigDefaults checks that an ElectraConfig document without
// the size keys takes ElectraConfig's defaults (electra-small), and that
// embedding_size is refused for BERT.
func TestElectraConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"model_type": "electra", "vocab_size": 100}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Variant != Electra || c.EmbedDim() != 128 || c.HiddenSize != 256 || c.NumHeads != 4 || c.Intermediate != 1024 {
		t.Errorf("defaults: variant %v E %d C %d H %d F %d", c.Variant, c.EmbedDim(), c.HiddenSize, c.NumHeads, c.Intermediate)
	}
	c, err = ParseConfig([]byte(`{"architectures": ["ElectraForPreTraining"], "embedding_size": 64, "hidden_size": 64, "num_attention_heads": 2}`))
	if err != nil || c.Variant != Electra || c.EmbedDim() != 64 {
		t.Errorf("from architectures: %v, %v E %d", err, c.Variant, c.EmbedDim())
	}
	if _, err := ParseConfig([]byte(`{"model_type": "bert", "embedding_size": 64}`)); err == nil {
		t.Error("BERT with embedding_size 64 ≠ hidden_size 768 accepted")
	}
}
