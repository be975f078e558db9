package generate

import (
	"context"
	"math"
	"testing"
)

// Score must equal the log-softmax of the toy model's logits along the
// sequence, and reject what does not fit.
func TestScore(t *testing.T) {
	m := &toyLM{V: 9, maxLen: 8}
	prompt, cont := []int{1, 2}, []int{3, 0, 8}
	got, err := Score(context.Background(), m, prompt, cont)
	if err != nil {
		t.Fatal(err)
	}
	hist := append([]int(nil), prompt...)
	for i, id := range cont {
		want := logSoftmax64(m.logits(hist))[id]
		if math.Abs(got[i]-want) > 1e-9 {
			t.Errorf("token %d: %v, want %v", i, got[i], want)
		}
		hist = append(hist, id)
	}
	for _, tc := range []struct {
		name         string
		prompt, cont []int
	}{
		{"empty prompt", nil, []int{1}},
		{"too long", []int{1, 2, 3, 4, 5}, []int{1, 2, 3, 4, 5}},
		{"id outside the vocabulary", []int{1}, []int{9}},
	} {
		if _, err := Score(context.Background(), m, tc.prompt, tc.cont); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
