package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// "glossa generate --model FILE.gguf" needs no --tokenizer: the vocabulary
// comes from the file's tokenizer.ggml.* metadata. With the F32 file it
// prints llama2.c's run.c stdout byte for byte.
func TestGenerateGGUFMatchesLlama2C(t *testing.T) {
	model := testenv.Shared(t, "models", "stories260K-gguf", "stories260K-f32.gguf")
	for _, run := range llama2cGreedyRuns(t) {
		args := []string{"generate", "--model", model, "--temperature", "0", "--steps", "256"}
		if run.Prompt != "" {
			args = append(args, run.Prompt)
		}
		code, out, errOut := glossa(t, args...)
		if code != 0 || out != run.Stdout {
			t.Errorf("%q: exit %d, stderr %q\n got %q\nwant %q", run.Prompt, code, errOut, out, run.Stdout)
		}
	}
}

// "glossa tokenize --tokenizer FILE.gguf" encodes with the file's
// vocabulary: BOS, the dummy-prefix space, llama.cpp's ids for the prompt
// (its golden prompt_token_ids; tokenizer/auto checks them all).
func TestTokenizeGGUF(t *testing.T) {
	model := testenv.Shared(t, "models", "stories260K-gguf", "stories260K-q4_0.gguf")
	code, out, errOut := glossa(t, "tokenize", "--tokenizer", model, "Once upon a time")
	if want := []int{1, 403, 407, 261, 378}; code != 0 || !slices.Equal(ints(t, out), want) {
		t.Errorf("exit %d, %q (%s); want %v", code, out, errOut, want)
	}
}

func ints(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' || r == '[' || r == ']' }) {
		v, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("not an id list: %q", s)
		}
		out = append(out, v)
	}
	return out
}
