package checkpoint

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// llama2cFile builds a checkpoint whose float i (counting from the first
// weight) has value i, so each array's position is visible in its values.
func llama2cFile(h [7]int32, floats int) []byte {
	var b []byte
	for _, v := range h {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for i := range floats {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	return b
}

func TestLlama2CLayout(t *testing.T) {
	// C=8, F=12, L=2, H=2, Hkv=1 (D=4, KV=4), V=5, T=3.
	const C, F, L, KV, V, T, D = 8, 12, 2, 4, 5, 3, 4
	sizes := []int{V * C, L * C, L * C * C, L * KV * C, L * KV * C, L * C * C, L * C, L * F * C, L * C * F, L * F * C, C, T * D / 2, T * D / 2}
	shared := 0
	for _, s := range sizes {
		shared += s
	}
	for _, unshared := range []bool{false, true} {
		vocab, n := int32(V), shared
		if unshared {
			vocab, n = -V, shared+V*C
		}
		data := llama2cFile([7]int32{C, F, L, 2, 1, vocab, T}, n)
		path := filepath.Join(t.TempDir(), "m.bin")
		os.WriteFile(path, data, 0o644)
		fromFile, err := ReadLlama2C(path)
		if err != nil {
			t.Fatal(err)
		}
		fromMem, err := ParseLlama2C(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*Llama2C{fromFile, fromMem} {
			want := Llama2CConfig{Dim: C, HiddenDim: F, NumLayers: L, NumHeads: 2, NumKVHeads: 1, VocabSize: V, SeqLen: T, SharedClassifier: !unshared}
			if m.Config != want || m.Config.HeadSize() != D || m.Config.KVDim() != KV {
				t.Errorf("config %+v, want %+v", m.Config, want)
			}
			arrays := [][]float32{m.TokenEmbedding, m.RMSAtt, m.WQ, m.WK, m.WV, m.WO, m.RMSFFN, m.W1, m.W2, m.W3, m.RMSFinal, m.FreqCisReal, m.FreqCisImag}
			start := 0
			for i, a := range arrays {
				if len(a) != sizes[i] || a[0] != float32(start) || a[len(a)-1] != float32(start+sizes[i]-1) {
					t.Errorf("array %d: len %d first %v, want len %d first %d", i, len(a), a[0], sizes[i], start)
				}
				start += sizes[i]
			}
			if !unshared && &m.WCls[0] != &m.TokenEmbedding[0] {
				t.Error("shared classifier is not the token embedding")
			}
			if unshared && (len(m.WCls) != V*C || m.WCls[0] != float32(shared)) {
				t.Errorf("wcls: len %d first %v", len(m.WCls), m.WCls[0])
			}
			if cap(m.TokenEmbedding) != len(m.TokenEmbedding) {
				t.Error("arrays are not capacity-limited: an append would overwrite the next one")
			}
		}
	}
}

func TestLlama2CErrors(t *testing.T) {
	good := [7]int32{8, 12, 2, 2, 1, 5, 3}
	goodFloats := 5*8 + 2*8 + 2*64 + 2*32*2 + 2*64 + 2*8 + 3*2*96 + 8 + 2*6
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 28-byte"},
		{"one float short", llama2cFile(good, goodFloats-1), "needs"},
		{"one float long", llama2cFile(good, goodFloats+1), "needs"},
		{"magic", llama2cFile([7]int32{0x616b3432, 1, 0, 0, 0, 0, 0}, 0), "version 1"},
		{"zero dim", llama2cFile([7]int32{0, 12, 2, 2, 1, 5, 3}, 0), "dim 0 is not positive"},
		{"negative layers", llama2cFile([7]int32{8, 12, -2, 2, 1, 5, 3}, 0), "n_layers -2"},
		{"heads", llama2cFile([7]int32{8, 12, 2, 3, 1, 5, 3}, 0), "not a multiple of n_heads"},
		{"kv heads", llama2cFile([7]int32{8, 12, 2, 4, 3, 5, 3}, 0), "not a multiple of n_kv_heads"},
		{"odd head", llama2cFile([7]int32{6, 12, 2, 2, 1, 5, 3}, 0), "head size 3 is odd"},
		{"lying huge", llama2cFile([7]int32{1 << 30, math.MaxInt32, math.MaxInt32, 2, 1, math.MaxInt32, math.MaxInt32}, 4), "more weights than a file can hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLlama2C(tt.data)
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseLlama2C: %v, want ErrFormat containing %q", err, tt.want)
			}
			path := filepath.Join(t.TempDir(), "m.bin")
			os.WriteFile(path, tt.data, 0o644)
			if _, err := ReadLlama2C(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadLlama2C: %v", err)
			}
		})
	}
}

func TestStories260K(t *testing.T) {
	path := testenv.Shared(t, "models", "stories260K", "stories260K.bin")
	m, err := ReadLlama2C(path)
	if err != nil {
		t.Fatal(err)
	}
	// golden/llama2c/README.md: dim 64, hidden_dim 172, n_layers 5, n_heads 8,
	// n_kv_heads 4, vocab_size 512 (shared classifier), seq_len 512.
	want := Llama2CConfig{Dim: 64, HiddenDim: 172, NumLayers: 5, NumHeads: 8, NumKVHeads: 4, VocabSize: 512, SeqLen: 512, SharedClassifier: true}
	if m.Config != want || m.Config.HeadSize() != 8 || m.Config.KVDim() != 32 {
		t.Fatalf("config %+v, want %+v", m.Config, want)
	}
	if len(m.WK) != 5*32*64 || len(m.W2) != 5*64*172 || len(m.FreqCisReal) != 512*4 {
		t.Errorf("array sizes wk %d w2 %d freq %d", len(m.WK), len(m.W2), len(m.FreqCisReal))
	}
	// The stored RoPE table must be cos(pos·θ_i), θ_i = 10000^(-2i/D): a check
	// that the arrays before it were sized right.
	for pos := range 512 {
		for i := range 4 {
			theta := math.Pow(10000, -2*float64(i)/8)
			got, want := m.FreqCisReal[pos*4+i], math.Cos(float64(pos)*theta)
			gotSin, wantSin := m.FreqCisImag[pos*4+i], math.Sin(float64(pos)*theta)
			if math.Abs(float64(got)-want) > 1e-4 || math.Abs(float64(gotSin)-wantSin) > 1e-4 {
				t.Fatalf("freq_cis[%d][%d] = (%v, %v), want (%v, %v)", pos, i, got, gotSin, want, wantSin)
			}
		}
	}
	for _, g := range m.RMSFinal {
		if g == 0 || math.IsNaN(float64(g)) {
			t.Fatalf("rms_final holds %v", g)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := ParseLlama2C(data)
	if err != nil || mem.Config != m.Config || mem.W3[123] != m.W3[123] {
		t.Errorf("ParseLlama2C disagrees with ReadLlama2C: %v", err)
	}
}
