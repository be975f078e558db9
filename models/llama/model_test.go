package llama

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/internal/testenv"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		check      func(Config) bool
		err        string
	}{
		{"defaults", `{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2}`,
			func(c Config) bool {
				return c.NumKVHeads == 2 && c.HeadDim == 4 && c.RopeTheta == 10000 && c.RMSNormEps == 1e-6 && c.MaxPositions == 2048
			}, ""},
		{"v5 rope_parameters and eos list", `{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
			"num_attention_heads":2,"num_key_value_heads":1,"rope_parameters":{"rope_type":"default","rope_theta":500000},
			"eos_token_id":[2,3],"bos_token_id":1}`,
			func(c Config) bool { return c.RopeTheta == 500000 && len(c.EOSTokenIDs) == 2 && *c.BOSTokenID == 1 }, ""},
		{"eos number", `{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"eos_token_id":2}`,
			func(c Config) bool { return len(c.EOSTokenIDs) == 1 && c.EOSTokenIDs[0] == 2 }, ""},
		{"gqa mismatch", `{"vocab_size":10,"hidden_size":12,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2}`, nil, "multiple"},
		{"odd head dim", `{"vocab_size":10,"hidden_size":6,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2}`, nil, "even"},
		{"zero size", `{"vocab_size":0,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2}`, nil, "positive"},
		{"other model", `{"model_type":"gpt2","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2}`, nil, "gpt2"},
		{"scaling", `{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"rope_scaling":{"rope_type":"llama3"}}`, nil, "rope_scaling"},
		{"eos range", `{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"eos_token_id":10}`, nil, "eos_token_id"},
		{"bad json", `{"vocab_size":"x"}`, nil, "config"},
		{"huge", `{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":100000,"num_attention_heads":2}`, nil, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one mentioning %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.check != nil && !tc.check(c):
				t.Fatalf("config %+v", c)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2}`))
	f.Add([]byte(`{"eos_token_id":[1,2],"rope_parameters":{"rope_theta":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if c.HeadDim <= 0 || c.NumHeads%c.NumKVHeads != 0 {
			t.Fatalf("accepted invalid config %+v", c)
		}
	})
}

// A folder whose tensors are missing or mis-shaped is an error naming the
// tensor.
func TestLoadErrors(t *testing.T) {
	src := testenv.Shared(t, "fixtures", "llama-tiny")
	ck, err := checkpoint.OpenFolder(src)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	cfgJSON, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, edit func(name string, ts *checkpoint.Tensor) bool) string {
		dir := t.TempDir()
		var ts []checkpoint.Tensor
		for _, n := range ck.Names() {
			info, _ := ck.Info(n)
			data, err := ck.Float32(n)
			if err != nil {
				t.Fatal(err)
			}
			x := checkpoint.Tensor{Name: n, Shape: info.Shape, Data: data}
			if edit(n, &x) {
				ts = append(ts, x)
			}
		}
		if err := checkpoint.Save(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	const victim = "model.layers.1.mlp.up_proj.weight"
	t.Run("missing", func(t *testing.T) {
		_, err := Load(write(t, func(n string, _ *checkpoint.Tensor) bool { return n != victim }), nil)
		if !errors.Is(err, checkpoint.ErrMissingTensor) || !strings.Contains(err.Error(), victim) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("shape", func(t *testing.T) {
		_, err := Load(write(t, func(n string, x *checkpoint.Tensor) bool {
			if n == victim {
				x.Shape = []int{x.Shape[1], x.Shape[0]}
			}
			return true
		}), nil)
		if err == nil || !strings.Contains(err.Error(), victim) || !strings.Contains(err.Error(), "shape") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("no prefix", func(t *testing.T) {
		dir := write(t, func(n string, x *checkpoint.Tensor) bool {
			x.Name = strings.TrimPrefix(n, "model.")
			return true
		})
		if _, err := Load(dir, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// A prompt longer than the state's chunk is prefilled through the cache in
// pieces (with the heads in parallel for long ones) and gives the logits of
// one full pass.
func TestChunkedPrefill(t *testing.T) {
	m, err := Load(testenv.Shared(t, "fixtures", "llama-tiny"), nil)
	if err != nil {
		t.Fatal(err)
	}
	V, T := m.Config.VocabSize, 100
	ids := make([]int, 2*T)
	mask := make([]bool, 2*T)
	for i := range ids {
		ids[i] = (i*7919 + 13) % V
		mask[i] = i%T >= 9 || i < T // row 1 is left-padded by 9
	}
	tr, err := m.ForwardTrace(ids, mask, 2)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewState(2, 128)
	s.Chunk = 32
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Forward(s, ids, mask)
	if err != nil {
		t.Fatal(err)
	}
	var d float64
	for b := range 2 {
		ref := tr.Logits[(b*T+T-1)*V : (b*T+T)*V]
		for i, v := range ref {
			d = math.Max(d, math.Abs(float64(v-logits[b*V+i])))
		}
	}
	if d > 1e-4 {
		t.Fatalf("chunked prefill differs from one pass by %g", d)
	}
}

func TestLoadLlama2CErrors(t *testing.T) {
	data, err := os.ReadFile(testenv.Shared(t, "models", "stories260K", "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header only", data[:28]},
		{"truncated", data[:len(data)/2]},
	} {
		if _, err := ParseLlama2C(tc.data, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := ParseLlama2C(data, nil); err != nil {
		t.Fatal(err)
	}
}

// tinyLlama2C encodes a llama2.c checkpoint with the given header and
// weights 0.01·i.
func tinyLlama2C(dim, hidden, layers, heads, kvHeads, vocab, seqLen int32) []byte {
	h := []int32{dim, hidden, layers, heads, kvHeads, vocab, seqLen}
	buf := make([]byte, 0, 1024)
	for _, v := range h {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(v))
	}
	if vocab < 0 {
		vocab = -vocab
	}
	D := dim / heads
	kv := kvHeads * D
	n := vocab*dim + layers*(2*dim+2*dim*dim+2*kv*dim+3*hidden*dim) + dim + seqLen*D
	if h[5] < 0 {
		n += vocab * dim
	}
	for i := range n {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(0.01*float32(i%97)))
	}
	return buf
}

func FuzzParseLlama2C(f *testing.F) {
	f.Add(tinyLlama2C(8, 16, 1, 2, 1, 12, 4))
	f.Add(tinyLlama2C(8, 16, 2, 2, 2, -12, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseLlama2C(data, nil)
		if err != nil {
			return
		}
		s, err := m.NewState(1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Forward(s, []int{1 % m.Config.VocabSize}, nil); err != nil {
			t.Fatal(err)
		}
	})
}
