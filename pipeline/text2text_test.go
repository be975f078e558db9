package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/seq2seqfixture"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/text2text"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// seq2seqFixture returns a copy of a tiny seq2seq fixture with a
// Marian-layout tokenizer (testenv.Seq2SeqFolder). The texts mean nothing
// to the random weights; the tests check the pipeline's plumbing against
// the library run by hand.
func seq2seqFixture(t *testing.T, fixture string, extraConfig map[string]any) string {
	t.Helper()
	testenv.Shared(t, "fixtures", fixture) // fails under CI, skips elsewhere, when missing
	dir := t.TempDir()
	if err := seq2seqfixture.Folder(dir, fixture, extraConfig); err != nil {
		t.Fatal(err)
	}
	return dir
}

// library runs package text2text by hand on dir.
func library(t *testing.T, dir string, srcs []string, opts *text2text.Options) []string {
	t.Helper()
	sm, err := seq2seq.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokauto.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := text2text.New(sm, tok)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Generate(context.Background(), srcs, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.Text
	}
	return out
}

var t2tSources = []string{
	"A man in an orange hat starring at something.",
	"Two dogs play in the snow.",
	"A little girl climbs into a wooden playhouse.",
}

// TestText2TextPipelines checks the three tasks on the tiny fixtures: the
// texts equal text2text's run by hand with the same options (greedy and
// beam search), the JSON calls give Hugging Face's field names and shapes,
// and a summarization model's task_specific_params prefix is applied.
func TestText2TextPipelines(t *testing.T) {
	ctx := context.Background()
	prefixed := map[string]any{"task_specific_params": map[string]any{
		"summarization":        map[string]any{"prefix": "summarize: "},
		"translation_en_to_de": map[string]any{"prefix": "translate English to German: "},
		"translation_en_to_fr": map[string]any{"prefix": "translate English to French: "},
	}}
	for _, tc := range []struct {
		fixture string
		task    Task
		key     string
		extra   map[string]any
		opts    Text2TextOptions
		want    text2text.Options
	}{
		{"marian-tiny", TranslationTask, "translation_text", nil, Text2TextOptions{MaxNewTokens: 6, MinNewTokens: 3},
			text2text.Options{MaxNewTokens: 6, MinNewTokens: 3}},
		{"marian-tiny", TranslationTask, "translation_text", nil, Text2TextOptions{MaxNewTokens: 5, NumBeams: 1},
			text2text.Options{MaxNewTokens: 5, NumBeams: 1}},
		{"t5-tiny", SummarizationTask, "summary_text", prefixed, Text2TextOptions{MaxNewTokens: 6, NumBeams: 3},
			text2text.Options{MaxNewTokens: 6, NumBeams: 3, Task: "summarization"}},
		{"t5-tiny", TranslationTask, "translation_text", prefixed, Text2TextOptions{MaxNewTokens: 4, SrcLang: "en", TgtLang: "fr"},
			text2text.Options{MaxNewTokens: 4, Task: "translation_en_to_fr"}},
		{"bart-tiny", Text2TextTask, "generated_text", nil, Text2TextOptions{MaxNewTokens: 5, NumBeams: 2},
			text2text.Options{MaxNewTokens: 5, NumBeams: 2}},
	} {
		t.Run(tc.fixture+"/"+string(tc.task), func(t *testing.T) {
			dir := seq2seqFixture(t, tc.fixture, tc.extra)
			p, err := Load(ctx, tc.task, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Task() != tc.task {
				t.Errorf("Task() = %q", p.Task())
			}
			got, err := p.(*Text2Text).Run(ctx, t2tSources, &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			want := library(t, dir, t2tSources, &tc.want)
			texts := make([]string, len(got))
			for i, g := range got {
				texts[i] = g.Text
			}
			if !slices.Equal(texts, want) {
				t.Errorf("pipeline %q\nlibrary  %q", texts, want)
			}
			opts, _ := json.Marshal(tc.opts)
			var call map[string]any
			json.Unmarshal(opts, &call)
			for k, v := range call {
				if v == "" || v == 0.0 || v == false {
					delete(call, k)
				}
			}
			call["inputs"] = t2tSources[0]
			one, _ := json.Marshal(call)
			call["inputs"] = t2tSources
			list, _ := json.Marshal(call)
			res := p.CallJSON(ctx, one, list)
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("call %d: %v", i, r.Err)
				}
			}
			b0, _ := json.Marshal(res[0].Value)
			w0, _ := json.Marshal([]map[string]string{{tc.key: want[0]}})
			if string(b0) != string(w0) {
				t.Errorf("one input: %s, want %s", b0, w0)
			}
			var wl []map[string]string
			for _, w := range want {
				wl = append(wl, map[string]string{tc.key: w})
			}
			b1, _ := json.Marshal(res[1].Value)
			w1, _ := json.Marshal(wl)
			if string(b1) != string(w1) {
				t.Errorf("list: %s, want %s", b1, w1)
			}
		})
	}
}

