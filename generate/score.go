package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Score returns the natural-log probability of every token of continuation
// following prompt under m (teacher forcing through the KV cache: one pass
// over the prompt, then one step per token). The sum is the sequence's
// log-likelihood; exp(−mean) is its perplexity. The arithmetic is in
// float64 over the model's float32 logits.
func Score[S any](ctx context.Context, m LM[S], prompt, continuation []int) ([]float64, error) {
	if len(prompt) == 0 {
		return nil, errors.New("generate: Score needs a prompt (start it with BOS)")
	}
	n := len(prompt) + len(continuation)
	if n > m.MaxLen()+1 {
		return nil, fmt.Errorf("generate: %d tokens; the model holds %d", n, m.MaxLen())
	}
	V := m.VocabSize()
	for _, id := range append(prompt[:len(prompt):len(prompt)], continuation...) {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("generate: token id %d outside the vocabulary of %d", id, V)
		}
	}
	out := make([]float64, len(continuation))
	if len(continuation) == 0 {
		return out, nil
	}
	st, err := m.NewState(1, n-1)
	if err != nil {
		return nil, err
	}
	logits, err := m.Forward(st, prompt, nil)
	for i, id := range continuation {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = logProb(logits[:V], id)
		if i+1 < len(continuation) {
			logits, err = m.Forward(st, continuation[i:i+1], nil)
		}
	}
	return out, nil
}

// logProb returns log softmax(logits)[id] in float64.
func logProb(logits []float32, id int) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - mx)
	}
	return float64(logits[id]) - mx - math.Log(z)
}
