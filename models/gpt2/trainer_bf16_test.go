package gpt2

import (
	"math"
	"runtime"
	"testing"

	"github.com/glossa-ai/glossa/tensor"
)

// bf16Step runs one forward, loss and backward on a fresh copy of the
// model made from seed, and returns the loss and every gradient.
func bf16Step(t *testing.T, bf16 bool, threads int) (float32, []float32) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	const B, T = 3, 70
	cfg := Config{VocabSize: 37, NumPos: T, NumEmbd: 64, NumLayer: 2, NumHead: 2, ActivationFunction: "gelu"}
	rng := tensor.NewRNG(11)
	m, err := New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ids, targets := make([]int, B*T), make([]int, B*T)
	for i := range ids {
		ids[i], targets[i] = rng.IntN(37), rng.IntN(37)
	}
	tr := NewTrainer(m)
	tr.SetBF16(bf16)
	if _, err := tr.Forward(ids, B, T); err != nil {
		t.Fatal(err)
	}
	loss, err := tr.Loss(targets)
	if err != nil {
		t.Fatal(err)
	}
	m.ZeroGrad()
	if err := tr.Backward(); err != nil {
		t.Fatal(err)
	}
	return loss, append([]float32(nil), m.grads...)
}

// TestTrainerBF16 checks bfloat16 mixed precision against float32 on one
// step: the loss within 0.5 %, the gradients within 1.5 % in relative L2
// norm (operands rounded to bfloat16 are off by up to 2⁻⁸ each, and the
// rounding of activations compounds through the layers), and two runs at
// two threads identical bit for bit (the products' workers take panels in
// any order; a resumed run repeats itself).
func TestTrainerBF16(t *testing.T) {
	l32, g32 := bf16Step(t, false, 2)
	l16, g16 := bf16Step(t, true, 2)
	l16b, g16b := bf16Step(t, true, 2)
	if math.Float32bits(l16) != math.Float32bits(l16b) {
		t.Errorf("bf16 loss %v, then %v", l16, l16b)
	}
	for i := range g16 {
		if math.Float32bits(g16[i]) != math.Float32bits(g16b[i]) {
			t.Fatalf("bf16 gradient %d: %v, then %v", i, g16[i], g16b[i])
		}
	}
	if rel := math.Abs(float64(l16-l32)) / float64(l32); rel > 5e-3 {
		t.Errorf("bf16 loss %v, float32 %v", l16, l32)
	}
	var num, den float64
	same := true
	for i := range g32 {
		d := float64(g16[i]) - float64(g32[i])
		num += d * d
		den += float64(g32[i]) * float64(g32[i])
		same = same && g16[i] == g32[i]
	}
	rel := math.Sqrt(num / den)
	t.Logf("loss %v (float32 %v); gradients off by %.3g in relative L2 norm", l16, l32, rel)
	if rel > 0.015 || same {
		t.Errorf("bf16 gradients off by %.3g in relative L2 norm (identical: %v)", rel, same)
	}
}
