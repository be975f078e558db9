package gguf

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"testing"
)

// q6KInput is the test input of TestQuantizeQ6_KMatchesGGML: 8 super-blocks
// of a 64-bit LCG's values in [−0.5, 0.5) times scale, the second block all
// zeros and the third scaled by 1e-20 (below ggml's GROUP_MAX_EPS per group
// only for its smallest values).
func q6KInput(seed uint64, scale float32) []float32 {
	x := make([]float32, 8*qkK)
	s := seed
	for i := range x {
		s = s*6364136223846793005 + 1442695040888963407
		x[i] = float32(float64(s>>40)/(1<<24)-0.5) * scale
	}
	clear(x[qkK : 2*qkK])
	for i := 2 * qkK; i < 3*qkK; i++ {
		x[i] *= 1e-20
	}
	return x
}

// The Q6_K quantizer gives ggml's quantize_row_q6_K_ref bytes bit for bit.
// The digests were computed by calling that function of libggml-base.so
// (@node-llama-cpp/linux-x64 3.22.1) through Python's ctypes on the same
// float32 inputs.
func TestQuantizeQ6_KMatchesGGML(t *testing.T) {
	for _, tc := range []struct {
		seed  uint64
		scale float32
		want  string
	}{
		{1, 1, "6107ff3424b339c1feff5eddac65482befd7bc3c8f7170290cd7e6179b77d38a"},
		{2, 0.02, "28760144c9707cb543e7e778cef2d59a4b1504d13753b8cee5ce4539a3e32c15"},
		{3, 300, "45c0d8711460cabb915bd875d6e0384ddd595afc53063ef24e7966a79bd39827"},
	} {
		x := q6KInput(tc.seed, tc.scale)
		b, err := Encode(Q6_K, x)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != tc.want {
			t.Errorf("seed %d scale %g: sha256 %s, ggml %s", tc.seed, tc.scale, got, tc.want)
		}
		// Decoding gives the values back within half a step of each group.
		y := make([]float32, len(x))
		if err := Decode(y, b, Q6_K); err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range x {
			worst = max(worst, math.Abs(float64(y[i]-x[i])))
		}
		if limit := 0.5 * float64(tc.scale) / 31 * 1.2; worst > limit {
			t.Errorf("seed %d: error %g > %g", tc.seed, worst, limit)
		}
	}
}
