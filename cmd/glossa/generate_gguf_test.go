package main

import (
	"encoding/json"
	"os"
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

// With the Q8_0 and Q4_0 files, "glossa tokenize --tokenizer FILE.gguf"
// encodes each golden prompt to llama.cpp's ids (BOS and the dummy-prefix
// space included). The greedy ids themselves are checked against
// llama.cpp's, near-ties aside, in models/llama.
func TestTokenizeGGUFMatchesLlamaCpp(t *testing.T) {
	for _, typ := range []string{"q8_0", "q4_0"} {
		model := testenv.Shared(t, "models", "stories260K-gguf", "stories260K-"+typ+".gguf")
		data, err := os.ReadFile(testenv.Shared(t, "golden", "llamacpp", "stories260K-"+typ+"_greedy.json"))
		if err != nil {
			t.Fatal(err)
		}
		var g struct {
			Runs []struct {
				Prompt    string `json:"prompt"`
				PromptIDs []int  `json:"prompt_token_ids"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(data, &g); err != nil {
			t.Fatal(err)
		}
		if len(g.Runs) == 0 {
			t.Fatalf("%s: no runs in the golden file", typ)
		}
		for _, run := range g.Runs {
			code, out, errOut := glossa(t, "tokenize", "--tokenizer", model, run.Prompt)
			if code != 0 {
				t.Fatalf("%s %q: tokenize: exit %d: %s", typ, run.Prompt, code, errOut)
			}
			if got := ints(t, out); !slices.Equal(got, run.PromptIDs) {
				t.Errorf("%s %q: prompt ids %v, llama.cpp %v", typ, run.Prompt, got, run.PromptIDs)
			}
		}
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
