package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// writeSQuAD writes a small SQuAD v2.0 file: n answerable questions (a
// city in a context of filler) and one unanswerable.
func writeSQuAD(t *testing.T, path string, n int) {
	t.Helper()
	cities := []string{"Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Oslo", "Prague"}
	var paras []string
	for i := range n {
		c := cities[i%len(cities)]
		ctx := strings.Repeat("The streets were quiet. ", i%3) + "Anna was born in " + c + ", a city she loved. She moved away later."
		paras = append(paras, fmt.Sprintf(`{"context": %q, "qas": [{"id": "q%d", "question": "Where was Anna born?", "answers": [{"text": %q, "answer_start": %d}], "is_impossible": false}]}`,
			ctx, i, c, strings.Index(ctx, c)))
	}
	paras = append(paras, `{"context": "Anna has a cat.", "qas": [{"id": "none", "question": "Who is Anna's brother?", "answers": [], "is_impossible": true}]}`)
	js := `{"version": "v2.0", "data": [{"title": "toy", "paragraphs": [` + strings.Join(paras, ",") + `]}]}`
	if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFinetuneEvalQA fine-tunes the bert-tiny fixture for question
// answering on a toy SQuAD v2.0 file, then evaluates the saved model, writes
// the script's prediction files and answers through the pipeline command.
func TestFinetuneEvalQA(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	squad := filepath.Join(tmp, "squad.json")
	writeSQuAD(t, squad, 12)
	out := filepath.Join(tmp, "qa")
	code, stdout, stderr := glossa(t, "finetune", "--task", "qa", "--model", model, "--tokenizer", vocab, "--train", squad,
		"--dev", squad, "--out", out, "--steps", "4", "--lr", "1e-3", "--batch-size", "8", "--max-seq-len", "32",
		"--doc-stride", "8", "--progress", "off")
	if code != 0 {
		t.Fatalf("finetune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"exact", "HasAns", "NoAns", "best no-answer threshold"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("finetune output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "windows_without_answer") || !strings.Contains(stderr, "handle_impossible=true") {
		t.Errorf("finetune log:\n%s", stderr)
	}
	var cfg struct {
		Arch []string `json:"architectures"`
	}
	raw, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil || json.Unmarshal(raw, &cfg) != nil || len(cfg.Arch) != 1 || cfg.Arch[0] != "BertForQuestionAnswering" {
		t.Fatalf("config.json: %v %s", err, raw)
	}
	for _, f := range []string{"model.safetensors", "vocab.txt", "metrics.jsonl", "loss.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	preds, nas := filepath.Join(tmp, "preds.json"), filepath.Join(tmp, "na.json")
	code, stdout, stderr = glossa(t, "eval", "--task", "qa", "--model", out, "--data", squad, "--max-seq-len", "32",
		"--doc-stride", "8", "--json", "--predictions", preds, "--na-probs", nas)
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var s map[string]float64
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, stdout)
	}
	if s["total"] != 13 || s["HasAns_total"] != 12 || s["NoAns_total"] != 1 {
		t.Errorf("eval scores %v", s)
	}
	var pm map[string]string
	var nm map[string]float64
	if raw, err := os.ReadFile(preds); err != nil || json.Unmarshal(raw, &pm) != nil || len(pm) != 13 {
		t.Errorf("predictions file: %v %s", err, raw)
	}
	if raw, err := os.ReadFile(nas); err != nil || json.Unmarshal(raw, &nm) != nil || len(nm) != 13 || nm["none"] <= 0 {
		t.Errorf("no-answer probabilities file: %v %s", err, raw)
	}

	code, stdout, stderr = glossa(t, "pipeline", "question-answering", "--model", out, "--question", "Where was Anna born?",
		"Anna was born in Oslo.")
	if code != 0 || !strings.Contains(stdout, `"answer"`) {
		t.Errorf("pipeline: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, stdout, _ = glossa(t, "eval", "--task", "qa", "--baseline", "no-answer", "--data", squad)
	if code != 0 || !strings.Contains(stdout, "NoAns:  exact 100.00") || !strings.Contains(stdout, "exact 7.69") {
		t.Errorf("no-answer baseline: exit %d\n%s", code, stdout)
	}
}

// TestFinetuneEvalQABadInput checks that bad files, flags and models get
// clear errors.
func TestFinetuneEvalQABadInput(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	squad, bad := filepath.Join(tmp, "squad.json"), filepath.Join(tmp, "bad.json")
	writeSQuAD(t, squad, 2)
	if err := os.WriteFile(bad, []byte(`{"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "a", "answers": [{"text": "y", "answer_start": 5}]}]}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no head", []string{"eval", "--task", "qa", "--model", model, "--tokenizer", vocab, "--data", squad}, "qa_outputs"},
		{"answer outside", []string{"eval", "--task", "qa", "--baseline", "no-answer", "--data", bad}, "does not fit"},
		{"missing file", []string{"eval", "--task", "qa", "--baseline", "no-answer", "--data", filepath.Join(tmp, "nope.json")}, "no such file"},
		{"bad baseline", []string{"eval", "--task", "qa", "--baseline", "random", "--data", squad}, "unknown baseline"},
		{"model and baseline", []string{"eval", "--task", "qa", "--baseline", "no-answer", "--model", model, "--data", squad}, "one of them"},
		{"bad impossible", []string{"finetune", "--task", "qa", "--model", model, "--tokenizer", vocab, "--train", squad,
			"--out", filepath.Join(tmp, "o1"), "--handle-impossible", "maybe"}, "--handle-impossible"},
		{"window too long", []string{"finetune", "--task", "qa", "--model", model, "--tokenizer", vocab, "--train", squad,
			"--out", filepath.Join(tmp, "o2"), "--max-seq-len", "100"}, "longer than the model's 64"},
		{"bad train file", []string{"finetune", "--task", "qa", "--model", model, "--tokenizer", vocab, "--train", bad,
			"--out", filepath.Join(tmp, "o3")}, "does not fit"},
	} {
		code, stdout, stderr := glossa(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr lacks %q:\n%s%s", tc.name, code, tc.want, stdout, stderr)
		}
	}
}
