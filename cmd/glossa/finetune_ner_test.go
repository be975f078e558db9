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

// writeCoNLL writes n toy sentences in CoNLL-2003's layout: a person's
// name (one or two words) who "lives in" a city, with POS and chunk columns
// and -DOCSTART- lines.
func writeCoNLL(t *testing.T, path string, n int, extra string) {
	t.Helper()
	first := []string{"john", "mary", "peter", "anna", "david", "susan"}
	last := []string{"smith", "jones", "brown"}
	cities := []string{"paris", "london", "berlin", "tokyo", "madrid"}
	var b strings.Builder
	b.WriteString("-DOCSTART- -X- -X- O\n\n")
	for i := range n {
		fmt.Fprintf(&b, "%s NNP B-NP B-PER\n", first[i%len(first)])
		if i%2 == 0 {
			fmt.Fprintf(&b, "%s NNP I-NP I-PER\n", last[i%len(last)])
		}
		b.WriteString("lives VBZ B-VP O\nin IN B-PP O\n")
		fmt.Fprintf(&b, "%s NNP B-NP B-LOC\n. . O O\n\n", cities[i%len(cities)])
	}
	b.WriteString(extra)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFinetuneEvalNER fine-tunes the bert-tiny fixture on a toy NER task,
// evaluates the result, and runs it through the token-classification
// pipeline.
func TestFinetuneEvalNER(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	trainFile, devFile := filepath.Join(tmp, "train.conll"), filepath.Join(tmp, "dev.conll")
	writeCoNLL(t, trainFile, 96, "")
	writeCoNLL(t, devFile, 12, "")
	out := filepath.Join(tmp, "ner")
	code, stdout, stderr := glossa(t, "finetune", "--task", "ner", "--model", model, "--tokenizer", vocab, "--train", trainFile,
		"--dev", devFile, "--out", out, "--steps", "60", "--lr", "5e-3", "--batch-size", "8", "--eval-every", "30",
		"--progress", "off")
	if code != 0 {
		t.Fatalf("finetune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "dev entity F1") || !strings.Contains(stdout, "micro avg") {
		t.Errorf("finetune output:\n%s", stdout)
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
	if len(c.Arch) != 1 || c.Arch[0] != "BertForTokenClassification" || c.ID2Label["0"] != "B-LOC" || c.Label2ID["O"] != 3 {
		t.Errorf("config: %+v", c)
	}
	metricsLog, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil || strings.Count(string(metricsLog), `"f1/PER"`) < 2 {
		t.Errorf("metrics.jsonl lacks the dev F1 of the two evaluations: %v\n%s", err, metricsLog)
	}

	pred := filepath.Join(tmp, "pred.txt")
	code, stdout, stderr = glossa(t, "eval", "--task", "ner", "--model", out, "--data", devFile, "--json", "--predictions", pred)
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, stderr)
	}
	var ev struct {
		Sentences int                `json:"sentences"`
		Metrics   map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if ev.Sentences != 12 || ev.Metrics["f1"] < 0.9 || ev.Metrics["f1/LOC"] < 0.9 {
		t.Errorf("eval after fine-tuning on a trivial task: %+v", ev)
	}
	if p, err := os.ReadFile(pred); err != nil || !strings.HasPrefix(string(p), "john B-PER ") || strings.Count(string(p), "\n\n") != 12 {
		t.Errorf("predictions file: %v\n%.200s", err, p)
	}

	code, stdout, stderr = glossa(t, "pipeline", "token-classification", "--model", out,
		"--options", `{"aggregation_strategy": "simple"}`, "mary jones lives in berlin .")
	if code != 0 {
		t.Fatalf("pipeline: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{`"entity_group":"PER"`, `"entity_group":"LOC"`, `"word":"berlin"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("pipeline output lacks %s:\n%s", want, stdout)
		}
	}

	// A tag the model does not know, in the dev file or the evaluated one.
	bad := filepath.Join(tmp, "bad.conll")
	writeCoNLL(t, bad, 2, "acme NNP B-NP B-ORG\n")
	code, _, stderr = glossa(t, "eval", "--task", "ner", "--model", out, "--data", bad)
	if code != 1 || !strings.Contains(stderr, `tag "B-ORG"`) || !strings.Contains(stderr, "not one of the model's labels") {
		t.Errorf("eval with an unknown tag: exit %d, %s", code, stderr)
	}
	code, _, stderr = glossa(t, "finetune", "--task", "ner", "--model", model, "--tokenizer", vocab, "--train", trainFile,
		"--dev", bad, "--out", filepath.Join(tmp, "x"), "--steps", "1", "--progress", "off")
	if code != 1 || !strings.Contains(stderr, `bad.conll:16: tag "B-ORG"`) {
		t.Errorf("finetune with an unknown dev tag: exit %d, %s", code, stderr)
	}
}

func TestFinetuneNERBadInput(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	good, ragged, oneTag := filepath.Join(tmp, "good.conll"), filepath.Join(tmp, "ragged.conll"), filepath.Join(tmp, "o.conll")
	writeCoNLL(t, good, 4, "")
	writeCoNLL(t, ragged, 1, "acme B-ORG\n")
	os.WriteFile(oneTag, []byte("a O\nb O\n"), 0o644)
	base := []string{"finetune", "--task", "ner", "--model", model, "--tokenizer", vocab, "--out", filepath.Join(tmp, "out"), "--steps", "1", "--progress", "off"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{"--train", filepath.Join(tmp, "none.conll")}, 1, "none.conll"},
		{"ragged columns", []string{"--train", ragged}, 1, "ragged.conll:10: 2 columns where the file's first word line has 4"},
		{"one tag", []string{"--train", oneTag}, 1, "at least 2 distinct labels"},
		{"integer tags without names", []string{"--train", good, "--format", "jsonl"}, 1, "invalid JSON"},
		{"bad scheme", []string{"--train", good, "--strict-scheme", "IOX"}, 2, "--strict-scheme"},
		{"max-len too long", []string{"--train", good, "--max-len", "1000"}, 2, "positions"},
		{"no train", nil, 2, "--train"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := glossa(t, append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.want)
			}
		})
	}
	// A sequence classifier has no token head: the error names the head and the architectures.
	code, _, errs := glossa(t, "eval", "--task", "ner", "--model", testenv.Shared(t, "fixtures", "bert-tiny-cls"), "--tokenizer", vocab, "--data", good)
	if code != 1 || !strings.Contains(errs, "TokenClassification head") || !strings.Contains(errs, "BertForSequenceClassification") {
		t.Errorf("eval of a model without a token head: exit %d, %s", code, errs)
	}
}
