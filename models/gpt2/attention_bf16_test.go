package gpt2

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/kernels"
)

// relL2 returns ‖got − want‖ / ‖want‖ and whether the two are identical.
func relL2(got, want []float32) (float64, bool) {
	var num, den float64
	same := true
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
		same = same && got[i] == want[i]
	}
	return math.Sqrt(num / den), same
}

// TestAttentionBF16 checks attention with bfloat16 products against the
// float32 attention on shapes with one and several row blocks, a last block
// that is not a multiple of 32 and heads of 32 and 64: the outputs,
// probabilities and gradients within 0.6 % in relative L2 norm (each
// operand rounded to bfloat16 moves a product by up to 2⁻⁸; 0.2–0.3 %
// measured), never identical.
func TestAttentionBF16(t *testing.T) {
	for _, s := range []struct{ B, T, C, H int }{{1, 5, 64, 2}, {2, 70, 64, 2}, {1, 256, 128, 2}, {2, 130, 192, 3}} {
		rng := rand.New(rand.NewPCG(uint64(s.T), 3))
		N, C3 := s.B*s.T, 3*s.C
		qkv, dout := make([]float32, N*C3), make([]float32, N*s.C)
		for i := range qkv {
			qkv[i] = float32(rng.NormFloat64())
		}
		for i := range dout {
			dout[i] = float32(rng.NormFloat64())
		}
		att := func() []float32 { return make([]float32, s.B*s.H*s.T*s.T) }
		out32, att32, out16, att16 := make([]float32, N*s.C), att(), make([]float32, N*s.C), att()
		attentionForward(out32, att32, qkv, s.B, s.T, s.C, s.H)
		var pool attnPackPool
		outb, db := make([]uint16, N*s.C), make([]uint16, N*C3)
		attentionForwardBF16(&pool, out16, outb, att16, qkv, s.B, s.T, s.C, s.H)
		d32, d16 := make([]float32, N*C3), make([]float32, N*C3)
		attentionBackward(d32, att(), dout, att32, qkv, s.B, s.T, s.C, s.H)
		attentionBackwardBF16(&pool, d16, db, att(), dout, att32, qkv, s.B, s.T, s.C, s.H)
		// The bfloat16 copies are the outputs rounded.
		for _, c := range []struct {
			name string
			got  []uint16
			of   []float32
		}{{"out", outb, out16}, {"dqkv", db, d16}} {
			want := make([]uint16, len(c.of))
			kernels.F32ToBF16(want, c.of)
			if !slices.Equal(c.got, want) {
				t.Errorf("%+v: the bfloat16 copy of %s is not %s rounded", s, c.name, c.name)
			}
		}
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"out", out16, out32}, {"att", att16, att32}, {"dqkv", d16, d32}} {
			rel, same := relL2(c.got, c.want)
			if rel > 0.006 || same {
				t.Errorf("%+v: %s off by %.3g in relative L2 norm (identical: %v)", s, c.name, rel, same)
			}
		}
		// Causal: nothing above the diagonal.
		for bh := 0; bh < s.B*s.H; bh++ {
			for i := 0; i < s.T; i++ {
				for j := i + 1; j < s.T; j++ {
					if v := att16[(bh*s.T+i)*s.T+j]; v != 0 {
						t.Fatalf("%+v: att[%d][%d][%d] = %g above the diagonal", s, bh, i, j, v)
					}
				}
			}
		}
	}
}
