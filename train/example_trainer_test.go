package train

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
)

// ExampleTrainer fits a line (the Task of task_test.go: two weights, a
// seeded example order, noise seeded per example) with warm-up and cosine
// decay, clipping, evaluation and a checkpoint every 10 steps, then runs
// again with Resume to extend the run from its last checkpoint. The
// model-specific tasks (pretrain.NewCLMTask, finetune.NewClassifyTask, …)
// plug in the same way.
func ExampleTrainer() {
	dir, err := os.MkdirTemp("", "glossa-trainer")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := Config{OutDir: dir, Steps: 30, LR: 0.2, Warmup: 3, Decay: 2, Clip: 1, EvalEvery: 10, SaveEvery: 10,
		Progress: ProgressOptions{Mode: ProgressOff}}
	tr, err := NewTrainer(newLineTask(1, 1, 8), cfg)
	if err != nil {
		log.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("step %d, %s, held-out loss below 0.1: %v\n", res.Step, filepath.Base(res.Checkpoint), res.LastEval.Loss < 0.1)

	cfg.Steps, cfg.Resume = 40, true
	if tr, err = NewTrainer(newLineTask(2, 1, 8), cfg); err != nil { // the weights come from the checkpoint
		log.Fatal(err)
	}
	if res, err = tr.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("resumed to step %d, %s\n", res.Step, filepath.Base(res.Checkpoint))
	// Output:
	// step 30, checkpoint-30, held-out loss below 0.1: true
	// resumed to step 40, checkpoint-40
}
