package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
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
// train. Blocks are the model's context length (n_positions) long.
func NewCLMTask(model *gpt2.Model, train data.TokenSource, opts CLMOptions) (*CLMTask, error) {
	T := model.Config.NumPos
	if opts.BatchSize <= 0 {
		return nil, fmt.Errorf("train: clm: batch size %d, want > 0", opts.BatchSize)
	}
	if train.Len() < T+1 {
		return nil, fmt.Errorf("train: clm: training data has %d tokens, fewer than one block of %d+1: use a larger corpus or a smaller --block-size", train.Len(), T)
	}
	s, err := data.NewBlockSampler(train, T, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: clm: %w", err)
	}
	for i, b := range opts.Eval {
		if len(b) != T+1 {
			return nil, fmt.Errorf("train: clm: eval block %d has %d tokens, want %d", i, len(b), T+1)
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

// Params implements Task.
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

// Step implements Task: one micro-batch of B blocks.
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

// Evaluate implements Task: the mean loss over the validation blocks
// (in batches of B; a last partial batch is padded with ignored targets)
// and its perplexity. Gradients are not touched.
func (c *CLMTask) Evaluate(ctx context.Context) (Eval, error) {
	if len(c.eval) == 0 {
		return Eval{Loss: 0, Metrics: map[string]float64{}}, nil
	}
	var sum float64
	var n int
	for i := 0; i < len(c.eval); i += c.B {
		if err := ctx.Err(); err != nil {
			return Eval{}, err
		}
		rows := min(c.B, len(c.eval)-i)
		for b := range c.B {
			if b < rows {
				c.fill(b, c.eval[i+b])
				continue
			}
			for t := range c.T {
				c.x[b*c.T+t], c.y[b*c.T+t] = 0, IgnoreIndex
			}
		}
		if _, err := c.fused.Forward(c.x, c.B, c.T); err != nil {
			return Eval{}, err
		}
		loss, err := c.fused.Loss(c.y)
		if err != nil {
			return Eval{}, err
		}
		sum += float64(loss) * float64(rows)
		n += rows
	}
	mean := sum / float64(n)
	return Eval{Loss: mean, Metrics: map[string]float64{"perplexity": Perplexity(mean)}}, nil
}

// Save implements Task: config.json, model.safetensors and SaveExtra's
// files.
func (c *CLMTask) Save(dir string) error {
	if err := SaveGPT2(c.model, dir); err != nil {
		return err
	}
	if c.SaveExtra != nil {
		return c.SaveExtra(dir)
	}
	return nil
}

// LoadWeights implements WeightLoader.
func (c *CLMTask) LoadWeights(dir string) error {
	return c.model.LoadSafetensors(filepath.Join(dir, "model.safetensors"))
}

// clmState is the resumable state of a CLMTask.
type clmState struct {
	Seed    uint64            `json:"seed"`
	Sampler data.SamplerState `json:"sampler"`
}

// State implements Task.
func (c *CLMTask) State() (json.RawMessage, error) {
	return json.Marshal(clmState{Seed: c.seed, Sampler: c.sampler.State()})
}

// SetState implements Task.
func (c *CLMTask) SetState(b json.RawMessage) error {
	var st clmState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("train: clm state: %w", err)
	}
	if st.Seed != c.seed {
		return fmt.Errorf("train: clm state: checkpoint was written with data seed %d, this run has %d", st.Seed, c.seed)
	}
	return c.sampler.SetState(st.Sampler)
}

// SaveGPT2 writes m as a Hugging Face GPT2LMHeadModel folder: config.json
// and model.safetensors.
func SaveGPT2(m *gpt2.Model, dir string) error {
	raw, err := json.Marshal(m.Config)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	cfg["model_type"] = "gpt2"
	cfg["architectures"] = []string{"GPT2LMHeadModel"}
	if cfg["n_inner"] == nil {
		delete(cfg, "n_inner")
	}
	if cfg["tie_word_embeddings"] == nil {
		delete(cfg, "tie_word_embeddings")
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return err
	}
	return m.SaveSafetensors(filepath.Join(dir, "model.safetensors"))
}

// writeJSON writes v indented to path.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

var _ interface {
	Task
	WeightLoader
} = (*CLMTask)(nil)
