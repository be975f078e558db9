package gpt2

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// TestForwardParity compares the logits and loss of both engines with
// PyTorch on gpt2-tiny (vocab 50257) and on the same weights in the hub's
// legacy layout (no "transformer." prefix, extra attn.bias buffers).
func TestForwardParity(t *testing.T) {
	golden := testenv.Shared(t, "fixtures", "gpt2-tiny")
	raw, err := os.ReadFile(filepath.Join(golden, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Inputs struct {
			InputIDs      [][]int `json:"input_ids"`
			AttentionMask [][]int `json:"attention_mask"`
			Labels        [][]int `json:"labels"`
		} `json:"inputs"`
		Forward struct {
			Loss float32 `json:"loss"`
		} `json:"forward"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	ref, err := nn.ReadTensors(filepath.Join(golden, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := ref["forward.logits"]
	ids, B, T := flatten2(g.Inputs.InputIDs)
	mask, _, _ := flatten2(g.Inputs.AttentionMask)
	labels, _, _ := flatten2(g.Inputs.Labels)
	V := want.Shape[2]
	for _, folder := range []string{"gpt2-tiny", "gpt2-tiny-legacy"} {
		for _, engine := range []string{"autograd", "trainer"} {
			t.Run(folder+"/"+engine, func(t *testing.T) {
				m, err := Load(testenv.Shared(t, "fixtures", folder))
				if err != nil {
					t.Fatal(err)
				}
				var logits []float32
				var loss float32
				if engine == "autograd" {
					nn.Freeze(m)
					out, err := m.Forward(ids, B, T)
					if err != nil {
						t.Fatal(err)
					}
					l, err := m.Loss(out, ShiftLabels(labels, B, T))
					if err != nil {
						t.Fatal(err)
					}
					logits, loss = out.Value.Data(), l.Value.Item()
				} else {
					tr := NewTrainer(m)
					if logits, err = tr.Forward(ids, B, T); err != nil {
						t.Fatal(err)
					}
					if loss, err = tr.Loss(ShiftLabels(labels, B, T)); err != nil {
						t.Fatal(err)
					}
				}
				var worst float64
				for n := 0; n < B*T; n++ {
					if mask[n] == 0 {
						continue
					}
					for v := 0; v < V; v++ {
						worst = math.Max(worst, math.Abs(float64(logits[n*V+v]-want.Data[n*V+v])))
					}
				}
				t.Logf("logits max abs diff %.3g, loss %.7f (PyTorch %.7f)", worst, loss, g.Forward.Loss)
				if worst > 1e-4 {
					t.Errorf("logits differ from PyTorch by %g", worst)
				}
				if math.Abs(float64(loss-g.Forward.Loss)) > 1e-5 {
					t.Errorf("loss %.7f, want %.7f", loss, g.Forward.Loss)
				}
			})
		}
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name, json string
		wantErr    string
	}{
		{"hf", `{"vocab_size": 65, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 2, "activation_function": "gelu_new", "n_inner": null}`, ""},
		{"exact gelu", `{"vocab_size": 65, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 2, "activation_function": "gelu"}`, ""},
		{"heads", `{"vocab_size": 65, "n_positions": 16, "n_embd": 30, "n_layer": 2, "n_head": 4}`, "multiple"},
		{"activation", `{"vocab_size": 65, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 2, "activation_function": "tanh"}`, "activation"},
		{"untied", `{"vocab_size": 65, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 2, "tie_word_embeddings": false}`, "tie_word_embeddings"},
		{"zero", `{}`, "positive"},
		{"huge", `{"vocab_size": 65, "n_positions": 16, "n_embd": 1073741824, "n_layer": 2, "n_head": 2}`, "too large"},
		{"syntax", `{"vocab_size": }`, "gpt2: config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(c.json))
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Inner() != 4*cfg.NumEmbd || cfg.LayerNormEp != 1e-5 {
					t.Errorf("defaults not applied: %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, c.wantErr)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"vocab_size": 65, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 2}`))
	f.Add([]byte(`{"n_inner": 7, "n_embd": 8, "n_head": 8, "vocab_size": 1, "n_positions": 1, "n_layer": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		if cfg.NumEmbd%cfg.NumHead != 0 || cfg.Inner() <= 0 {
			t.Fatalf("invalid config accepted: %+v", cfg)
		}
	})
}

func TestInputErrors(t *testing.T) {
	m, err := New(Config{VocabSize: 10, NumPos: 4, NumEmbd: 8, NumLayer: 1, NumHead: 2}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m)
	for _, c := range []struct {
		name string
		ids  []int
		B, T int
	}{{"length", []int{1, 2, 3}, 1, 4}, {"too long", []int{1, 2, 3, 4, 5}, 1, 5}, {"vocab", []int{1, 2, 10, 3}, 1, 4}, {"negative", []int{-1, 2}, 1, 2}} {
		if _, err := m.Forward(c.ids, c.B, c.T); err == nil {
			t.Errorf("%s: Model.Forward accepted bad input", c.name)
		}
		if _, err := tr.Forward(c.ids, c.B, c.T); err == nil {
			t.Errorf("%s: Trainer.Forward accepted bad input", c.name)
		}
	}
	if err := tr.Backward(); err == nil {
		t.Error("Backward before Loss succeeded")
	}
	if _, err := tr.Forward([]int{1, 2}, 1, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Loss([]int{1, 10}); err == nil {
		t.Error("target outside the vocabulary accepted")
	}
}

func TestSaveLoad(t *testing.T) {
	cfg := Config{VocabSize: 10, NumPos: 4, NumEmbd: 8, NumLayer: 1, NumHead: 2}
	a, _ := New(cfg, tensor.NewRNG(1))
	b, _ := New(cfg, tensor.NewRNG(2))
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := a.SaveSafetensors(path); err != nil {
		t.Fatal(err)
	}
	if err := b.LoadSafetensors(path); err != nil {
		t.Fatal(err)
	}
	for i := range a.params {
		if a.params[i] != b.params[i] {
			t.Fatal("parameters differ after a save/load round trip")
		}
	}
	cfg.NumEmbd = 4
	c, _ := New(cfg, tensor.NewRNG(1))
	if err := c.LoadSafetensors(path); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("loading into a different shape: %v", err)
	}
}

// TestTrainerMatchesAutograd checks the fused Trainer against the autograd
// engine on sequences longer than one attention row block, with every
// activation, and with heads wide enough (32) for attention's products to
// take the tiled, causally trimmed path (kernels.SgemmTriangle).
func TestTrainerMatchesAutograd(t *testing.T) {
	const B, T = 2, 150
	for _, tc := range []struct {
		act         string
		embd, heads int
	}{{"gelu", 16, 2}, {"gelu_new", 16, 2}, {"relu", 16, 2}, {"silu", 16, 2}, {"gelu", 64, 2}} {
		act := tc.act
		t.Run(fmt.Sprintf("%s_%d", act, tc.embd), func(t *testing.T) {
			cfg := Config{VocabSize: 11, NumPos: T, NumEmbd: tc.embd, NumLayer: 2, NumHead: tc.heads, ActivationFunction: act}
			rng := tensor.NewRNG(3)
			m, err := New(cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			ids, targets := make([]int, B*T), make([]int, B*T)
			for i := range ids {
				ids[i], targets[i] = rng.IntN(11), rng.IntN(11)
			}
			targets[7] = -100
			logits, err := m.Forward(ids, B, T)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := m.Loss(logits, targets)
			if err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			autograd.Backward(loss)
			want := append([]float32(nil), m.grads...)
			wantLogits := logits.Value.Values()

			tr := NewTrainer(m)
			got, err := tr.Forward(ids, B, T)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := maxDiff(got, wantLogits, nil); d > 1e-5 {
				t.Errorf("logits differ by %g", d)
			}
			l, _ := tr.Loss(targets)
			if math.Abs(float64(l-loss.Value.Item())) > 1e-6 {
				t.Errorf("loss %g vs %g", l, loss.Value.Item())
			}
			m.ZeroGrad()
			if err := tr.Backward(); err != nil {
				t.Fatal(err)
			}
			if d, scale := maxDiff(m.grads, want, nil); d > 1e-4*scale {
				t.Errorf("gradients differ by %g (max abs %g)", d, scale)
			}
		})
	}
}

// TestTrainerStepAllocations bounds the allocations of a steady-state
// training step (forward, loss, backward) with heads wide enough for the
// tiled attention products: the workspace and the kernels' scratch are
// reused, so a step allocates only a few small descriptors per product
// (fused-epilogue descriptors, parallel-loop closures) — never per
// attention head.
func TestTrainerStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const B, T = 4, 64
	cfg := Config{VocabSize: 11, NumPos: T, NumEmbd: 64, NumLayer: 2, NumHead: 2, ActivationFunction: "gelu"}
	m, err := New(cfg, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	ids, targets := make([]int, B*T), make([]int, B*T)
	for i := range ids {
		ids[i], targets[i] = i%11, (i+1)%11
	}
	tr := NewTrainer(m)
	step := func() {
		if _, err := tr.Forward(ids, B, T); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Loss(targets); err != nil {
			t.Fatal(err)
		}
		if err := tr.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	step()
	// B·H = 8 heads × 2 layers × 6 attention products = 96 products alone.
	a := testing.AllocsPerRun(5, step)
	t.Logf("%.0f allocations a step", a)
	if a > 60 {
		t.Errorf("a training step allocates %.0f times, want at most 60", a)
	}
}
