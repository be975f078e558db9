package finetune_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// Fine-tune a classifier on an encoder folder, then classify with the
// saved model. The encoder here is a random tiny BERT and the task says
// whether a sentence's first word is in the lower half of the vocabulary.
func ExampleNewClassifyTask() {
	dir, err := os.MkdirTemp("", "glossa-finetune")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	encoder, out := filepath.Join(dir, "encoder"), filepath.Join(dir, "classifier")
	cfg := bert.Config{VocabSize: 24, HiddenSize: 32, NumLayers: 1, NumHeads: 2, Intermediate: 64,
		MaxPositions: 16, TypeVocab: 2, HiddenAct: "gelu"}
	pretrained, err := bert.NewForPreTraining(cfg, tensor.NewRNG(1))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.Mkdir(encoder, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := pretrained.Save(encoder); err != nil {
		log.Fatal(err)
	}

	const cls, sep = 1, 2
	rng := data.NewRand(3)
	examples := make([]data.ClassExample, 160)
	for i := range examples {
		ids := []int32{cls, int32(4 + rng.IntN(20)), int32(4 + rng.IntN(20)), sep}
		label := int32(0)
		if ids[1] >= 14 {
			label = 1
		}
		examples[i] = data.ClassExample{InputIDs: ids, TokenTypeIDs: make([]int32, len(ids)), Label: label}
	}
	model, err := finetune.NewClassifier(encoder, []string{"low", "high"}, tensor.NewRNG(2))
	if err != nil {
		log.Fatal(err)
	}
	task, err := finetune.NewClassifyTask(model, examples[:128], finetune.ClassifyOptions{BatchSize: 16, Seed: 1, Dev: examples[128:]})
	if err != nil {
		log.Fatal(err)
	}
	tr, err := train.NewTrainer(task, train.Config{OutDir: out, Steps: 60, LR: 3e-3, Warmup: 6,
		Progress: train.ProgressOptions{Mode: train.ProgressOff}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("dev accuracy %.2f\n", res.LastEval.Metrics["accuracy"])

	saved, err := bert.LoadEncoder(out, &bert.EncoderOptions{Heads: bert.HeadClassifier})
	if err != nil {
		log.Fatal(err)
	}
	probs, err := finetune.Predict(context.Background(), saved, nil, examples[128:130], 2, 0)
	if err != nil {
		log.Fatal(err)
	}
	for i, p := range probs {
		fmt.Printf("first word %d: P(high) = %.2f\n", examples[128+i].InputIDs[1], p[1])
	}
	// Output:
	// dev accuracy 1.00
	// first word 19: P(high) = 1.00
	// first word 11: P(high) = 0.00
}
