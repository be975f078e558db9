package bert

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// TestPaddedBatch runs sequences of different lengths as one right-padded
// batch with an attention mask: at each row's real positions the hidden
// states, and the pooled output, must equal those of the sequence run alone.
// The lengths mix short sequences (attention one query at a time, weights
// streamed by matrix-vector kernels) with long ones (matrix products).
func TestPaddedBatch(t *testing.T) {
	cfg := Config{VocabSize: 97, HiddenSize: 48, NumLayers: 2, NumHeads: 3, Intermediate: 80, MaxPositions: 40, InitializerRange: 0.2}
	rng := tensor.NewRNG(3)
	m, err := New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, rng)
	lengths := []int{9, 3, 1, 6, 9}
	B, T, C := len(lengths), slices.Max(lengths), cfg.HiddenSize
	batch := Input{B: B, T: T, IDs: make([]int, B*T), TypeIDs: make([]int, B*T), Mask: make([]int, B*T)}
	for b, n := range lengths {
		for t := range n {
			batch.IDs[b*T+t], batch.TypeIDs[b*T+t], batch.Mask[b*T+t] = 1+rng.IntN(cfg.VocabSize-1), rng.IntN(2), 1
		}
	}
	for _, f := range []infer.Format{infer.F32, infer.BF16} {
		t.Run(f.String(), func(t *testing.T) {
			enc, err := m.Encoder(&EncoderOptions{Format: f})
			if err != nil {
				t.Fatal(err)
			}
			var ws, alone Workspace
			hidden, pooled, err := enc.Forward(&ws, batch)
			if err != nil {
				t.Fatal(err)
			}
			for b, n := range lengths {
				in := Input{B: 1, T: n, IDs: batch.IDs[b*T : b*T+n], TypeIDs: batch.TypeIDs[b*T : b*T+n]}
				h, p, err := enc.Forward(&alone, in)
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("row %d (%d tokens)", b, n)
				report(t, name+" hidden", maxDiffRows(hidden[b*T*C:(b*T+n)*C], h, nil, C), 2e-5)
				report(t, name+" pooled", maxDiffRows(pooled[b*C:(b+1)*C], p, nil, C), 2e-5)
			}
		})
	}
}

// TestEncoderBF16 checks bfloat16 weights two ways. Against float32 on the
// same (bfloat16-valued) weights, only the order of float32 sums differs:
// float tolerance. Against PyTorch's float32 golden, the difference is the
// rounding of every matrix to 8 significant bits (unit roundoff u = 2⁻⁹),
// which two post-LayerNorm layers carry into hidden states of unit scale
// as an error of a few u: bounded here by 16u = 0.03, and by 16u of the
// largest logit for the masked-LM logits (a sum of C rounded products).
func TestEncoderBF16(t *testing.T) {
	_, ref, in := fixture(t, "bert-tiny")
	_, dir := bf16Folder(t)
	opts := func(f infer.Format) *EncoderOptions { return &EncoderOptions{Format: f} }
	f32, err := LoadEncoder(dir, opts(infer.F32)) // widened exactly
	if err != nil {
		t.Fatal(err)
	}
	bf16, err := LoadEncoder(dir, opts(infer.BF16)) // kept as stored
	if err != nil {
		t.Fatal(err)
	}
	rounded, err := LoadEncoder(testenv.Shared(t, "fixtures", "bert-tiny"), opts(infer.BF16)) // rounded on load
	if err != nil {
		t.Fatal(err)
	}
	if bf16.Format != infer.BF16 || f32.Format != infer.F32 {
		t.Fatalf("formats %v, %v", bf16.Format, f32.Format)
	}
	C, V := f32.Config.HiddenSize, f32.Config.VocabSize
	rows := []int{6, in.T + 4}
	run := func(e *Encoder) (hidden, pooled, logits []float32) {
		var ws Workspace
		h, p, err := e.Forward(&ws, in)
		if err != nil {
			t.Fatal(err)
		}
		l, err := e.MaskedLM(&ws, rows)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(h), slices.Clone(p), slices.Clone(l)
	}
	// On the same weights bf16 differs from f32 only by the activations,
	// which kernels.GemmBF16 rounds to bfloat16 where it runs natively
	// (u = 2⁻⁹, bfloat16's unit roundoff).
	const u = 1.0 / 512
	hf, pf, lf := run(f32)
	hb, pb, lb := run(bf16)
	tolH, tolL := 2e-5, 1e-4
	if kernels.GemmBF16Native() {
		tolH, tolL = 8*u, 8*u*16
	}
	report(t, "bf16 = f32 on the same weights: hidden", maxDiffRows(hb, hf, in.Mask, C), tolH)
	report(t, "bf16 = f32 on the same weights: pooled", maxDiffRows(pb, pf, nil, C), tolH)
	report(t, "bf16 = f32 on the same weights: MLM logits", maxDiffRows(lb, lf, nil, V), tolL)

	hr, pr, lr := run(rounded)
	report(t, "bf16 vs golden: hidden", maxDiffRows(hr, ref["forward.last_hidden_state"].Data, in.Mask, C), 16*u)
	report(t, "bf16 vs golden: pooled", maxDiffRows(pr, ref["forward.pooler_output"].Data, nil, C), 16*u)
	want := ref["forward.prediction_logits"].Data
	d, scale := 0.0, 1.0
	for i, r := range rows {
		d = math.Max(d, maxDiffRows(lr[i*V:(i+1)*V], want[r*V:(r+1)*V], nil, V))
		for _, v := range want[r*V : (r+1)*V] {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
	}
	report(t, fmt.Sprintf("bf16 vs golden: MLM logits (largest %.3g)", scale), d, 16*u*scale)
}
