package llama

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
)

// golden is the part of a fixture's golden.json these tests read.
type golden struct {
	Inputs struct {
		InputIDs      [][]int `json:"input_ids"`
		AttentionMask [][]int `json:"attention_mask"`
	} `json:"inputs"`
	Generate struct {
		PromptIDs    []int `json:"prompt_ids"`
		MaxNewTokens int   `json:"max_new_tokens"`
		NewTokens    []int `json:"new_tokens"`
		Batch        struct {
			InputIDs      [][]int `json:"input_ids"`
			AttentionMask [][]int `json:"attention_mask"`
			NewTokens     [][]int `json:"new_tokens"`
		} `json:"batch"`
	} `json:"generate"`
}

func readGolden(t *testing.T, dir string) (golden, map[string]nn.Tensor) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	ts, err := nn.ReadTensors(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return g, ts
}

func flatten(rows [][]int) (ids []int, mask []bool) {
	for _, r := range rows {
		ids = append(ids, r...)
	}
	return ids, nil
}

func flattenMask(rows [][]int) []bool {
	var m []bool
	for _, r := range rows {
		for _, v := range r {
			m = append(m, v != 0)
		}
	}
	return m
}

// maxDiffRows returns max |a−b| over the rows (of width w, in [B·T] order)
// whose mask is true.
func maxDiffRows(a, b []float32, mask []bool, w int) float64 {
	var d float64
	for r, ok := range mask {
		if !ok {
			continue
		}
		for i := r * w; i < (r+1)*w; i++ {
			d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		}
	}
	return d
}

// fixtures lists each model folder with the folder holding its golden.
var fixtures = []struct{ model, golden string }{
	{"llama-tiny", "llama-tiny"},
	{"llama-tiny-bf16", "llama-tiny-bf16"},
	{"llama-tiny-sharded", "llama-tiny"},
}

func TestParityForward(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.model, func(t *testing.T) {
			m, err := Load(testenv.Shared(t, "fixtures", fx.model), nil)
			if err != nil {
				t.Fatal(err)
			}
			g, want := readGolden(t, testenv.Shared(t, "fixtures", fx.golden))
			ids, _ := flatten(g.Inputs.InputIDs)
			mask := flattenMask(g.Inputs.AttentionMask)
			B, T := len(g.Inputs.InputIDs), len(g.Inputs.InputIDs[0])
			tr, err := m.ForwardTrace(ids, mask, B)
			if err != nil {
				t.Fatal(err)
			}
			cfg := m.Config
			check := func(name string, got []float32, w int, tol float64) {
				t.Helper()
				if d := maxDiffRows(got, want[name].Data, mask, w); d > tol || math.IsNaN(d) {
					t.Errorf("%s: max abs diff %.3g > %.0e", name, d, tol)
				} else {
					t.Logf("%s: max abs diff %.3g", name, d)
				}
			}
			check("forward.logits", tr.Logits, cfg.VocabSize, 1e-4)
			check("forward.last_hidden_state", tr.Hidden[cfg.NumLayers], cfg.HiddenSize, 1e-4)
			for i, h := range tr.Hidden {
				check("forward.hidden_states."+strconv.Itoa(i), h, cfg.HiddenSize, 1e-4)
			}
			// Attentions [B, H, T, T]: compare query rows whose mask is 1;
			// masked key columns must be exactly 0.
			for l, a := range tr.Attentions {
				ref := want["forward.attentions."+strconv.Itoa(l)].Data
				var d float64
				for b := range B {
					for h := range cfg.NumHeads {
						for q := range T {
							if !mask[b*T+q] {
								continue
							}
							for k := range T {
								i := ((b*cfg.NumHeads+h)*T+q)*T + k
								if !mask[b*T+k] && a[i] != 0 {
									t.Fatalf("attentions.%d: masked key %d has probability %g", l, k, a[i])
								}
								d = math.Max(d, math.Abs(float64(a[i])-float64(ref[i])))
							}
						}
					}
				}
				if d > 1e-5 {
					t.Errorf("attentions.%d: max abs diff %.3g > 1e-5", l, d)
				} else {
					t.Logf("attentions.%d: max abs diff %.3g", l, d)
				}
			}
			// RoPE tables for positions 0…T−1.
			cos, sin := m.RopeTables()
			D := cfg.HeadDim
			for _, c := range []struct {
				name string
				got  []float32
			}{{"rope.cos", cos[:T*D]}, {"rope.sin", sin[:T*D]}} {
				var d float64
				for i, v := range want[c.name].Data {
					d = math.Max(d, math.Abs(float64(v)-float64(c.got[i])))
				}
				if d > 1e-6 {
					t.Errorf("%s: max abs diff %.3g", c.name, d)
				}
			}
		})
	}
}
