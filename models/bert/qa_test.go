package bert

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// qaGolden is testdata/qa_golden.json, written by make_qa_golden.py from
// the bert-tiny fixture's encoder and a seeded span head.
type qaGolden struct {
	QAWeight   []float32            `json:"qa_outputs.weight"`
	QABias     []float32            `json:"qa_outputs.bias"`
	StartPos   []int                `json:"start_positions"`
	EndPos     []int                `json:"end_positions"`
	StartLogit []float32            `json:"start_logits"`
	EndLogit   []float32            `json:"end_logits"`
	Loss       float64              `json:"loss"`
	Grad       map[string][]float32 `json:"grad"`
}

// qaFixture builds the golden's BertForQuestionAnswering: bert-tiny's
// encoder (its pooler and heads left out) and the golden's qa_outputs.
func qaFixture(t *testing.T) (*ForQuestionAnswering, qaGolden, Input) {
	t.Helper()
	_, _, in := fixture(t, "bert-tiny")
	raw, err := os.ReadFile(filepath.Join("testdata", "qa_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g qaGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	dir := testenv.Shared(t, "fixtures", "bert-tiny")
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := newForQuestionAnswering(cfg)
	if err := LoadParams(dir, prefixed("bert", m.Bert.Params())); err != nil {
		t.Fatal(err)
	}
	copy(m.QA.Weight.Value.Data(), g.QAWeight)
	copy(m.QA.Bias.Value.Data(), g.QABias)
	return m, g, in
}

// TestParityQuestionAnswering checks BertForQuestionAnswering's start and
// end logits, its span loss (with an out-of-range start position clamped
// and ignored) and gradients against PyTorch, the inference Encoder built
// from it, and a save / load round trip.
func TestParityQuestionAnswering(t *testing.T) {
	m, g, in := qaFixture(t)
	_, start, end, err := m.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "start_logits", maxDiffRows(start.Value.Data(), g.StartLogit, in.Mask, 1), tolHidden)
	report(t, "end_logits", maxDiffRows(end.Value.Data(), g.EndLogit, in.Mask, 1), tolHidden)
	loss, err := m.Loss(start, end, g.StartPos, g.EndPos)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "loss", math.Abs(float64(loss.Value.Item())-g.Loss), tolLoss)
	autograd.Backward(loss)
	grads := map[string][]float32{}
	for _, p := range m.Params() {
		if p.Var.Grad != nil {
			grads[p.Name] = p.Var.Grad.Data()
		}
	}
	for name, want := range g.Grad {
		got, ok := grads[name]
		if !ok || len(got) != len(want) {
			t.Errorf("gradient of %s: missing or %d values, want %d", name, len(got), len(want))
			continue
		}
		scale := 0.0
		for _, v := range want {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		report(t, "grad "+name, maxDiffRows(got, want, nil, len(want)), math.Max(1e-5, 1e-4*scale))
	}

	enc, err := m.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ws Workspace
	s, e, err := enc.AnswerSpans(&ws, in)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "encoder start_logits", maxDiffRows(s, g.StartLogit, in.Mask, 1), tolHidden)
	report(t, "encoder end_logits", maxDiffRows(e, g.EndLogit, in.Mask, 1), tolHidden)

	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadForQuestionAnswering(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bert.Pooler != nil {
		t.Error("reloaded BertForQuestionAnswering has a pooler")
	}
	loaded, err := LoadEncoder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Heads() != HeadQA {
		t.Errorf("saved folder loads with heads %v, want QuestionAnswering only", loaded.Heads())
	}
	s, _, err = loaded.AnswerSpans(&ws, in)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "reloaded start_logits", maxDiffRows(s, g.StartLogit, in.Mask, 1), tolHidden)
}

// TestQALossErrors checks that bad positions are errors, not panics.
func TestQALossErrors(t *testing.T) {
	m, g, in := qaFixture(t)
	_, start, end, err := m.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, pos := range map[string][2][]int{
		"short start": {g.StartPos[:1], g.EndPos},
		"short end":   {g.StartPos, nil},
	} {
		if _, err := m.Loss(start, end, pos[0], pos[1]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := m.Loss(autograd.Unsqueeze(start, 2), end, g.StartPos, g.EndPos); err == nil {
		t.Error("3-D logits: no error")
	}
}
