package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

func TestDataPrepare(t *testing.T) {
	corpus := testenv.Shared(t, "data", "tinyshakespeare", "input.txt")
	tok := testenv.Shared(t, "tokenizers", "gpt2")
	cache := t.TempDir()
	var outs []string
	for range 2 {
		var out, errb bytes.Buffer
		err := runData(context.Background(), []string{"prepare", "--tokenizer", tok, "--docs", "file", "--keep-newlines", "--cache", cache, corpus}, &out, &errb)
		if err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		t.Log(out.String())
		outs = append(outs, out.String())
	}
	if !strings.Contains(outs[0], "cached false") || !strings.Contains(outs[1], "cached true") {
		t.Errorf("outputs %q", outs)
	}
	path := strings.SplitN(outs[0], "\n", 2)[0]
	var out bytes.Buffer
	if err := runData(context.Background(), []string{"inspect", "--tokenizer", tok, "--n", "1", path}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `segment 0: "First Citizen:\n"`) {
		t.Errorf("inspect output %q", out.String())
	}
	if err := runData(context.Background(), []string{"prepare", corpus}, &out, &out); err == nil {
		t.Error("missing --tokenizer: no error")
	}
}
