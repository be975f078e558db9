package generate

import (
	"math"
	"testing"
)

func TestArgmaxTiesAndNaN(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		logits []float32
		want   int
	}{
		{[]float32{1, 3, 3, 2}, 1},
		{[]float32{nan, -1, -2}, 1},
		{[]float32{-5}, 0},
		{[]float32{nan, nan}, 0},
	}
	for _, tc := range tests {
		if got := Argmax(tc.logits); got != tc.want {
			t.Errorf("Argmax(%v) = %d, want %d", tc.logits, got, tc.want)
		}
	}
}

func TestApplyPenalties(t *testing.T) {
	logits := []float32{2, -2, 1, 0.5}
	ApplyPenalties(logits, []int{0, 1, 1, 9, -1}, SamplingOptions{RepetitionPenalty: 2, PresencePenalty: 0.5, FrequencyPenalty: 0.25})
	want := []float32{2.0/2 - 0.5 - 0.25, -2*2 - 0.5 - 0.5, 1, 0.5}
	for i := range want {
		if math.Abs(float64(logits[i]-want[i])) > 1e-6 {
			t.Fatalf("logits = %v, want %v", logits, want)
		}
	}
}

func TestGreedyIsArgmax(t *testing.T) {
	s, err := NewSampler(SamplingOptions{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next([]float32{0.1, 0.9, 0.3}, nil); got != 1 {
		t.Fatalf("greedy picked %d", got)
	}
}

// sampleFreq draws n tokens and returns their frequencies.
func sampleFreq(t *testing.T, opts SamplingOptions, logits []float32, n int) []float64 {
	t.Helper()
	s, err := NewSampler(opts, 42)
	if err != nil {
		t.Fatal(err)
	}
	freq := make([]float64, len(logits))
	buf := make([]float32, len(logits))
	for i := 0; i < n; i++ {
		copy(buf, logits)
		freq[s.Next(buf, nil)]++
	}
	for i := range freq {
		freq[i] /= float64(n)
	}
	return freq
}

func TestSamplingDistributions(t *testing.T) {
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.15)), float32(math.Log(0.05))}
	const n = 40000
	tests := []struct {
		name string
		opts SamplingOptions
		want []float64
	}{
		{"plain", SamplingOptions{Temperature: 1}, []float64{0.5, 0.3, 0.15, 0.05}},
		{"top-k 2", SamplingOptions{Temperature: 1, TopK: 2}, []float64{0.625, 0.375, 0, 0}},
		{"top-p 0.8", SamplingOptions{Temperature: 1, TopP: 0.8}, []float64{0.625, 0.375, 0, 0}},
		{"top-p 0.81", SamplingOptions{Temperature: 1, TopP: 0.81}, []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}},
		{"min-p 0.35", SamplingOptions{Temperature: 1, MinP: 0.35}, []float64{0.625, 0.375, 0, 0}},
		{"temperature 0.5", SamplingOptions{Temperature: 0.5}, []float64{0.25 / 0.365, 0.09 / 0.365, 0.0225 / 0.365, 0.0025 / 0.365}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sampleFreq(t, tc.opts, logits, n)
			for i := range got {
				sigma := math.Sqrt(tc.want[i]*(1-tc.want[i])/n) + 1e-9
				if math.Abs(got[i]-tc.want[i]) > 5*sigma+1e-12 {
					t.Errorf("token %d: freq %.4f, want %.4f (±%.4f)", i, got[i], tc.want[i], 5*sigma)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []SamplingOptions{
		{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {RepetitionPenalty: math.NaN()},
		{Temperature: math.Inf(1)}, {PresencePenalty: math.Inf(1)},
	}
	for _, o := range bad {
		if o.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want error", o)
		}
	}
	if err := (SamplingOptions{Temperature: 0.7, TopK: 40, TopP: 0.9}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestSeededSamplingIsDeterministic(t *testing.T) {
	logits := []float32{1, 2, 3, 4, 5}
	a := sampleFreq(t, SamplingOptions{Temperature: 1.3}, logits, 500)
	b := sampleFreq(t, SamplingOptions{Temperature: 1.3}, logits, 500)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed gave different draws")
		}
	}
}
