package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigHeaderCheck(t *testing.T) {
	tests := []struct {
		name string
		h    ConfigHeader
		ok   bool
	}{
		{"empty", ConfigHeader{}, true},
		{"model_type", ConfigHeader{ModelType: "llama"}, true},
		{"other model_type", ConfigHeader{ModelType: "mistral", Architectures: []string{"LlamaForCausalLM"}}, false},
		{"architectures", ConfigHeader{Architectures: []string{"LlamaForCausalLM"}}, true},
		{"one of several", ConfigHeader{Architectures: []string{"Foo", "LlamaModel"}}, true},
		{"other architectures", ConfigHeader{Architectures: []string{"GPT2LMHeadModel"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Check("llama", "Llama")
			if (err == nil) != tt.ok {
				t.Fatalf("Check(%+v) = %v, want ok=%v", tt.h, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not match ErrFormat", err)
			}
		})
	}
}

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 8, "extra": [1, 2]}`
	cfgPath := write(ConfigFile, good)
	write("syntax.json", "{\n  \"n_embd\": 8,\n}")
	write("type.json", `{"n_embd": "eight"}`)
	write("big.json", `{"n_embd": 8, "pad": "`+strings.Repeat("x", MaxConfigSize)+`"}`)
	type cfg struct {
		NumEmbd int     `json:"n_embd"`
		Dropout float64 `json:"dropout"`
	}
	tests := []struct {
		name, path string
		want       string // substring of the error; "" means success
	}{
		{"folder", dir, ""},
		{"file", cfgPath, ""},
		{"syntax", filepath.Join(dir, "syntax.json"), "syntax.json: line 3, column 1"},
		{"type", filepath.Join(dir, "type.json"), "type.json: line 1"},
		{"too large", filepath.Join(dir, "big.json"), "big.json"},
		{"missing", filepath.Join(dir, "none.json"), "none.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg{Dropout: 0.1} // a default that zero cannot express survives
			h, err := ReadConfig(tt.path, &c)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "checkpoint: ") {
					t.Fatalf("err = %v, want one naming %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.NumEmbd != 8 || c.Dropout != 0.1 || h.ModelType != "gpt2" || len(h.Architectures) != 1 {
				t.Fatalf("got %+v, header %+v", c, h)
			}
		})
	}
	if _, err := ReadConfig(filepath.Join(dir, "big.json"), &cfg{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized config: %v does not match ErrTooLarge", err)
	}
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add([]byte(`{"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64}`))
	f.Add([]byte(`{"architectures": null}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v map[string]any
		h, err := DecodeConfig(data, &v)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not match ErrFormat", err)
			}
			return
		}
		_ = h.Check("llama", "Llama")
	})
}

func ExampleReadConfig() {
	dir, err := os.MkdirTemp("", "model")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	js := `{"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(js), 0o644); err != nil {
		panic(err)
	}
	var cfg struct {
		HiddenSize int     `json:"hidden_size"`
		RopeTheta  float64 `json:"rope_theta"`
	}
	cfg.RopeTheta = 10000 // defaults survive keys the file lacks
	h, err := ReadConfig(dir, &cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.ModelType, cfg.HiddenSize, cfg.RopeTheta)
	fmt.Println(h.Check("llama", "Llama") == nil, h.Check("gpt2", "GPT2"))
	// Output:
	// llama 64 10000
	// true model_type "llama" is not gpt2
}
