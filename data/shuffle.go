package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// NewRand returns the generator every seeded operation of this package
// uses: PCG seeded with (seed, seed ^ 0x9e3779b97f4a7c15).
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Permutation returns a seeded random permutation of 0..n-1; the same seed
// gives the same permutation on every platform and Go version that keeps
// math/rand/v2's PCG and Perm stable.
func Permutation(n int, seed uint64) []int {
	return NewRand(seed).Perm(n)
}

// Shuffle shuffles s in place, deterministically for a seed.
func Shuffle[T any](s []T, seed uint64) {
	NewRand(seed).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

// SplitTrainVal shuffles a copy of s with seed and splits it into a
// training part and a validation part holding round(valFraction·len(s))
// items (at least one when valFraction > 0). Both parts must be non-empty.
func SplitTrainVal[T any](s []T, valFraction float64, seed uint64) (train, val []T, err error) {
	if !(valFraction > 0 && valFraction < 1) {
		return nil, nil, fmt.Errorf("data: validation fraction %v must be in (0, 1)", valFraction)
	}
	nVal := max(1, int(valFraction*float64(len(s))+0.5))
	if nVal >= len(s) {
		return nil, nil, fmt.Errorf("data: cannot split %d items with validation fraction %v: one side would be empty", len(s), valFraction)
	}
	c := make([]T, len(s))
	for i, j := range Permutation(len(s), seed) {
		c[i] = s[j]
	}
	return c[nVal:], c[:nVal], nil
}

// IndexSampler yields the indices 0..N-1 in a fresh seeded random order
// every epoch (epoch e's order depends only on the seed and e), for
// batching examples; State and SetState make it resumable.
type IndexSampler struct {
	n     int
	seed  uint64
	epoch int
	index int
	perm  []int

	lengths   []int // GroupByLength: item lengths, nil when off
	megabatch int   // GroupByLength: items sorted together
}

// NewIndexSampler returns a sampler over n ≥ 1 items.
func NewIndexSampler(n int, seed uint64) (*IndexSampler, error) {
	if n < 1 {
		return nil, fmt.Errorf("data: cannot sample from %d items", n)
	}
	s := &IndexSampler{n: n, seed: seed}
	s.newPerm()
	return s, nil
}

func (s *IndexSampler) epochSeed() uint64 { return s.seed ^ uint64(s.epoch)*0x94d049bb133111eb }

// newPerm sets perm to the current epoch's order.
func (s *IndexSampler) newPerm() {
	s.perm = Permutation(s.n, s.epochSeed())
	if s.lengths == nil {
		return
	}
	for lo := 0; lo < s.n; lo += s.megabatch {
		chunk := s.perm[lo:min(lo+s.megabatch, s.n)]
		slices.SortStableFunc(chunk, func(a, b int) int { return s.lengths[b] - s.lengths[a] })
	}
}

// GroupByLength makes every epoch's order put items of similar length
// together, as Hugging Face's group_by_length does, so that padded batches
// waste little: the random order is cut into runs of megabatch items (a
// multiple of the batch size; Hugging Face uses 50 batches), and each run is
// sorted by lengths[i], longest first. Each epoch is still a permutation of
// every item, drawn from the seed alone, so State and SetState resume it
// exactly. It restarts the current epoch's order and should be called
// before the first batch.
func (s *IndexSampler) GroupByLength(lengths []int, megabatch int) error {
	if len(lengths) != s.n || megabatch < 1 {
		return fmt.Errorf("data: GroupByLength with %d lengths for %d items and runs of %d", len(lengths), s.n, megabatch)
	}
	s.lengths, s.megabatch = slices.Clone(lengths), megabatch
	s.newPerm()
	return nil
}

// Next returns the next index, starting a new epoch after the last one.
func (s *IndexSampler) Next() int {
	if s.index == s.n {
		s.epoch++
		s.index = 0
		s.newPerm()
	}
	i := s.perm[s.index]
	s.index++
	return i
}

// Batch fills dst with the next len(dst) indices and returns it (a batch
// may span two epochs).
func (s *IndexSampler) Batch(dst []int) []int {
	for i := range dst {
		dst[i] = s.Next()
	}
	return dst
}

// State returns the current position.
func (s *IndexSampler) State() SamplerState { return SamplerState{Epoch: s.epoch, Index: s.index} }

// SetState moves to a position returned by State.
func (s *IndexSampler) SetState(st SamplerState) error {
	if st.Epoch < 0 || st.Index < 0 || st.Index > s.n {
		return fmt.Errorf("data: invalid sampler state %+v for %d items", st, s.n)
	}
	s.epoch, s.index = st.Epoch, st.Index
	s.newPerm()
	return nil
}
