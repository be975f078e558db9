package quickstart

import (
	"context"
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
			docs := ExtractGodoc([]byte(tt.src))
			var got []string
			for _, d := range docs {
				got = append(got, d.Text)
				if !strings.HasPrefix(d.Raw, "// ") {
					t.Errorf("raw %q does not start with the comment", d.Raw)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanScales(t *testing.T) {
	full, smoke := NewPlan(1), NewPlan(0.05)
	if smoke.EncoderSteps >= full.EncoderSteps || smoke.CorpusBytes >= full.CorpusBytes || smoke.GPTSteps >= full.GPTSteps {
		t.Errorf("smoke plan %+v is not smaller than the full one %+v", smoke, full)
	}
	if tiny := NewPlan(1e-6); tiny.EncoderSteps < 1 || tiny.FinetuneSteps < 1 || tiny.PerClass < 10 {
		t.Errorf("tiny plan %+v has empty stages", tiny)
	}
}

func TestSummarize(t *testing.T) {
	acc, f1 := Summarize([]Scores{{Accuracy: 0.8, MacroF1: 0.7}, {Accuracy: 0.9, MacroF1: 0.7}, {Accuracy: 0.85, MacroF1: 0.7}})
	if d := acc.Mean - 0.85; d > 1e-12 || d < -1e-12 || acc.Min != 0.8 || acc.Max != 0.9 || acc.N != 3 {
		t.Errorf("accuracy %+v", acc)
	}
	if d := acc.Std - 0.05; d > 1e-12 || d < -1e-12 {
		t.Errorf("std %v, want 0.05", acc.Std)
	}
	if f1.Std != 0 || f1.String() != "0.700 ± 0.000 (0.700–0.700)" {
		t.Errorf("macro F1 %+v %q", f1, f1)
	}
}

func TestRunOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{GoRoot: "/x"},
		{Dir: t.TempDir()},
		{Dir: t.TempDir(), GoRoot: "/x", Objective: "clm"},
		{Dir: t.TempDir(), GoRoot: "/x", FinetuneSeeds: []uint64{}},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	// A Go tree without sources is an error, not a panic.
	if _, err := Run(context.Background(), Options{Dir: t.TempDir(), GoRoot: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "corpus") {
		t.Errorf("empty GOROOT: %v", err)
	}
}
