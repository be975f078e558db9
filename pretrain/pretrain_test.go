package pretrain

import (
	"context"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/bert"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// Byte-level BPE keeps line breaks in a causal-LM corpus; WordPiece cannot
// spell them.
func TestSpellsNewline(t *testing.T) {
	for _, tc := range []struct {
		path []string
		want bool
	}{
		{[]string{"tokenizers", "gpt2", "tokenizer.json"}, true},
		{[]string{"tokenizers", "bert-base-uncased", "vocab.txt"}, false},
	} {
		tok, err := tokauto.Load(testenv.Shared(t, tc.path...))
		if err != nil {
			t.Fatal(err)
		}
		if got := SpellsNewline(tok); got != tc.want {
			t.Errorf("%v: SpellsNewline = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestOptionErrors checks that bad options are refused before any work.
func TestOptionErrors(t *testing.T) {
	c := &data.Corpus{}
	ok := Options{Objective: Electra, Corpus: c, Char: false, Layers: 1, Width: 8, Heads: 2, BlockSize: 16, BatchSize: 2}
	for _, tc := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"objective", func(o *Options) { o.Objective = "gan" }, "objective"},
		{"no corpus", func(o *Options) { o.Corpus = nil }, "corpus"},
		{"no tokenizer", func(o *Options) {}, "tokenizer"},
		{"char electra", func(o *Options) { o.Char = true }, "character"},
		{"heads", func(o *Options) { o.Char, o.Objective, o.Heads = true, CLM, 3 }, "heads"},
		{"generator scale", func(o *Options) { o.Char, o.Objective, o.GeneratorScale = true, CLM, 2 }, "generator scale"},
		{"bf16 electra", func(o *Options) { o.BF16 = true }, "bf16"},
		{"validation", func(o *Options) { o.Char, o.Objective, o.ValFraction = true, CLM, 1.5 }, "validation"},
	} {
		o := ok
		tc.edit(&o)
		if _, err := NewTask(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
	if _, err := ParseObjective("electra"); err != nil {
		t.Error(err)
	}
}

// TestGeneratorConfig checks the generator's shape for ELECTRA-Small's
// discriminator (256 wide, 4 heads, 1024 feed-forward) and a tiny one.
func TestGeneratorConfig(t *testing.T) {
	for _, tc := range []struct {
		c, h, f, scale      float64
		wantC, wantH, wantF int
	}{
		{256, 4, 1024, 0.25, 64, 1, 256},
		{128, 4, 512, 1.0 / 3, 43, 1, 171},
		{32, 2, 128, 0.25, 8, 1, 32},
	} {
		d := bert.Config{ModelType: "electra", HiddenSize: int(tc.c), NumHeads: int(tc.h), Intermediate: int(tc.f)}
		g := GeneratorConfig(d, tc.scale)
		if g.HiddenSize != tc.wantC || g.NumHeads != tc.wantH || g.Intermediate != tc.wantF || g.EmbedDim() != int(tc.c) {
			t.Errorf("%v: generator %d wide, %d heads, %d feed-forward, E %d", tc, g.HiddenSize, g.NumHeads, g.Intermediate, g.EmbedDim())
		}
	}
}
