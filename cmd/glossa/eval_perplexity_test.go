package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// "glossa eval --task perplexity" on stories260K's GGUF files: the Q8_0
// file's perplexity is within 0.5 % of the F32 file's and the Q4_0 file's
// within 5 % (issue 16's targets), on the same windows.
func TestEvalPerplexityGGUF(t *testing.T) {
	corpus, err := os.ReadFile(testenv.Shared(t, "data", "tinyshakespeare", "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "held-out.txt")
	if err := os.WriteFile(data, corpus[len(corpus)-6000:], 0o644); err != nil {
		t.Fatal(err)
	}
	ppl := map[string]float64{}
	for _, typ := range []string{"f32", "q8_0", "q4_0"} {
		model := testenv.Shared(t, "models", "stories260K-gguf", "stories260K-"+typ+".gguf")
		code, out, errOut := glossa(t, "eval", "--task", "perplexity", "--model", model, "--data", data, "--context", "128", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", typ, code, errOut)
		}
		var r struct {
			PPL     float64 `json:"perplexity"`
			NLL     float64 `json:"nll"`
			Scored  int     `json:"tokens_scored"`
			Windows int     `json:"windows"`
			Context int     `json:"context"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v in %q", typ, err, out)
		}
		if r.Context != 128 || r.Windows == 0 || r.Scored != r.Windows*(128-1-64) || math.Abs(math.Exp(r.NLL)-r.PPL) > 1e-9*r.PPL {
			t.Errorf("%s: %+v", typ, r)
		}
		ppl[typ] = r.PPL
	}
	if d := ppl["q8_0"]/ppl["f32"] - 1; math.Abs(d) > 0.005 {
		t.Errorf("Q8_0 perplexity %.4f is %+.2f%% from F32's %.4f", ppl["q8_0"], 100*d, ppl["f32"])
	}
	if d := ppl["q4_0"]/ppl["f32"] - 1; math.Abs(d) > 0.05 {
		t.Errorf("Q4_0 perplexity %.4f is %+.2f%% from F32's %.4f", ppl["q4_0"], 100*d, ppl["f32"])
	}
	code, _, errOut := glossa(t, "eval", "--task", "perplexity", "--model", testenv.Shared(t, "models", "stories260K-gguf", "stories260K-f32.gguf"), "--data", data, "--context", "100000")
	if code == 0 {
		t.Errorf("a context past the model's length was accepted: %s", errOut)
	}
}
