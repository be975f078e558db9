package auto

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/models/llama"
)

func TestConfigFamily(t *testing.T) {
	for _, tc := range []struct {
		json string
		want Family
	}{
		{`{"model_type":"llama"}`, Llama},
		{`{"model_type":"LLaMA"}`, Llama},
		{`{"model_type":"gpt2","architectures":["GPT2LMHeadModel"]}`, GPT2},
		{`{"model_type":"bert"}`, BERT},
		{`{"architectures":["LlamaForCausalLM"]}`, Llama},
		{`{"architectures":["Foo","BertForMaskedLM"]}`, BERT},
		{`{"model_type":"mamba","architectures":["LlamaForCausalLM"]}`, Unknown}, // model_type wins
		{`{"model_type":"t5","architectures":["LlamaForCausalLM"]}`, T5},
		{`{"architectures":["MarianMTModel"]}`, Marian},
		{`{"model_type":"bart"}`, BART},
		{`{}`, Unknown},
	} {
		c, err := ParseConfig([]byte(tc.json))
		if err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		if got := c.Family(); got != tc.want {
			t.Errorf("%s: family %v, want %v", tc.json, got, tc.want)
		}
	}
	if _, err := ParseConfig([]byte(`{"model_type":3}`)); err == nil || !strings.HasPrefix(err.Error(), "auto: ") {
		t.Errorf("bad config.json: err %v", err)
	}
}

