package autograd

import (
	"runtime"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// TestParallelMatchesSerial runs ops on inputs large enough to be split
// across workers and compares values and gradients with a single-threaded
// run.
func TestParallelMatchesSerial(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	run := func(threads int) []*tensor.Tensor {
		prev := runtime.GOMAXPROCS(threads)
		defer runtime.GOMAXPROCS(prev)
		rng := tensor.NewRNG(5)
		x := randVar(rng, 4, 64, 160) // 40960 elements: above the split thresholds
		gamma, beta := randVar(rng, 160), randVar(rng, 160)
		w := randVar(rng, 160, 160)
		q, k, v := randVar(rng, 2, 4, 32, 16), randVar(rng, 2, 2, 32, 16), randVar(rng, 2, 2, 32, 16)
		h := LayerNorm(x, gamma, beta, 1e-5)
		h = RMSNorm(GELU(Linear(h, w, nil)), gamma, 1e-6)
		h = Add(Softmax(h), Mul(h, x))
		a, _ := ScaledDotProductAttention(q, k, v, AttentionOptions{Causal: true})
		loss := Add(MeanAll(Mul(h, h)), MeanAll(Mul(a, a)))
		Backward(loss)
		return []*tensor.Tensor{loss.Value, x.Grad, gamma.Grad, beta.Grad, w.Grad, q.Grad, k.Grad, v.Grad}
	}
	one, two := run(1), run(2)
	for i := range one {
		assertClose(t, "tensor", two[i], one[i], 1e-4)
	}
}
