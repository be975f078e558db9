package train

import (
	"encoding/json"

	"github.com/glossa-ai/glossa/data"
)

// The helpers a Task outside this package needs to resume exactly as the
// tasks here do.

// StreamDropout names the dropout stream for StepSeed.
const StreamDropout = streamDropout

// StepSeed returns the seed of random stream stream (StreamDropout, …) for
// micro-batch step of a run seeded with seed: a mix of the three, so that
// each micro-batch draws from generators that depend on nothing else and a
// resumed run draws the same numbers.
func StepSeed(seed uint64, step int, stream uint64) uint64 { return stepSeed(seed, step, stream) }

// MarshalProgress returns the resumable state of a task that draws its
// examples with a data.IndexSampler: the run's seed, the micro-batches
// drawn so far and the sampler's position (the form Task.State returns).
func MarshalProgress(seed uint64, micro int, s *data.IndexSampler) (json.RawMessage, error) {
	return marshalProgress(seed, micro, s)
}

// RestoreProgress reads a state written by MarshalProgress into micro and
// s; a state of another seed is an error (a checkpoint resumes only its own
// run). task names the task in errors.
func RestoreProgress(b json.RawMessage, task string, seed uint64, micro *int, s *data.IndexSampler) error {
	return restoreProgress(b, task, seed, micro, s)
}
