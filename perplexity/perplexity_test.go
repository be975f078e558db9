package perplexity

import (
	"context"
	"errors"
	"math"
	"testing"
)

// sumLM is a full-context toy model over V tokens: after a prefix whose ids
// sum to s, it predicts token k with probability proportional to
// 1 + ((s + k) mod V), the same for every row of a state.
type sumLM struct{ V, maxLen int }

type sumState struct{ sums, lens []int }

func (m sumLM) VocabSize() int { return m.V }
func (m sumLM) MaxLen() int    { return m.maxLen }
func (m sumLM) NewState(batch, maxLen int) (*sumState, error) {
	return &sumState{sums: make([]int, batch), lens: make([]int, batch)}, nil
}

func (m sumLM) Forward(s *sumState, ids []int, mask []bool) ([]float32, error) {
	B := len(s.sums)
	T := len(ids) / B
	out := make([]float32, B*m.V)
	for b := range B {
		for _, id := range ids[b*T : (b+1)*T] {
			s.sums[b] += id
			s.lens[b]++
		}
		for k := range m.V {
			out[b*m.V+k] = float32(math.Log(m.p(s.sums[b], k)))
		}
	}
	return out, nil
}

// p is the model's probability of k after a prefix summing to s.
func (m sumLM) p(s, k int) float64 {
	z := 0.0
	for j := range m.V {
		z += float64(1 + (s+j)%m.V)
	}
	return float64(1+(s+k)%m.V) / z
}

// want computes the perplexity by its definition, window by window.
func want(m sumLM, ids []int, n int, bos *int) (float64, int) {
	var sum float64
	count := 0
	for w := 0; w+n <= len(ids); w += n {
		s := 0
		for j := 0; j < n-1; j++ {
			id := ids[w+j]
			if j == 0 && bos != nil {
				id = *bos
			}
			s += id
			if j >= n/2 {
				sum -= math.Log(m.p(s, ids[w+j+1]))
				count++
			}
		}
	}
	return math.Exp(sum / float64(count)), count
}

func TestEvaluate(t *testing.T) {
	m := sumLM{V: 7, maxLen: 64}
	ids := make([]int, 1000)
	x := uint32(1)
	for i := range ids {
		x = x*1664525 + 1013904223
		ids[i] = int(x>>16) % m.V
	}
	bos := 3
	for _, tc := range []struct {
		name  string
		opts  Options
		n     int
		bos   *int
		batch int
	}{
		{"defaults", Options{}, 64, nil, 8},
		{"context 10, batch 3", Options{Context: 10, Batch: 3}, 10, nil, 3},
		{"odd context, batch 1", Options{Context: 9, Batch: 1}, 9, nil, 1},
		{"BOS", Options{Context: 16, BOS: &bos}, 16, &bos, 8},
	} {
		got, err := Evaluate(context.Background(), m, ids, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		w, count := want(m, ids, tc.n, tc.bos)
		if math.Abs(got.Perplexity-w) > 1e-6*w /* float32 logits */ || got.Tokens != count || got.Windows != len(ids)/tc.n {
			t.Errorf("%s: ppl %.12g over %d tokens, %d windows; want %.12g over %d, %d", tc.name, got.Perplexity, got.Tokens, got.Windows, w, count, len(ids)/tc.n)
		}
		if len(got.Running) != got.Windows || got.Running[len(got.Running)-1] != got.Perplexity {
			t.Errorf("%s: running figures %v", tc.name, got.Running)
		}
	}
	// BOS changes the result (the model sees the whole window).
	a, _ := Evaluate(context.Background(), m, ids, Options{Context: 16})
	b, _ := Evaluate(context.Background(), m, ids, Options{Context: 16, BOS: &bos})
	if a.Perplexity == b.Perplexity {
		t.Error("BOS made no difference")
	}
}

func TestEvaluateBadInput(t *testing.T) {
	m := sumLM{V: 5, maxLen: 32}
	bad := 9
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		ids  []int
		opts Options
	}{
		{"too short", context.Background(), []int{1, 2, 3}, Options{Context: 8}},
		{"context past MaxLen", context.Background(), make([]int, 100), Options{Context: 33}},
		{"context 1", context.Background(), make([]int, 100), Options{Context: 1}},
		{"id outside", context.Background(), append(make([]int, 20), 5), Options{Context: 8}},
		{"BOS outside", context.Background(), make([]int, 20), Options{Context: 8, BOS: &bad}},
		{"cancelled", ctx, make([]int, 20), Options{Context: 8}},
	} {
		if _, err := Evaluate(tc.ctx, m, tc.ids, tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := Evaluate(context.Background(), m, []int{1}, Options{Context: 8}); !errors.Is(err, ErrTooShort) {
		t.Errorf("short text: %v", err)
	}
}
