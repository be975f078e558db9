package text2text

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
)

// MarianTokenizerDir writes a Marian-layout tokenizer folder for the
// 1000-token fixtures: the Multi30k Unigram model as source.spm and a
// vocab.json with </s> 0, <unk> 1, the model's first 997 other pieces, and
// <pad> 999 (marian-tiny's pad and decoder start token).
func MarianTokenizerDir(t testing.TB) string {
	t.Helper()
	spm, err := os.ReadFile(testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := unigram.ParseModel(spm)
	if err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{"</s>": 0, "<unk>": 1}
	for id := 3; len(vocab) < 999; id++ {
		p, _ := m.IDToToken(id)
		vocab[p] = len(vocab)
	}
	vocab["<pad>"] = 999
	vj, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"source.spm": spm, "target.spm": spm, "vocab.json": vj} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadModel(t *testing.T, fixture string) *Model {
	t.Helper()
	sm, err := seq2seq.Load(testenv.Shared(t, "fixtures", fixture), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokauto.Load(MarianTokenizerDir(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(sm, tok)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var sources = []string{
	"A man in an orange hat starring at something.",
	"Two dogs play in the snow.",
	"A little girl climbs into a wooden playhouse.",
}

// Generate equals tokenizing by hand and running seq2seq directly, with
// the model's defaults (marian-tiny: 4 beams) and at least 4 new tokens
// (the fixture's EOS bias would end them at once), in batches or one by
// one.
func TestGenerateMatchesSeq2Seq(t *testing.T) {
	ctx := context.Background()
	m := loadModel(t, "marian-tiny")
	g := m.GenerateOptions()
	g.MinNewTokens, g.MaxNewTokens = 4, 8
	var want []Result
	for _, s := range sources {
		enc, err := m.Tokenizer.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		mem, err := m.EncodeRows([][]int{enc.IDs})
		if err != nil {
			t.Fatal(err)
		}
		opts := g
		opts.Decoder = m.Tokenizer
		seqs, err := m.Model.Generate(ctx, mem, opts)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, Result{Text: seqs[0].Text, Tokens: seqs[0].Tokens, Reason: seqs[0].Reason, SourceTokens: len(enc.IDs)})
	}
	for _, o := range []*Options{{}, {BatchSize: 1}, {BatchSize: 2, SortByLength: true}} {
		var order []int
		o.Generation = &g
		o.OnResult = func(i int, _ Result) { order = append(order, i) }
		got, err := m.Generate(ctx, sources, o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i].Text != want[i].Text || !slices.Equal(got[i].Tokens, want[i].Tokens) || got[i].SourceTokens != want[i].SourceTokens {
				t.Errorf("%+v: source %d: %+v, want %+v", o, i, got[i], want[i])
			}
		}
		if o.SortByLength && !slices.Equal(order, []int{2, 0, 1}) && !slices.Equal(order, []int{0, 2, 1}) {
			t.Errorf("sorted batches: results in order %v", order)
		}
	}
	if want[0].Text == "" {
		t.Errorf("the fixture generated no text: %+v", want)
	}
}

// Greedy decoding streams each source's text through OnText; the pieces
// add up to the result.
func TestGenerateStreaming(t *testing.T) {
	m := loadModel(t, "marian-tiny")
	pieces := map[int]string{}
	g := m.GenerateOptions()
	g.MinNewTokens = 5
	res, err := m.Generate(context.Background(), sources, &Options{Generation: &g, NumBeams: 1, MaxNewTokens: 10, BatchSize: 2,
		OnText: func(i int, p string) { pieces[i] += p }})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if pieces[i] != r.Text || len(r.Tokens) > 10 || r.Text == "" {
			t.Errorf("source %d: streamed %q, result %q (%d tokens)", i, pieces[i], r.Text, len(r.Tokens))
		}
	}
}

func TestGenerateBadInput(t *testing.T) {
	ctx := context.Background()
	m := loadModel(t, "marian-tiny") // max_position_embeddings 64
	long := strings.Repeat("A man rides a bike down the street. ", 20)
	if _, err := m.Generate(ctx, []string{"ok", long}, nil); !errors.Is(err, seq2seq.ErrTooLong) || !strings.Contains(err.Error(), "source 1") {
		t.Errorf("too long: %v, want ErrTooLong for source 1", err)
	}
	res, err := m.Generate(ctx, []string{long}, &Options{Truncate: true, MaxNewTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].SourceTokens != 64 || res[0].Truncated == 0 {
		t.Errorf("truncated: %d tokens, %d cut; want 64 and some", res[0].SourceTokens, res[0].Truncated)
	}
	ids, cut, err := m.encodeSource(long, &Options{Truncate: true, MaxSourceTokens: 5})
	if err != nil || len(ids) != 5 || ids[4] != 0 || cut == 0 {
		t.Errorf("MaxSourceTokens 5: %v (%d cut) %v; want 4 pieces and </s> (0)", ids, cut, err)
	}
	if ids, _, err := m.encodeSource(long, &Options{Truncate: true, MaxSourceTokens: 1000}); err != nil || len(ids) != 64 {
		t.Errorf("MaxSourceTokens past the encoder: %d tokens, %v; want 64", len(ids), err)
	}
	if _, err := m.Generate(ctx, []string{"fine", "  "}, nil); !errors.Is(err, seq2seq.ErrEmptySource) {
		t.Errorf("blank source: %v, want ErrEmptySource", err)
	}
	if _, err := m.Generate(ctx, nil, nil); err == nil {
		t.Error("no sources: no error")
	}
	if _, err := m.Generate(ctx, sources, &Options{Task: "summarization"}); err == nil || !strings.Contains(err.Error(), "task_specific_params") {
		t.Errorf("unknown task: %v", err)
	}
	if _, err := m.Generate(ctx, sources, &Options{NumBeams: -1}); err == nil {
		t.Error("negative beams: no error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Generate(cctx, sources, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	big, err := tokauto.Load(testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(m.Model, big); err == nil {
		t.Error("an 8000-id tokenizer for a 1000-id model: no error")
	}
}

// T5 and BART run through the same path (with this tokenizer's ids, which
// fit their 1000-token vocabularies); a prefix and overrides apply.
func TestGenerateT5AndBART(t *testing.T) {
	for _, name := range []string{"t5-tiny", "bart-tiny"} {
		m := loadModel(t, name)
		g := m.GenerateOptions()
		res, err := m.Generate(context.Background(), sources[:2], &Options{Generation: &g, Prefix: "summarize: ", NumBeams: 2, MaxNewTokens: 6})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range res {
			if len(r.Tokens) == 0 || len(r.Tokens) > 6 {
				t.Errorf("%s: %d tokens", name, len(r.Tokens))
			}
		}
		with, _ := m.Tokenizer.Encode("summarize: " + sources[0])
		if res[0].SourceTokens != len(with.IDs) {
			t.Errorf("%s: %d source tokens, want %d with the prefix", name, res[0].SourceTokens, len(with.IDs))
		}
	}
}

func TestVocabDecoder(t *testing.T) {
	tok, err := tokauto.Load(MarianTokenizerDir(t))
	if err != nil {
		t.Fatal(err)
	}
	d := vocabDecoder{tok}
	a, err := d.Decode([]int{5, 1000, 6, -1}, true)
	b, _ := tok.Decode([]int{5, 6}, true)
	if err != nil || a != b {
		t.Errorf("Decode = %q, %v; want %q", a, err, b)
	}
	var _ generate.Decoder = d
	var _ *tokenizer.Tokenizer = tok
}

// NumReturnSequences gives n results per source, source i's j-th at i·n+j:
// the beams seq2seq returns for it, best first, in sorted batches too; a
// sampled stream's pieces go to their own result; greedy decoding refuses
// more than one.
func TestGenerateNumReturnSequences(t *testing.T) {
	ctx := context.Background()
	m := loadModel(t, "marian-tiny")
	g := m.GenerateOptions()
	g.MinNewTokens, g.MaxNewTokens, g.NumBeams, g.NumReturnSequences = 3, 7, 3, 2
	var want []Result
	for _, s := range sources {
		enc, err := m.Tokenizer.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		mem, err := m.EncodeRows([][]int{enc.IDs})
		if err != nil {
			t.Fatal(err)
		}
		opts := g
		opts.Decoder = m.Tokenizer
		seqs, err := m.Model.Generate(ctx, mem, opts)
		if err != nil || len(seqs) != 2 {
			t.Fatalf("%v %v", seqs, err)
		}
		for _, q := range seqs {
			want = append(want, Result{Text: q.Text, Tokens: q.Tokens, SourceTokens: len(enc.IDs)})
		}
	}
	got, err := m.Generate(ctx, sources, &Options{Generation: &g, NumReturnSequences: 2, BatchSize: 2, SortByLength: true})
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d results, %v", len(got), err)
	}
	for k := range want {
		if got[k].Text != want[k].Text || !slices.Equal(got[k].Tokens, want[k].Tokens) || got[k].SourceTokens != want[k].SourceTokens {
			t.Errorf("result %d: %+v, want %+v", k, got[k], want[k])
		}
	}
	s := g
	s.NumBeams, s.Temperature, s.TopK, s.Seed = 1, 1, 20, 4
	pieces := map[int]string{}
	res, err := m.Generate(ctx, sources[:2], &Options{Generation: &s, NumReturnSequences: 3, OnText: func(i int, p string) { pieces[i] += p }})
	if err != nil || len(res) != 6 {
		t.Fatalf("sampled: %d results, %v", len(res), err)
	}
	for k, r := range res {
		if pieces[k] != r.Text {
			t.Errorf("sampled result %d: streamed %q, result %q", k, pieces[k], r.Text)
		}
	}
	if _, err := m.Generate(ctx, sources, &Options{NumBeams: 1, NumReturnSequences: 2}); err == nil {
		t.Error("greedy decoding with num_return_sequences 2: no error")
	}
}
