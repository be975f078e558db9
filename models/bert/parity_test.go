package bert

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// Tolerances from ../shared/fixtures/README.md.
const (
	tolHidden = 1e-4 // hidden states, pooler output, logits
	tolProbs  = 1e-5 // attention probabilities
	tolLoss   = 1e-5 // losses
)

// golden is the part of a fixture's golden.json the tests use.
type golden struct {
	Inputs struct {
		IDs        [][]int `json:"input_ids"`
		TypeIDs    [][]int `json:"token_type_ids"`
		Mask       [][]int `json:"attention_mask"`
		MLMLabels  [][]int `json:"mlm_labels"`
		NSPLabels  []int   `json:"next_sentence_label"`
		ClassLabel []int   `json:"labels"`
	} `json:"inputs"`
	Forward struct {
		MLMLoss float64 `json:"masked_lm_loss"`
		NSPLoss float64 `json:"next_sentence_loss"`
		Loss    float64 `json:"loss"`
	} `json:"forward"`
	Tensors map[string][]int `json:"tensors"`
}

// fixture reads a golden folder: the decoded golden.json, its tensors and
// the model input.
func fixture(t *testing.T, name string) (golden, map[string]nn.Tensor, Input) {
	t.Helper()
	dir := testenv.Shared(t, "fixtures", name)
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	ref, err := nn.ReadTensors(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return g, ref, inputOf(g)
}

func inputOf(g golden) Input {
	in := Input{B: len(g.Inputs.IDs), T: len(g.Inputs.IDs[0])}
	for b := range in.B {
		in.IDs = append(in.IDs, g.Inputs.IDs[b]...)
		in.TypeIDs = append(in.TypeIDs, g.Inputs.TypeIDs[b]...)
		in.Mask = append(in.Mask, g.Inputs.Mask[b]...)
	}
	return in
}

func flatten(rows [][]int) []int {
	var out []int
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// maxDiffRows is the largest |got − want| over rows of width w whose mask
// is 1 (mask nil: every row).
func maxDiffRows(got, want []float32, mask []int, w int) float64 {
	d := 0.0
	for r := 0; r*w < len(want); r++ {
		if mask != nil && mask[r] == 0 {
			continue
		}
		for i := r * w; i < (r+1)*w; i++ {
			d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		}
	}
	return d
}

// checkProbs compares attention probabilities [B, H, T, T] on valid query
// rows and requires padding key columns to be exactly zero.
func checkProbs(t *testing.T, name string, got, want []float32, mask []int, B, H, T int) {
	t.Helper()
	d := 0.0
	for b := range B {
		for h := range H {
			for i := range T {
				if mask[b*T+i] == 0 {
					continue
				}
				row := ((b*H+h)*T + i) * T
				for j := range T {
					g := got[row+j]
					if mask[b*T+j] == 0 && g != 0 {
						t.Errorf("%s: b%d h%d query %d attends to padding key %d with %g", name, b, h, i, j, g)
					}
					d = math.Max(d, math.Abs(float64(g)-float64(want[row+j])))
				}
			}
		}
	}
	report(t, name, d, tolProbs)
}

func report(t *testing.T, name string, diff, tol float64) {
	t.Helper()
	if !(diff <= tol) {
		t.Errorf("%s: max abs diff %.3g > %g", name, diff, tol)
	} else {
		t.Logf("%s: max abs diff %.3g", name, diff)
	}
}

// TestParityPreTraining checks BertForPreTraining's autograd forward, with
// and without the legacy gamma/beta names, against the PyTorch goldens:
// every hidden state, every attention map, pooler, MLM and NSP logits, and
// the three losses.
func TestParityPreTraining(t *testing.T) {
	for _, folder := range []string{"bert-tiny", "bert-tiny-legacy"} {
		t.Run(folder, func(t *testing.T) {
			g, ref, in := fixture(t, "bert-tiny")
			m, err := LoadForPreTraining(testenv.Shared(t, "fixtures", folder))
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(in, &ForwardOptions{HiddenStates: true, Attentions: true})
			if err != nil {
				t.Fatal(err)
			}
			C, H := m.Bert.Config.HiddenSize, m.Bert.Config.NumHeads
			for i, h := range out.HiddenStates {
				name := fmt.Sprintf("forward.hidden_states.%d", i)
				report(t, name, maxDiffRows(h.Value.Data(), ref[name].Data, in.Mask, C), tolHidden)
			}
			for i, p := range out.Attentions {
				name := fmt.Sprintf("forward.attentions.%d", i)
				checkProbs(t, name, p.Contiguous().Data(), ref[name].Data, in.Mask, in.B, H, in.T)
			}
			report(t, "last_hidden_state", maxDiffRows(out.LastHidden.Value.Data(), ref["forward.last_hidden_state"].Data, in.Mask, C), tolHidden)
			report(t, "pooler_output", maxDiffRows(out.Pooled.Value.Data(), ref["forward.pooler_output"].Data, nil, C), tolHidden)
			report(t, "prediction_logits", maxDiffRows(out.PredictionLogits.Value.Data(), ref["forward.prediction_logits"].Data, in.Mask, m.Bert.Config.VocabSize), tolHidden)
			report(t, "seq_relationship_logits", maxDiffRows(out.SeqRelationshipLogits.Value.Data(), ref["forward.seq_relationship_logits"].Data, nil, 2), tolHidden)

			total, mlm, nsp, err := m.Loss(out, flatten(g.Inputs.MLMLabels), g.Inputs.NSPLabels)
			if err != nil {
				t.Fatal(err)
			}
			report(t, "masked_lm_loss", math.Abs(float64(mlm.Value.Item())-g.Forward.MLMLoss), tolLoss)
			report(t, "next_sentence_loss", math.Abs(float64(nsp.Value.Item())-g.Forward.NSPLoss), tolLoss)
			report(t, "loss", math.Abs(float64(total.Value.Item())-g.Forward.Loss), tolLoss)
		})
	}
}

// TestParityClassification checks BertForSequenceClassification: hidden
// states, pooler, logits and the cross-entropy loss.
func TestParityClassification(t *testing.T) {
	g, ref, in := fixture(t, "bert-tiny-cls")
	m, err := LoadForSequenceClassification(testenv.Shared(t, "fixtures", "bert-tiny-cls"))
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Bert.Config.Labels(); n != 3 || m.Bert.Config.LabelName(2) != "positive" {
		t.Fatalf("labels: %d, name of 2 %q", n, m.Bert.Config.LabelName(2))
	}
	out, logits, err := m.Forward(in, &ForwardOptions{HiddenStates: true})
	if err != nil {
		t.Fatal(err)
	}
	C := m.Bert.Config.HiddenSize
	for i, h := range out.HiddenStates {
		name := fmt.Sprintf("forward.hidden_states.%d", i)
		report(t, name, maxDiffRows(h.Value.Data(), ref[name].Data, in.Mask, C), tolHidden)
	}
	report(t, "pooler_output", maxDiffRows(out.Pooled.Value.Data(), ref["forward.pooler_output"].Data, nil, C), tolHidden)
	report(t, "logits", maxDiffRows(logits.Value.Data(), ref["forward.logits"].Data, nil, 3), tolHidden)
	labels := make([]float32, len(g.Inputs.ClassLabel))
	for i, l := range g.Inputs.ClassLabel {
		labels[i] = float32(l)
	}
	loss, err := m.Loss(logits, labels)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "loss", math.Abs(float64(loss.Value.Item())-g.Forward.Loss), tolLoss)
}

// TestParityEncoder checks the inference path against the same goldens:
// last hidden state, pooler, MLM, NSP and classifier logits, for an Encoder
// loaded from each folder (the legacy names go through Aliases) and one
// built from a model in memory.
func TestParityEncoder(t *testing.T) {
	_, ref, in := fixture(t, "bert-tiny")
	m, err := LoadForPreTraining(testenv.Shared(t, "fixtures", "bert-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := m.Bert.Config
	encs := map[string]func() (*Encoder, error){
		"memory": func() (*Encoder, error) { return m.Encoder(nil) },
	}
	for _, folder := range []string{"bert-tiny", "bert-tiny-legacy"} {
		dir := testenv.Shared(t, "fixtures", folder)
		encs[folder] = func() (*Encoder, error) { return LoadEncoder(dir, nil) }
	}
	for name, load := range encs {
		t.Run(name, func(t *testing.T) {
			enc, err := load()
			if err != nil {
				t.Fatal(err)
			}
			var ws Workspace
			for round := range 2 { // the second round reuses the workspace
				hidden, pooled, err := enc.Forward(&ws, in)
				if err != nil {
					t.Fatal(err)
				}
				report(t, fmt.Sprintf("round %d last_hidden_state", round), maxDiffRows(hidden, ref["forward.last_hidden_state"].Data, in.Mask, cfg.HiddenSize), tolHidden)
				report(t, fmt.Sprintf("round %d pooler_output", round), maxDiffRows(pooled, ref["forward.pooler_output"].Data, nil, cfg.HiddenSize), tolHidden)
			}
			// MLM logits for the selected rows only: 3 rows take the
			// matrix-vector kernels, 6 the blocked product.
			for _, rows := range [][]int{{6, in.T + 4, 0}, {0, 1, 2, 3, 4, in.T + 5}, nil} {
				logits, err := enc.MaskedLM(&ws, rows)
				if err != nil {
					t.Fatal(err)
				}
				V := cfg.VocabSize
				want := ref["forward.prediction_logits"].Data
				d := 0.0
				for i, r := range rows {
					d = math.Max(d, maxDiffRows(logits[i*V:(i+1)*V], want[r*V:(r+1)*V], nil, V))
				}
				report(t, fmt.Sprintf("prediction_logits (%d rows)", len(rows)), d, tolHidden)
			}
			nsp, err := enc.NextSentence(&ws)
			if err != nil {
				t.Fatal(err)
			}
			report(t, "seq_relationship_logits", maxDiffRows(nsp, ref["forward.seq_relationship_logits"].Data, nil, 2), tolHidden)
			if _, err := enc.Classify(&ws, in); err == nil {
				t.Error("Classify without a classifier head succeeded")
			}
		})
	}

	_, cref, cin := fixture(t, "bert-tiny-cls")
	cm, err := LoadEncoder(testenv.Shared(t, "fixtures", "bert-tiny-cls"), &EncoderOptions{Heads: HeadClassifier})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := cm.Classify(&Workspace{}, cin)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "classifier logits", maxDiffRows(cl, cref["forward.logits"].Data, nil, 3), tolHidden)
}

// TestInferMatchesForward compares the two paths on a random model with
// the activation variants, padding and a batch larger than the fixtures.
func TestInferMatchesForward(t *testing.T) {
	for _, act := range []string{"gelu", "gelu_new", "relu"} {
		t.Run(act, func(t *testing.T) {
			cfg := Config{VocabSize: 97, HiddenSize: 48, NumLayers: 2, NumHeads: 3, Intermediate: 80,
				MaxPositions: 40, HiddenAct: act, InitializerRange: 0.2}
			rng := tensor.NewRNG(7)
			m, err := New(cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			randomize(m, rng)
			B, T := 3, 17
			in := Input{B: B, T: T, IDs: make([]int, B*T), TypeIDs: make([]int, B*T), Mask: make([]int, B*T)}
			for i := range in.IDs {
				in.IDs[i] = rng.IntN(cfg.VocabSize)
				in.TypeIDs[i] = rng.IntN(2)
				if i%T < T-3*(i/T) {
					in.Mask[i] = 1
				}
			}
			out, err := m.Forward(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := m.Encoder(nil)
			if err != nil {
				t.Fatal(err)
			}
			hidden, pooled, err := enc.Forward(&Workspace{}, in)
			if err != nil {
				t.Fatal(err)
			}
			report(t, "last hidden", maxDiffRows(hidden, out.LastHidden.Value.Data(), in.Mask, 48), 2e-5)
			report(t, "pooled", maxDiffRows(pooled, out.Pooled.Value.Data(), nil, 48), 2e-5)
		})
	}
}

// randomize gives every parameter non-trivial values, so that a dropped
// bias or gain shows.
func randomize(m *Model, rng *tensor.RNG) {
	for _, p := range m.Params() {
		if p.Var.Value.NDim() == 1 {
			rng.Normal(p.Var.Value, 0.5, 0.2)
		}
	}
}
