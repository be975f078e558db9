package llama

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// The fixtures' greedy generations: 20 tokens from one prompt, and a
// left-padded batch of two prompts, through generate's loop and the KV cache.
func TestFixtureGreedy(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.model, func(t *testing.T) {
			m, err := Load(testenv.Shared(t, "fixtures", fx.model), nil)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := readGolden(t, testenv.Shared(t, "fixtures", fx.golden))
			ctx := context.Background()
			opts := generate.Options{MaxNewTokens: g.Generate.MaxNewTokens}
			got, err := generate.Generate(ctx, m, [][]int{g.Generate.PromptIDs}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got[0].Tokens, g.Generate.NewTokens) {
				t.Errorf("single: got %v\nwant %v", got[0].Tokens, g.Generate.NewTokens)
			}
			if len(g.Generate.Batch.InputIDs) == 0 {
				return // this fixture has no batch golden
			}
			// The batch: strip each row's left padding; Generate pads again.
			var prompts [][]int
			for r, ids := range g.Generate.Batch.InputIDs {
				var p []int
				for t, id := range ids {
					if g.Generate.Batch.AttentionMask[r][t] != 0 {
						p = append(p, id)
					}
				}
				prompts = append(prompts, p)
			}
			got, err = generate.Generate(ctx, m, prompts, opts)
			if err != nil {
				t.Fatal(err)
			}
			for r := range prompts {
				if !slices.Equal(got[r].Tokens, g.Generate.Batch.NewTokens[r]) {
					t.Errorf("batch row %d: got %v\nwant %v", r, got[r].Tokens, g.Generate.Batch.NewTokens[r])
				}
			}
		})
	}
}

// Decoding with the cache, one token at a time after a prefill, gives the
// logits of a full recomputation at every step.
func TestCacheMatchesRecompute(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "llama-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.VocabSize
	seq := []int{1, 15, 200, 37}
	s, err := m.NewState(1, 64)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Forward(s, seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	for step := range 12 {
		tr, err := m.ForwardTrace(seq, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref := tr.Logits[(len(seq)-1)*V:]
		var d float64
		for i := range V {
			d = math.Max(d, math.Abs(float64(logits[i]-ref[i])))
		}
		if d > 1e-5 {
			t.Fatalf("step %d: cached logits differ from recomputation by %g", step, d)
		}
		next := generate.Argmax(logits)
		seq = append(seq, next)
		if logits, err = m.Forward(s, []int{next}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForwardErrors(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "llama-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewState(2, 4)
	for _, tc := range []struct {
		ids  []int
		mask []bool
	}{
		{[]int{1, 2, 3}, nil},       // not a multiple of B
		{[]int{1, 1000}, nil},       // id out of range
		{[]int{1, -1}, nil},         // negative id
		{[]int{1, 2}, []bool{true}}, // mask length
		{make([]int, 10), nil},      // longer than the state
		{[]int{}, nil},              // empty
	} {
		if _, err := m.Forward(s, tc.ids, tc.mask); err == nil {
			t.Errorf("Forward(%v, %v): no error", tc.ids, tc.mask)
		}
	}
	// Padding slots may hold any id.
	if _, err := m.Forward(s, []int{-5, 1}, []bool{false, true}); err != nil {
		t.Error(err)
	}
}

func TestNoAllocPerToken(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "llama-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewState(1, 128)
	if _, err := m.Forward(s, []int{1, 2, 3}, nil); err != nil {
		t.Fatal(err)
	}
	tok := []int{5}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := m.Forward(s, tok, nil); err != nil {
			t.Fatal(err)
		}
	})
	// The model code allocates nothing; kernels.Sgemm's matrix-vector path
	// currently heap-allocates its work closure (at most one per call).
	sgemms := 4*m.Config.NumLayers + 1
	if allocs > float64(sgemms) {
		t.Errorf("%.1f allocations per decoded token (%d Sgemm calls)", allocs, sgemms)
	}
}

// Beam search reorders the KV cache between steps; the winning sequence's
// score must equal its log-probability recomputed without a cache.
func TestBeamSearchScore(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "llama-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	prompts := [][]int{{1, 15, 200, 37}, {1, 42, 7}}
	got, err := generate.Generate(context.Background(), m, prompts, generate.Options{NumBeams: 4, MaxNewTokens: 6, LengthPenalty: 1})
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
		greedy, _ := generate.Generate(context.Background(), m, [][]int{p}, generate.Options{MaxNewTokens: 6})
		t.Logf("prompt %d: beam %v (%.4f), greedy %v", i, got[i].Tokens, got[i].Score, greedy[0].Tokens)
	}
}

// Truncate rewinds the cache: continuing from a truncated state gives the
// logits of a fresh state fed the kept prefix and the new tokens.
func TestTruncate(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "llama-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewState(1, 64)
	if _, err := m.Forward(s, []int{1, 15, 200, 37, 512, 999}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Truncate(7); err == nil {
		t.Error("Truncate past the end was accepted")
	}
	if err := s.Truncate(3); err != nil || s.Len() != 3 {
		t.Fatalf("Truncate(3): %v, Len %d", err, s.Len())
	}
	got, err := m.Forward(s, []int{3, 88}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := m.NewState(1, 64)
	want, err := m.Forward(fresh, []int{1, 15, 200, 3, 88}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("logit %d: %g after Truncate, %g fresh", i, got[i], want[i])
		}
	}
}
