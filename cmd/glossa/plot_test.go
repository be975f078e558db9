package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlot(t *testing.T) {
	tmp := t.TempDir()
	for _, run := range []string{"f32", "bf16"} {
		dir := filepath.Join(tmp, run)
		os.MkdirAll(dir, 0o755)
		var sb strings.Builder
		for s := 1; s <= 20; s++ {
			fmt.Fprintf(&sb, "{\"step\":%d,\"split\":\"train\",\"loss\":%g}\n", s, 3/float64(s))
		}
		sb.WriteString("{\"step\":20,\"split\":\"eval\",\"loss\":0.2}\n")
		os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(sb.String()), 0o644)
	}
	out := filepath.Join(tmp, "cmp.svg")
	code, stdout, stderr := glossa(t, "plot", "--out", out, "--title", "A/B", filepath.Join(tmp, "f32")+"=float32", filepath.Join(tmp, "bf16"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"float32 validation", "bf16 validation", ">A/B<"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("figure lacks %q", want)
		}
	}
	for _, bad := range [][]string{
		{"plot", filepath.Join(tmp, "f32")},
		{"plot", "--out", filepath.Join(tmp, "x.pdf"), filepath.Join(tmp, "f32")},
		{"plot", "--out", out},
		{"plot", "--out", out, filepath.Join(tmp, "missing")},
	} {
		if code, _, stderr := glossa(t, bad...); code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr)
		}
	}
}
