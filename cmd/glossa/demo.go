package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// runDemo runs the worked demonstrations (attention by hand, encoder forward).
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	seed := fs.Uint64("seed", 42, "seed of the random weights and token ids (encoder)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa demo attention|encoder [--seed N]")
		fmt.Fprintln(stderr, "\n  attention  self-attention by hand on three tokens: scores, softmax weights, outputs")
		fmt.Fprintln(stderr, "  encoder    a 6-layer Transformer encoder (d_model 512) on a 32×50 batch of token ids")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	switch name {
	case "attention":
		return demoAttention(stdout)
	case "encoder":
		return demoEncoder(ctx, stdout, *seed)
	case "":
		fs.Usage()
		return fmt.Errorf("%w: no demo named", errUsage)
	}
	return fmt.Errorf("%w: unknown demo %q (attention, encoder)", errUsage, name)
}

// demoAttention computes scaled dot-product self-attention step by step on
// three tokens with fixed 4-dimensional vectors, taking Q = K = V = X (no
// learned projections, so every number can be checked by hand).
func demoAttention(w io.Writer) error {
	tokens := []string{"我", "喜欢", "人工智能"}
	x := tensor.MustFromData([]float32{
		1, 0, 1, 0, // 我
		0, 2, 0, 2, // 喜欢
		1, 1, 1, 1, // 人工智能
	}, 3, 4)
	d := x.Dim(1)
	fmt.Fprintf(w, "Self-attention by hand: %d tokens, d = %d, Q = K = V = X\n\n", len(tokens), d)
	printMatrix(w, "X (one row per token)", tokens, nil, x)

	scores := tensor.MulScalar(tensor.MatMul(x, x.T()), float32(1/math.Sqrt(float64(d))))
	printMatrix(w, fmt.Sprintf("scores = Q·Kᵀ/√d  (√d = %g)", math.Sqrt(float64(d))), tokens, tokens, scores)

	weights := tensor.Softmax(scores)
	printMatrix(w, "weights = softmax(scores), row by row (each row sums to 1)", tokens, tokens, weights)

	out := tensor.MatMul(weights, x)
	printMatrix(w, "output = weights·V", tokens, nil, out)
	fmt.Fprintf(w, "Each output row mixes the value vectors in proportion to the weights: %s attends most to %s.\n",
		tokens[1], tokens[argmaxRow(weights, 1)])
	return nil
}

func argmaxRow(t *tensor.Tensor, i int) int {
	best := 0
	for j := 1; j < t.Dim(1); j++ {
		if t.At(i, j) > t.At(i, best) {
			best = j
		}
	}
	return best
}

// printMatrix prints a 2-D tensor with row labels and optional column
// labels, aligning CJK text by its display width.
func printMatrix(w io.Writer, title string, rows, cols []string, t *tensor.Tensor) {
	fmt.Fprintln(w, title)
	labelW := 0
	for _, r := range rows {
		labelW = max(labelW, displayWidth(r))
	}
	const cellW = 10
	fmt.Fprint(w, strings.Repeat(" ", labelW+2))
	for j := 0; j < t.Dim(1); j++ {
		h := fmt.Sprintf("[%d]", j)
		if cols != nil {
			h = cols[j]
		}
		fmt.Fprint(w, strings.Repeat(" ", max(1, cellW-displayWidth(h)))+h)
	}
	fmt.Fprintln(w)
	for i := 0; i < t.Dim(0); i++ {
		fmt.Fprint(w, "  "+rows[i]+strings.Repeat(" ", labelW-displayWidth(rows[i])))
		for j := 0; j < t.Dim(1); j++ {
			fmt.Fprintf(w, "%*.4f", cellW, t.At(i, j))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// displayWidth counts East Asian wide characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// demoEncoder runs the original Transformer's encoder shape — d_model 512,
// 8 heads, 6 post-norm layers, FFN 2048 (ReLU), sinusoidal positions,
// embeddings scaled by √d_model — over a vocabulary of 10000 on a batch of
// 32 sequences of 50 random token ids, in inference mode (no graph).
func demoEncoder(ctx context.Context, w io.Writer, seed uint64) error {
	const B, T, vocab = 32, 50, 10000
	rng := tensor.NewRNG(seed)
	enc, err := nn.NewTransformerEncoder(nn.StackConfig{
		LayerConfig: nn.LayerConfig{Dim: 512, Heads: 8, Hidden: 2048, Activation: nn.ReLU},
		Layers:      6, Vocab: vocab, MaxLen: 512, Positions: nn.PositionsSinusoidal, ScaleEmbedding: true,
	}, rng)
	if err != nil {
		return err
	}
	nn.Freeze(enc) // inference: parameters need no gradients, so no graph is recorded
	ids := make([]int, B*T)
	for i := range ids {
		ids[i] = rng.IntN(vocab)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "TransformerEncoder: %d layers, d_model 512, 8 heads, FFN 2048, vocab %d, sinusoidal positions, %d parameters\n",
		len(enc.Layers), vocab, nn.NumParams(enc.Params()))
	fmt.Fprintf(w, "input: %d×%d random token ids (seed %d), first row starts %v\n", B, T, seed, ids[:8])
	start := time.Now()
	out, err := enc.ForwardIDs(ids, B, T, nil)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(w, "output shape: %v\n", out.Value.Shape())
	first := out.Value.Select(0, 0).Select(0, 0).Values()[:10]
	fmt.Fprintf(w, "output[0, 0, :10]: %s\n", formatFloats(first))
	fmt.Fprintf(w, "forward wall time: %v (%d threads)\n", elapsed.Round(time.Millisecond), threadsNow())
	return nil
}

func formatFloats(xs []float32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.4f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// threadsNow reports the number of threads the kernels use.
func threadsNow() int { return runtime.GOMAXPROCS(0) }
