package gpt2

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// inferGolden is the part of gpt2-tiny/golden.json the inference tests read.
type inferGolden struct {
	Inputs struct {
		InputIDs      [][]int `json:"input_ids"`
		AttentionMask [][]int `json:"attention_mask"`
	} `json:"inputs"`
	Generate struct {
		PromptIDs []int `json:"prompt_ids"`
		NewTokens []int `json:"new_tokens"`
		Batch     struct {
			InputIDs      [][]int `json:"input_ids"`
			AttentionMask [][]int `json:"attention_mask"`
			NewTokens     [][]int `json:"new_tokens"`
		} `json:"batch"`
	} `json:"generate"`
}

func readInferGolden(t *testing.T) (*inferGolden, map[string]nn.Tensor) {
	t.Helper()
	dir := testenv.Shared(t, "fixtures", "gpt2-tiny")
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g inferGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	ref, err := nn.ReadTensors(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return &g, ref
}

// TestInferParity checks hidden states and attention probabilities of one
// prefill pass, and the logits of every position fed one step at a time
// through the KV cache, against PyTorch on the valid positions.
func TestInferParity(t *testing.T) {
	g, ref := readInferGolden(t)
	ids, B, T := flatten2(g.Inputs.InputIDs)
	m01, _, _ := flatten2(g.Inputs.AttentionMask)
	mask := make([]bool, len(m01))
	for i, v := range m01 {
		mask[i] = v == 1
	}
	for _, folder := range []string{"gpt2-tiny", "gpt2-tiny-legacy"} {
		t.Run(folder, func(t *testing.T) {
			m, err := LoadInference(testenv.Shared(t, "fixtures", folder), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			cfg := m.Config
			C, H, V, L := cfg.NumEmbd, cfg.NumHead, cfg.VocabSize, cfg.NumLayer

			// One pass: hidden states and attentions.
			s, err := m.NewState(B, T)
			if err != nil {
				t.Fatal(err)
			}
			// Padding is never stored: row b's real tokens are rows
			// compact[b*T+t] of the pass, and its keys are its real
			// positions, orig[b][j].
			compact := make([]int, B*T)
			orig := make([][]int, B)
			n := 0
			for b := range B {
				for t := range T {
					if mask[b*T+t] {
						compact[b*T+t] = n
						orig[b] = append(orig[b], t)
						n++
					}
				}
			}
			var hidDiff, attDiff float64
			s.Trace = &infer.Trace{}
			s.Trace.Hidden = func(i int, x []float32) {
				want := ref[fmt.Sprintf("forward.hidden_states.%d", i)].Data
				if i == L {
					want = ref["forward.last_hidden_state"].Data
				}
				for n := 0; n < B*T; n++ {
					if mask[n] {
						r := compact[n]
						hidDiff = math.Max(hidDiff, absDiff(x[r*C:(r+1)*C], want[n*C:(n+1)*C]))
					}
				}
			}
			var attMu sync.Mutex // heads report from parallel workers
			s.Trace.Probs = func(l, b, h, q int, p []float32) {
				full := make([]float32, T) // masked keys: probability 0
				for j, pj := range p {
					full[orig[b][j]] = pj
				}
				want := ref[fmt.Sprintf("forward.attentions.%d", l)].Data[((b*H+h)*T+orig[b][q])*T:][:T]
				d := absDiff(full, want)
				attMu.Lock()
				attDiff = math.Max(attDiff, d)
				attMu.Unlock()
			}
			if _, err := m.Forward(s, ids, mask); err != nil {
				t.Fatal(err)
			}

			// Step by step: logits of every position.
			s, err = m.NewState(B, T)
			if err != nil {
				t.Fatal(err)
			}
			want := ref["forward.logits"].Data
			var logitDiff float64
			step, smask := make([]int, B), make([]bool, B)
			for pos := range T {
				for b := range B {
					step[b], smask[b] = ids[b*T+pos], mask[b*T+pos]
				}
				logits, err := m.Forward(s, step, smask)
				if err != nil {
					t.Fatal(err)
				}
				for b := range B {
					if n := b*T + pos; mask[n] {
						logitDiff = math.Max(logitDiff, absDiff(logits[b*V:(b+1)*V], want[n*V:(n+1)*V]))
					}
				}
			}
			t.Logf("max abs diff: logits %.3g, hidden states %.3g, attentions %.3g", logitDiff, hidDiff, attDiff)
			if logitDiff > 1e-4 || hidDiff > 1e-4 || attDiff > 1e-5 {
				t.Errorf("differs from PyTorch: logits %g (tol 1e-4), hidden %g (1e-4), attentions %g (1e-5)", logitDiff, hidDiff, attDiff)
			}
		})
	}
}

func absDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestInferGenerate checks greedy generation of 20 tokens, single and as a
// left-padded batch, token for token against Hugging Face's.
func TestInferGenerate(t *testing.T) {
	g, _ := readInferGolden(t)
	var batch [][]int
	for r, row := range g.Generate.Batch.InputIDs {
		var p []int
		for i, id := range row {
			if g.Generate.Batch.AttentionMask[r][i] == 1 {
				p = append(p, id)
			}
		}
		batch = append(batch, p)
	}
	for _, folder := range []string{"gpt2-tiny", "gpt2-tiny-legacy"} {
		t.Run(folder, func(t *testing.T) {
			m, err := LoadInference(testenv.Shared(t, "fixtures", folder), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			opts := generate.Options{MaxNewTokens: 20}
			seqs, err := generate.Generate(context.Background(), m, [][]int{g.Generate.PromptIDs}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqs[0].Tokens, g.Generate.NewTokens) {
				t.Errorf("single: got %v\nwant %v", seqs[0].Tokens, g.Generate.NewTokens)
			}
			seqs, err = generate.Generate(context.Background(), m, batch, opts)
			if err != nil {
				t.Fatal(err)
			}
			for r := range batch {
				if !slices.Equal(seqs[r].Tokens, g.Generate.Batch.NewTokens[r]) {
					t.Errorf("batch row %d: got %v\nwant %v", r, seqs[r].Tokens, g.Generate.Batch.NewTokens[r])
				}
			}
		})
	}
}

// TestInferBF16 checks that bfloat16 weights stay close to float32: the
// logits of the golden batch within 2% of their range.
func TestInferBF16(t *testing.T) {
	g, ref := readInferGolden(t)
	dir := testenv.Shared(t, "fixtures", "gpt2-tiny")
	m, err := LoadInference(dir, &InferOptions{Format: infer.BF16})
	if err != nil {
		t.Fatal(err)
	}
	prompt := g.Inputs.InputIDs[0]
	s, err := m.NewState(1, len(prompt))
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Forward(s, prompt, nil)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.VocabSize
	T := len(prompt)
	want := ref["forward.logits"].Data[(T-1)*V : T*V]
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	d := absDiff(logits, want)
	t.Logf("bf16 logits max abs diff %.3g (max |logit| %.3g)", d, scale)
	if d > 0.02*scale {
		t.Errorf("bf16 logits differ by %g, more than 2%% of %g", d, scale)
	}
}

// TestInferErrors checks that bad input is an error, not a panic.
func TestInferErrors(t *testing.T) {
	cfg := Config{VocabSize: 11, NumPos: 8, NumEmbd: 8, NumLayer: 1, NumHead: 2}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	base, err := New(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewInferenceFromModel(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewState(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ids  []int
		mask []bool
	}{
		{"empty", nil, nil},
		{"ragged", []int{1, 2, 3}, nil},
		{"id", []int{1, 11}, nil},
		{"negative id", []int{-1, 2}, nil},
		{"mask", []int{1, 2}, []bool{true}},
		{"too long", []int{1, 2, 3, 4, 5, 1, 2, 3, 4, 5}, nil},
	} {
		if _, err := m.Forward(s, c.ids, c.mask); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := m.NewState(0, 4); err == nil {
		t.Error("batch 0: no error")
	}
}

// TestInferNoAllocs checks that a decoding step allocates nothing on one
// thread (with more, only the parallel loop's goroutines allocate).
func TestInferNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cfg := Config{VocabSize: 97, NumPos: 32, NumEmbd: 16, NumLayer: 2, NumHead: 2}
	for _, f := range []infer.Format{infer.F32, infer.BF16} {
		m, err := NewRandomInference(cfg, tensor.NewRNG(3), &InferOptions{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.NewState(1, 32)
		if err != nil {
			t.Fatal(err)
		}
		tok := []int{5}
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := m.Forward(s, tok, nil); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per decoding step", f, allocs)
		}
	}
}

// Beam search reorders the KV cache between steps; every returned beam's
// score must equal its length-normalised log-probability recomputed in a
// fresh state, token by token.
func TestInferBeamSearch(t *testing.T) {
	m, err := LoadInference(testenv.Shared(t, "fixtures", "gpt2-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	prompts := [][]int{{5, 17, 200, 37}, {42, 7}}
	const n = 6
	got, err := generate.Generate(context.Background(), m, prompts, generate.Options{NumBeams: 4, MaxNewTokens: n, LengthPenalty: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prompts {
		lps, err := generate.Score(context.Background(), m, p, got[i].Tokens)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, lp := range lps {
			sum += lp
		}
		want := sum / float64(len(got[i].Tokens))
		if math.Abs(want-got[i].Score) > 1e-4 {
			t.Errorf("prompt %d: beam score %.6f, recomputed %.6f (%v)", i, got[i].Score, want, got[i].Tokens)
		}
	}
	st, _ := m.NewState(2, 8)
	if err := st.Reorder([]int{0, 2}); err == nil {
		t.Error("Reorder accepted an out-of-range source row")
	}
	if err := st.Reorder([]int{0}); err == nil {
		t.Error("Reorder accepted a wrong number of rows")
	}
}

// Truncate rewinds the cache: continuing from a truncated state gives the
// logits of a fresh state fed the kept prefix and the new tokens.
func TestInferTruncate(t *testing.T) {
	cfg := Config{VocabSize: 97, NumPos: 32, NumEmbd: 16, NumLayer: 2, NumHead: 2}
	m, err := NewRandomInference(cfg, tensor.NewRNG(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewState(1, 32)
	if _, err := m.Forward(s, []int{5, 9, 40, 7, 66, 3}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Truncate(7); err == nil {
		t.Error("Truncate past the end was accepted")
	}
	if err := s.Truncate(3); err != nil || s.Len() != 3 {
		t.Fatalf("Truncate(3): %v, Len %d", err, s.Len())
	}
	got, err := m.Forward(s, []int{11, 12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = slices.Clone(got)
	fresh, _ := m.NewState(1, 32)
	want, err := m.Forward(fresh, []int{5, 9, 40, 11, 12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("logit %d: %g after Truncate, %g fresh", i, got[i], want[i])
		}
	}
}
