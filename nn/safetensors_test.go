package nn

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/tensor"
)

// param returns a parameter of the given shape filled with fill.
func param(name string, fill float32, shape ...int) NamedParam {
	v := tensor.New(shape...)
	for i := range v.Data() {
		v.Data()[i] = fill
	}
	return NamedParam{Name: name, Var: autograd.Param(v)}
}

func TestSaveParamsReadTensors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	b := param("b", 0, 2, 2)
	copy(b.Var.Value.Data(), []float32{1, 2, 3, 4})
	in := []NamedParam{b, param("a", -0.5, 1)}
	if err := SaveParams(path, in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTensors(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Tensor{"a": {[]int{1}, []float32{-0.5}}, "b": {[]int{2, 2}, []float32{1, 2, 3, 4}}}
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if !slices.Equal(g.Shape, w.Shape) || !slices.Equal(g.Data, w.Data) {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
	}
}

// TestLoadParamsBF16 checks that LoadParams widens a BF16 checkpoint (the
// dtype most Hub models ship) exactly, for values representable in bf16.
func TestLoadParamsBF16(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bf16.safetensors")
	vals := []float32{1, -0.5, 3, 2.5, 0, -1024, 0.15625}
	err := checkpoint.Save(path, []checkpoint.Tensor{
		{Name: "w", Shape: []int{7}, Data: vals, DType: checkpoint.BF16},
		{Name: "model.b", Shape: []int{1, 2}, Data: []float32{7, -7}, DType: checkpoint.BF16},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := checkpoint.Open(path); err != nil {
		t.Fatal(err)
	} else {
		info, _ := f.Info("w")
		f.Close()
		if info.DType != checkpoint.BF16 {
			t.Fatalf("fixture stored %s, want BF16", info.DType)
		}
	}
	w, b := param("w", 9, 7), param("x.model.b", 9, 1, 2)
	if err := LoadParams(path, []NamedParam{w, b}, &LoadOptions{TrimPrefix: "x."}); err != nil {
		t.Fatal(err)
	}
	if got := w.Var.Value.Data(); !slices.Equal(got, vals) {
		t.Errorf("w = %v, want %v", got, vals)
	}
	if got := b.Var.Value.Data(); !slices.Equal(got, []float32{7, -7}) {
		t.Errorf("x.model.b = %v, want [7 -7]", got)
	}
}

func TestLoadParamsErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.safetensors")
	if err := SaveParams(path, []NamedParam{param("w", 1, 2, 3)}); err != nil {
		t.Fatal(err)
	}
	// An I32 tensor: valid safetensors, but not a float dtype.
	hdr := `{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}`
	raw := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	raw = append(append(raw, hdr...), make([]byte, 8)...)
	intPath := filepath.Join(dir, "int.safetensors")
	if err := os.WriteFile(intPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	if err := os.WriteFile(corrupt, raw[:len(raw)-4], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		ps         []NamedParam
		opts       *LoadOptions
		want       string // substring of the error; "" means success
	}{
		{"ok", path, []NamedParam{param("w", 0, 2, 3)}, nil, ""},
		{"missing", path, []NamedParam{param("v", 0, 2, 3)}, nil, "load v from " + path + ": missing tensor"},
		{"allow missing", path, []NamedParam{param("v", 0, 2, 3)}, &LoadOptions{AllowMissing: true}, ""},
		{"shape", path, []NamedParam{param("w", 0, 3, 2)}, nil, "shape [2 3], want [3 2]"},
		{"int dtype", intPath, []NamedParam{param("w", 0, 2)}, nil, "I32"},
		{"truncated", corrupt, []NamedParam{param("w", 0, 2)}, nil, "corrupt.safetensors"},
		{"no file", filepath.Join(dir, "none"), nil, nil, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := LoadParams(tt.path, tt.ps, tt.opts)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not contain %q", err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "nn: "):
				t.Fatalf("error %q lacks the nn: prefix", err)
			}
		})
	}
	if _, err := ReadTensors(intPath); err == nil || !strings.Contains(err.Error(), "I32") {
		t.Errorf("ReadTensors of an I32 tensor: err = %v", err)
	}
}

// TestLoadParamsFromShards loads parameters from a folder of two shards, one
// F32 and one BF16, listed by a model.safetensors.index.json.
func TestLoadParamsFromShards(t *testing.T) {
	dir := t.TempDir()
	shards := []struct {
		file string
		t    checkpoint.Tensor
	}{
		{"model-00001-of-00002.safetensors", checkpoint.Tensor{Name: "m.a", Shape: []int{2}, Data: []float32{0.1, 0.2}}},
		{"model-00002-of-00002.safetensors", checkpoint.Tensor{Name: "m.b", Shape: []int{3}, Data: []float32{1, 2, 3}, DType: checkpoint.BF16}},
	}
	for _, s := range shards {
		if err := checkpoint.Save(filepath.Join(dir, s.file), []checkpoint.Tensor{s.t}, nil); err != nil {
			t.Fatal(err)
		}
	}
	index := `{"metadata": {}, "weight_map": {"m.a": "` + shards[0].file + `", "m.b": "` + shards[1].file + `"}}`
	if err := os.WriteFile(filepath.Join(dir, checkpoint.IndexFileName), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	a, b := param("a", 0, 2), param("b", 0, 3)
	if err := LoadParamsFrom(ck, []NamedParam{a, b}, &LoadOptions{TrimPrefix: "x"}); err == nil ||
		!strings.Contains(err.Error(), dir) {
		t.Fatalf("names without the m. prefix: err = %v, want a missing tensor naming %s", err, dir)
	}
	a, b = param("m.a", 0, 2), param("m.b", 0, 3)
	if err := LoadParamsFrom(ck, []NamedParam{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Var.Value.Data(), []float32{0.1, 0.2}) || !slices.Equal(b.Var.Value.Data(), []float32{1, 2, 3}) {
		t.Fatalf("loaded a = %v, b = %v", a.Var.Value.Data(), b.Var.Value.Data())
	}
}
