// Package microbatch holds what the training tasks of Glossa share between
// the Trainer and their model: a Stream of micro-batches drawn from
// examples in a seeded per-epoch order, numbered so that the randomness of
// micro-batch k (masking, dropout) is seeded from (seed, k) with
// train.StepSeed, and a Learner that runs one network's forward and
// backward pass over it. A task built on them resumes exactly: its state is
// the sampler's position and k, saved in the trainer_state.json of a
// checkpoint as
//
//	{"seed": 7, "micro_batches": 120, "sampler": {"epoch": 1, "index": 56}}
//
// The package knows no model: a task's forward pass is a function it is
// given.
package microbatch

import (
	"encoding/json"
	"fmt"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/train"
)

// Stream is a task's training data: examples in the order of a seeded
// sampler, cut into micro-batches of a fixed size that it numbers. It is
// used from one goroutine.
type Stream[E any] struct {
	examples []E
	sampler  *data.IndexSampler
	seed     uint64
	micro    int // micro-batches drawn so far
	idx      []int
	batch    []E
}

// NewStream returns a Stream of micro-batches of size examples drawn by
// sampler (over len(examples) items) for a run seeded with seed.
func NewStream[E any](examples []E, sampler *data.IndexSampler, size int, seed uint64) *Stream[E] {
	return &Stream[E]{examples: examples, sampler: sampler, seed: seed, idx: make([]int, size), batch: make([]E, size)}
}

// Next returns the next micro-batch (a buffer the following call reuses)
// and, for each of the given random streams, its seed for this micro-batch:
// train.StepSeed(seed, k, stream) for the k-th micro-batch (from 0).
func (s *Stream[E]) Next(streams ...uint64) ([]E, []uint64) {
	s.sampler.Batch(s.idx)
	for i, j := range s.idx {
		s.batch[i] = s.examples[j]
	}
	seeds := make([]uint64, len(streams))
	for i, st := range streams {
		seeds[i] = train.StepSeed(s.seed, s.micro, st)
	}
	s.micro++
	return s.batch, seeds
}

// Seed returns the run's seed.
func (s *Stream[E]) Seed() uint64 { return s.seed }

// Drawn returns the number of micro-batches drawn so far.
func (s *Stream[E]) Drawn() int { return s.micro }

// progress is the JSON form of a Stream's resumable state: the run's seed
// (a checkpoint only resumes the same run), the micro-batches drawn so far
// and the sampler's position.
type progress struct {
	Seed    uint64            `json:"seed"`
	Micro   int               `json:"micro_batches"`
	Sampler data.SamplerState `json:"sampler"`
}

// State returns the stream's resumable state as JSON (the form a
// train.Task's State returns).
func (s *Stream[E]) State() (json.RawMessage, error) {
	return json.Marshal(progress{Seed: s.seed, Micro: s.micro, Sampler: s.sampler.State()})
}

// SetState restores a state returned by State; a state of another seed is
// an error (a checkpoint resumes only its own run). task names the task in
// errors ("mlm", "classify", …).
func (s *Stream[E]) SetState(b json.RawMessage, task string) error {
	var st progress
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("%s state: %w", task, err)
	}
	if st.Seed != s.seed {
		return fmt.Errorf("%s state: checkpoint was written with seed %d, this run has %d", task, st.Seed, s.seed)
	}
	if st.Micro < 0 {
		return fmt.Errorf("%s state: %d micro-batches drawn, want ≥ 0", task, st.Micro)
	}
	if err := s.sampler.SetState(st.Sampler); err != nil {
		return fmt.Errorf("%s state: %w", task, err)
	}
	s.micro = st.Micro
	return nil
}

// NewSampler returns the sampler of n examples that a task draws from: a
// seeded order per epoch; with groupByLength (Hugging Face's
// group_by_length) the shuffled order is sorted by length(i) in runs of 50
// micro-batches of size examples, so that batches padded to their longest
// example compute little padding.
func NewSampler(n, size int, seed uint64, groupByLength bool, length func(i int) int) (*data.IndexSampler, error) {
	s, err := data.NewIndexSampler(n, seed)
	if err != nil || !groupByLength {
		return s, err
	}
	lengths := make([]int, n)
	for i := range lengths {
		lengths[i] = length(i)
	}
	return s, s.GroupByLength(lengths, 50*size)
}
