package auto

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/seq2seq"
)

func TestLoadSeq2Seq(t *testing.T) {
	for name, want := range map[string]seq2seq.Family{"marian-tiny": seq2seq.Marian, "bart-tiny": seq2seq.BART,
		"t5-tiny": seq2seq.T5, "t5-v1_1-tiny": seq2seq.T5} {
		dir := testenv.Shared(t, "fixtures", name)
		m, err := LoadSeq2Seq(filepath.Join(dir, "config.json"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Family != want {
			t.Errorf("%s: family %v, want %v", name, m.Family, want)
		}
		if _, err := LoadCausalLM(dir, nil); err == nil {
			t.Errorf("%s loaded as a causal LM", name)
		}
	}
	var ue *UnsupportedError
	if _, err := LoadSeq2Seq(testenv.Shared(t, "fixtures", "llama-tiny"), nil); !errors.As(err, &ue) {
		t.Errorf("llama as seq2seq: %v, want *UnsupportedError", err)
	}
}
