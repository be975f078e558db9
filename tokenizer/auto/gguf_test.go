package auto

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// The tokenizer a GGUF file carries encodes and decodes like llama.cpp's:
// each golden prompt to llama.cpp's ids, and llama.cpp's generated ids back
// to its text.
func TestGGUFMatchesLlamaCpp(t *testing.T) {
	for _, typ := range []string{"q8_0", "q4_0"} {
		tok, err := Load(testenv.Shared(t, "models", "stories260K-gguf", "stories260K-"+typ+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(testenv.Shared(t, "golden", "llamacpp", "stories260K-"+typ+"_greedy.json"))
		if err != nil {
			t.Fatal(err)
		}
		var g struct {
			Runs []struct {
				Prompt    string `json:"prompt"`
				PromptIDs []int  `json:"prompt_token_ids"`
				Generated []int  `json:"generated_token_ids"`
				Text      string `json:"generated_text"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(data, &g); err != nil {
			t.Fatal(err)
		}
		if len(g.Runs) == 0 {
			t.Fatalf("%s: no runs", typ)
		}
		for _, run := range g.Runs {
			enc, err := tok.Encode(run.Prompt)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(enc.IDs, run.PromptIDs) {
				t.Errorf("%s %q: ids %v, llama.cpp %v", typ, run.Prompt, enc.IDs, run.PromptIDs)
			}
			text, err := tok.Decode(run.Generated, true)
			if err != nil {
				t.Fatal(err)
			}
			if text != run.Text {
				t.Errorf("%s %q: decoded\n%q\nllama.cpp\n%q", typ, run.Prompt, text, run.Text)
			}
		}
	}
}

// A GGUF file without tokenizer metadata, or with a vocabulary this package
// cannot build, fails with an error that names the key or the model.
func TestGGUFBadTokenizer(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		meta map[string]any
		want string
	}{
		{"none", map[string]any{"general.architecture": "llama"}, `"tokenizer.ggml.model": missing metadata key`},
		{"no tokens", map[string]any{gguf.KeyTokenizerModel: "llama"}, `"tokenizer.ggml.tokens": missing metadata key`},
		{"bert", map[string]any{gguf.KeyTokenizerModel: "bert", gguf.KeyTokens: []string{"[UNK]", "a"}}, `model "bert" is not supported`},
		{"gpt2 without merges", map[string]any{gguf.KeyTokenizerModel: "gpt2", gguf.KeyTokens: []string{"a", "b"}}, "without tokenizer.ggml.merges"},
		{"scores", map[string]any{gguf.KeyTokenizerModel: "llama", gguf.KeyTokens: []string{"<unk>", "a"}, gguf.KeyScores: []float32{0}}, "1 scores for 2 tokens"},
	} {
		var w gguf.Writer
		for k, v := range tc.meta {
			if err := w.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".gguf")
		if err := w.Save(path); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