// TestText2TextBadInput checks that bad calls fail alone with ErrInput.
func TestText2TextBadInput(t *testing.T) {
	ctx := context.Background()
	p, err := LoadText2Text(ctx, TranslationTask, seq2seqFixture(t, "marian-tiny", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadText2Text(ctx, SummarizationTask, seq2seqFixture(t, "marian-tiny", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    *Text2Text
		call string
		want string
	}{
		{p, `{"inputs": ""}`, "empty"},
		{p, `{"inputs": "a dog", "num_beams": -1}`, "num_beams"},
		{p, `{"inputs": "a dog", "src_lang": "en", "tgt_lang": "xx"}`, "translation_en_to_xx"},
		{p, `{"inputs": "a dog", "tgt_lang": "xx"}`, "both"},
		{s, `{"inputs": "a dog", "src_lang": "en", "tgt_lang": "de"}`, "translation task"},
		{p, `{"inputs": "a dog", "beams": 2}`, "beams"},
		{p, `{"inputs": 3}`, "inputs"},
		{p, `{"inputs": "` + strings.Repeat("dog ", 200) + `"}`, "longer"},
		{p, `[1]`, "JSON object"},
	} {
		r := tc.p.CallJSON(ctx, json.RawMessage(tc.call), json.RawMessage(`{"inputs": "a dog", "max_new_tokens": 3}`))
		if r[0].Err == nil || !errors.Is(r[0].Err, ErrInput) || !strings.Contains(r[0].Err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrInput mentioning %q", tc.call, r[0].Err, tc.want)
		}
		if r[1].Err != nil {
			t.Errorf("%s: the good call beside it failed: %v", tc.call, r[1].Err)
		}
	}
	if _, err := LoadText2Text(ctx, FillMaskTask, "x", nil); err == nil {
		t.Error("fill-mask as a text2text task: no error")
	}
}

// FuzzText2TextCall feeds arbitrary JSON calls to the translation
// pipeline: an error or a result, never a panic.
func FuzzText2TextCall(f *testing.F) {
	for _, s := range []string{`{"inputs": "a dog", "max_new_tokens": 2}`, `{"inputs": ["a", "b"], "num_beams": 2, "max_new_tokens": 2}`,
		`{"inputs": "x", "src_lang": "en", "tgt_lang": "de"}`, `{"inputs": "x", "min_new_tokens": 99, "max_new_tokens": 1}`,
		`{"inputs": "x", "options": {"truncation": true, "max_new_tokens": 1}}`, `[]`, `{}`, `{"inputs": null}`} {
		f.Add(s)
	}
	dir := f.TempDir()
	testenv.Shared(f, "fixtures", "marian-tiny")
	if err := seq2seqfixture.Folder(dir, "marian-tiny", nil); err != nil {
		f.Fatal(err)
	}
	p, err := LoadText2Text(context.Background(), TranslationTask, dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, call string) {
		p.CallJSON(context.Background(), json.RawMessage(call))
	})
}

// TestText2TextGenerationKeys checks the generation keys of the calls
// against text2text run by hand with the generate.Options they stand for:
// do_sample turns sampling on with transformers' defaults (temperature 1,
// top_k 50, top_p 1) under the given ones; length_penalty,
// no_repeat_ngram_size, min_length and seed go through; bad values are
// ErrInput.
func TestText2TextGenerationKeys(t *testing.T) {
	ctx := context.Background()
	dir := seq2seqFixture(t, "bart-tiny", nil)
	p, err := LoadText2Text(ctx, Text2TextTask, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	seed := uint64(9)
	base := p.Model().GenerateOptions()
	for _, tc := range []struct {
		name string
		opts Text2TextOptions
		want func(g *generate.Options)
	}{
		{"do_sample", Text2TextOptions{DoSample: &yes, Seed: &seed, MaxNewTokens: 6, MinNewTokens: 2},
			func(g *generate.Options) { g.Temperature, g.TopK, g.TopP, g.Seed = 1, 50, 1, 9 }},
		{"sampling keys", Text2TextOptions{DoSample: &yes, Temperature: f(0.7), TopK: i(5), TopP: f(0.9), MaxNewTokens: 6, MinNewTokens: 2},
			func(g *generate.Options) { g.Temperature, g.TopK, g.TopP = 0.7, 5, 0.9 }},
		{"sampling keys without do_sample", Text2TextOptions{Temperature: f(0.7), TopK: i(5), MaxNewTokens: 6, MinNewTokens: 2},
			func(g *generate.Options) {}},
		{"greedy", Text2TextOptions{DoSample: &no, MaxNewTokens: 6, MinNewTokens: 2}, func(g *generate.Options) {}},
		{"beam keys", Text2TextOptions{NumBeams: 3, LengthPenalty: f(0.5), NoRepeatNGramSize: i(2), MinLength: i(4), MaxNewTokens: 7},
			func(g *generate.Options) { g.LengthPenalty, g.NoRepeatNGramSize, g.MinLength = 0.5, 2, 4 }},
	} {
		got, err := p.Run(ctx, t2tSources, &tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		g := base
		tc.want(&g)
		want := library(t, dir, t2tSources, &text2text.Options{Generation: &g, NumBeams: tc.opts.NumBeams,
			MaxNewTokens: tc.opts.MaxNewTokens, MinNewTokens: tc.opts.MinNewTokens, SortByLength: true})
		for k := range want {
			if got[k].Text != want[k] {
				t.Errorf("%s: text %d %q, by hand %q", tc.name, k, got[k].Text, want[k])
			}
		}
		if want[0] == "" && want[1] == "" {
			t.Errorf("%s: empty texts: a comparison that cannot fail", tc.name)
		}
	}
	for _, bad := range []Text2TextOptions{
		{DoSample: &yes, Temperature: f(0)}, {TopP: f(1.5)}, {TopK: i(-1)}, {NoRepeatNGramSize: i(-2)}, {MinLength: i(-1)},
	} {
		if _, err := p.Run(ctx, t2tSources[:1], &bad); !errors.Is(err, ErrInput) {
			t.Errorf("%+v: %v, want ErrInput", bad, err)
		}
	}
}
