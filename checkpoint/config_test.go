package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	type cfg struct {
		Hidden int    `json:"hidden_size"`
		Act    string `json:"hidden_act"`
	}
	tests := []struct {
		name    string
		content string
		max     int64
		want    string
		is      error
	}{
		{"ok", `{"hidden_size": 64, "hidden_act": "silu", "unknown": [1]}` + "\n", 0, "", nil},
		{"syntax", "{\n  \"hidden_size\": 64,\n  }", 0, "line 3, column 3", ErrFormat},
		{"type", "{\n\"hidden_size\": \"64\"}", 0, "line 2, column 20: hidden_size: got JSON string, want an integer", ErrFormat},
		{"truncated", `{"hidden_size": 6`, 0, "unexpected end", ErrFormat},
		{"empty", ``, 0, "empty JSON input", ErrFormat},
		{"trailing", `{} {}`, 0, "trailing data", ErrFormat},
		{"too large", `{"hidden_size": 64}`, 10, "exceeds the limit of 10 bytes", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(tt.name+".json", tt.content)
			var c cfg
			err := ReadJSON(p, &c, tt.max)
			if tt.want == "" {
				if err != nil || c.Hidden != 64 || c.Act != "silu" {
					t.Errorf("ReadJSON = %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) || !errors.Is(err, tt.is) {
				t.Errorf("ReadJSON: %v, want %v containing %q and the path", err, tt.is, tt.want)
			}
		})
	}
	if err := ReadJSON(filepath.Join(dir, "absent.json"), new(cfg), 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadJSONFixture(t *testing.T) {
	var c struct {
		HiddenSize int     `json:"hidden_size"`
		KVHeads    int     `json:"num_key_value_heads"`
		Eps        float64 `json:"rms_norm_eps"`
		Tie        bool    `json:"tie_word_embeddings"`
	}
	if err := ReadJSON(testenv.Shared(t, "fixtures", "llama-tiny", "config.json"), &c, 1<<20); err != nil {
		t.Fatal(err)
	}
	if c.HiddenSize != 64 || c.KVHeads != 2 || c.Eps != 1e-5 || c.Tie {
		t.Errorf("llama-tiny config = %+v", c)
	}
}
