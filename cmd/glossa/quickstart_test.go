package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestExtractGodoc(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // prose of the kept comments
	}{
		{
			name: "func and type",
			src: "package p\n\n// Add returns the sum of a and b, which are both integers.\nfunc Add(a, b int) int { return a + b }\n\n" +
				"// T is a type with a fairly long documentation comment.\n//\n// Second paragraph here.\ntype T struct{}\n",
			want: []string{"Add returns the sum of a and b, which are both integers.",
				"T is a type with a fairly long documentation comment.\nSecond paragraph here."},
		},
		{
			name: "detached and indented comments are dropped",
			src: "package p\n\n// A detached comment that documents nothing at all.\n\nfunc F() {}\n\n" +
				"func G() {\n\t// An indented comment inside a function body.\n\tx := 1\n}\n",
			want: nil,
		},
		{
			name: "directives and code samples are left out",
			src:  "package p\n\n// Sum adds up the numbers in xs and returns the total:\n//\n//\ttotal := Sum(1, 2)\n//go:noinline\nfunc Sum(xs ...int) int { return 0 }\n",
			want: []string{"Sum adds up the numbers in xs and returns the total:"},
		},
		{
			name: "short comments are dropped",
			src:  "package p\n\n// Short.\nvar v int\n",
			want: nil,
		},
		{
			name: "copyright header is dropped",
			src:  "// Copyright 2009 The Go Authors. All rights reserved. Use is governed by a license.\npackage p\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := extractGodoc([]byte(tt.src))
			var got []string
			for _, d := range docs {
				got = append(got, d.text)
				if !strings.HasPrefix(d.raw, "// ") {
					t.Errorf("raw %q does not start with the comment", d.raw)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseDevScores(t *testing.T) {
	out := "noise\ndev accuracy 0.8125, macro F1 0.7900 (32 examples)\n\nreport\n"
	if got := parseDevScores(out); got != [2]float64{0.8125, 0.79} {
		t.Errorf("parseDevScores = %v", got)
	}
	if got := parseDevScores("nothing here"); got != [2]float64{} {
		t.Errorf("parseDevScores(no match) = %v", got)
	}
}

func TestQuickstartPlanScales(t *testing.T) {
	full, smoke := newQuickstartPlan(1), newQuickstartPlan(0.05)
	if smoke.bertSteps >= full.bertSteps || smoke.corpusBytes >= full.corpusBytes || smoke.gptSteps >= full.gptSteps {
		t.Errorf("smoke plan %+v is not smaller than the full one %+v", smoke, full)
	}
	if tiny := newQuickstartPlan(1e-6); tiny.bertSteps < 1 || tiny.ftSteps < 1 || tiny.perClass < 10 {
		t.Errorf("tiny plan %+v has empty stages", tiny)
	}
}

func TestQuickstartUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"quickstart", "--steps-scale", "0"},
		{"quickstart", "--steps-scale", "-1"},
		{"quickstart", "--threads", "-2"},
		{"quickstart", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
}

// TestQuickstartSmoke runs the whole recipe at 5% of the default budget on
// this Go installation's sources.
func TestQuickstartSmoke(t *testing.T) {
	root, err := findGoroot(context.Background())
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"quickstart", "--out", dir, "--steps-scale", "0.05", "--threads", "2", "--goroot", root}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`classification: 4 classes \[crypto go net runtime\]`,
		`done: \d+ steps, \d+ tokens; eval loss [0-9.]+, mlm_accuracy`,
		`(?s)dev accuracy [0-9.]+, macro F1 [0-9.]+.*true\\pred\s+crypto\s+go\s+net\s+runtime`,
		`pretrained vs from scratch on \d+ dev comments: accuracy [0-9.]+ vs [0-9.]+`,
		`done: \d+ steps, \d+ tokens; eval loss [0-9.]+, perplexity`,
		`\[greedy, repetition penalty 1.3\]\n// Package`,
		`\[sampled, T=0.8 top-k 40\]\n// Package crypto`,
		`total\s+[0-9.]+s`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", re, out)
		}
	}
	for _, f := range []string{"prose.txt", "godoc.txt", "classify-train.jsonl", "classify-dev.jsonl",
		"wordpiece/vocab.txt", "bert/config.json", "classifier/config.json", "classifier-scratch/config.json",
		"bpe/tokenizer.json", "gpt/config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
