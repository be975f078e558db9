package quantize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/internal/testenv"
)

func stories(t *testing.T) (bin, tok string) {
	t.Helper()
	return testenv.Shared(t, "models", "stories260K", "stories260K.bin"), testenv.Shared(t, "models", "stories260K", "tok512.bin")
}

func reference(t *testing.T, typ string) string {
	t.Helper()
	return testenv.Shared(t, "models", "stories260K-gguf", "stories260K-"+typ+".gguf")
}

var fileTypeNames = []struct {
	name string
	t    gguf.Type
}{{"f32", gguf.F32}, {"q8_0", gguf.Q8_0}, {"q4_0", gguf.Q4_0}}

// From llama2.c's stories260K.bin and tok512.bin, the files are byte for
// byte those of ../shared/models/stories260K-gguf, which llama.cpp loads and
// which were written with llama.cpp's reference quantizers and
// llama-quantize's type choices (ffn_down's 172-wide rows F16, the tied
// token_embd Q8_0 in the Q4_0 file).
func TestLlama2CMatchesReference(t *testing.T) {
	bin, tok := stories(t)
	for _, tc := range fileTypeNames {
		out := filepath.Join(t.TempDir(), "m.gguf")
		res, err := File(context.Background(), bin, out, Options{Type: tc.t, Tokenizer: tok})
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(reference(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes differ from the reference's %d", tc.name, len(got), len(want))
		}
		if res.Bytes != int64(len(want)) || len(res.Tensors) != 47 {
			t.Errorf("%s: result %d bytes, %d tensors", tc.name, res.Bytes, len(res.Tensors))
		}
	}
}

// sameTensors checks that two files hold the same tensors, bytes and types.
func sameTensors(t *testing.T, what, gotPath, wantPath string) {
	t.Helper()
	got, err := gguf.Open(gotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	want, err := gguf.Open(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if got.Len() != want.Len() {
		t.Fatalf("%s: %d tensors, want %d", what, got.Len(), want.Len())
	}
	for _, wt := range want.Tensors() {
		gt, ok := got.Tensor(wt.Name)
		if !ok {
			t.Errorf("%s: no tensor %s", what, wt.Name)
			continue
		}
		gb, _ := got.Bytes(wt.Name)
		wb, _ := want.Bytes(wt.Name)
		if gt.Type != wt.Type || fmt.Sprint(gt.Shape) != fmt.Sprint(wt.Shape) || !bytes.Equal(gb, wb) {
			t.Errorf("%s: %s: %v %v, want %v %v (bytes equal: %v)", what, wt.Name, gt.Type, gt.Shape, wt.Type, wt.Shape, bytes.Equal(gb, wb))
		}
	}
	gtok, err := got.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	wtok, _ := want.Tokenizer()
	if fmt.Sprint(gtok) != fmt.Sprint(wtok) || strings.Join(gtok.Tokens, "\x00") != strings.Join(wtok.Tokens, "\x00") {
		t.Errorf("%s: tokenizer differs", what)
	}
}

// Requantizing the F32 GGUF file gives the reference Q8_0 and Q4_0 tensors
// bit for bit, with the metadata copied; a quantized input is not
// requantized unless allowed.
func TestRequantizeGGUF(t *testing.T) {
	f32 := reference(t, "f32")
	for _, tc := range fileTypeNames[1:] {
		out := filepath.Join(t.TempDir(), "m.gguf")
		if _, err := File(context.Background(), f32, out, Options{Type: tc.t}); err != nil {
			t.Fatal(err)
		}
		sameTensors(t, tc.name, out, reference(t, tc.name))
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		ft, _ := f.Uint("general.file_type")
		name, _ := f.String("general.name")
		f.Close()
		if ft != uint64(fileTypes[tc.t]) || name != "stories260K" {
			t.Errorf("%s: file_type %d, name %q", tc.name, ft, name)
		}
	}
	out := filepath.Join(t.TempDir(), "m.gguf")
	_, err := File(context.Background(), reference(t, "q8_0"), out, Options{Type: gguf.Q4_0})
	if err == nil || !strings.Contains(err.Error(), "--allow-requantize") {
		t.Errorf("Q8_0 → Q4_0 without AllowRequantize: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed conversion left %s", out)
	}
	if _, err := File(context.Background(), reference(t, "q8_0"), out, Options{Type: gguf.Q4_0, AllowRequantize: true}); err != nil {
		t.Errorf("with AllowRequantize: %v", err)
	}
}

// An HF folder holding stories260K (q and k rows permuted to HF's
// rotate-half layout, as its conversion script does) converts to the same
// tensors as the llama2.c file: the permutation is undone.
func TestHFFolderMatchesLlama2C(t *testing.T) {
	bin, tok := stories(t)
	m, err := checkpoint.ReadLlama2C(bin)
	if err != nil {
		t.Fatal(err)
	}
	cfg := m.Config
	C, F, KV, V, D := cfg.Dim, cfg.HiddenDim, cfg.KVDim(), cfg.VocabSize, cfg.HeadSize()
	permute := func(x []float32, heads int) []float32 { // Meta row h·D+2i+s → HF row h·D+s·D/2+i
		out := make([]float32, len(x))
		for h := range heads {
			for s := range 2 {
				for i := range D / 2 {
					copy(out[(h*D+s*D/2+i)*C:][:C], x[(h*D+2*i+s)*C:][:C])
				}
			}
		}
		return out
	}
	layer := func(a []float32, l, n int) []float32 { return a[l*n : (l+1)*n] }
	ts := []checkpoint.Tensor{
		{Name: "model.embed_tokens.weight", Shape: []int{V, C}, Data: m.TokenEmbedding},
		{Name: "model.norm.weight", Shape: []int{C}, Data: m.RMSFinal},
	}
	for l := range cfg.NumLayers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ts = append(ts,
			checkpoint.Tensor{Name: p + "input_layernorm.weight", Shape: []int{C}, Data: layer(m.RMSAtt, l, C)},
			checkpoint.Tensor{Name: p + "self_attn.q_proj.weight", Shape: []int{C, C}, Data: permute(layer(m.WQ, l, C*C), cfg.NumHeads)},
			checkpoint.Tensor{Name: p + "self_attn.k_proj.weight", Shape: []int{KV, C}, Data: permute(layer(m.WK, l, KV*C), cfg.NumKVHeads)},
			checkpoint.Tensor{Name: p + "self_attn.v_proj.weight", Shape: []int{KV, C}, Data: layer(m.WV, l, KV*C)},
			checkpoint.Tensor{Name: p + "self_attn.o_proj.weight", Shape: []int{C, C}, Data: layer(m.WO, l, C*C)},
			checkpoint.Tensor{Name: p + "post_attention_layernorm.weight", Shape: []int{C}, Data: layer(m.RMSFFN, l, C)},
			checkpoint.Tensor{Name: p + "mlp.gate_proj.weight", Shape: []int{F, C}, Data: layer(m.W1, l, F*C)},
			checkpoint.Tensor{Name: p + "mlp.down_proj.weight", Shape: []int{C, F}, Data: layer(m.W2, l, C*F)},
			checkpoint.Tensor{Name: p + "mlp.up_proj.weight", Shape: []int{F, C}, Data: layer(m.W3, l, F*C)},
		)
	}
	dir := filepath.Join(t.TempDir(), "stories260K")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.Save(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": %d,
		"hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
		"num_key_value_heads": %d, "max_position_embeddings": %d, "rms_norm_eps": 1e-5, "rope_theta": 10000,
		"tie_word_embeddings": true, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2}`,
		V, C, F, cfg.NumLayers, cfg.NumHeads, cfg.NumKVHeads, cfg.SeqLen)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	template := `{% for m in messages %}{{ m['content'] }}{% endfor %}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"chat_template": "`+template+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without a vocabulary the conversion fails and says what to give.
	out := filepath.Join(t.TempDir(), "m.gguf")
	if _, err := File(context.Background(), dir, out, Options{Type: gguf.Q8_0}); err == nil || !strings.Contains(err.Error(), "--tokenizer") {
		t.Errorf("no tokenizer: %v", err)
	}
	for _, tc := range fileTypeNames {
		if _, err := File(context.Background(), dir, out, Options{Type: tc.t, Tokenizer: tok}); err != nil {
			t.Fatal(err)
		}
		sameTensors(t, "hf "+tc.name, out, reference(t, tc.name))
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := f.Tokenizer()
		f.Close()
		if err != nil || tk.ChatTemplate != template {
			t.Errorf("chat template %q, %v", tk.ChatTemplate, err)
		}
	}
}

func TestTypeFor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		ftype gguf.Type
		tied  bool
		pure  bool
		want  gguf.Type
		err   bool
	}{
		{"blk.0.attn_norm.weight", []int{64}, gguf.Q4_0, false, false, gguf.F32, false},
		{"blk.0.ffn_norm.weight", []int{64, 64}, gguf.Q8_0, false, false, gguf.F32, false},
		{"blk.0.attn_q.weight", []int{64, 64}, gguf.Q4_0, false, false, gguf.Q4_0, false},
		{"blk.0.attn_q.bias", []int{64, 64}, gguf.Q4_0, false, false, gguf.F32, false},
		{"blk.0.ffn_down.weight", []int{64, 172}, gguf.Q8_0, false, false, gguf.F16, false},
		{"blk.0.ffn_down.weight", []int{64, 172}, gguf.Q8_0, false, true, 0, true},
		{"blk.0.ffn_down.weight", []int{64, 172}, gguf.F16, false, true, gguf.F16, false},
		{"token_embd.weight", []int{512, 64}, gguf.Q4_0, true, false, gguf.Q8_0, false},
		{"token_embd.weight", []int{512, 64}, gguf.Q4_0, false, false, gguf.Q4_0, false},
		{"token_embd.weight", []int{512, 64}, gguf.Q4_0, true, true, gguf.Q4_0, false},
		{"output.weight", []int{512, 768}, gguf.Q4_0, false, false, gguf.Q6_K, false},
		{"token_embd.weight", []int{512, 768}, gguf.Q4_0, true, false, gguf.Q6_K, false},
		{"token_embd.weight", []int{512, 768}, gguf.Q4_0, false, false, gguf.Q4_0, false},
		{"output.weight", []int{512, 768}, gguf.Q8_0, false, false, gguf.Q8_0, false},
		{"output.weight", []int{512, 768}, gguf.BF16, false, false, gguf.BF16, false},
		{"output.weight", []int{512, 48}, gguf.Q4_0, false, false, gguf.F16, false},
	} {
		got, _, err := TypeFor(tc.name, tc.shape, tc.ftype, tc.tied, tc.pure)
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("TypeFor(%s %v %v tied=%v pure=%v) = %v, %v; want %v (error %v)", tc.name, tc.shape, tc.ftype, tc.tied, tc.pure, got, err, tc.want, tc.err)
		}
	}
}

