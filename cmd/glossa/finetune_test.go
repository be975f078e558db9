package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// writeTSV writes a labelled TSV (header "sentence\tlabel") of n rows whose
// label is the sentiment word in the text, plus extra raw lines.
func writeTSV(t *testing.T, path string, n int, extra ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("sentence\tlabel\n")
	good := []string{"great", "wonderful", "lovely", "good"}
	bad := []string{"awful", "terrible", "boring", "bad"}
	for i := range n {
		if i%2 == 0 {
			b.WriteString("the film was " + good[i/2%4] + " indeed\tpos\n")
		} else {
			b.WriteString("a " + bad[i/2%4] + " film , really\tneg\n")
		}
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFinetuneEvalClassify fine-tunes the bert-tiny fixture (a random
// BertForPreTraining saved by transformers) on a toy sentiment task, then
// evaluates and classifies with the result, with malformed rows and unknown
// labels along the way.
func TestFinetuneEvalClassify(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	trainTSV, devTSV := filepath.Join(tmp, "train.tsv"), filepath.Join(tmp, "dev.tsv")
	writeTSV(t, trainTSV, 64, "a row without a label column")
	writeTSV(t, devTSV, 16, "it was fine\tneutral", "meh\tneutral")
	out := filepath.Join(tmp, "ft")
	code, stdout, stderr := glossa(t, "finetune", "--model", model, "--tokenizer", vocab, "--train", trainTSV,
		"--dev", devTSV, "--out", out, "--steps", "30", "--lr", "2e-3", "--batch-size", "8", "--progress", "off")
	if code != 0 {
		t.Fatalf("finetune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"skipped malformed rows", "count=1", "skipped rows with unknown labels", "count=2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("finetune stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "dev accuracy") || !strings.Contains(stdout, "true\\pred") {
		t.Errorf("finetune output:\n%s", stdout)
	}
	// --bf16 fine-tunes in bfloat16 mixed precision.
	out16 := filepath.Join(tmp, "ft-bf16")
	code, stdout16, stderr16 := glossa(t, "finetune", "--model", model, "--tokenizer", vocab, "--train", trainTSV,
		"--dev", devTSV, "--out", out16, "--steps", "5", "--lr", "2e-3", "--batch-size", "8", "--progress", "off", "--bf16")
	if code != 0 || !strings.Contains(stdout16, "dev accuracy") {
		t.Errorf("finetune --bf16: exit %d\n%s\n%s", code, stdout16, stderr16)
	}
	cfg, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Arch     []string          `json:"architectures"`
		ID2Label map[string]string `json:"id2label"`
		Label2ID map[string]int    `json:"label2id"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Arch) != 1 || c.Arch[0] != "BertForSequenceClassification" || c.ID2Label["0"] != "neg" || c.Label2ID["pos"] != 1 {
		t.Errorf("config: %+v", c)
	}
	if _, err := os.Stat(filepath.Join(out, "vocab.txt")); err != nil {
		t.Errorf("tokenizer not saved with the model: %v", err)
	}

	// eval reads the tokenizer from the model folder.
	code, stdout, stderr = glossa(t, "eval", "--model", out, "--data", devTSV, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, stderr)
	}
	var ev struct {
		Examples  int                `json:"examples"`
		Skipped   int                `json:"skipped"`
		Metrics   map[string]float64 `json:"metrics"`
		Confusion [][]int            `json:"confusion"`
	}
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if ev.Examples != 16 || ev.Skipped != 2 || len(ev.Confusion) != 2 {
		t.Errorf("eval: %+v", ev)
	}
	if a := ev.Metrics["accuracy"]; a < 0.9 {
		t.Errorf("dev accuracy %v after fine-tuning on a trivial task", a)
	}
	code, _, stderr = glossa(t, "eval", "--model", out, "--data", devTSV, "--strict")
	if code != 1 || !strings.Contains(stderr, `label "neutral"`) {
		t.Errorf("eval --strict: exit %d, %s", code, stderr)
	}

	code, stdout, stderr = glossa(t, "classify", "--model", out, "the film was lovely indeed", "a terrible film , really")
	if code != 0 {
		t.Fatalf("classify: exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "pos\t") || !strings.HasPrefix(lines[1], "neg\t") {
		t.Errorf("classify output:\n%s", stdout)
	}
	code, stdout, stderr = glossa(t, "classify", "--model", out, "--dtype", "bf16", "the film was lovely indeed", "a terrible film , really")
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "pos\t") || !strings.HasPrefix(lines[1], "neg\t") {
		t.Errorf("classify --dtype bf16: exit %d, output:\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = glossa(t, "eval", "--model", out, "--data", devTSV, "--json", "--dtype", "bf16")
	if err := json.Unmarshal([]byte(stdout), &ev); code != 0 || err != nil || ev.Metrics["accuracy"] < 0.9 {
		t.Errorf("eval --dtype bf16: exit %d, %v, %+v\n%s", code, err, ev, stderr)
	}
	if code, _, stderr = glossa(t, "eval", "--model", out, "--data", devTSV, "--dtype", "int3"); code != 2 {
		t.Errorf("eval --dtype int3: exit %d, %s", code, stderr)
	}
}

func TestFinetuneBadInput(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	empty, one, good := filepath.Join(tmp, "empty.tsv"), filepath.Join(tmp, "one.tsv"), filepath.Join(tmp, "good.tsv")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(one, []byte("sentence\tlabel\nonly one class\tpos\nagain\tpos\n"), 0o644)
	writeTSV(t, good, 8, "broken row")
	base := []string{"finetune", "--model", model, "--tokenizer", vocab, "--out", filepath.Join(tmp, "out"), "--steps", "1", "--progress", "off"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"empty train file", []string{"--train", empty}, 1, "empty"},
		{"one class", []string{"--train", one}, 1, "label"},
		{"strict malformed", []string{"--train", good, "--strict"}, 1, "line 10"},
		{"missing column", []string{"--train", good, "--text-column", "review"}, 1, "review"},
		{"no train", nil, 2, "--train"},
		{"bad task", []string{"--train", good, "--task", "pos"}, 2, "--task"},
		{"max-len too long", []string{"--train", good, "--max-len", "1000"}, 2, "positions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := glossa(t, append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.want)
			}
		})
	}
	code, _, errs := glossa(t, "eval", "--model", model, "--data", good)
	if code != 1 {
		t.Errorf("eval of a pretraining folder: exit %d, %s", code, errs)
	}
	code, _, errs = glossa(t, "classify", "--model", model)
	if code != 2 {
		t.Errorf("classify without text: exit %d, %s", code, errs)
	}
}
