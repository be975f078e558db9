package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/quickstart"
)

func TestQuickstartUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"quickstart", "--steps-scale", "0"},
		{"quickstart", "--steps-scale", "-1"},
		{"quickstart", "--threads", "-2"},
		{"quickstart", "extra"},
		{"quickstart", "--seeds", "0"},
		{"quickstart", "--objective", "clm"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
}

// TestQuickstartSmoke runs the whole recipe at 5% of the default budget on
// this Go installation's sources and checks that every stage printed its
// results and left its files (not the accuracy gap, which needs the full
// budget).
func TestQuickstartSmoke(t *testing.T) {
	root, err := quickstart.FindGoroot(context.Background())
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	stories := testenv.Shared(t, "models", "stories260K")
	args := []string{"quickstart", "--out", dir, "--steps-scale", "0.05", "--seeds", "2", "--objective", "electra", "--threads", "2", "--goroot", root,
		"--stories", stories}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`classification: 4 classes \[crypto go net runtime\]`,
		`done: \d+ steps, \d+ tokens; eval loss [0-9.]+, disc_accuracy [0-9.]+, disc_loss`,
		`(?s)seed 1: dev accuracy [0-9.]+, macro F1 [0-9.]+.*true\\pred\s+crypto\s+go\s+net\s+runtime`,
		`seed 2: dev accuracy`,
		`accuracy  [0-9.]+ ± [0-9.]+ \([0-9.]+–[0-9.]+\) vs [0-9.]+ ± [0-9.]+`,
		`done: \d+ steps, \d+ tokens; eval loss [0-9.]+, perplexity`,
		`\[greedy, repetition penalty 1.3\]\n// Package`,
		`\[greedy, repetition penalty 1.3\]\n// Close closes`,
		`\[sampled, T=0.7 top-k 20\]\n// Package crypto`,
		`\[greedy\]\nOnce upon a time`,
		`total\s+[0-9.]+s`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", re, out)
		}
	}
	for _, f := range []string{"prose.txt", "godoc.txt", "classify-train.jsonl", "classify-dev.jsonl",
		"wordpiece/vocab.txt", "encoder/config.json", "encoder/generator/config.json", "classifier-1/config.json",
		"classifier-scratch-2/config.json", "classifier-1/vocab.txt", "bpe/tokenizer.json", "gpt/config.json", "gpt/tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestQuickstartDefaultObjective runs the encoder half at the default
// objective (the masked LM on packed sentences, no NSP, in bfloat16) and
// checks the printed command and the pretraining metrics.
func TestQuickstartDefaultObjective(t *testing.T) {
	root, err := quickstart.FindGoroot(context.Background())
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"quickstart", "--out", dir, "--steps-scale", "0.05", "--seeds", "1", "--part", "encoder", "--threads", "2", "--goroot", root}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`== 2\. BERT pretraining \(masked LM on packed sentences\) ==`,
		`\$ glossa pretrain --objective mlm .* --mask-prob 0\.4 `,
		`done: \d+ steps, \d+ tokens; eval loss [0-9.]+, mlm_accuracy [0-9.]+, mlm_loss [0-9.]+, perplexity`,
		`pretrained \(mlm\) vs from scratch`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", re, out)
		}
	}
	// The CLI pretrains in bf16 by default where the CPU makes it faster.
	bf16 := regexp.MustCompile(`\$ glossa pretrain --objective mlm .* --seed 42 --bf16\n`).MatchString(out)
	if want := kernels.CPU().FastBF16(); bf16 != want {
		t.Errorf("pretraining command has --bf16: %v, want %v (kernels.CPU().FastBF16()):\n%s", bf16, want, out)
	}
	if strings.Contains(out, "nsp_accuracy") {
		t.Errorf("the default objective reported next-sentence metrics:\n%s", out)
	}
}
