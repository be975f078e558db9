package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenizerTrainUnigram(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. The dog sleeps!\nZwei Männer spielen Fußball.\n", 100)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "uni")
	code, stdout, stderr := glossa(t, "tokenizer", "train", "--type", "unigram", "--vocab-size", "45",
		"--special-tokens", "<pad>,</s>,<unk>", "--user-defined", "<sep>", "--out", out, corpus)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote") || !strings.Contains(stdout, "(45 pieces)") || !strings.Contains(stderr, "EM and pruning") {
		t.Errorf("stdout %q, stderr %q: want a summary and a progress bar", stdout, stderr)
	}
	for _, f := range []string{"tokenizer.model", "tokenizer.vocab", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// The folder (tokenizer.json) and the .model file tokenize alike.
	var tokens []string
	for _, path := range []string{out, filepath.Join(out, "tokenizer.model")} {
		code, stdout, stderr = glossa(t, "tokenize", "--tokenizer", path, "--json", "--tokens", "the lazy dog<sep>")
		if code != 0 {
			t.Fatalf("tokenize with %s: exit %d: %s", path, code, stderr)
		}
		var r struct{ Tokens []string }
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		if strings.Join(r.Tokens, "") != "▁the▁lazy▁dog<sep>" || r.Tokens[0] != "▁the" || r.Tokens[len(r.Tokens)-1] != "<sep>" {
			t.Errorf("%s: tokens %q", path, r.Tokens)
		}
		if tokens != nil && strings.Join(tokens, " ") != strings.Join(r.Tokens, " ") {
			t.Errorf("%s: tokens %q, folder %q", path, r.Tokens, tokens)
		}
		tokens = r.Tokens
	}
	if code, _, _ := glossa(t, "tokenizer", "train", "--type", "unigram", "--vocab-size", "5", "--quiet", "--normalization", "identity",
		"--out", filepath.Join(dir, "small"), corpus); code != 1 {
		t.Errorf("vocabulary smaller than the alphabet: exit %d, want 1", code)
	}
}
