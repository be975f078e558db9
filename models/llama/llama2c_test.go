package llama

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

type stories260KRun struct {
	Prompt       string `json:"prompt"`
	OutputText   string `json:"output_text"`
	PromptIDs    []int  `json:"prompt_token_ids"`
	GeneratedIDs []int  `json:"generated_token_ids"`
	TokenIDs     []int  `json:"token_ids"`
	NForward     int    `json:"n_forward_passes"`
	StoppedOnBOS bool   `json:"stopped_on_bos"`
}

func loadStories(t *testing.T) (*Model, *sentencepiece.Model) {
	t.Helper()
	m, err := LoadLlama2C(testenv.Shared(t, "models", "stories260K", "stories260K.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sentencepiece.LoadLlama2C(testenv.Shared(t, "models", "stories260K", "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// The real stories260K model, greedy for run.c's 256 steps from four prompts:
// the same ids and, decoded, llama2.c's text character for character.
func TestStories260KGreedy(t *testing.T) {
	m, tok := loadStories(t)
	data, err := os.ReadFile(testenv.Shared(t, "golden", "llama2c", "stories260K_greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Runs []stories260KRun `json:"runs"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	// run.c's -n 256 counts forward passes: BOS and the prompt tokens are fed
	// at positions 0…len−1, and every pass from the last prompt position on
	// yields a token, so 256−len+1 are generated (unless BOS comes first).
	const steps = 256
	for _, run := range g.Runs {
		t.Run(run.Prompt, func(t *testing.T) {
			ids := tok.Encode(run.Prompt, true, false)
			if !slices.Equal(ids, run.PromptIDs) {
				t.Fatalf("prompt ids %v, want %v", ids, run.PromptIDs)
			}
			seqs, err := generate.Generate(context.Background(), m, [][]int{ids},
				generate.Options{MaxNewTokens: steps - len(ids) + 1, StopTokens: []int{1}, Decoder: tok})
			if err != nil {
				t.Fatal(err)
			}
			got := seqs[0]
			if !slices.Equal(got.Tokens, run.GeneratedIDs) {
				i := 0
				for i < min(len(got.Tokens), len(run.GeneratedIDs)) && got.Tokens[i] == run.GeneratedIDs[i] {
					i++
				}
				t.Fatalf("generated ids diverge at %d of %d: got %v…, want %v…", i, len(run.GeneratedIDs),
					got.Tokens[i:min(i+5, len(got.Tokens))], run.GeneratedIDs[i:min(i+5, len(run.GeneratedIDs))])
			}
			prompt, _ := tok.Decode(ids, true)
			if text := prompt + got.Text; text != run.OutputText {
				t.Errorf("text differs:\n got %q\nwant %q", text, run.OutputText)
			}
		})
	}
}

// The first four logits vectors of each run, against run.c's.
func TestStories260KLogits(t *testing.T) {
	m, _ := loadStories(t)
	data, err := os.ReadFile(testenv.Shared(t, "golden", "llama2c", "stories260K_logits_first4.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Runs []struct {
			Prompt    string `json:"prompt"`
			Positions []struct {
				Pos    int       `json:"pos"`
				Input  int       `json:"input_token"`
				Logits []float32 `json:"logits"`
			} `json:"positions"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	var worst float64
	for _, run := range g.Runs {
		s, err := m.NewState(1, 16)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range run.Positions {
			logits, err := m.Forward(s, []int{p.Input}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range p.Logits {
				worst = math.Max(worst, math.Abs(float64(logits[i]-want)))
			}
		}
	}
	t.Logf("max abs logit diff vs run.c: %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("max abs logit diff vs run.c %.3g > 1e-4", worst)
	}
}