// The llama-tiny fixture loads through config.json and greedy decoding
// through the type-erased LM reproduces transformers' tokens.
func TestLoadCausalLMLlama(t *testing.T) {
	dir := testenv.Shared(t, "fixtures", "llama-tiny")
	var g struct {
		Generate struct {
			PromptIDs []int `json:"prompt_ids"`
			NewTokens []int `json:"new_tokens"`
		} `json:"generate"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, "config.json")} {
		m, err := LoadCausalLM(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Family != Llama || m.BOSTokenID != 1 || !slices.Equal(m.EOSTokenIDs, []int{2}) || m.TokenizerPath != "" {
			t.Errorf("%s: family %v, BOS %d, EOS %v, tokenizer %q", path, m.Family, m.BOSTokenID, m.EOSTokenIDs, m.TokenizerPath)
		}
		if _, ok := m.Model.(*llama.Model); !ok {
			t.Errorf("Model is %T", m.Model)
		}
		seqs, err := generate.Generate(context.Background(), m, [][]int{g.Generate.PromptIDs},
			generate.Options{MaxNewTokens: len(g.Generate.NewTokens)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs[0].Tokens, g.Generate.NewTokens) {
			t.Errorf("greedy tokens %v, want %v", seqs[0].Tokens, g.Generate.NewTokens)
		}
	}
}

// The gpt2-tiny fixture and its hub-layout twin load as GPT-2 and greedy
// decoding through the type-erased LM reproduces transformers' tokens.
func TestLoadCausalLMGPT2(t *testing.T) {
	golden := testenv.Shared(t, "fixtures", "gpt2-tiny")
	var g struct {
		Generate struct {
			PromptIDs []int `json:"prompt_ids"`
			NewTokens []int `json:"new_tokens"`
		} `json:"generate"`
	}
	data, err := os.ReadFile(filepath.Join(golden, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gpt2-tiny", "gpt2-tiny-legacy"} {
		m, err := LoadCausalLM(testenv.Shared(t, "fixtures", name), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Family != GPT2 || len(m.EOSTokenIDs) != 1 {
			t.Errorf("%s: family %v, EOS %v", name, m.Family, m.EOSTokenIDs)
		}
		seqs, err := generate.Generate(context.Background(), m, [][]int{g.Generate.PromptIDs},
			generate.Options{MaxNewTokens: len(g.Generate.NewTokens)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs[0].Tokens, g.Generate.NewTokens) {
			t.Errorf("%s: greedy tokens %v, want %v", name, seqs[0].Tokens, g.Generate.NewTokens)
		}
	}
}

// Beam search needs the state's Reorder method, which the wrapper must not
// hide; a state from another model is an error, not a panic.
func TestWrapKeepsState(t *testing.T) {
	m, err := LoadCausalLM(testenv.Shared(t, "fixtures", "llama-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := generate.Generate(context.Background(), m, [][]int{{1, 15, 200}}, generate.Options{MaxNewTokens: 4, NumBeams: 3})
	if err != nil || len(seqs[0].Tokens) == 0 {
		t.Fatalf("beam search: %v, %v", seqs, err)
	}
	s, err := m.NewState(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(generate.Reorderer); !ok {
		t.Errorf("state %T has no Reorder", s)
	}
	if _, err := m.Forward(otherState{}, []int{1}, nil); err == nil {
		t.Error("a foreign state was accepted")
	}
}

type otherState struct{}

func (otherState) Len() int { return 0 }
func (otherState) Reset()   {}

func TestLoadCausalLMLlama2C(t *testing.T) {
	src := testenv.Shared(t, "models", "stories260K", "stories260K.bin")
	m, err := LoadCausalLM(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Family != Llama2C || m.BOSTokenID != 1 || m.TokenizerPath != "" || m.MaxLen() != 512 || m.VocabSize() != 512 {
		t.Errorf("family %v, BOS %d, tokenizer %q, max len %d, vocab %d", m.Family, m.BOSTokenID, m.TokenizerPath, m.MaxLen(), m.VocabSize())
	}
	// Without the .bin extension the header is sniffed; tokenizer.bin
	// beside the model is found.
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "stories.ckpt"), data)
	write(t, filepath.Join(dir, "tokenizer.bin"), []byte("x"))
	m, err = LoadCausalLM(filepath.Join(dir, "stories.ckpt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Family != Llama2C || m.TokenizerPath != filepath.Join(dir, "tokenizer.bin") {
		t.Errorf("sniffed file: family %v, tokenizer %q", m.Family, m.TokenizerPath)
	}
}

func TestLoadCausalLMErrors(t *testing.T) {
	dir := t.TempDir()
	folder := func(name, config string, files ...string) string {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if config != "" {
			write(t, filepath.Join(d, "config.json"), []byte(config))
		}
		for _, f := range files {
			write(t, filepath.Join(d, f), []byte("{}"))
		}
		return d
	}
	text := filepath.Join(dir, "notes.txt")
	write(t, text, []byte("hello, this is not a model at all"))
	for _, tc := range []struct {
		path        string
		want        []string
		unsupported bool
	}{
		{folder("t5", `{"model_type":"t5","architectures":["T5ForConditionalGeneration"]}`), []string{`"t5"`, "T5ForConditionalGeneration", "supported: llama, llama2.c, gpt2"}, true},
		{folder("bert", `{"model_type":"bert"}`), []string{`"bert"`, "causal LM"}, true},
		{folder("blank", `{}`), []string{"neither model_type nor architectures"}, true},
		{folder("gpt2", `{"model_type":"gpt2"}`), []string{"gpt2"}, false},
		{folder("noconfig", ""), []string{"config.json"}, false},
		{folder("badjson", `{"model_type":`), []string{"config.json", "unexpected end"}, false},
		{folder("llama-noweights", `{"model_type":"llama","vocab_size":8,"hidden_size":4,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1}`, "tokenizer.json"), []string{"llama"}, false},
		{text, []string{"neither a model folder, a .gguf file nor a llama2.c"}, false},
		{filepath.Join(dir, "missing"), []string{"no such file"}, false},
	} {
		_, err := LoadCausalLM(tc.path, nil)
		if err == nil {
			t.Errorf("%s: loaded", tc.path)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.path, err, w)
			}
		}
		var ue *UnsupportedError
		if errors.As(err, &ue) != tc.unsupported {
			t.Errorf("%s: UnsupportedError %v, want %v (%v)", tc.path, !tc.unsupported, tc.unsupported, err)
		}
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{"model_type":"llama"}`, `{"architectures":["BertForMaskedLM"]}`, `{"model_type":null}`, `[]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if f := c.Family(); f < Unknown || f > BERT || f == Llama2C {
			t.Errorf("family %v", f)
		}
		_ = c.name()
	})
}

// TestLoadEncoder loads one folder of each encoder family and refuses a
// decoder.
func TestLoadEncoder(t *testing.T) {
	for _, tc := range []struct {
		dir    string
		family Family
		heads  bert.Heads
	}{
		{"bert-tiny", BERT, bert.HeadPooler | bert.HeadMLM | bert.HeadNSP},
		{"distilbert-tiny-qa", DistilBERT, bert.HeadQA},
		{"roberta-tiny-cls", RoBERTa, bert.HeadClassifier},
		{"xlmr-tiny", XLMRoBERTa, bert.HeadPooler},
	} {
		e, err := LoadEncoder(testenv.Shared(t, "fixtures", tc.dir), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		if e.Family != tc.family || e.Heads() != tc.heads {
			t.Errorf("%s: %v with %v, want %v with %v", tc.dir, e.Family, e.Heads(), tc.family, tc.heads)
		}
	}
	var ue *UnsupportedError
	if _, err := LoadEncoder(testenv.Shared(t, "fixtures", "gpt2-tiny"), nil); !errors.As(err, &ue) || ue.Task != "encoder" {
		t.Errorf("a GPT-2 folder as an encoder: %v", err)
	}
}
