package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// toyLM is a model without a cache: its next-token logits are a fixed
// pseudo-random function of the row's real tokens, so tests can recompute them.
type toyLM struct {
	V, maxLen int
}

type toyState struct {
	rows [][]int
}

func (m *toyLM) VocabSize() int { return m.V }
func (m *toyLM) MaxLen() int    { return m.maxLen }

func (m *toyLM) NewState(batch, maxLen int) (*toyState, error) {
	return &toyState{rows: make([][]int, batch)}, nil
}

func (m *toyLM) Forward(s *toyState, ids []int, mask []bool) ([]float32, error) {
	B := len(s.rows)
	T := len(ids) / B
	out := make([]float32, B*m.V)
	for b := range B {
		for t := range T {
			if mask == nil || mask[b*T+t] {
				s.rows[b] = append(s.rows[b], ids[b*T+t])
			}
		}
		copy(out[b*m.V:], m.logits(s.rows[b]))
	}
	return out, nil
}

// logits hashes the history into V logits in [−4, 4).
func (m *toyLM) logits(hist []int) []float32 {
	h := uint64(1469598103934665603)
	for _, id := range hist {
		h = (h ^ uint64(id+1)) * 1099511628211
	}
	out := make([]float32, m.V)
	for v := range out {
		x := (h ^ uint64(v)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
		x ^= x >> 31
		out[v] = float32(x%8000)/1000 - 4
	}
	return out
}

func (s *toyState) Reorder(src []int) error {
	old := make([][]int, len(s.rows))
	copy(old, s.rows)
	for i, j := range src {
		s.rows[i] = slices.Clone(old[j])
	}
	return nil
}

// letters decodes id i as the letter 'a'+i.
type letters struct{}

func (letters) Decode(ids []int, _ bool) (string, error) {
	var b strings.Builder
	for _, id := range ids {
		b.WriteByte(byte('a' + id))
	}
	return b.String(), nil
}

func TestGreedyMatchesRecompute(t *testing.T) {
	m := &toyLM{V: 11, maxLen: 64}
	prompt := []int{1, 2, 3}
	got, err := Generate(context.Background(), m, [][]int{prompt}, Options{MaxNewTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	hist := slices.Clone(prompt)
	for range 12 {
		hist = append(hist, Argmax(m.logits(hist)))
	}
	if want := hist[3:]; !slices.Equal(got[0].Tokens, want) || got[0].Reason != FinishLength {
		t.Fatalf("got %v (%s), want %v", got[0].Tokens, got[0].Reason, want)
	}
}

func TestBatchEqualsSingle(t *testing.T) {
	m := &toyLM{V: 13, maxLen: 64}
	prompts := [][]int{{1, 2, 3, 4, 5}, {7}, {2, 9, 4}}
	for _, opts := range []Options{
		{MaxNewTokens: 10},
		{MaxNewTokens: 10, SamplingOptions: SamplingOptions{Temperature: 0.8, TopK: 5, TopP: 0.9, RepetitionPenalty: 1.3}, Seed: 7},
		{MaxNewTokens: 10, StopTokens: []int{3}},
	} {
		batch, err := Generate(context.Background(), m, prompts, opts)
		if err != nil {
			t.Fatal(err)
		}
		for r, p := range prompts {
			o := opts
			o.Seed += uint64(r) // row r of a batch samples with Seed+r
			single, err := Generate(context.Background(), m, [][]int{p}, o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(batch[r].Tokens, single[0].Tokens) {
				t.Errorf("%+v row %d: batch %v, single %v", opts.SamplingOptions, r, batch[r].Tokens, single[0].Tokens)
			}
		}
	}
}

func TestStopTokensAndStrings(t *testing.T) {
	m := &toyLM{V: 26, maxLen: 64}
	prompt := []int{0, 1}
	full, err := Generate(context.Background(), m, [][]int{prompt}, Options{MaxNewTokens: 30, Decoder: letters{}})
	if err != nil {
		t.Fatal(err)
	}
	text := full[0].Text
	if len(text) != 30 {
		t.Fatalf("text %q", text)
	}
	// Stop on the token generated at step 5.
	stopTok := full[0].Tokens[5]
	first := slices.Index(full[0].Tokens, stopTok)
	got, _ := Generate(context.Background(), m, [][]int{prompt}, Options{MaxNewTokens: 30, StopTokens: []int{stopTok}, Decoder: letters{}})
	if got[0].Reason != FinishStop || !slices.Equal(got[0].Tokens, full[0].Tokens[:first+1]) || got[0].Text != text[:first] {
		t.Errorf("stop token: %v %q %s", got[0].Tokens, got[0].Text, got[0].Reason)
	}
	// Stop on a two-letter string from the middle; streamed pieces must
	// never include it.
	stop := text[10:12]
	cut := strings.Index(text, stop)
	var streamed strings.Builder
	got, _ = Generate(context.Background(), m, [][]int{prompt}, Options{MaxNewTokens: 30, StopStrings: []string{stop},
		Decoder: letters{}, OnText: func(_ int, s string) { streamed.WriteString(s) }})
	if got[0].Reason != FinishStop || got[0].Text != text[:cut] || streamed.String() != text[:cut] {
		t.Errorf("stop string %q: text %q, streamed %q, want %q", stop, got[0].Text, streamed.String(), text[:cut])
	}
}

func TestCancellation(t *testing.T) {
	m := &toyLM{V: 11, maxLen: 1000}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	got, err := Generate(ctx, m, [][]int{{1}}, Options{OnToken: func(int, int) {
		if n++; n == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || len(got) != 1 || len(got[0].Tokens) != 3 || got[0].Reason != FinishCancelled {
		t.Fatalf("err %v, got %+v", err, got)
	}
}

func TestGenerateChan(t *testing.T) {
	m := &toyLM{V: 26, maxLen: 64}
	want, _ := Generate(context.Background(), m, [][]int{{3}}, Options{MaxNewTokens: 8, Decoder: letters{}})
	var tokens []int
	var text string
	var last Event
	for e := range GenerateChan(context.Background(), m, [][]int{{3}}, Options{MaxNewTokens: 8, Decoder: letters{}}) {
		switch {
		case e.Done:
			last = e
		case e.Token >= 0:
			tokens = append(tokens, e.Token)
		default:
			text += e.Text
		}
	}
	if last.Err != nil || !slices.Equal(tokens, want[0].Tokens) || text != want[0].Text || last.Sequences[0].Text != text {
		t.Fatalf("tokens %v text %q final %+v; want %v %q", tokens, text, last, want[0].Tokens, want[0].Text)
	}
}

func logSoftmax64(l []float32) []float64 {
	out := make([]float64, len(l))
	for i := range l {
		out[i] = logProb(l, i)
	}
	return out
}

// bruteForce returns the best continuation of prompt (score = sum of
// log-probabilities / generated_len^lp, stop tokens closing a sequence and
// counted in its length, as HF), enumerating every sequence of up to n
// tokens.
func bruteForce(m *toyLM, prompt []int, n int, stop int, lp float64) ([]int, float64) {
	var best []int
	bestScore := math.Inf(-1)
	var walk func(seq []int, sum float64)
	walk = func(seq []int, sum float64) {
		if len(seq) == n {
			if s := sum / math.Pow(float64(len(seq)), lp); s > bestScore {
				best, bestScore = slices.Clone(seq), s
			}
			return
		}
		lps := logSoftmax64(m.logits(append(slices.Clone(prompt), seq...)))
		for tok, v := range lps {
			if tok == stop {
				if s := (sum + v) / math.Pow(float64(len(seq)+1), lp); s > bestScore {
					best, bestScore = append(slices.Clone(seq), tok), s
				}
				continue
			}
			walk(append(seq, tok), sum+v)
		}
	}
	walk(nil, 0)
	return best, bestScore
}

func TestBeamSearchBruteForce(t *testing.T) {
	m := &toyLM{V: 4, maxLen: 64}
	for _, tc := range []struct {
		n, beams int
		stop     int
		lp       float64
	}{
		{3, 16, -1, 1},   // exhaustive beams, no stop token
		{3, 16, 2, 1e-9}, // with a stop token; lp≈0 makes the stopping rule exact
		{4, 64, 1, 1e-9},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			prompt := []int{1, 3}
			want, wantScore := bruteForce(m, prompt, tc.n, tc.stop, tc.lp)
			got, err := Generate(context.Background(), m, [][]int{prompt, prompt}, Options{
				NumBeams: tc.beams, MaxNewTokens: tc.n, StopTokens: []int{tc.stop}, LengthPenalty: tc.lp})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if !slices.Equal(g.Tokens, want) || math.Abs(g.Score-wantScore) > 1e-5 {
					t.Errorf("beam %v (%.6f), brute force %v (%.6f)", g.Tokens, g.Score, want, wantScore)
				}
			}
		})
	}
	// One beam is greedy.
	greedy, _ := Generate(context.Background(), m, [][]int{{2}}, Options{MaxNewTokens: 6})
	beam1, _ := Generate(context.Background(), m, [][]int{{2}}, Options{MaxNewTokens: 6, NumBeams: 1})
	if !slices.Equal(greedy[0].Tokens, beam1[0].Tokens) {
		t.Errorf("num_beams 1 %v != greedy %v", beam1[0].Tokens, greedy[0].Tokens)
	}
}

func TestSamplingSeeded(t *testing.T) {
	m := &toyLM{V: 50, maxLen: 64}
	opts := Options{MaxNewTokens: 20, Seed: 42, SamplingOptions: SamplingOptions{Temperature: 1, MinP: 0.05, PresencePenalty: 0.5}}
	a, _ := Generate(context.Background(), m, [][]int{{1}}, opts)
	b, _ := Generate(context.Background(), m, [][]int{{1}}, opts)
	opts.Seed = 43
	c, _ := Generate(context.Background(), m, [][]int{{1}}, opts)
	if !slices.Equal(a[0].Tokens, b[0].Tokens) || slices.Equal(a[0].Tokens, c[0].Tokens) {
		t.Errorf("seed 42: %v, again %v, seed 43 %v", a[0].Tokens, b[0].Tokens, c[0].Tokens)
	}
}

func TestInvalidInput(t *testing.T) {
	m := &toyLM{V: 5, maxLen: 8}
	for _, tc := range []struct {
		prompts [][]int
		opts    Options
	}{
		{nil, Options{}},
		{[][]int{{}}, Options{}},
		{[][]int{{9}}, Options{}},
		{[][]int{{1, 1, 1, 1, 1, 1, 1, 1, 1}}, Options{}},
		{[][]int{{1}}, Options{MaxNewTokens: -1}},
		{[][]int{{1}}, Options{StopStrings: []string{"x"}}},
		{[][]int{{1}}, Options{SamplingOptions: SamplingOptions{TopP: 2}}},
	} {
		if _, err := Generate(context.Background(), m, tc.prompts, tc.opts); err == nil {
			t.Errorf("%v %+v: no error", tc.prompts, tc.opts)
		}
	}
}

// scriptLM always predicts the next byte of a fixed script after its
// one-token prompt.
type scriptLM struct{ script []byte }

func (m *scriptLM) VocabSize() int { return 256 }
func (m *scriptLM) MaxLen() int    { return 1000 }
func (m *scriptLM) NewState(batch, maxLen int) (*toyState, error) {
	return &toyState{rows: make([][]int, batch)}, nil
}
func (m *scriptLM) Forward(s *toyState, ids []int, mask []bool) ([]float32, error) {
	B := len(s.rows)
	T := len(ids) / B
	out := make([]float32, B*256)
	for b := range B {
		for t := range T {
			if mask == nil || mask[b*T+t] {
				s.rows[b] = append(s.rows[b], ids[b*T+t])
			}
		}
		if n := len(s.rows[b]) - 1; n < len(m.script) {
			out[b*256+int(m.script[n])] = 10
		}
	}
	return out, nil
}

// rawBytes decodes ids as bytes.
type rawBytes struct{}

func (rawBytes) Decode(ids []int, _ bool) (string, error) {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return string(b), nil
}

// Characters split over several tokens stream whole.
func TestStreamWholeCharacters(t *testing.T) {
	const text = "héllo wörld € 🙂!"
	m := &scriptLM{script: []byte(text)}
	var pieces []string
	got, err := Generate(context.Background(), m, [][]int{{0}}, Options{MaxNewTokens: len(text), Decoder: rawBytes{},
		OnText: func(_ int, p string) { pieces = append(pieces, p) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pieces {
		if !utf8.ValidString(p) {
			t.Errorf("piece %q splits a character", p)
		}
	}
	if s := strings.Join(pieces, ""); s != text || got[0].Text != text {
		t.Errorf("streamed %q, text %q, want %q", s, got[0].Text, text)
	}
}
