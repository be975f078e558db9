package nn

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// TestTorchTransformerParity loads the state_dicts of a torch.nn.TransformerEncoder
// and TransformerDecoder (testdata/gen_torch_transformer.py, PyTorch 1.13)
// into the stacks of this package by name, and compares their outputs.
func TestTorchTransformerParity(t *testing.T) {
	path := filepath.Join("testdata", "torch_transformer.safetensors")
	ref, err := ReadTensors(path)
	if err != nil {
		t.Fatal(err)
	}
	const D, H, F, L, B, T, S = 16, 2, 32, 2, 2, 5, 4
	pad := []bool{false, false, false, false, false, false, false, false, true, true}
	for _, c := range []struct {
		name      string
		act       Activation
		normFirst bool
	}{{"post_relu", ReLU, false}, {"pre_gelu", GELU, true}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := StackConfig{LayerConfig: LayerConfig{Dim: D, Heads: H, Hidden: F, Activation: c.act, NormFirst: c.normFirst},
				Layers: L, Positions: PositionsNone, FinalNorm: c.normFirst}
			enc, err := NewTransformerEncoder(cfg, tensor.NewRNG(1))
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewTransformerDecoder(cfg, tensor.NewRNG(1))
			if err != nil {
				t.Fatal(err)
			}
			load := func(prefix string, ps []NamedParam) {
				for _, p := range ps {
					r, ok := ref[prefix+p.Name]
					if !ok {
						t.Fatalf("PyTorch has no parameter %s%s", prefix, p.Name)
					}
					copy(p.Var.Value.Data(), r.Data)
				}
				n := 0
				for k := range ref {
					if strings.HasPrefix(k, prefix) {
						n++
					}
				}
				if n != len(ps) {
					t.Fatalf("%d PyTorch parameters under %s, %d here", n, prefix, len(ps))
				}
			}
			load(c.name+".enc.", enc.Params())
			load(c.name+".dec.", dec.Params())
			Freeze(enc)
			Freeze(dec)
			in := func(name string, shape ...int) *autograd.Var {
				return autograd.Const(tensor.MustFromData(ref[c.name+"."+name].Data, shape...))
			}
			y, err := enc.Forward(in("x", B, T, D), pad)
			if err != nil {
				t.Fatal(err)
			}
			z, err := dec.Forward(in("tgt", B, S, D), y, nil, pad)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []struct {
				name string
				got  []float32
				skip []bool
			}{{"y", y.Value.Values(), pad}, {"z", z.Value.Values(), nil}} {
				want := ref[c.name+"."+o.name].Data
				var worst float64
				for i := range want {
					if o.skip != nil && o.skip[i/D] {
						continue // padded query rows: compare valid positions only
					}
					worst = math.Max(worst, math.Abs(float64(o.got[i]-want[i])))
				}
				t.Logf("%s: max abs diff %.3g", o.name, worst)
				if worst > 1e-5 {
					t.Errorf("%s differs from PyTorch by %g", o.name, worst)
				}
			}
		})
	}
}
