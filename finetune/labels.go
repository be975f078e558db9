package finetune

import (
	"fmt"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/train/microbatch"
)

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
	return microbatch.NewSampler(len(examples), batchSize, seed, groupByLength, func(i int) int { return len(examples[i].InputIDs) })
}
