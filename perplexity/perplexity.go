// Package perplexity measures how well a causal language model predicts a
// text, with llama.cpp's llama-perplexity semantics, so that its figures
// compare with the ones llama.cpp users quote for quantized models.
//
// The token ids are cut into non-overlapping windows of Context tokens
// (a remainder shorter than a window is dropped). Each window is run from
// an empty cache; when BOS is set its first token is replaced by BOS, as
// llama.cpp does for models that add one. Only the second half of every
// window is scored — the tokens at positions Context/2+1 … Context−1, each
// predicted from all the positions before it in the window — so that every
// scored token sees at least Context/2 tokens of context:
//
//	PPL = exp( −1/N · Σ log p(x_j | x_<j) )   over the N scored tokens
//
// Hugging Face's strided evaluation (a sliding window whose overlap is
// context only) gives similar but not identical numbers; this package does
// not implement it.
package perplexity

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/generate"
)

// Options configure Evaluate. The zero value uses windows of
// min(512, the model's MaxLen) tokens, 8 windows per pass, and no BOS.
type Options struct {
	// Context is the window length (llama-perplexity's -c); 0 means
	// min(512, MaxLen). It must be at least 2 and at most MaxLen.
	Context int
	// Batch is the number of windows run together, as rows of one state;
	// 0 means 8.
	Batch int
	// BOS, when not nil, replaces the first token of every window.
	BOS *int
}

// Result is a perplexity measurement.
type Result struct {
	Perplexity float64 // exp(NLL)
	NLL        float64 // mean negative log-likelihood per scored token, in nats
	Tokens     int     // tokens scored
	Windows    int     // windows of Context tokens
	Context    int     // the window length used
	// Running holds the perplexity over the windows so far after each one
	// (llama-perplexity's [1]5.23,[2]5.11,… progress figures).
	Running []float64
}

// ErrTooShort is matched by the error of a text shorter than one window.
var ErrTooShort = errors.New("perplexity: text shorter than one window")

// Evaluate computes the perplexity of lm on ids (see the package
// documentation). It stops with ctx's error when ctx is done.
func Evaluate[S any](ctx context.Context, lm generate.LM[S], ids []int, opts Options) (*Result, error) {
	n := opts.Context
	if n == 0 {
		n = min(512, lm.MaxLen())
	}
	B := opts.Batch
	if B == 0 {
		B = 8
	}
	V := lm.VocabSize()
	switch {
	case n < 2 || n > lm.MaxLen():
		return nil, fmt.Errorf("perplexity: context %d is not in [2, %d]", n, lm.MaxLen())
	case B < 0:
		return nil, fmt.Errorf("perplexity: batch %d is negative", B)
	case opts.BOS != nil && (*opts.BOS < 0 || *opts.BOS >= V):
		return nil, fmt.Errorf("perplexity: BOS %d outside the vocabulary of %d", *opts.BOS, V)
	case len(ids) < n:
		return nil, fmt.Errorf("%w: %d tokens, the window is %d", ErrTooShort, len(ids), n)
	}
	for i, id := range ids {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("perplexity: token %d: id %d outside the vocabulary of %d", i, id, V)
		}
	}
	windows := len(ids) / n
	first := n / 2
	res := &Result{Windows: windows, Context: n}
	var sum float64
	step := make([]int, 0, B)
	winSum := make([]float64, B)
	for w0 := 0; w0 < windows; w0 += B {
		rows := min(B, windows-w0)
		st, err := lm.NewState(rows, n)
		if err != nil {
			return nil, err
		}
		win := func(r int) []int { return ids[(w0+r)*n : (w0+r+1)*n] }
		clear(winSum)
		for t := 0; t < n-1; t++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			step = step[:0]
			for r := range rows {
				id := win(r)[t]
				if t == 0 && opts.BOS != nil {
					id = *opts.BOS
				}
				step = append(step, id)
			}
			logits, err := lm.Forward(st, step, nil)
			if err != nil {
				return nil, err
			}
			if t < first {
				continue
			}
			for r := range rows {
				winSum[r] += nll(logits[r*V:(r+1)*V], win(r)[t+1])
			}
		}
		for r := range rows {
			sum += winSum[r]
			res.Tokens += n - 1 - first
			res.Running = append(res.Running, math.Exp(sum/float64(res.Tokens)))
		}
	}
	res.NLL = sum / float64(res.Tokens)
	res.Perplexity = math.Exp(res.NLL)
	return res, nil
}

// nll returns −log softmax(logits)[target], in float64.
func nll(logits []float32, target int) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s) - float64(logits[target])
}
