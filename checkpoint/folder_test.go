package checkpoint

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/kernels"
)

func TestFixtureFolders(t *testing.T) {
	fixtures := testenv.Shared(t, "fixtures")
	open := func(name string) *Folder {
		t.Helper()
		fo, err := OpenFolder(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fo.Close() })
		return fo
	}
	base, sharded, bf16 := open("llama-tiny"), open("llama-tiny-sharded"), open("llama-tiny-bf16")

	if base.Index() != nil || sharded.Index() == nil || len(sharded.Files()) != 2 {
		t.Fatalf("index: base %v, sharded %v with %d files", base.Index(), sharded.Index(), len(sharded.Files()))
	}
	names := base.Names()
	if len(names) != 2*9+3 {
		t.Errorf("llama-tiny has %d tensors, want 21", len(names))
	}
	for _, fo := range []*Folder{sharded, bf16} {
		if got := fo.Names(); !slices.Equal(got, names) {
			t.Errorf("%s names differ from llama-tiny: %q", fo.Dir(), got)
		}
	}
	var total int64
	for _, name := range names {
		info, _ := base.Info(name)
		total += info.NumBytes()
		want, err := base.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := sharded.Float32(name); err != nil || !slices.Equal(got, want) {
			t.Errorf("sharded %s differs from llama-tiny (%v)", name, err)
		}
		// The bf16 fixture holds llama-tiny's weights rounded to nearest even.
		rounded := make([]uint16, len(want))
		kernels.F32ToBF16(rounded, want)
		widened := make([]float32, len(want))
		kernels.BF16ToF32(widened, rounded)
		got, err := bf16.Float32(name)
		if bi, _ := bf16.Info(name); bi.DType != BF16 || !slices.Equal(bi.Shape, info.Shape) {
			t.Errorf("bf16 %s: %v %v, want BF16 %v", name, bi.DType, bi.Shape, info.Shape)
		}
		if err != nil || !slices.Equal(got, widened) {
			t.Errorf("bf16 %s is not llama-tiny rounded to bf16 (%v)", name, err)
		}
	}
	if got := sharded.Index().TotalSize; got != total {
		t.Errorf("index total_size %d, tensors hold %d bytes", got, total)
	}
	if info, _ := base.Info("model.layers.0.self_attn.k_proj.weight"); !slices.Equal(info.Shape, []int{2 * 16, 64}) {
		t.Errorf("k_proj shape %v, want [32 64] (2 kv heads of 16)", info.Shape)
	}
	if m := sharded.Metadata(); m["format"] != "pt" {
		t.Errorf("sharded metadata %v", m)
	}

	gpt2 := open("gpt2-tiny")
	if _, ok := gpt2.Info("lm_head.weight"); ok {
		t.Error("gpt2-tiny stores lm_head.weight, which is tied and should be absent")
	}
	if info, ok := gpt2.Info("transformer.h.0.attn.c_attn.weight"); !ok || !slices.Equal(info.Shape, []int{32, 96}) {
		t.Errorf("c_attn.weight: %v %v, want Conv1D shape [32 96]", info.Shape, ok)
	}
	if view, ok := gpt2.Float32View("transformer.wte.weight"); !ok || len(view) != 50257*32 {
		t.Errorf("Float32View(wte): %d floats, %v", len(view), ok)
	}
}

// writeShards writes a sharded folder whose index is index (as JSON) and
// whose shards hold the given tensor names.
func writeShards(t *testing.T, index any, shards map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	for file, names := range shards {
		var ts []Tensor
		for _, n := range names {
			ts = append(ts, Tensor{Name: n, Shape: []int{2, 3}, Data: randomData(r, 6)})
		}
		if err := Save(filepath.Join(dir, file), ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(index)
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenFolderErrors(t *testing.T) {
	twoShards := map[string][]string{"s1.safetensors": {"a", "b"}, "s2.safetensors": {"c"}}
	goodMap := map[string]string{"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}
	tests := []struct {
		name   string
		index  any
		shards map[string][]string
		want   string
		is     error
	}{
		{"ok", map[string]any{"weight_map": goodMap, "metadata": map[string]any{"total_size": 72}}, twoShards, "", nil},
		{"missing shard", map[string]any{"weight_map": map[string]string{"a": "s1.safetensors", "b": "s1.safetensors", "c": "s3.safetensors"}},
			twoShards, "shard s3.safetensors", fs.ErrNotExist},
		{"tensor not in shard", map[string]any{"weight_map": map[string]string{"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "d": "s2.safetensors"}},
			twoShards, `tensor "d": listed in s2.safetensors, which does not contain it`, ErrMissingTensor},
		{"unlisted tensor", map[string]any{"weight_map": map[string]string{"a": "s1.safetensors", "c": "s2.safetensors"}},
			twoShards, `tensor "b": not listed in model.safetensors.index.json`, ErrFormat},
		{"wrong shard", map[string]any{"weight_map": map[string]string{"a": "s1.safetensors", "b": "s2.safetensors", "c": "s2.safetensors"}},
			twoShards, `tensor "b": listed in s2.safetensors`, ErrMissingTensor},
		{"tensor in two shards", map[string]any{"weight_map": goodMap},
			map[string][]string{"s1.safetensors": {"a", "b"}, "s2.safetensors": {"b", "c"}}, `tensor "b": model.safetensors.index.json assigns it to s1.safetensors`, ErrFormat},
		{"path traversal", map[string]any{"weight_map": map[string]string{"a": "../s1.safetensors"}}, twoShards, "invalid shard file name", ErrFormat},
		{"empty map", map[string]any{"weight_map": map[string]string{}}, twoShards, "no weight_map entries", ErrFormat},
		{"bad total_size", map[string]any{"weight_map": goodMap, "metadata": map[string]any{"total_size": -1}}, twoShards, "total_size", ErrFormat},
		{"not an object", []int{1}, twoShards, "line 1, column 2: got JSON array, want an object", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeShards(t, tt.index, tt.shards)
			fo, err := OpenFolder(dir)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer fo.Close()
				if got := fo.Names(); !slices.Equal(got, []string{"a", "b", "c"}) {
					t.Errorf("Names() = %q", got)
				}
				if fo.Index().TotalSize != 72 {
					t.Errorf("TotalSize = %d", fo.Index().TotalSize)
				}
				if _, err := fo.Float32("z"); !errors.Is(err, ErrMissingTensor) {
					t.Errorf("Float32(z): %v", err)
				}
				return
			}
			if err == nil {
				fo.Close()
				t.Fatalf("OpenFolder succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "checkpoint: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not match %v", err, tt.is)
			}
		})
	}
}

func TestOpenFolderNoCheckpoint(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenFolder(dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Errorf("empty folder: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("x"), 0o644)
	if _, err := OpenFolder(dir); err == nil || !strings.Contains(err.Error(), "pickle") {
		t.Errorf("folder with pytorch_model.bin: %v", err)
	}
	// A single file wins over an index, as in transformers.
	if err := Save(filepath.Join(dir, SingleFileName), []Tensor{{Name: "x", Shape: []int{1}, Data: []float32{3}}}, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, IndexFileName), []byte("garbage"), 0o644)
	fo, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fo.Close()
	if got, err := fo.Float32("x"); err != nil || !slices.Equal(got, []float32{3}) {
		t.Errorf("Float32(x) = %v, %v", got, err)
	}
}
