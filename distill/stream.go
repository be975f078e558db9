package distill

import (
	"encoding/json"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/train"
)

// stream is the training data of a task: examples in the order of a seeded
// sampler, cut into micro-batches that it numbers, so that the randomness
// of micro-batch k (masking, dropout) is seeded by train.StepSeed(seed, k, …)
// and the resumable state is the sampler's position and k.
type stream[E any] struct {
	examples []E
	sampler  *data.IndexSampler
	seed     uint64
	micro    int // micro-batches drawn so far
	idx      []int
	batch    []E
}

func newStream[E any](examples []E, sampler *data.IndexSampler, batchSize int, seed uint64) *stream[E] {
	return &stream[E]{examples: examples, sampler: sampler, seed: seed, idx: make([]int, batchSize), batch: make([]E, batchSize)}
}

// next returns the next micro-batch (a buffer the following call reuses)
// and, for each of the given random streams, its seed for this micro-batch.
func (st *stream[E]) next(streams ...uint64) ([]E, []uint64) {
	st.sampler.Batch(st.idx)
	for i, j := range st.idx {
		st.batch[i] = st.examples[j]
	}
	seeds := make([]uint64, len(streams))
	for i, s := range streams {
		seeds[i] = train.StepSeed(st.seed, st.micro, s)
	}
	st.micro++
	return st.batch, seeds
}

func (st *stream[E]) state() (json.RawMessage, error) {
	return train.MarshalProgress(st.seed, st.micro, st.sampler)
}

func (st *stream[E]) setState(b json.RawMessage, task string) error {
	return train.RestoreProgress(b, task, st.seed, &st.micro, st.sampler)
}

// savedModel is a BERT training class (ForSequenceClassification,
// ForMaskedLM) as a student's folder holds it.
type savedModel interface {
	nn.Module
	Save(dir string) error
}

// saveStudent writes m's folder into dir, then the extra files.
func saveStudent(m savedModel, dir string, extra func(dir string) error) error {
	if err := m.Save(dir); err != nil {
		return err
	}
	if extra != nil {
		return extra(dir)
	}
	return nil
}

// loadStudent reads the weights of a folder written by saveStudent back
// into m.
func loadStudent(m savedModel, dir string) error { return bert.LoadParams(dir, m.Params()) }
