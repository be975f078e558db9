package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// TestPipelineCommand runs "glossa pipeline" over the hf_pipelines tiny
// models: inputs as arguments (one JSON line each), --jsonl with a bad
// line that gets an error line while the others run, and usage errors.
func TestPipelineCommand(t *testing.T) {
	models := testenv.Shared(t, "golden", "hf_pipelines", "models")
	m := func(name string) string { return filepath.Join(models, name) }
	for _, tc := range []struct {
		args  []string
		lines int
		want  string // in the first line
	}{
		{[]string{"fill-mask", "--model", m("bert-tiny-mlm"), "--options", `{"top_k": 2}`, "Paris is the [MASK] of France.", "[MASK] b"}, 2, `"token_str":"bisexual"`},
		{[]string{"ner", "--model", m("bert-tiny-ner"), "--options", `{"aggregation_strategy": "simple"}`, "My name is Wolfgang and I live in Berlin."}, 1, `"entity_group":"ORG","score":0.1866`},
		{[]string{"question-answering", "--model", m("bert-tiny-qa"), "--question", "Where does Wolfgang live?", "My name is Wolfgang and I live in Berlin."}, 1, `"answer":"and"`},
		{[]string{"question-answering", "--model", m("bert-tiny-qa"), "--question", "Who?", "--context", "Clara lives here."}, 1, `"answer":"Clara"`},
		{[]string{"zero-shot-classification", "--model", m("bert-tiny-nli"), "--labels", "tech, food", "I love this phone"}, 1, `"labels":["tech","food"]`},
		{[]string{"sentiment-analysis", "--model", m("bert-tiny-nli"), "--pair", "A man plays music.", "A man is playing a guitar."}, 1, `[{"label":"contradiction"`},
		{[]string{"text-generation", "--model", testenv.Shared(t, "models", "stories260K", "stories260K.bin"), "--tokenizer",
			testenv.Shared(t, "models", "stories260K", "tok512.bin"), "--options", `{"max_new_tokens": 8}`, "Once upon a time"}, 1, `[{"generated_text":"Once upon a time`},
		{[]string{"feature-extraction", "--model", m("bert-tiny-embed"), "--options", `{"pooling": "mean", "normalize": true}`, "This is an example sentence."}, 1, `[-0.176389`},
	} {
		code, out, errs := glossa(t, append([]string{"pipeline"}, tc.args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != tc.lines || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: exit %d, %d lines:\n%s%s\nwant %q", tc.args[:3], code, len(lines), out, errs, tc.want)
		}
	}

	in := filepath.Join(t.TempDir(), "calls.jsonl")
	calls := `{"question": "Where does Wolfgang live?", "context": "My name is Wolfgang and I live in Berlin."}
not json
{"question": "Who?", "context": ""}
{"inputs": [{"question": "Who?", "context": "Clara lives here."}], "options": {"top_k": 2}}
`
	if err := os.WriteFile(in, []byte(calls), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := glossa(t, "pipeline", "question-answering", "--model", m("bert-tiny-qa"), "--jsonl", "--input", in)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 4 || !strings.Contains(errs, "2 of 4 lines failed") {
		t.Fatalf("--jsonl: exit %d, output:\n%s%s", code, out, errs)
	}
	var first struct {
		Answer string `json:"answer"`
		Start  int    `json:"start"`
	}
	var bad struct {
		Error string `json:"error"`
		Line  int    `json:"line"`
	}
	var last [][]map[string]any
	if json.Unmarshal([]byte(lines[0]), &first) != nil || first.Answer != "and" || first.Start != 20 {
		t.Errorf("line 1: %s", lines[0])
	}
	if json.Unmarshal([]byte(lines[1]), &bad) != nil || bad.Line != 2 || !strings.Contains(bad.Error, "JSON object") {
		t.Errorf("line 2: %s", lines[1])
	}
	if json.Unmarshal([]byte(lines[2]), &bad) != nil || bad.Line != 3 || !strings.Contains(bad.Error, "context is empty") {
		t.Errorf("line 3: %s", lines[2])
	}
	if json.Unmarshal([]byte(lines[3]), &last) != nil || len(last) != 1 || len(last[0]) != 2 {
		t.Errorf("line 4: %s", lines[3])
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"pipeline"}, 2, "first argument is the TASK"},
		{[]string{"pipeline", "image-segmentation", "--model", "x"}, 2, "unknown task"},
		{[]string{"pipeline", "fill-mask", "x"}, 2, "--model is required"},
		{[]string{"pipeline", "fill-mask", "--model", m("bert-tiny-mlm")}, 2, "no INPUT"},
		{[]string{"pipeline", "fill-mask", "--model", m("bert-tiny-mlm"), "--options", "[1]", "x"}, 2, "not a JSON object"},
		{[]string{"pipeline", "fill-mask", "--model", m("bert-tiny-ner"), "x"}, 1, "MaskedLM head"},
		{[]string{"pipeline", "question-answering", "--model", m("bert-tiny-qa"), "ctx"}, 2, "--question or --context"},
		{[]string{"pipeline", "fill-mask", "--model", m("bert-tiny-mlm"), "no mask"}, 1, "no mask token"},
	} {
		code, _, errs := glossa(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}
