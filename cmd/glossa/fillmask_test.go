package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// TestFillMaskCommand runs fill-mask on the bert-tiny fixture (random
// weights) with the bert-base-uncased vocabulary: five predictions with
// descending probabilities, JSON output for two masks, and usage errors.
func TestFillMaskCommand(t *testing.T) {
	model := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	code, out, errs := glossa(t, "fill-mask", "--model", model, "--tokenizer", vocab, "the cat sat on the [MASK].")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || lines[0] != "the cat sat on the [MASK]." {
		t.Fatalf("output:\n%s", out)
	}
	prev := 2.0
	for _, l := range lines[1:] {
		p, err := strconv.ParseFloat(strings.Fields(l)[0], 64)
		if err != nil || p > prev || p <= 0 {
			t.Fatalf("line %q: probability %v after %v", l, p, prev)
		}
		prev = p
	}

	code, out, errs = glossa(t, "fill-mask", "--model", model, "--tokenizer", vocab, "--json", "--top-k", "3", "a [MASK] b [MASK]")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Masks [][]struct {
			Score float64 `json:"score"`
			Token int     `json:"token"`
		} `json:"masks"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Masks) != 2 || len(res.Masks[1]) != 3 {
		t.Fatalf("json output %s: %v", out, err)
	}
	// bfloat16 weights: the same shape of answer, probabilities within
	// bfloat16 rounding (a few per cent) of float32's.
	code, out, errs = glossa(t, "fill-mask", "--model", model, "--tokenizer", vocab, "--json", "--top-k", "3", "--dtype", "bf16", "a [MASK] b [MASK]")
	if code != 0 {
		t.Fatalf("--dtype bf16: exit %d: %s", code, errs)
	}
	f32 := res
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Masks) != 2 || len(res.Masks[1]) != 3 {
		t.Fatalf("--dtype bf16 json output %s: %v", out, err)
	}
	if a, b := res.Masks[0][0].Score, f32.Masks[0][0].Score; math.Abs(a-b) > 0.05*b {
		t.Errorf("--dtype bf16: top score %g, float32 %g", a, b)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"fill-mask", "x"}, 2, "--model"},
		{[]string{"fill-mask", "--model", model, "--tokenizer", vocab}, 2, "no text"},
		{[]string{"fill-mask", "--model", model, "--tokenizer", vocab, "no mask here"}, 1, "no mask token ([MASK])"},
		{[]string{"fill-mask", "--model", t.TempDir(), "--tokenizer", vocab, "[MASK]"}, 1, "config.json"},
		{[]string{"fill-mask", "--model", model, "--tokenizer", vocab, "--top-k", "0", "[MASK]"}, 2, "top-k"},
		{[]string{"fill-mask", "--model", model, "--tokenizer", vocab, "--dtype", "fp8", "[MASK]"}, 2, "weight format"},
		{[]string{"fill-mask", "--model", testenv.Shared(t, "fixtures", "bert-tiny-cls"), "--tokenizer", vocab, "[MASK]"}, 1, "cls.predictions"},
	} {
		code, _, errs := glossa(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}
