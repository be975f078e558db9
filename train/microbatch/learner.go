package microbatch

import (
	"context"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// Learner is the part of a train.Task that does not depend on the model:
// the graph that records the forward passes of the trainable parameters,
// the Stream of micro-batches and the dropout generator, seeded again for
// every micro-batch. A task's Step is Learner.Step with its forward pass.
type Learner[E any] struct {
	// Data is the stream of micro-batches.
	Data *Stream[E]
	// Graph records the forward pass; Step resets it.
	Graph *autograd.Graph
	// Dropout is the generator a forward pass in training mode draws
	// its dropout masks from; Step seeds it for each micro-batch.
	Dropout *tensor.RNG

	params        []optim.Param
	dropoutStream uint64
}

// LearnerOptions configure NewLearner.
type LearnerOptions struct {
	// BF16 records the linear layers' products in bfloat16 with float32
	// sums (autograd.Graph.SetBF16). False: float32.
	BF16 bool
	// DropoutStream is the random stream that seeds Dropout
	// (train.StepSeed; zero: train.StreamDropout).
	DropoutStream uint64
}

// NewLearner returns a Learner over data that trains params (attached to
// its graph, in the order given, which names the optimizer's state).
func NewLearner[E any](data *Stream[E], params []nn.NamedParam, opts LearnerOptions) *Learner[E] {
	l := &Learner[E]{Data: data, Graph: autograd.NewGraph(), Dropout: tensor.NewRNG(data.Seed()),
		params: nn.OptimParams(params), dropoutStream: opts.DropoutStream}
	if l.dropoutStream == 0 {
		l.dropoutStream = train.StreamDropout
	}
	l.Graph.SetBF16(opts.BF16)
	for _, p := range params {
		l.Graph.Attach(p.Var)
	}
	return l
}

// Params returns the trainable parameters (train.Task's Params).
func (l *Learner[E]) Params() []optim.Param { return l.params }

// Forward is a task's forward pass over one micro-batch: the loss to
// back-propagate and the number of real (not padding) tokens it read.
// seeds are the micro-batch's seeds of the streams given to Step. A nil loss
// means the micro-batch has nothing to learn from (its gradients stay
// zero; Step reports a zero loss and the tokens).
type Forward[E any] func(batch []E, seeds []uint64) (loss *autograd.Var, tokens int, err error)

// Step is train.Task's Step: it returns ctx's error once ctx is done,
// else resets the graph, draws the next micro-batch, seeds Dropout for it,
// runs forward and back-propagates its loss into the parameters' gradient
// buffers. It returns the loss's value and the token count.
func (l *Learner[E]) Step(ctx context.Context, forward Forward[E], streams ...uint64) (float64, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	l.Graph.Reset()
	batch, seeds := l.Data.Next(append([]uint64{l.dropoutStream}, streams...)...)
	l.Dropout.Seed(seeds[0])
	loss, tokens, err := forward(batch, seeds[1:])
	if err != nil {
		return 0, 0, err
	}
	if loss == nil {
		return 0, tokens, nil
	}
	v := float64(loss.Value.Item())
	autograd.Backward(loss)
	return v, tokens, nil
}

// Tokens counts the real tokens of a padded batch: the ones of its
// attention mask.
func Tokens[I ~int32 | ~int](mask []I) int {
	n := 0
	for _, m := range mask {
		n += int(m)
	}
	return n
}
