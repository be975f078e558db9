package pretrain_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/pretrain"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// ExampleNewCLMTask trains a tiny GPT-2 as a causal language model on a token
// stream, with warm-up and cosine decay, clipping, periodic evaluation and
// checkpoints. Running it again with Resume set would continue from the
// last checkpoint exactly.
func ExampleNewCLMTask() {
	dir, err := os.MkdirTemp("", "glossa-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// A token stream with structure: 0 1 2 … 15 0 1 2 …
	toks := make(data.IDs, 4096)
	for i := range toks {
		toks[i] = int32(i % 16)
	}
	trainSrc, valSrc, err := data.SplitTokens(toks, 0.1, 17)
	if err != nil {
		log.Fatal(err)
	}
	eval, err := data.EvalBlocks(valSrc, 16, 8)
	if err != nil {
		log.Fatal(err)
	}
	model, err := gpt2.New(gpt2.Config{VocabSize: 16, NumPos: 16, NumEmbd: 32, NumLayer: 2, NumHead: 2}, tensor.NewRNG(1))
	if err != nil {
		log.Fatal(err)
	}
	task, err := pretrain.NewCLMTask(model, trainSrc, pretrain.CLMOptions{BatchSize: 8, Seed: 1, Eval: eval})
	if err != nil {
		log.Fatal(err)
	}
	tr, err := train.NewTrainer(task, train.Config{
		OutDir: dir, Steps: 60, LR: 1e-2, Warmup: 5, Decay: optim.DecayCosine, Clip: 1,
		EvalEvery: 20, SaveEvery: 20, Progress: train.ProgressOptions{Mode: train.ProgressOff},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("steps %d, checkpoint %s, perplexity below 2: %v\n",
		res.Step, filepath.Base(res.Checkpoint), res.LastEval.Metrics["perplexity"] < 2)
	// Output: steps 60, checkpoint checkpoint-60, perplexity below 2: true
}
