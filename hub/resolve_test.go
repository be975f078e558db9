package hub

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolveModel resolves a local folder as it is, downloads a Hub
// reference once (a sentence-transformers layout: its pooling config comes
// too, the ONNX copy does not), answers from the cache afterwards without
// a request, and reports a path that is neither.
func TestResolveModel(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	f.commit("acme/minilm", "main", map[string]fakeFile{
		"config.json":               {data: []byte(`{"model_type": "bert"}`)},
		"model.safetensors":         {data: []byte("weights"), lfs: true},
		"modules.json":              {data: []byte(`[]`)},
		"1_Pooling/config.json":     {data: []byte(`{"pooling_mode_mean_tokens": true}`)},
		"onnx/model.onnx":           {data: []byte("onnx"), lfs: true},
		"onnx/config.json":          {data: []byte(`{}`)},
		"sentence_bert_config.json": {data: []byte(`{"max_seq_length": 256}`)},
	})
	opts := testOptions(f, cache)
	ctx := context.Background()

	local := t.TempDir()
	if dir, err := ResolveModel(ctx, local, opts); err != nil || dir != local {
		t.Errorf("local folder: %q, %v", dir, err)
	}
	dir, err := ResolveModel(ctx, "acme/minilm", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not downloaded: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "onnx")); err == nil {
		t.Errorf("the onnx folder was downloaded")
	}
	f.resetLog()
	if again, err := ResolveModel(ctx, "acme/minilm", opts); err != nil || again != dir {
		t.Errorf("second resolve: %q, %v (want %q)", again, err, dir)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("a cached model made %d requests", n)
	}
	if _, err := ResolveModel(ctx, "./no/such/folder", opts); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing path: %v", err)
	}
}
