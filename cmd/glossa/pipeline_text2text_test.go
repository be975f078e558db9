package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/seq2seqfixture"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// TestPipelineText2Text runs the translation and summarization pipelines
// from the command line, with arguments and with --jsonl, on marian-tiny.
func TestPipelineText2Text(t *testing.T) {
	testenv.Shared(t, "fixtures", "marian-tiny")
	dir := t.TempDir()
	if err := seq2seqfixture.Folder(dir, "marian-tiny", nil); err != nil {
		t.Fatal(err)
	}
	opts := `{"max_new_tokens": 4, "min_new_tokens": 4, "num_beams": 2}`
	code, out, errs := glossa(t, "pipeline", "translation", "--model", dir, "--options", opts, "Two dogs play in the snow.")
	if code != 0 || out != `[{"translation_text":"dress steps again"}]`+"\n" {
		t.Errorf("translation: exit %d, %q\n%s", code, out, errs)
	}
	in := filepath.Join(t.TempDir(), "calls.jsonl")
	os.WriteFile(in, []byte(`{"inputs": "Two dogs play in the snow.", "max_new_tokens": 4, "min_new_tokens": 4, "num_beams": 2}`+"\n"+
		`{"inputs": ""}`+"\n"), 0o644)
	code, out, _ = glossa(t, "pipeline", "summarization", "--model", dir, "--jsonl", "--input", in)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 2 || lines[0] != `[{"summary_text":"dress steps again"}]` || !strings.Contains(lines[1], `"line":2`) {
		t.Errorf("summarization --jsonl: exit %d, %q", code, out)
	}
}
