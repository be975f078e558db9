package auto

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// TestBatchRowsMatchAlone decodes 8 sequences of different lengths in
// batched steps of one state, adding rows midway (a prefill beside other
// rows' single-token steps) and retiring and reusing others, and checks
// every row's logits against the same sequence decoded alone.
func TestBatchRowsMatchAlone(t *testing.T) {
	for _, path := range []string{
		testenv.Shared(t, "fixtures", "llama-tiny"),
		testenv.Shared(t, "fixtures", "gpt2-tiny"),
		testenv.Shared(t, "models", "stories260K", "stories260K.bin"),
	} {
		m, err := LoadCausalLM(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		V := m.VocabSize()
		b, err := m.NewBatch(8, 64)
		if err != nil {
			t.Fatal(err)
		}
		seqs := make([][]int, 8)
		tok := func(r, i int) int { return (r*131 + i*17 + 3) % V }
		// alone returns the logits of seq decoded in a fresh one-row state.
		alone := func(seq []int) []float32 {
			st, err := m.NewState(1, 64)
			if err != nil {
				t.Fatal(err)
			}
			l, err := m.Forward(st, seq, nil)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		// Each step lists rows and how many tokens each gets; a negative
		// count first retires the row (Clear) and starts it over.
		steps := [][][2]int{
			{{0, 5}, {1, 1}, {2, 9}, {3, 3}},
			{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 12}, {5, 2}},
			{{0, 1}, {2, 1}, {4, 1}, {5, 1}, {6, 7}, {7, 4}},
			{{1, 1}, {3, -6}, {0, 1}, {6, 1}, {7, 1}},
			{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}},
		}
		for si, st := range steps {
			var rows []int
			var toks [][]int
			for _, rc := range st {
				r, n := rc[0], rc[1]
				if n < 0 {
					b.Clear(r)
					seqs[r], n = nil, -n
				}
				var add []int
				for range n {
					add = append(add, tok(r, len(seqs[r])+len(add)))
				}
				seqs[r] = append(seqs[r], add...)
				rows, toks = append(rows, r), append(toks, add)
			}
			logits, err := b.Step(rows, toks)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range rows {
				if b.Len(r) != len(seqs[r]) {
					t.Fatalf("%s step %d row %d: length %d, want %d", path, si, r, b.Len(r), len(seqs[r]))
				}
				want := alone(seqs[r])
				var d float64
				for v := range V {
					d = math.Max(d, math.Abs(float64(logits[i*V+v]-want[v])))
				}
				if d > 1e-4 {
					t.Errorf("%s step %d row %d (%d tokens): logits differ from the row alone by %g", path, si, r, len(seqs[r]), d)
				}
			}
		}
		if _, err := b.Step([]int{0, 0}, [][]int{{1}, {2}}); err == nil {
			t.Error("a row listed twice was accepted")
		}
		var _ generate.BatchState = b
	}
}

// TestLoadCausalLMGGUF loads a GGUF file and checks it generates what the
// llama2.c checkpoint of the same model generates.
func TestLoadCausalLMGGUF(t *testing.T) {
	g, err := LoadCausalLM(testenv.Shared(t, "models", "stories260K-gguf", "stories260K-f32.gguf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadCausalLM(testenv.Shared(t, "models", "stories260K", "stories260K.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Family != GGUF || g.BOSTokenID != 1 {
		t.Fatalf("family %v, BOS %d", g.Family, g.BOSTokenID)
	}
	opts := generate.Options{MaxNewTokens: 60}
	prompt := [][]int{{1, 403, 407, 261, 378}}
	a, err := generate.Generate(context.Background(), g, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate.Generate(context.Background(), c, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a[0].Tokens, b[0].Tokens) {
		t.Errorf("GGUF generates %v\nllama2.c %v", a[0].Tokens, b[0].Tokens)
	}
}
