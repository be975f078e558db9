package llama

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// TestGGUFMatchesLlama2C loads the F32 GGUF file of stories260K and checks
// its logits against the llama2.c checkpoint of the same model and against
// llama.cpp's own (quantized files are the compression issue's).
func TestGGUFMatchesLlama2C(t *testing.T) {
	ref, err := LoadLlama2C(testenv.Shared(t, "models", "stories260K", "stories260K.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{1, 403, 407, 261, 378, 34, 300, 72}
	want, err := ref.ForwardTrace(ids, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadGGUF(testenv.Shared(t, "models", "stories260K-gguf", "stories260K-f32.gguf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.VocabSize != 512 || !m.Config.TieEmbeddings || *m.Config.BOSTokenID != 1 {
		t.Fatalf("config %+v", m.Config)
	}
	got, err := m.ForwardTrace(ids, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(got.Logits, want.Logits); d > 1e-4 {
		t.Errorf("logits differ from llama2.c's by %g", d)
	}
	// llama.cpp's own logits at the first generated position.
	var lc struct {
		Records []struct {
			PromptTokenIDs []int     `json:"prompt_token_ids"`
			Logits         []float32 `json:"logits"`
		} `json:"records"`
	}
	raw, err := os.ReadFile(testenv.Shared(t, "golden", "llamacpp", "stories260K-f32_logits_first.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &lc); err != nil {
		t.Fatal(err)
	}
	for _, r := range lc.Records {
		s, _ := m.NewState(1, 0)
		logits, err := m.Forward(s, r.PromptTokenIDs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(logits, r.Logits); d > 1e-4 {
			t.Errorf("logits differ from llama.cpp's by %g", d)
		}
	}
}

func maxAbs(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
