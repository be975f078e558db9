package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// glossa runs the CLI in-process and returns its exit code and output.
func glossa(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = run(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

func TestTokenizeCommand(t *testing.T) {
	bert := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	gpt2 := testenv.Shared(t, "tokenizers", "gpt2")
	llama := testenv.Shared(t, "tokenizers", "llama2", "tokenizer.bin")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ids", []string{"tokenize", "--tokenizer", bert, "Hello, world!"}, "101 7592 1010 2088 999 102\n"},
		{"mask as text", []string{"tokenize", "--tokenizer", bert, "[MASK]"}, "101 1031 7308 1033 102\n"},
		{"mask as special", []string{"tokenize", "--tokenizer", bert, "--special", "[MASK]"}, "101 103 102\n"},
		{"no template", []string{"tokenize", "--tokenizer", bert, "--no-template", "hello"}, "7592\n"},
		{"max length", []string{"tokenize", "--tokenizer", bert, "--max-length", "3", "hello world"}, "101 7592 102\n"},
		{"gpt2 plain", []string{"tokenize", "--tokenizer", gpt2, "Hello<|endoftext|>World"}, "15496 27 91 437 1659 5239 91 29 10603\n"},
		{"llama2.c", []string{"tokenize", "--tokenizer", llama, "Hello world"}, "1 15043 3186\n"},
		{"gpt2 special", []string{"tokenize", "--tokenizer", gpt2, "--special", "Hello<|endoftext|>World"}, "15496 50256 10603\n"},
		{"json pair", []string{"tokenize", "--tokenizer", bert, "--json", "--tokens", "--offsets", "--pair", "b", "Hi"},
			`{"ids":[101,7632,102,1038,102],"type_ids":[0,0,0,1,1],"tokens":["[CLS]","hi","[SEP]","b","[SEP]"],"offsets":[[0,0],[0,2],[0,0],[0,1],[0,0]]}` + "\n"},
		{"table", []string{"tokenize", "--tokenizer", bert, "--tokens", "--offsets", "Été"},
			"101   \"[CLS]\"  0:0\n3802  \"et\"     0:3\n2063  \"##e\"    3:5\n102   \"[SEP]\"  0:0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := glossa(t, tc.args...)
			if code != 0 || out != tc.want {
				t.Errorf("exit %d, stdout %q, want %q (stderr %q)", code, out, tc.want, errOut)
			}
		})
	}
}

func TestTokenizeJSONL(t *testing.T) {
	bert := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	var lines []string
	for i := range 600 { // more than one batch
		lines = append(lines, `{"text": "hello `+strings.Repeat("world ", i%3)+`"}`)
	}
	lines = append(lines, "", `{"text": "a", "text_pair": ""}`)
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := glossa(t, "tokenize", "--tokenizer", bert, "--jsonl", "--input", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	outLines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(outLines) != 601 {
		t.Fatalf("%d output lines, want 601", len(outLines))
	}
	for i, l := range outLines {
		var r struct {
			IDs     []int    `json:"ids"`
			Tokens  []string `json:"tokens"`
			Offsets [][2]int `json:"offsets"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		want := 3 + i%3
		if i == 600 {
			want = 4 // [CLS] a [SEP] [SEP]
		}
		if len(r.IDs) != want || len(r.Tokens) != want || len(r.Offsets) != want {
			t.Fatalf("line %d: %s, want %d tokens", i+1, l, want)
		}
	}
	for _, tc := range []struct{ input, want string }{
		{"{\"text\":\"a\"}\n{\"text\":5}\n", "line 2"},
		{"{\"text\":\"a\"}\n\n{\"txt\":\"a\"}\n", `line 3: no "text" field`},
		{"[\n", "line 1"},
	} {
		if err := os.WriteFile(in, []byte(tc.input), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := glossa(t, "tokenize", "--tokenizer", bert, "--jsonl", "--input", in)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("input %q: exit %d, stderr %q, want %q", tc.input, code, errOut, tc.want)
		}
	}
}

func TestTokenizeUsage(t *testing.T) {
	bert := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	for _, args := range [][]string{
		{"tokenize", "text"},
		{"tokenize", "--tokenizer", bert},
		{"tokenize", "--tokenizer", bert, "a", "b"},
		{"tokenize", "--tokenizer", bert, "--jsonl", "a"},
		{"tokenize", "--bogus"},
		{"tokenizer", "fly"},
		{"tokenizer", "train", "--type", "sentencepiece", "--vocab-size", "10", "--out", "x", "f"},
		{"tokenizer", "train", "--type", "unigram", "--vocab-size", "10", "--min-frequency", "3", "--out", "x", "f"},
		{"tokenizer", "train", "--type", "bpe", "--vocab-size", "10", "--byte-fallback", "--out", "x", "f"},
		{"tokenizer", "train", "--type", "unigram", "--vocab-size", "10", "--normalization", "nfd", "--out", "x", "f"},
		{"tokenizer", "train", "--type", "bpe", "--out", "x", "f"},
		{"tokenizer", "train", "--type", "bpe", "--vocab-size", "10", "f"},
		{"tokenizer", "train", "--type", "bpe", "--vocab-size", "10", "--out", "x"},
	} {
		if code, _, errOut := glossa(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut)
		}
	}
	if code, _, _ := glossa(t, "tokenize", "--tokenizer", t.TempDir(), "x"); code != 1 {
		t.Errorf("empty tokenizer folder: exit %d, want 1", code)
	}
}

func TestTokenizerTrain(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. The dog sleeps!\n", 200)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ   string
		files []string
		want  string // tokens of "the lazy dog" (template included)
	}{
		{"wordpiece", []string{"tokenizer.json", "vocab.txt"}, `["[CLS]","the","lazy","dog","[SEP]"]`},
		{"bpe", []string{"tokenizer.json"}, `["the","Ġlazy","Ġdog"]`},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			out := filepath.Join(dir, tc.typ)
			code, stdout, stderr := glossa(t, "tokenizer", "train", "--type", tc.typ, "--vocab-size", "300",
				"--out", out, corpus)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "wrote") || !strings.Contains(stderr, "merging") {
				t.Errorf("stdout %q, stderr %q: want a summary and a progress bar", stdout, stderr)
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
			code, stdout, stderr = glossa(t, "tokenize", "--tokenizer", out, "--json", "--tokens", "the lazy dog")
			if code != 0 {
				t.Fatalf("tokenize with the trained tokenizer: exit %d: %s", code, stderr)
			}
			var r struct{ Tokens json.RawMessage }
			if err := json.Unmarshal([]byte(stdout), &r); err != nil || string(r.Tokens) != tc.want {
				t.Errorf("tokens %s, want %s (%v)", r.Tokens, tc.want, err)
			}
		})
	}
	if code, _, _ := glossa(t, "tokenizer", "train", "--type", "wordpiece", "--vocab-size", "10",
		"--out", filepath.Join(dir, "x"), filepath.Join(dir, "missing.txt")); code != 1 {
		t.Errorf("missing corpus: exit %d, want 1", code)
	}
}
