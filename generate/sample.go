package generate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// SamplingOptions choose how the next token is picked from the logits. The
// zero value means greedy decoding with no penalties.
type SamplingOptions struct {
	// Temperature divides the logits before sampling. 0 means greedy (argmax);
	// 1 leaves them unchanged.
	Temperature float64 `json:"temperature"`
	// TopK keeps only the K most likely tokens. 0 disables it.
	TopK int `json:"top_k"`
	// TopP keeps the smallest set of most likely tokens whose probability sums
	// to at least P (nucleus sampling). 0 or 1 disables it.
	TopP float64 `json:"top_p"`
	// MinP drops tokens whose probability is below MinP times the most likely
	// token's. 0 disables it.
	MinP float64 `json:"min_p"`
	// RepetitionPenalty divides positive logits (and multiplies negative ones)
	// of tokens already in the context, as in the CTRL paper and HF. 0 or 1
	// disables it.
	RepetitionPenalty float64 `json:"repetition_penalty"`
	// PresencePenalty is subtracted once from the logit of every token that
	// occurred, and FrequencyPenalty once per occurrence (OpenAI semantics).
	PresencePenalty  float64 `json:"presence_penalty"`
	FrequencyPenalty float64 `json:"frequency_penalty"`
}

// Validate reports options that make no sense.
func (o SamplingOptions) Validate() error {
	switch {
	case o.Temperature < 0 || math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("generate: temperature %v must be finite and >= 0", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("generate: top_k %d must be >= 0", o.TopK)
	case o.TopP < 0 || o.TopP > 1 || math.IsNaN(o.TopP):
		return fmt.Errorf("generate: top_p %v must be in [0, 1]", o.TopP)
	case o.MinP < 0 || o.MinP > 1 || math.IsNaN(o.MinP):
		return fmt.Errorf("generate: min_p %v must be in [0, 1]", o.MinP)
	case o.RepetitionPenalty < 0 || math.IsNaN(o.RepetitionPenalty) || math.IsInf(o.RepetitionPenalty, 0):
		return fmt.Errorf("generate: repetition_penalty %v must be finite and >= 0", o.RepetitionPenalty)
	case math.IsNaN(o.PresencePenalty) || math.IsInf(o.PresencePenalty, 0),
		math.IsNaN(o.FrequencyPenalty) || math.IsInf(o.FrequencyPenalty, 0):
		return errors.New("generate: presence and frequency penalties must be finite")
	}
	return nil
}

// Greedy reports whether the options pick the argmax.
func (o SamplingOptions) Greedy() bool { return o.Temperature == 0 }

// Sampler picks next tokens. It owns scratch space, so one Sampler serves one
// sequence (or one goroutine) at a time.
type Sampler struct {
	opts   SamplingOptions
	rng    *rand.Rand
	idx    []int
	probs  []float64
	counts map[int]int // penalty scratch, reused
}

// NewSampler returns a sampler with the given options drawing from a PCG
// generator seeded with seed.
func NewSampler(opts SamplingOptions, seed uint64) (*Sampler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{opts: opts, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}, nil
}

// ApplyPenalties adjusts logits in place for the tokens in context:
// the repetition penalty first, then presence and frequency penalties.
func ApplyPenalties(logits []float32, context []int, opts SamplingOptions) {
	applyPenalties(logits, context, opts, nil)
}

// applyPenalties is ApplyPenalties counting occurrences in counts (a map
// reused across calls when not nil).
func applyPenalties(logits []float32, context []int, opts SamplingOptions, counts map[int]int) {
	rp := opts.RepetitionPenalty
	usePenalty := rp != 0 && rp != 1
	if !usePenalty && opts.PresencePenalty == 0 && opts.FrequencyPenalty == 0 {
		return
	}
	if counts == nil {
		counts = make(map[int]int, len(context))
	} else {
		clear(counts)
	}
	for _, id := range context {
		if id >= 0 && id < len(logits) {
			counts[id]++
		}
	}
	for id, n := range counts {
		l := logits[id]
		if usePenalty {
			if l > 0 {
				l = float32(float64(l) / rp)
			} else {
				l = float32(float64(l) * rp)
			}
		}
		if n > 0 && opts.PresencePenalty != 0 {
			l -= float32(opts.PresencePenalty)
		}
		l -= float32(opts.FrequencyPenalty * float64(n))
		logits[id] = l
	}
}

// Argmax returns the index of the largest logit; ties go to the lowest index
// (as torch.argmax). NaNs are never chosen unless all logits are NaN.
func Argmax(logits []float32) int {
	best := -1
	var bv float32
	for i, v := range logits {
		if v != v {
			continue
		}
		if best < 0 || v > bv {
			best, bv = i, v
		}
	}
	if best < 0 {
		return 0
	}
	return best
}

// Next applies the penalties for context and picks the next token from
// logits, which it may modify.
func (s *Sampler) Next(logits []float32, context []int) int {
	s.penalize(logits, context)
	return s.pick(logits)
}

// penalize applies the penalties for context to logits.
func (s *Sampler) penalize(logits []float32, context []int) {
	if s.counts == nil {
		s.counts = map[int]int{}
	}
	applyPenalties(logits, context, s.opts, s.counts)
}

// pick chooses the next token from (penalised) logits.
func (s *Sampler) pick(logits []float32) int {
	if s.opts.Greedy() {
		return Argmax(logits)
	}
	return s.sample(logits)
}

// sample draws from softmax(logits/T) restricted by top-k, top-p and min-p.
func (s *Sampler) sample(logits []float32) int {
	t := s.opts.Temperature
	// Candidates sorted by logit, descending; ties by id for determinism.
	s.idx = s.idx[:0]
	for i, v := range logits {
		if v == v && !math.IsInf(float64(v), -1) {
			s.idx = append(s.idx, i)
		}
	}
	if len(s.idx) == 0 {
		return Argmax(logits)
	}
	k := len(s.idx)
	if s.opts.TopK > 0 && s.opts.TopK < k {
		k = s.opts.TopK
	}
	if k < len(s.idx) {
		// Partial selection: only the k best need ordering.
		sort.Slice(s.idx, func(a, b int) bool {
			la, lb := logits[s.idx[a]], logits[s.idx[b]]
			return la > lb || (la == lb && s.idx[a] < s.idx[b])
		})
		s.idx = s.idx[:k]
	} else {
		slices.SortFunc(s.idx, func(a, b int) int {
			la, lb := logits[a], logits[b]
			switch {
			case la > lb:
				return -1
			case la < lb:
				return 1
			}
			return a - b
		})
	}
	// Softmax over the candidates at temperature t.
	s.probs = s.probs[:0]
	m := float64(logits[s.idx[0]]) / t
	var sum float64
	for _, id := range s.idx {
		p := math.Exp(float64(logits[id])/t - m)
		s.probs = append(s.probs, p)
		sum += p
	}
	for i := range s.probs {
		s.probs[i] /= sum
	}
	keep := len(s.probs)
	if p := s.opts.TopP; p > 0 && p < 1 {
		var c float64
		for i, q := range s.probs {
			c += q
			if c >= p {
				keep = i + 1
				break
			}
		}
	}
	if mp := s.opts.MinP; mp > 0 {
		thr := mp * s.probs[0]
		for i := 1; i < keep; i++ {
			if s.probs[i] < thr {
				keep = i
				break
			}
		}
	}
	var total float64
	for _, q := range s.probs[:keep] {
		total += q
	}
	r := s.rng.Float64() * total
	for i, q := range s.probs[:keep] {
		r -= q
		if r < 0 {
			return s.idx[i]
		}
	}
	return s.idx[keep-1]
}
