package quantize

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/auto"
)

// A GPT-2 folder (../shared/fixtures/gpt2-tiny with GPT-2's vocabulary)
// converts to a "gpt2" GGUF file whose F32 logits equal the folder's, and
// whose Q8_0 logits equal those of the folder quantized at load (the same
// quantizer on the same values); the file carries the BPE vocabulary and
// merges, so it loads with no tokenizer beside it.
func TestGPT2Folder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gpt2-tiny")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ from, to string }{
		{testenv.Shared(t, "fixtures", "gpt2-tiny", "config.json"), "config.json"},
		{testenv.Shared(t, "fixtures", "gpt2-tiny", "model.safetensors"), "model.safetensors"},
		{testenv.Shared(t, "tokenizers", "gpt2", "encoder.json"), "encoder.json"},
		{testenv.Shared(t, "tokenizers", "gpt2", "vocab.bpe"), "vocab.bpe"},
	} {
		if err := os.Symlink(f.from, filepath.Join(dir, f.to)); err != nil {
			t.Fatal(err)
		}
	}
	ids := []int{464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13}
	logits := func(path string, f infer.Format) []float32 {
		m, err := auto.LoadCausalLM(path, &auto.LoadOptions{Format: f, CacheType: infer.KVF32}) // the folder's cache type: compares weights only
		if err != nil {
			t.Fatal(err)
		}
		st, err := m.NewState(1, len(ids))
		if err != nil {
			t.Fatal(err)
		}
		x, err := m.Forward(st, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), x...)
	}
	for _, tc := range []struct {
		t    gguf.Type
		want []float32
	}{{gguf.F32, logits(dir, infer.F32)}, {gguf.Q8_0, logits(dir, infer.Q8_0)}} {
		out := filepath.Join(t.TempDir(), "m.gguf")
		res, err := File(context.Background(), dir, out, Options{Type: tc.t})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tensors) != 4+2*2*6 {
			t.Errorf("%v: %d tensors", tc.t, len(res.Tensors))
		}
		got := logits(out, infer.Stored)
		var worst float64
		for i := range tc.want {
			worst = max(worst, math.Abs(float64(got[i]-tc.want[i])))
		}
		if worst > 1e-5 {
			t.Errorf("%v: logits differ from the folder's by %g", tc.t, worst)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := f.Tokenizer()
		f.Close()
		if err != nil || tk.Model != "gpt2" || len(tk.Tokens) != 50257 || len(tk.Merges) != 50000 || tk.EOS != 50256 {
			t.Errorf("%v: tokenizer %v, %v", tc.t, tk, err)
		}
	}
}
