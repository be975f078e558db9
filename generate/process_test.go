package generate

import (
	"context"
	"math"
	"slices"
	"testing"
)

func intp(i int) *int { return &i }

// Each processor changes greedy decoding of the toy model as HF's does.
func TestProcessorsGreedy(t *testing.T) {
	m := &toyLM{V: 6, maxLen: 64}
	ctx := context.Background()
	prompt := []int{3}
	run := func(o Options) []int {
		t.Helper()
		o.MaxNewTokens = 12
		seqs, err := Generate(ctx, m, [][]int{prompt}, o)
		if err != nil {
			t.Fatal(err)
		}
		return seqs[0].Tokens
	}
	plain := run(Options{})

	// no_repeat_ngram_size 2: no bigram of prompt+output occurs twice.
	got := append(slices.Clone(prompt), run(Options{NoRepeatNGramSize: 2})...)
	seen := map[[2]int]bool{}
	for i := 0; i+1 < len(got); i++ {
		k := [2]int{got[i], got[i+1]}
		if seen[k] {
			t.Errorf("no_repeat_ngram_size 2: bigram %v repeats in %v", k, got)
		}
		seen[k] = true
	}

	// bad_words_ids: a single token never appears; a pair never completes.
	bad := plain[0]
	for _, id := range run(Options{BadWordsIDs: [][]int{{bad}}}) {
		if id == bad {
			t.Errorf("bad word %d generated", bad)
		}
	}
	pairSeq := append(slices.Clone(prompt), run(Options{BadWordsIDs: [][]int{{plain[0], plain[1]}}})...)
	for i := 0; i+1 < len(pairSeq); i++ {
		if pairSeq[i] == plain[0] && pairSeq[i+1] == plain[1] {
			t.Errorf("bad pair %v generated in %v", plain[:2], pairSeq)
		}
	}

	// min_length: the first token is the unconstrained choice; as a stop
	// token it ends the row at once, unless min_length forbids it.
	stop := plain[0]
	if g := run(Options{StopTokens: []int{stop}}); len(g) != 1 {
		t.Fatalf("stop token %d: %v", stop, g)
	}
	g := run(Options{StopTokens: []int{stop}, MinLength: 4})
	if i := slices.Index(g, stop); i >= 0 && i+len(prompt) < 4 {
		t.Errorf("min_length 4: stop at generated index %d: %v", i, g)
	}
	if g := run(Options{StopTokens: []int{stop}, MinNewTokens: 5}); slices.Index(g, stop) >= 0 && slices.Index(g, stop) < 5 {
		t.Errorf("min_new_tokens 5: %v", g)
	}

	// forced BOS after a one-token prompt, forced EOS as the 12th token.
	g = run(Options{ForcedBOSTokenID: intp(5), ForcedEOSTokenID: intp(4)})
	if g[0] != 5 || g[len(g)-1] != 4 || len(g) != 12 {
		t.Errorf("forced bos 5 / eos 4: %v", g)
	}
	// Renormalising does not change argmax choices.
	if g := run(Options{RenormalizeLogits: true}); !slices.Equal(g, plain) {
		t.Errorf("renormalize_logits changed greedy output: %v, want %v", g, plain)
	}
}

// With a banned token, renormalised beam scores are log-probabilities of
// the distribution without it; num_return_sequences returns the best
// hypotheses in order.
func TestProcessorsBeam(t *testing.T) {
	m := &toyLM{V: 5, maxLen: 64}
	prompt := []int{2}
	o := Options{NumBeams: 3, MaxNewTokens: 3, BadWordsIDs: [][]int{{0}}, RenormalizeLogits: true, NumReturnSequences: 3}
	seqs, err := Generate(context.Background(), m, [][]int{prompt, prompt}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 6 {
		t.Fatalf("%d sequences for 2 prompts × 3", len(seqs))
	}
	for i, s := range seqs {
		var sum float64
		hist := slices.Clone(prompt)
		for _, id := range s.Tokens {
			l := m.logits(hist)
			l[0] = float32(math.Inf(-1))
			sum += logProb(l, id)
			hist = append(hist, id)
		}
		if want := sum / float64(len(s.Tokens)); math.Abs(want-s.Score) > 1e-5 || slices.Contains(s.Tokens, 0) {
			t.Errorf("sequence %d %v: score %.6f, want %.6f", i, s.Tokens, s.Score, want)
		}
		if i%3 > 0 && s.Score > seqs[i-1].Score {
			t.Errorf("sequence %d scores %.6f above its predecessor %.6f", i, s.Score, seqs[i-1].Score)
		}
	}
	if !slices.Equal(seqs[0].Tokens, seqs[3].Tokens) {
		t.Errorf("equal prompts, different beams: %v %v", seqs[0].Tokens, seqs[3].Tokens)
	}
}

// Sampling with num_return_sequences gives independent rows per prompt;
// greedy refuses it.
func TestNumReturnSequencesSampling(t *testing.T) {
	m := &toyLM{V: 50, maxLen: 64}
	o := Options{MaxNewTokens: 8, NumReturnSequences: 3, Seed: 7, SamplingOptions: SamplingOptions{Temperature: 1}}
	seqs, err := Generate(context.Background(), m, [][]int{{1}, {2}}, o)
	if err != nil || len(seqs) != 6 {
		t.Fatalf("%d sequences, %v", len(seqs), err)
	}
	if slices.Equal(seqs[0].Tokens, seqs[1].Tokens) && slices.Equal(seqs[1].Tokens, seqs[2].Tokens) {
		t.Errorf("three samples are equal: %v", seqs[0].Tokens)
	}
	o.Temperature = 0
	if _, err := Generate(context.Background(), m, [][]int{{1}}, o); err == nil {
		t.Error("greedy accepted num_return_sequences 3")
	}
	if _, err := Generate(context.Background(), m, [][]int{{1}}, Options{NumBeams: 2, NumReturnSequences: 3}); err == nil {
		t.Error("num_return_sequences above num_beams accepted")
	}
	if _, err := Generate(context.Background(), m, [][]int{{1}}, Options{BadWordsIDs: [][]int{{99}}}); err == nil {
		t.Error("bad word outside the vocabulary accepted")
	}
}
