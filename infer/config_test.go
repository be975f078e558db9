package infer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// toyConfig is a model configuration with one default and one bound.
type toyConfig struct {
	Width int `json:"width"`
}

func (c *toyConfig) Validate() error {
	if c.Width == 0 {
		c.Width = 8
	}
	if c.Width < 0 {
		return errors.New("toy: config: negative width")
	}
	return nil
}

func TestParseConfig(t *testing.T) {
	f := Family{Package: "toy", ModelType: "toy", Class: "Toy"}
	for _, tc := range []struct {
		doc   string
		width int
		err   string // "" = valid
	}{
		{`{"model_type": "toy", "width": 4}`, 4, ""},
		{`{"architectures": ["ToyForCausalLM"]}`, 8, ""}, // default filled in
		{`{}`, 8, ""},
		{`{"model_type": "bert"}`, 0, "toy: config: "},
		{`{"architectures": ["BertModel"]}`, 0, "toy: config: "},
		{`{"width": -1}`, 0, "negative width"},
		{`{"width": "wide"}`, 0, "toy: config: "},
		{`{"width": 4`, 0, "toy: config: "},
	} {
		c, err := ParseConfig[toyConfig](f, []byte(tc.doc))
		switch {
		case tc.err == "" && (err != nil || c.Width != tc.width):
			t.Errorf("%s: got %+v, %v; want width %d", tc.doc, c, err, tc.width)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one containing %q", tc.doc, err, tc.err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "toy", "width": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadConfig[toyConfig](f, dir); err != nil || c.Width != 3 {
		t.Errorf("ReadConfig of the folder: %+v, %v", c, err)
	}
	if _, _, err := OpenFolder[toyConfig](f, dir); err == nil || !strings.HasPrefix(err.Error(), "toy: ") {
		t.Errorf("OpenFolder without weights: error %v", err)
	}
}
