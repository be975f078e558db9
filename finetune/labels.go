package finetune

import (
	"fmt"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// checkSizes returns the error of a task that draws micro-batches of
// batchSize from n training examples, if it cannot.
func checkSizes(task string, batchSize, n int) error {
	if batchSize <= 0 {
		return fmt.Errorf("finetune: %s: batch size %d, want > 0", task, batchSize)
	}
	if n == 0 {
		return fmt.Errorf("finetune: %s: no training examples", task)
	}
	return nil
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

// LabelNames returns the class names of a model's config in id order
// (id2label; "LABEL_i" where it names none).
func LabelNames(cfg bert.Config) []string {
	labels := make([]string, cfg.Labels())
	for i := range labels {
		labels[i] = cfg.LabelName(i)
	}
	return labels
}

// NewClassSampler returns the sampler of classification examples that
// ClassifyTask draws from: a seeded order per epoch, with groupByLength
// sorted by length in runs of 50 batches (see ClassifyOptions.GroupByLength).
func NewClassSampler(examples []data.ClassExample, batchSize int, seed uint64, groupByLength bool) (*data.IndexSampler, error) {
	return microbatch.NewSampler(len(examples), batchSize, seed, groupByLength, func(i int) int { return len(examples[i].InputIDs) })
}
