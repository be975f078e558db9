package pretrain

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/train"
)

// CLMTask trains a GPT-2 as a causal language model on contiguous blocks of
// a token stream (GPT's objective), through gpt2.Trainer's fused forward and
// backward layers. Its data order comes from a seeded data.BlockSampler,
// whose position is the task's resumable state.
type CLMTask struct {
	model   *gpt2.Model
	fused   *gpt2.Trainer
	params  []optim.Param
	sampler *data.BlockSampler
	eval    [][]int32
	B, T    int
	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the model is saved to.
	SaveExtra func(dir string) error

	seed  uint64
	block []int32
	x, y  []int
}

// CLMOptions configure NewCLMTask.
type CLMOptions struct {
	// BatchSize is the number of blocks per micro-batch (B, required).
	BatchSize int
	// Seed seeds the block order.
	Seed uint64
	// Eval holds the validation blocks of BlockSize+1 tokens (see
	// data.EvalBlocks); none means Evaluate reports no loss.
	Eval [][]int32
	// BF16 trains (and evaluates) in bfloat16 mixed precision: bfloat16
	// products with float32 sums, float32 master weights, gradients and
	// optimizer state (gpt2.Trainer.SetBF16). False: float32.
	BF16 bool
}

// NewCLMTask returns a causal-LM task over model and the training tokens
// tokens. Blocks are the model's context length (n_positions) long.
func NewCLMTask(model *gpt2.Model, tokens data.TokenSource, opts CLMOptions) (*CLMTask, error) {
	T := model.Config.NumPos
	if opts.BatchSize <= 0 {
		return nil, fmt.Errorf("pretrain: clm: batch size %d, want > 0", opts.BatchSize)
	}
	if tokens.Len() < T+1 {
		return nil, fmt.Errorf("pretrain: clm: training data has %d tokens, fewer than one block of %d+1: use a larger corpus or a smaller --block-size", tokens.Len(), T)
	}
	s, err := data.NewBlockSampler(tokens, T, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("pretrain: clm: %w", err)
	}
	for i, b := range opts.Eval {
		if len(b) != T+1 {
			return nil, fmt.Errorf("pretrain: clm: eval block %d has %d tokens, want %d", i, len(b), T+1)
		}
	}
	B := opts.BatchSize
	fused := gpt2.NewTrainer(model)
	fused.SetBF16(opts.BF16)
	return &CLMTask{
		model: model, fused: fused, params: nn.OptimParams(model.Params()),
		sampler: s, eval: opts.Eval, B: B, T: T, seed: opts.Seed,
		block: make([]int32, T+1), x: make([]int, B*T), y: make([]int, B*T),
	}, nil
}

// Params implements train.Task.
func (c *CLMTask) Params() []optim.Param { return c.params }

// fill copies blocks into the input and target buffers: x = block[:T],
// y = block[1:].
func (c *CLMTask) fill(b int, block []int32) {
	T := c.T
	for t := range T {
		c.x[b*T+t] = int(block[t])
		c.y[b*T+t] = int(block[t+1])
	}
}

// Step implements train.Task: one micro-batch of B blocks.
func (c *CLMTask) Step(ctx context.Context) (float64, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	for b := range c.B {
		c.sampler.Next(c.block)
		c.fill(b, c.block)
	}
	if _, err := c.fused.Forward(c.x, c.B, c.T); err != nil {
		return 0, 0, err
	}
	loss, err := c.fused.Loss(c.y)
	if err != nil {
		return 0, 0, err
	}
	if err := c.fused.Backward(); err != nil {
		return 0, 0, err
	}
	return float64(loss), c.B * c.T, nil
}

// Evaluate implements train.Task: the mean loss over the validation blocks
// (in batches of B; a last partial batch is padded with ignored targets)
// and its perplexity. Gradients are not touched.
func (c *CLMTask) Evaluate(ctx context.Context) (train.Eval, error) {
	if len(c.eval) == 0 {
		return train.Eval{Loss: 0, Metrics: map[string]float64{}}, nil
	}
	var sum float64
	var n int
	for i := 0; i < len(c.eval); i += c.B {
		if err := ctx.Err(); err != nil {
			return train.Eval{}, err
		}
		rows := min(c.B, len(c.eval)-i)
		for b := range c.B {
			if b < rows {
				c.fill(b, c.eval[i+b])
				continue
			}
			for t := range c.T {
				c.x[b*c.T+t], c.y[b*c.T+t] = 0, metrics.IgnoreIndex
			}
		}
		if _, err := c.fused.Forward(c.x, c.B, c.T); err != nil {
			return train.Eval{}, err
		}
		loss, err := c.fused.Loss(c.y)
		if err != nil {
			return train.Eval{}, err
		}
		sum += float64(loss) * float64(rows)
		n += rows
	}
	mean := sum / float64(n)
	return train.Eval{Loss: mean, Metrics: map[string]float64{"perplexity": metrics.Perplexity(mean)}}, nil
}

// Save implements train.Task: config.json, model.safetensors and SaveExtra's
// files.
func (c *CLMTask) Save(dir string) error {
	if err := c.model.Save(dir); err != nil {
		return err
	}
	if c.SaveExtra != nil {
		return c.SaveExtra(dir)
	}
	return nil
}

// LoadWeights implements train.WeightLoader.
func (c *CLMTask) LoadWeights(dir string) error {
	return c.model.LoadSafetensors(filepath.Join(dir, "model.safetensors"))
}

// clmState is the resumable state of a CLMTask.
type clmState struct {
	Seed    uint64            `json:"seed"`
	Sampler data.SamplerState `json:"sampler"`
}

// State implements train.Task.
func (c *CLMTask) State() (json.RawMessage, error) {
	return json.Marshal(clmState{Seed: c.seed, Sampler: c.sampler.State()})
}

// SetState implements train.Task.
func (c *CLMTask) SetState(b json.RawMessage) error {
	var st clmState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("pretrain: clm state: %w", err)
	}
	if st.Seed != c.seed {
		return fmt.Errorf("pretrain: clm state: checkpoint was written with data seed %d, this run has %d", st.Seed, c.seed)
	}
	return c.sampler.SetState(st.Sampler)
}

var _ interface {
	train.Task
	train.WeightLoader
} = (*CLMTask)(nil)
