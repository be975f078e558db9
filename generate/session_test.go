package generate

import (
	"context"
	"slices"
	"testing"
)

// A Session's turns must equal Generate on the whole sequence, while the
// state receives every token exactly once.
func TestSession(t *testing.T) {
	m := &toyLM{V: 11, maxLen: 64}
	opts := Options{SamplingOptions: SamplingOptions{Temperature: 0.9, TopK: 5, RepetitionPenalty: 1.3}, MaxNewTokens: 5, Seed: 7}
	s := NewSession(m)
	var all []int
	turns := [][]int{{1, 2, 3}, {4}, {5, 6}, {7, 8, 9, 10}}
	for i, ids := range turns {
		if i == 2 {
			// Drop the oldest tokens, as a chat does when it outgrows the
			// model: the state must be recomputed.
			all = all[3:]
			s.SetTokens(all)
			if s.Cached() != 0 {
				t.Fatalf("turn %d: %d tokens still cached after cutting the front", i, s.Cached())
			}
		}
		got, err := s.Generate(context.Background(), ids, opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids...)
		want, err := Generate(context.Background(), m, [][]int{all}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Tokens, want[0].Tokens) || got.Reason != want[0].Reason {
			t.Fatalf("turn %d: session %v (%s), Generate %v (%s)", i, got.Tokens, got.Reason, want[0].Tokens, want[0].Reason)
		}
		all = append(all, got.Tokens...)
		if !slices.Equal(s.Tokens(), all) {
			t.Fatalf("turn %d: tokens %v, want %v", i, s.Tokens(), all)
		}
		// The state holds everything but the last reply token, once.
		if fed := s.st.rows[0]; !slices.Equal(fed, all[:len(all)-1]) || s.Cached() != len(fed) {
			t.Fatalf("turn %d: state holds %v (cached %d), want %v", i, fed, s.Cached(), all[:len(all)-1])
		}
	}
	// Appending to the sequence keeps the cache.
	n := s.Cached()
	s.SetTokens(append(s.Tokens(), 3))
	if s.Cached() != n {
		t.Errorf("SetTokens with a longer sequence dropped the cache (%d → %d)", n, s.Cached())
	}
	s.Reset()
	if len(s.Tokens()) != 0 || s.Cached() != 0 {
		t.Errorf("Reset left %v (cached %d)", s.Tokens(), s.Cached())
	}
	if _, err := s.Generate(context.Background(), []int{1}, Options{NumBeams: 2}); err == nil {
		t.Error("Session accepted beam search")
	}
	if _, err := s.Generate(context.Background(), []int{99}, opts); err == nil {
		t.Error("Session accepted an id outside the vocabulary")
	}
}

// rewindLM is toyLM with a state that can be truncated.
type rewindLM struct{ toyLM }

type rewindState struct{ toyState }

func (m *rewindLM) NewState(batch, maxLen int) (*rewindState, error) {
	return &rewindState{toyState{rows: make([][]int, batch)}}, nil
}

func (m *rewindLM) Forward(s *rewindState, ids []int, mask []bool) ([]float32, error) {
	return m.toyLM.Forward(&s.toyState, ids, mask)
}

func (s *rewindState) Truncate(n int) error {
	for i := range s.rows {
		s.rows[i] = s.rows[i][:n]
	}
	return nil
}

// A state with Truncate rewinds to the prefix it shares with new tokens (a
// chat whose re-rendered history differs from what was generated) instead
// of starting over, and continues exactly as a fresh run.
func TestSessionRewind(t *testing.T) {
	m := &rewindLM{toyLM{V: 11, maxLen: 64}}
	opts := Options{SamplingOptions: SamplingOptions{Temperature: 0}, MaxNewTokens: 6}
	s := NewSession(m)
	if _, err := s.Generate(context.Background(), []int{1, 2, 3, 4}, opts); err != nil {
		t.Fatal(err)
	}
	all := s.Tokens()
	edited := append(slices.Clone(all[:6]), 9, 9) // differs from position 6 on
	s.SetTokens(edited)
	if s.Cached() != 6 || !slices.Equal(s.st.rows[0], all[:6]) {
		t.Fatalf("after rewinding: cached %d, state %v; want 6, %v", s.Cached(), s.st.rows[0], all[:6])
	}
	got, err := s.Generate(context.Background(), []int{5}, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(context.Background(), m, [][]int{append(edited, 5)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Tokens, want[0].Tokens) {
		t.Fatalf("after rewinding: %v, fresh run %v", got.Tokens, want[0].Tokens)
	}
}
