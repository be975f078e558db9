package generate

import (
	"slices"
	"testing"
)

// TestPerRowMatchesForward checks the per-row adapter against the model's own
// Forward: rows join, step together and leave without affecting each other.
func TestPerRowMatchesForward(t *testing.T) {
	m := &toyLM{V: 11, maxLen: 64}
	b, err := PerRow[*toyState](m).NewBatch(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := func(seq []int) []float32 {
		st, _ := m.NewState(1, 0)
		l, err := m.Forward(st, seq, nil)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(l)
	}
	seqs := [][]int{{1, 2, 3}, {4}, {5, 6}}
	logits, err := b.Step([]int{0, 2}, [][]int{seqs[0], seqs[2]})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logits[:11], want(seqs[0])) || !slices.Equal(logits[11:22], want(seqs[2])) {
		t.Fatal("prefill logits differ from Forward")
	}
	seqs[0] = append(seqs[0], 7)
	seqs[1] = append(seqs[1], 8)
	logits, err = b.Step([]int{1, 0}, [][]int{seqs[1], {7}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logits[:11], want(seqs[1])) || !slices.Equal(logits[11:22], want(seqs[0])) {
		t.Fatal("step logits differ from Forward")
	}
	if b.Len(0) != 4 || b.Len(1) != 2 || b.Len(2) != 2 {
		t.Fatalf("lengths %d %d %d", b.Len(0), b.Len(1), b.Len(2))
	}
	b.Clear(0)
	if b.Len(0) != 0 {
		t.Fatal("Clear kept positions")
	}
	for _, tc := range []struct {
		name   string
		rows   []int
		tokens [][]int
	}{
		{"no rows", nil, nil},
		{"row out of range", []int{3}, [][]int{{1}}},
		{"row twice", []int{1, 1}, [][]int{{1}, {2}}},
		{"empty tokens", []int{1}, [][]int{{}}},
		{"bad id", []int{1}, [][]int{{11}}},
		{"mismatch", []int{1, 2}, [][]int{{1}}},
	} {
		if _, err := b.Step(tc.rows, tc.tokens); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
