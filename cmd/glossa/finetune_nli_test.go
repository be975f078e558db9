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

// writeNLI writes a synthetic NLI file (there is no NLI dataset in
// ../shared): the hypothesis "This example is yes." is entailed, "... no."
// contradicted, "... maybe." neutral, whatever the premise. Labels come as
// names in mixed case and as Hugging Face's MNLI ids; one row has SNLI's -1.
func writeNLI(t *testing.T, path string, n int) {
	t.Helper()
	premises := []string{"the film was long", "a cat sat on the mat", "it rained all day", "he bought a new car"}
	answers := []struct{ word, label string }{{"yes", "entailment"}, {"no", "2"}, {"maybe", "Neutral"}}
	var b strings.Builder
	for i := range n {
		a := answers[i%3]
		fmt.Fprintf(&b, `{"premise": %q, "hypothesis": "This example is %s.", "label": %q}`+"\n", premises[i%4], a.word, a.label)
	}
	b.WriteString(`{"premise": "x", "hypothesis": "y", "label": "-1"}` + "\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFinetuneNLIZeroShot fine-tunes the bert-tiny fixture with --task nli
// on the synthetic file and checks that the model drives the
// zero-shot-classification pipeline: its label2id names the entailment
// class, and "yes" outranks "no" as the pipeline's default hypothesis
// template asks "This example is {label}."
func TestFinetuneNLIZeroShot(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	trainFile, devFile := filepath.Join(tmp, "train.jsonl"), filepath.Join(tmp, "dev.jsonl")
	writeNLI(t, trainFile, 96)
	writeNLI(t, devFile, 12)
	out := filepath.Join(tmp, "nli")
	code, stdout, stderr := glossa(t, "finetune", "--task", "nli", "--model", model, "--tokenizer", vocab, "--train", trainFile,
		"--dev", devFile, "--out", out, "--steps", "60", "--lr", "3e-3", "--batch-size", "8", "--progress", "off")
	if code != 0 {
		t.Fatalf("finetune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "without a gold label") {
		t.Errorf("the -1 row was not reported:\n%s", stderr)
	}
	var c struct {
		Label2ID map[string]int `json:"label2id"`
	}
	cfg, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil || json.Unmarshal(cfg, &c) != nil {
		t.Fatalf("config: %v\n%s", err, cfg)
	}
	if c.Label2ID["entailment"] != 0 || c.Label2ID["neutral"] != 1 || c.Label2ID["contradiction"] != 2 {
		t.Errorf("label2id %v, want entailment 0, neutral 1, contradiction 2", c.Label2ID)
	}
	code, stdout, stderr = glossa(t, "eval", "--task", "nli", "--model", out, "--data", devFile, "--json")
	var ev struct {
		Metrics map[string]float64 `json:"metrics"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &ev) != nil || ev.Metrics["accuracy"] < 0.9 {
		t.Fatalf("eval --task nli: exit %d, %s\n%s", code, stdout, stderr)
	}
	calls := filepath.Join(tmp, "calls.jsonl")
	os.WriteFile(calls, []byte(`{"inputs": "the film was long", "candidate_labels": ["no", "yes"]}`+"\n"), 0o644)
	code, stdout, stderr = glossa(t, "pipeline", "zero-shot-classification", "--model", out, "--jsonl", "--input", calls)
	if code != 0 {
		t.Fatalf("zero-shot: exit %d\n%s", code, stderr)
	}
	var zs struct {
		Labels []string  `json:"labels"`
		Scores []float64 `json:"scores"`
	}
	if err := json.Unmarshal([]byte(stdout), &zs); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(zs.Labels) != 2 || zs.Labels[0] != "yes" || zs.Scores[0] < 0.5 {
		t.Errorf("zero-shot with the NLI model: %+v", zs)
	}

	bad := filepath.Join(tmp, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"premise": "a", "hypothesis": "b", "label": "maybe"}`+"\n"), 0o644)
	code, _, stderr = glossa(t, "eval", "--task", "nli", "--model", out, "--data", bad)
	if code != 1 || !strings.Contains(stderr, `NLI label "maybe"`) {
		t.Errorf("eval with a bad NLI label: exit %d, %s", code, stderr)
	}
}
