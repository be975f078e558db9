package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// "glossa generate --steps 256 --temperature 0" prints llama2.c's run.c
// stdout byte for byte, for each golden prompt.
func TestGenerateMatchesLlama2C(t *testing.T) {
	model := testenv.Shared(t, "models", "stories260K", "stories260K.bin")
	tok := testenv.Shared(t, "models", "stories260K", "tok512.bin")
	for _, run := range llama2cGreedyRuns(t) {
		args := []string{"generate", "--model", model, "--tokenizer", tok, "--temperature", "0", "--steps", "256"}
		if run.Prompt != "" {
			args = append(args, run.Prompt)
		}
		code, out, errOut := glossa(t, args...)
		if code != 0 || out != run.Stdout {
			t.Errorf("%q: exit %d, stderr %q\n got %q\nwant %q", run.Prompt, code, errOut, out, run.Stdout)
		}
	}
}

// llama2cRun is one run of ../shared/golden/llama2c/stories260K_greedy.json.
type llama2cRun struct {
	Prompt string `json:"prompt"`
	Stdout string `json:"stdout_exact"`
}

// llama2cGreedyRuns reads the golden runs of llama2.c's run.c on stories260K.
func llama2cGreedyRuns(t *testing.T) []llama2cRun {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "golden", "llama2c", "stories260K_greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Runs []llama2cRun `json:"runs"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Runs) == 0 {
		t.Fatal("no runs in the golden file")
	}
	return g.Runs
}

func TestGenerateOptions(t *testing.T) {
	model := testenv.Shared(t, "models", "stories260K", "stories260K.bin")
	tok := testenv.Shared(t, "models", "stories260K", "tok512.bin")
	base := []string{"generate", "--model", model, "--tokenizer", tok}
	// Seeded sampling is reproducible; a stop string cuts the text.
	_, a, _ := glossa(t, append(base, "--seed", "3", "--top-p", "0.9", "--max-new-tokens", "40", "Once")...)
	_, b, _ := glossa(t, append(base, "--seed", "3", "--top-p", "0.9", "--max-new-tokens", "40", "Once")...)
	if a != b || !strings.HasPrefix(a, "Once") || len(a) < 40 {
		t.Errorf("seeded runs differ or are short: %q vs %q", a, b)
	}
	code, out, _ := glossa(t, append(base, "--temperature", "0", "--stop", "Lily", "Once upon a time")...)
	if code != 0 || out != "Once upon a time, there was a little girl named \n" {
		t.Errorf("stop string: exit %d, %q", code, out)
	}
	// A Hugging Face folder (llama-tiny's ids cover tok512's 512).
	hf := testenv.Shared(t, "fixtures", "llama-tiny")
	var errOut string
	code, out, errOut = glossa(t, "generate", "--model", hf, "--tokenizer", tok, "--temperature", "0", "--max-new-tokens", "5", "--num-beams", "2", "Once")
	if code != 0 || !strings.HasPrefix(out, "Once") {
		t.Errorf("HF folder: exit %d, %q, stderr %q", code, out, errOut)
	}
	for _, args := range [][]string{
		{"generate", "hello"},                         // no --model
		append(base, "--max-new-tokens", "-1", "x"),   // negative
		append(base, "a", "b"),                        // two prompts
		{"generate", "--model", t.TempDir(), "x"},     // folder without config.json
		append(base[:3:3], "--tokenizer", model, "x"), // a model is not a tokenizer
		append(base, "--temperature", "-1", "x"),      // invalid sampling option
	} {
		if code, _, _ := glossa(t, args...); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
