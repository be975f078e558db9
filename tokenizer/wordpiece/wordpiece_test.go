package wordpiece_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

var smallVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world", ",", "!",
	"straße", "istanbul", "ecole", "你", "好", "a", "##b", "i", "##̇", "é", "##é", "$", "ﬁ", "ο", "##σ",
}

func newSmall(t testing.TB, opts wordpiece.Options) *wordpiece.Model {
	t.Helper()
	m, err := wordpiece.New(smallVocab, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type span struct {
	tok        string
	start, end int
}

func spans(toks []tokenizer.Token) []span {
	out := make([]span, len(toks))
	for i, t := range toks {
		out[i] = span{t.Text, t.Start, t.End}
	}
	return out
}

func TestTokenize(t *testing.T) {
	uncased := newSmall(t, wordpiece.Options{})
	cased := newSmall(t, wordpiece.Options{Cased: true})
	keep := newSmall(t, wordpiece.Options{Accents: wordpiece.AccentsKeep})
	for _, tc := range []struct {
		name string
		m    *wordpiece.Model
		text string
		want []span
	}{
		{"greedy", uncased, "unaffable", []span{{"un", 0, 2}, {"##aff", 2, 5}, {"##able", 5, 9}}},
		{"punct and case", uncased, "Hello,World!", []span{{"hello", 0, 5}, {",", 5, 6}, {"world", 6, 11}, {"!", 11, 12}}},
		{"ascii symbol is punct", uncased, "a$b", []span{{"a", 0, 1}, {"$", 1, 2}, {"[UNK]", 2, 3}}},
		{"unknown word", uncased, "hello xyz", []span{{"hello", 0, 5}, {"[UNK]", 6, 9}}},
		{"partial match is unk", uncased, "unx", []span{{"[UNK]", 0, 3}}},
		// Lower-casing and accent stripping change byte lengths; offsets
		// still point into the original text.
		{"accents stripped", uncased, "ÉCOLE", []span{{"ecole", 0, 6}}},
		{"capital sharp s", uncased, "STRAẞE", []span{{"straße", 0, 8}}},
		{"dotted I stripped", uncased, "İstanbul", []span{{"istanbul", 0, 9}}},
		{"dotted I kept", keep, "İ", []span{{"i", 0, 2}, {"##̇", 0, 2}}},
		{"decomposed accent kept", keep, "ae\u0301", []span{{"[UNK]", 0, 4}}},
		{"precomposed accent kept", keep, "é", []span{{"é", 0, 2}}},
		{"control removed inside word", uncased, "hel\x00lo\u200b", []span{{"hello", 0, 6}}},
		{"vertical tab removed", uncased, "a\vb", []span{{"a", 0, 1}, {"##b", 2, 3}}},
		{"nbsp splits", uncased, "a\u00a0a", []span{{"a", 0, 1}, {"a", 3, 4}}},
		{"cjk isolated", cased, "a你好a", []span{{"a", 0, 1}, {"你", 1, 4}, {"好", 4, 7}, {"a", 7, 8}}},
		{"compat ligature", cased, "ﬁ", []span{{"ﬁ", 0, 3}}},
		{"invalid utf8 dropped", uncased, "a\xffb", []span{{"a", 0, 1}, {"##b", 2, 3}}},
		{"final sigma lowercased per char", uncased, "ΟΣ", []span{{"ο", 0, 2}, {"##σ", 2, 4}}},
		{"empty", uncased, "", []span{}},
		{"only spaces", uncased, " \t\n ", []span{}},
		{"word of 101 chars", uncased, strings.Repeat("a", 101), []span{{"[UNK]", 0, 101}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := spans(tc.m.Tokenize(tc.text))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Tokenize(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestMaxInputChars(t *testing.T) {
	m := newSmall(t, wordpiece.Options{MaxInputCharsPerWord: 3})
	got := spans(m.Tokenize("ab abbb"))
	want := []span{{"a", 0, 1}, {"##b", 1, 2}, {"[UNK]", 3, 7}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDecode(t *testing.T) {
	m := newSmall(t, wordpiece.Options{})
	ids := func(toks ...string) []int {
		var out []int
		for _, s := range toks {
			id, ok := m.TokenToID(s)
			if !ok {
				t.Fatalf("no %q", s)
			}
			out = append(out, id)
		}
		return out
	}
	for _, tc := range []struct {
		ids  []int
		skip bool
		want string
	}{
		{ids("[CLS]", "un", "##aff", "##able", "hello", ",", "world", "!", "[SEP]"), true, "unaffable hello, world!"},
		{ids("[CLS]", "hello", "[SEP]"), false, "[CLS] hello [SEP]"},
		{nil, false, ""},
	} {
		got, err := m.Decode(tc.ids, tc.skip)
		if err != nil || got != tc.want {
			t.Errorf("Decode(%v) = %q, %v; want %q", tc.ids, got, err, tc.want)
		}
	}
	if _, err := m.Decode([]int{len(smallVocab)}, false); err == nil {
		t.Error("decode of an out-of-range id succeeded")
	}
	// Token strings, one of them outside the vocabulary (a pipeline's
	// original text for [UNK]), as convert_tokens_to_string joins them.
	if got := m.DecodeTokens([]string{"##aff", "##able", "😀", "world", "!"}); got != "##affable 😀 world!" {
		t.Errorf("DecodeTokens = %q", got)
	}
}

func TestVocabRoundTrip(t *testing.T) {
	m := newSmall(t, wordpiece.Options{})
	var buf bytes.Buffer
	if err := m.WriteVocab(&buf); err != nil {
		t.Fatal(err)
	}
	m2, err := wordpiece.ReadVocab(&buf, wordpiece.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m2.Vocab(), smallVocab) {
		t.Errorf("vocab changed: %q", m2.Vocab())
	}
	data, err := m.TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	m3, err := wordpiece.FromTokenizerJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromJSON(data, m3)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tok.EncodePair("Hello, unaffable", "world!")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[CLS]", "hello", ",", "un", "##aff", "##able", "[SEP]", "world", "!", "[SEP]"}
	if !slices.Equal(e.Tokens, want) || !slices.Equal(e.TypeIDs, []int{0, 0, 0, 0, 0, 0, 0, 1, 1, 1}) {
		t.Errorf("round-tripped tokenizer.json: %q %v", e.Tokens, e.TypeIDs)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "empty vocabulary"},
		{"no unk", "a\nb\n", `"[UNK]" is not in the vocabulary`},
		{"bad utf8", "[UNK]\n\xff\n", "vocab line 2: invalid UTF-8"},
		{"long line", "[UNK]\n" + strings.Repeat("a", 1<<17), "vocab line 2 longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wordpiece.ReadVocab(strings.NewReader(tc.data), wordpiece.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "wordpiece: ") {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	const bert = `"normalizer":{"type":"BertNormalizer"},"pre_tokenizer":{"type":"BertPreTokenizer"}`
	for _, tc := range []struct{ json, want string }{
		{`{`, "tokenizer.json"},
		{`{}`, "no model"},
		{`{"model":{"type":"BPE","vocab":{"a":0}}}`, `model type "BPE"`},
		{`{"model":{"vocab":{}}}`, "empty vocabulary"},
		{`{` + bert + `,"model":{"vocab":{"[UNK]":-1}}}`, "outside"},
		{`{` + bert + `,"model":{"vocab":{"[UNK]":0,"a":0}}}`, "id 0 used by"},
		{`{"normalizer":{"type":"NFC"},"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"vocab":{"[UNK]":0}}}`, "unsupported normalizer"},
		{`{"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"model":{"vocab":{"[UNK]":0}}}`, "unsupported pre_tokenizer"},
		{`{` + bert + `,"model":{"vocab":{"[UNK]":0},"max_input_chars_per_word":0}}`, "must be positive"},
		{`{` + bert + `,"model":{"vocab":{"a":0}}}`, "not in the vocabulary"},
	} {
		_, err := wordpiece.FromTokenizerJSON([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromTokenizerJSON(%s) error = %v, want %q", tc.json, err, tc.want)
		}
	}
}

// checkTokens asserts the offset invariants: inside the text, start < end,
// starts and ends never decreasing.
func checkTokens(t *testing.T, text string, toks []tokenizer.Token) {
	t.Helper()
	lastStart, lastEnd := 0, 0
	for i, tk := range toks {
		if tk.Start < 0 || tk.Start >= tk.End || tk.End > len(text) {
			t.Fatalf("%q: token %d %q has offsets [%d, %d)", text, i, tk.Text, tk.Start, tk.End)
		}
		if tk.Start < lastStart || tk.End < lastEnd {
			t.Fatalf("%q: token %d %q [%d, %d) goes back from [%d, %d)", text, i, tk.Text, tk.Start, tk.End, lastStart, lastEnd)
		}
		lastStart, lastEnd = tk.Start, tk.End
	}
}

// FuzzTokenize checks the offset invariants on any text, for several
// normalizer settings.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"Hello, World!", "İstanbul ΟΣ", "a\x00b\xff你好", "e\u0301\u0301x", "ﬁ\u200d\u0378", strings.Repeat("ab", 60)} {
		f.Add(s)
	}
	models := []*wordpiece.Model{
		newSmall(f, wordpiece.Options{}),
		newSmall(f, wordpiece.Options{Cased: true, KeepControl: true, NoCJKSplit: true}),
		newSmall(f, wordpiece.Options{Accents: wordpiece.AccentsKeep}),
		newSmall(f, wordpiece.Options{Cased: true, Accents: wordpiece.AccentsStrip}),
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range models {
			checkTokens(t, text, m.Tokenize(text))
		}
	})
}

// FuzzReadVocab: any vocab.txt loads or fails cleanly, and a loaded model
// tokenizes and decodes.
func FuzzReadVocab(f *testing.F) {
	f.Add("[PAD]\n[UNK]\nhello\n##lo\n")
	f.Add("[UNK]\r\n\n\n##\n#\n")
	f.Fuzz(func(t *testing.T, data string) {
		m, err := wordpiece.ReadVocab(strings.NewReader(data), wordpiece.Options{})
		if err != nil {
			return
		}
		text := "hello " + data
		toks := m.Tokenize(text)
		checkTokens(t, text, toks)
		ids := make([]int, len(toks))
		for i, tk := range toks {
			ids[i] = tk.ID
		}
		if _, err := m.Decode(ids, true); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzFromTokenizerJSON: any tokenizer.json loads or fails cleanly.
func FuzzFromTokenizerJSON(f *testing.F) {
	f.Add(`{"normalizer":{"type":"BertNormalizer","lowercase":false,"strip_accents":true},"pre_tokenizer":{"type":"BertPreTokenizer"},` +
		`"decoder":{"type":"WordPiece","prefix":"##","cleanup":false},"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1,"##b":3},"unk_token":"[UNK]"}}`)
	f.Add(`{"normalizer":null,"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"vocab":{"<u>":2},"unk_token":"<u>","continuing_subword_prefix":"@@","max_input_chars_per_word":2}}`)
	f.Fuzz(func(t *testing.T, data string) {
		m, err := wordpiece.FromTokenizerJSON([]byte(data))
		if err != nil {
			return
		}
		text := "ab a@@b A\u00e9 你"
		toks := m.Tokenize(text)
		checkTokens(t, text, toks)
		for _, tk := range toks {
			if _, err := m.Decode([]int{tk.ID}, false); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := m.TokenizerJSON(); err != nil {
			t.Fatal(err)
		}
	})
}

func ExampleModel_Tokenize() {
	m, err := wordpiece.New([]string{"[UNK]", "un", "##aff", "##able", "hello", "!"}, wordpiece.Options{})
	if err != nil {
		panic(err)
	}
	for _, t := range m.Tokenize("Hello unaffable!") {
		fmt.Printf("%d %-7s [%d, %d)\n", t.ID, t.Text, t.Start, t.End)
	}
	// Output:
	// 4 hello   [0, 5)
	// 1 un      [6, 8)
	// 2 ##aff   [8, 11)
	// 3 ##able  [11, 15)
	// 5 !       [15, 16)
}