// Bad requests fail with an error that says what is wrong, and write
// nothing.
func TestBadInput(t *testing.T) {
	bin, tok := stories(t)
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.gguf")
	data, err := os.ReadFile(reference(t, "q8_0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		in   string
		opts Options
		want string
	}{
		{"llama2.c without tokenizer", bin, Options{Type: gguf.Q8_0}, "tokenizer.bin"},
		{"tokenizer of another size", bin, Options{Type: gguf.Q8_0, Tokenizer: testenv.Shared(t, "tokenizers", "llama2", "tokenizer.bin")}, "32000 tokens, the model's vocabulary 512"},
		{"pure Q8_0 of 172-wide rows", bin, Options{Type: gguf.Q8_0, Tokenizer: tok, Pure: true}, `"blk.0.ffn_down.weight": row length 172 is not a multiple of the Q8_0 block size 32`},
		{"unsupported type", bin, Options{Type: gguf.Q4_K, Tokenizer: tok}, "type Q4_K is not one of"},
		{"truncated GGUF", truncated, Options{Type: gguf.Q4_0}, "truncated.gguf"},
		{"unknown input", other, Options{Type: gguf.Q4_0}, "want a Hugging Face Llama folder"},
		{"missing input", filepath.Join(dir, "nope.bin"), Options{}, "no such file"},
	} {
		out := filepath.Join(dir, strings.ReplaceAll(tc.what, " ", "_")+".gguf")
		_, err := File(context.Background(), tc.in, out, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.what, err, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s", tc.what, out)
		}
	}
	if _, err := ParseType("q5_k"); err == nil {
		t.Error("ParseType(q5_k) succeeded")
	}
	if got, err := ParseType("Q4_0"); err != nil || got != gguf.Q4_0 {
		t.Errorf("ParseType(Q4_0) = %v, %v", got, err)
	}
}
