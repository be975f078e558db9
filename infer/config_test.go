package infer_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/infer"
)

func TestParseConfig(t *testing.T) {
	f := infer.Family{Package: "toy", ModelType: "toy", Class: "Toy"}
	for _, tc := range []struct {
		doc    string
		layers int
		err    string // "" = valid
	}{
		{`{"model_type": "toy", "n_layer": 4}`, 4, ""},
		{`{"architectures": ["ToyForCausalLM"]}`, 2, ""}, // default filled in
		{`{}`, 2, ""},
		{`{"model_type": "bert"}`, 0, "toy: config: "},
		{`{"architectures": ["BertModel"]}`, 0, "toy: config: "},
		{`{"n_layer": -1}`, 0, "is negative"},
		{`{"n_layer": "wide"}`, 0, "toy: config: "},
		{`{"n_layer": 4`, 0, "toy: config: "},
	} {
		c, err := infer.ParseConfig[tinyConfig](f, []byte(tc.doc))
		switch {
		case tc.err == "" && (err != nil || c.Layers != tc.layers):
			t.Errorf("%s: got %+v, %v; want %d layers", tc.doc, c, err, tc.layers)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one containing %q", tc.doc, err, tc.err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "toy", "n_layer": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := infer.ReadConfig[tinyConfig](f, dir); err != nil || c.Layers != 3 {
		t.Errorf("ReadConfig of the folder: %+v, %v", c, err)
	}
	if _, _, err := infer.OpenFolder[tinyConfig](f, dir); err == nil || !strings.HasPrefix(err.Error(), "toy: ") {
		t.Errorf("OpenFolder without weights: error %v", err)
	}
}

// closeCounter counts its Close calls.
type closeCounter struct{ n int }

func (c *closeCounter) Close() error { c.n++; return nil }

func TestRelease(t *testing.T) {
	c := &closeCounter{}
	var src io.Closer = c
	for range 2 {
		if err := infer.Release(&src); err != nil {
			t.Fatal(err)
		}
	}
	if c.n != 1 || src != nil {
		t.Errorf("two Releases: %d closes, source %v; want 1, nil", c.n, src)
	}
}
