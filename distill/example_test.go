package distill_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/distill"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// ExampleLayerMap shows which teacher layers a student starts from.
func ExampleLayerMap() {
	for _, c := range [][2]int{{12, 6}, {4, 2}, {6, 2}} {
		layers, err := distill.LayerMap(c[0], c[1])
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d → %d: %v\n", c[0], c[1], layers)
	}
	// Output:
	// 12 → 6: [0 2 4 7 9 11]
	// 4 → 2: [0 3]
	// 6 → 2: [0 5]
}

// ExampleNewClassify distils a 4-layer classifier into a 2-layer student cut
// from it, with the soft targets at temperature 2 and the gold labels, on the
// Trainer (which would also resume the run from its checkpoints).
func ExampleNewClassify() {
	cfg := bert.Config{VocabSize: 30, HiddenSize: 16, NumLayers: 4, NumHeads: 2, Intermediate: 32, MaxPositions: 16,
		ID2Label: map[int]string{0: "neg", 1: "pos"}}
	teacher, err := bert.NewForSequenceClassification(cfg, tensor.NewRNG(1)) // a fine-tuned classifier in practice
	if err != nil {
		log.Fatal(err)
	}
	student, err := distill.NewClassifierStudent(teacher, []int{0, 3})
	if err != nil {
		log.Fatal(err)
	}
	fast, err := teacher.Encoder(nil) // the teacher on the inference path
	if err != nil {
		log.Fatal(err)
	}
	var examples []data.ClassExample
	for i := range 64 {
		ids := []int32{1, int32(3 + i%27), int32(3 + i*7%27), 2}
		examples = append(examples, data.ClassExample{InputIDs: ids, TokenTypeIDs: make([]int32, 4), Label: int32(i % 2)})
	}
	task, err := distill.NewClassify(student, fast, examples, distill.ClassifyOptions{BatchSize: 16, Seed: 1,
		Dev: examples[:16]}) // default temperature 2, weights KL 0.5, CE 0.5
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "distill-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tr, err := train.NewTrainer(task, train.Config{OutDir: dir, Steps: 10, LR: 1e-3,
		Progress: train.ProgressOptions{Mode: train.ProgressOff}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	saved, err := bert.LoadEncoder(dir, nil) // an ordinary BertForSequenceClassification folder
	if err != nil {
		log.Fatal(err)
	}
	_, hasAgreement := res.LastEval.Metrics["agreement"]
	fmt.Printf("%d steps; student of %d layers with heads %v; agreement reported: %v\n",
		res.Step, saved.Config.NumLayers, saved.Heads(), hasAgreement)
	// Output: 10 steps; student of 2 layers with heads Pooler|SequenceClassification; agreement reported: true
}
