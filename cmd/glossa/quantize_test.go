package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// "glossa quantize" turns llama2.c's stories260K into a Q8_0 GGUF file that
// "glossa generate" runs with no --tokenizer, giving the same greedy text
// as the reference Q8_0 file.
func TestQuantizeThenGenerate(t *testing.T) {
	bin := testenv.Shared(t, "models", "stories260K", "stories260K.bin")
	tok := testenv.Shared(t, "models", "stories260K", "tok512.bin")
	ref := testenv.Shared(t, "models", "stories260K-gguf", "stories260K-q8_0.gguf")
	out := filepath.Join(t.TempDir(), "s.gguf")
	code, stdout, stderr := glossa(t, "quantize", bin, "--type", "q8_0", "--tokenizer", tok, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "31 Q8_0, 11 F32, 5 F16") || !strings.Contains(stdout, "blk.0.ffn_down.weight") {
		t.Errorf("summary:\n%s", stdout)
	}
	gen := func(model string) string {
		code, out, errOut := glossa(t, "generate", "--model", model, "--temperature", "0", "--max-new-tokens", "40", "Once upon a time")
		if code != 0 {
			t.Fatalf("generate %s: exit %d: %s", model, code, errOut)
		}
		return out
	}
	if got, want := gen(out), gen(ref); got != want || len(got) < 40 {
		t.Errorf("generated\n%q\nreference file\n%q", got, want)
	}
}

func TestQuantizeUsage(t *testing.T) {
	bin := testenv.Shared(t, "models", "stories260K", "stories260K.bin")
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"quantize", bin, "--type", "q8_0"}, 2, "--out"},
		{[]string{"quantize", "--type", "q8_0", "--out", filepath.Join(dir, "a.gguf")}, 2, "want one input"},
		{[]string{"quantize", bin, "--type", "q3_k", "--out", filepath.Join(dir, "a.gguf")}, 2, "not one of f32, f16, bf16, q8_0, q4_0"},
		{[]string{"quantize", bin, "--type", "q4_0", "--out", filepath.Join(dir, "a.gguf")}, 1, "give its tokenizer.bin (--tokenizer)"},
	} {
		code, _, stderr := glossa(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args[1:], code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.gguf")); err == nil {
		t.Error("a failed quantize wrote its output")
	}
}
