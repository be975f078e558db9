package train

import (
	"encoding/json"
	"fmt"

	"github.com/glossa-ai/glossa/data"
)

// Helpers for Tasks written outside this package (package distill's), so
// that their randomness and resumable state follow the built-in tasks'.

// StepSeed returns the seed of random stream stream (masking, dropout, …)
// at micro-batch step of a run seeded with seed: a pure function of the
// three, so that a resumed run needs no generator state.
func StepSeed(seed uint64, step int, stream uint64) uint64 { return stepSeed(seed, step, stream) }

// MarshalProgress returns the resumable state of a task that draws examples
// with an IndexSampler: the run's seed, the micro-batches drawn so far and
// the sampler's position (the JSON the built-in classification and
// masked-LM tasks store in trainer_state.json).
func MarshalProgress(seed uint64, micro int, s *data.IndexSampler) (json.RawMessage, error) {
	return marshalProgress(seed, micro, s)
}

// RestoreProgress reads a state written by MarshalProgress into micro and
// s. A state of another seed is an error (a checkpoint resumes only its own
// run); task names the task in errors.
func RestoreProgress(b json.RawMessage, task string, seed uint64, micro *int, s *data.IndexSampler) error {
	return restoreProgress(b, task, seed, micro, s)
}

// CheckClassLabels returns an error naming the first example of the sets
// whose label is not a class id of a model with n classes (0 ≤ label < n).
func CheckClassLabels(n int, sets ...[]data.ClassExample) error {
	for _, set := range sets {
		for i, e := range set {
			if e.Label < 0 || int(e.Label) >= n {
				return fmt.Errorf("example %d has label id %d outside the model's %d classes", i, e.Label, n)
			}
		}
	}
	return nil
}

// NewClassSampler returns the sampler of classification examples that
// ClassifyTask draws from: a seeded order per epoch, with groupByLength
// sorted by length in runs of 50 batches (see ClassifyOptions.GroupByLength).
func NewClassSampler(examples []data.ClassExample, batchSize int, seed uint64, groupByLength bool) (*data.IndexSampler, error) {
	s, err := data.NewIndexSampler(len(examples), seed)
	if err != nil || !groupByLength {
		return s, err
	}
	lengths := make([]int, len(examples))
	for i, e := range examples {
		lengths[i] = len(e.InputIDs)
	}
	return s, s.GroupByLength(lengths, 50*batchSize)
}
