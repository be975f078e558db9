package nn_test

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// Self-attention by hand on three tokens with fixed 4-dimensional vectors,
// taking Q = K = V = X: the scores Q·Kᵀ/√d, their row-wise softmax and the
// weighted sums of the values.
func Example_selfAttentionByHand() {
	tokens := []string{"我", "喜欢", "人工智能"}
	x := tensor.MustFromData([]float32{
		1, 0, 1, 0, // 我
		0, 2, 0, 2, // 喜欢
		1, 1, 1, 1, // 人工智能
	}, 3, 4)
	scores := tensor.MulScalar(tensor.MatMul(x, x.T()), float32(1/math.Sqrt(4)))
	weights := tensor.Softmax(scores)
	out := tensor.MatMul(weights, x)
	for i, tok := range tokens {
		fmt.Printf("%s\tscores %.4f\tweights %.4f\toutput %.4f\n", tok, scores.Select(0, i).Values(), weights.Select(0, i).Values(), out.Select(0, i).Values())
	}
	// Output:
	// 我	scores [1.0000 0.0000 1.0000]	weights [0.4223 0.1554 0.4223]	output [0.8446 0.7330 0.8446 0.7330]
	// 喜欢	scores [0.0000 4.0000 2.0000]	weights [0.0159 0.8668 0.1173]	output [0.1332 1.8509 0.1332 1.8509]
	// 人工智能	scores [1.0000 2.0000 2.0000]	weights [0.1554 0.4223 0.4223]	output [0.5777 1.2670 0.5777 1.2670]
}

// The same computation through MultiHeadAttention: one head whose packed
// input projection is three identity matrices (so Q = K = V = X) and whose
// output projection is the identity. It returns the attention probabilities
// when asked.
func ExampleMultiHeadAttention() {
	m, _ := nn.NewMultiHeadAttention(4, 1, true, tensor.NewRNG(0))
	eye := func(t *tensor.Tensor) {
		t.Zero()
		for i := 0; i < t.Dim(0); i++ {
			t.Set(1, i, i%t.Dim(1))
		}
	}
	eye(m.InWeight.Value) // [12, 4]: q | k | v rows, each the identity
	m.InBias.Value.Zero()
	eye(m.OutProj.Weight.Value)
	m.OutProj.Bias.Value.Zero()
	nn.Freeze(m)
	x := autograd.Const(tensor.MustFromData([]float32{1, 0, 1, 0, 0, 2, 0, 2, 1, 1, 1, 1}, 1, 3, 4))
	y, probs := m.Forward(x, nn.Mask{ReturnProbs: true})
	fmt.Println(y.Value.Shape(), probs.Shape())
	fmt.Printf("weights of 喜欢: %.4f\n", probs.Select(0, 0).Select(0, 0).Select(0, 1).Values())
	fmt.Printf("output of 喜欢:  %.4f\n", y.Value.Select(0, 0).Select(0, 1).Values())
	// Output:
	// [1 3 4] [1 1 3 3]
	// weights of 喜欢: [0.0159 0.8668 0.1173]
	// output of 喜欢:  [0.1332 1.8509 0.1332 1.8509]
}

// A Transformer encoder in the shape of the original paper's base model:
// d_model 512, 8 heads, 6 layers, FFN 2048, here over a vocabulary of 10000
// with sinusoidal positions, run in inference mode on 32 sequences of 50
// random token ids. (Not run by go test: it takes a few seconds.)
func ExampleTransformerEncoder() {
	rng := tensor.NewRNG(42)
	enc, err := nn.NewTransformerEncoder(nn.StackConfig{
		LayerConfig: nn.LayerConfig{Dim: 512, Heads: 8, Hidden: 2048, Activation: nn.ReLU},
		Layers:      6, Vocab: 10000, Positions: nn.PositionsSinusoidal, ScaleEmbedding: true,
	}, rng)
	if err != nil {
		panic(err)
	}
	nn.Freeze(enc) // no gradients: no graph
	ids := make([]int, 32*50)
	for i := range ids {
		ids[i] = rng.IntN(10000)
	}
	out, err := enc.ForwardIDs(ids, 32, 50, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(out.Value.Shape())
	fmt.Printf("%.4f\n", out.Value.Select(0, 0).Select(0, 0).Values()[:10])
}

// A small pre-norm encoder with a padding mask: outputs keep the input shape.
func ExampleTransformerEncoder_padding() {
	enc, _ := nn.NewTransformerEncoder(nn.StackConfig{
		LayerConfig: nn.LayerConfig{Dim: 16, Heads: 2, NormFirst: true},
		Layers:      2, Vocab: 100, FinalNorm: true,
	}, tensor.NewRNG(1))
	nn.Freeze(enc)
	ids := []int{5, 6, 7, 0, 8, 9, 10, 11}
	pad := []bool{false, false, false, true, false, false, false, false}
	out, _ := enc.ForwardIDs(ids, 2, 4, pad)
	fmt.Println(out.Value.Shape(), len(enc.Params()), "parameter tensors")
	// Output:
	// [2 4 16] 27 parameter tensors
}
