package bpe

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer"
)

func TestByteLevelTables(t *testing.T) {
	seen := map[rune]bool{}
	for b := 0; b < 256; b++ {
		r := byteToRune[b]
		if seen[r] || runeToByte[r] != byte(b) {
			t.Fatalf("byte %#x ↔ %q not a bijection", b, r)
		}
		seen[r] = true
	}
	if byteToRune[' '] != 'Ġ' || byteToRune['\n'] != 'Ċ' || byteToRune['a'] != 'a' {
		t.Errorf("space, newline, a map to %q %q %q", byteToRune[' '], byteToRune['\n'], byteToRune['a'])
	}
	raw := "\x00 héllo\xff\n"
	if got, ok := ByteLevelDecode(ByteLevelEncode(raw)); !ok || got != raw {
		t.Errorf("round trip = %q, %v", got, ok)
	}
}

func TestPretokens(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"Hello  world", []string{"Hello", " ", " world"}},
		{"a   ", []string{"a", "   "}},
		{"   a", []string{"  ", " a"}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"a \n b", []string{"a", " \n", " b"}},
		{"x\t\ty", []string{"x", "\t", "\t", "y"}},
		{"I'm you're they've he'll she'd it's don't", []string{"I", "'m", " you", "'re", " they", "'ve", " he", "'ll", " she", "'d", " it", "'s", " don", "'t"}},
		{"I'M 'S '", []string{"I", "'", "M", " '", "S", " '"}},
		{"abc123 456def", []string{"abc", "123", " 456", "def"}},
		{"Hi!!! ...?", []string{"Hi", "!!!", " ...?"}},
		{"héllo wörld", []string{"héllo", " wörld"}},
		{"日本語 テキスト", []string{"日本語", " テキスト"}},
		{"x\u3000y", []string{"x", "\u3000", "y"}},
		{"x \u0085y", []string{"x", " ", "\u0085", "y"}},     // NEL is White_Space
		{"x \ufeffy", []string{"x", " \ufeff", "y"}},         // BOM is not
		{"a\xffb \xfe", []string{"a", "\xff", "b", " \xfe"}}, // invalid UTF-8 is a symbol
		{"½²", []string{"½²"}},                               // \p{N} includes No
		{"😀😀 x", []string{"😀😀", " x"}},
	} {
		var got []string
		for s, e := range Pretokens(tc.text) {
			got = append(got, tc.text[s:e])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Pretokens(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// TestMergeScanHeapAgree runs both merge loops on the same random words.
func TestMergeScanHeapAgree(t *testing.T) {
	m := loadGPT2(t)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "e", "r", "s", "t", "th", " ", "in", "é", "\n"}
	var mg merger
	for trial := range 300 {
		var sb strings.Builder
		n := 1 + rng.IntN(300)
		for range n {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		w := sb.String()
		mk := func() []int32 {
			syms := make([]int32, len(w))
			for i := range syms {
				syms[i] = m.byteIDs[w[i]]
			}
			return syms
		}
		a := m.pairs.mergeScan(&mg, mk())
		b := m.pairs.mergeHeap(&mg, mk())
		if !slices.Equal(a, b) {
			t.Fatalf("trial %d %q: scan %v, heap %v", trial, w, a, b)
		}
	}
}

func TestLoadersAgree(t *testing.T) {
	m := loadGPT2(t)
	data, err := os.ReadFile(testenv.Shared(t, "tokenizers", "gpt2", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	hf, err := FromTokenizerJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if hf.VocabSize() != 50257 || m.VocabSize() != 50257 {
		t.Fatalf("VocabSize %d / %d, want 50257", hf.VocabSize(), m.VocabSize())
	}
	if !slices.Equal(hf.Merges(), m.Merges()) {
		t.Error("merges differ")
	}
	// Writing GPT-2 back out gives Hugging Face's vocabulary and merges.
	var buf bytes.Buffer
	if err := m.WriteTokenizerJSON(&buf); err != nil {
		t.Fatal(err)
	}
	type modelSection struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	var wrote, orig modelSection
	if err := json.Unmarshal(buf.Bytes(), &wrote); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &orig); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(wrote.Model.Vocab, orig.Model.Vocab) || !slices.Equal(wrote.Model.Merges, orig.Model.Merges) {
		t.Error("WriteTokenizerJSON: vocabulary or merges differ from GPT-2's tokenizer.json")
	}
	if !hf.IsSpecial(50256) || !m.IsSpecial(50256) {
		t.Error("<|endoftext|> is not special")
	}
	text := "Hello<|endoftext|> world, 123 ünïcödé 日本"
	if a, b := hf.Encode(text), m.Encode(text); !slices.Equal(a, b) {
		t.Errorf("Encode differs: %v vs %v", a, b)
	}
	ids := []int{15496, 50256, 10603}
	if s, _ := m.Decode(ids, true); s != "HelloWorld" {
		t.Errorf("Decode skipping specials = %q", s)
	}
	if s, _ := m.Decode(ids, false); s != "Hello<|endoftext|>World" {
		t.Errorf("Decode = %q", s)
	}
	if _, err := m.Decode([]int{50257}, false); err == nil {
		t.Error("Decode of an unknown id succeeded")
	}
	if id, ok := m.TokenToID("Ġthe"); !ok || id != 262 {
		t.Errorf("TokenToID(Ġthe) = %d, %v", id, ok)
	}
	if tok, ok := m.IDToToken(262); !ok || tok != "Ġthe" {
		t.Errorf("IDToToken(262) = %q, %v", tok, ok)
	}
}

func TestTokenizeOffsets(t *testing.T) {
	m := loadGPT2(t)
	toks := m.Tokenize("Hello world!")
	want := []struct {
		id         int
		text       string
		start, end int
	}{{15496, "Hello", 0, 5}, {995, "Ġworld", 5, 11}, {0, "!", 11, 12}}
	if len(toks) != len(want) {
		t.Fatalf("got %d tokens: %+v", len(toks), toks)
	}
	for i, w := range want {
		if tk := toks[i]; tk.ID != w.id || tk.Text != w.text || tk.Start != w.start || tk.End != w.end {
			t.Errorf("token %d = %+v, want %+v", i, tk, w)
		}
	}
}

func TestEncodeBatch(t *testing.T) {
	m := loadGPT2(t)
	texts := []string{"one", "two words", "", "thrée 3", strings.Repeat("long text ", 200)}
	for range 3 {
		texts = append(texts, texts...)
	}
	got := m.EncodeBatch(texts)
	for i, tx := range texts {
		if !slices.Equal(got[i], m.Encode(tx)) {
			t.Fatalf("text %d differs", i)
		}
	}
}

func TestCacheDisabledSameResult(t *testing.T) {
	dir := testenv.Shared(t, "tokenizers", "gpt2")
	enc, _ := os.ReadFile(filepath.Join(dir, "encoder.json"))
	mer, _ := os.ReadFile(filepath.Join(dir, "vocab.bpe"))
	vocab, err := ParseEncoderJSON(enc)
	if err != nil {
		t.Fatal(err)
	}
	merges, err := ParseMerges(mer)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := New(vocab, merges, Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := loadGPT2(t)
	for _, c := range readGolden(t) {
		if a, b := nc.Encode(c.Text), m.Encode(c.Text); !slices.Equal(a, b) {
			t.Fatalf("%q: %v vs %v", c.Text, a, b)
		}
	}
}

func trainCorpus(t testing.TB) []byte {
	data, err := os.ReadFile(testenv.Shared(t, "data", "tinyshakespeare", "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestTrainRoundTrip trains on 1 MB of Shakespeare, checks the speed, the
// vocabulary, encoding round trips, and that the written tokenizer.json
// loads back to the same model.
func TestTrainRoundTrip(t *testing.T) {
	corpus := trainCorpus(t)
	var stages []string
	start := time.Now()
	m, err := Train(context.Background(), bytes.NewReader(corpus), TrainOptions{
		VocabSize:     1000,
		SpecialTokens: []string{"<|endoftext|>", "<pad>"},
		Progress: func(p TrainProgress) {
			if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
				stages = append(stages, p.Stage)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	t.Logf("trained 1000 tokens on %d bytes in %v", len(corpus), elapsed)
	if elapsed > 20*time.Second {
		t.Errorf("training took %v", elapsed)
	}
	if !slices.Equal(stages, []string{"count", "merge"}) {
		t.Errorf("progress stages %v", stages)
	}
	if m.VocabSize() != 1000 {
		t.Errorf("VocabSize = %d, want 1000", m.VocabSize())
	}
	if id, _ := m.TokenToID("<|endoftext|>"); id != 0 || !m.IsSpecial(0) {
		t.Errorf("<|endoftext|> id %d special %v", id, m.IsSpecial(0))
	}
	if id, _ := m.TokenToID("!"); id != 2 {
		t.Errorf("first byte token id %d, want 2", id)
	}
	// Frequent words become single tokens.
	if ids := m.Encode(" the"); len(ids) != 1 {
		t.Errorf("\" the\" encodes to %v", ids)
	}
	sample := string(corpus[:5000]) + " ünïcödé \xff\x00 日本"
	ids := m.Encode(sample)
	if len(ids) >= len(sample)/2 {
		t.Errorf("%d ids for %d bytes: poor compression", len(ids), len(sample))
	}
	if s, err := m.Decode(ids, false); err != nil || s != sample {
		t.Errorf("round trip failed: %v", err)
	}

	var buf bytes.Buffer
	if err := m.WriteTokenizerJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := FromTokenizerJSON(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if back.VocabSize() != m.VocabSize() || !slices.Equal(back.Merges(), m.Merges()) || !back.IsSpecial(1) {
		t.Fatal("tokenizer.json did not load back to the same model")
	}
	if got := back.Encode(sample); !slices.Equal(got, ids) {
		t.Error("reloaded model encodes differently")
	}
	// And via GPT-2's file pair.
	var ej, vb bytes.Buffer
	if err := m.WriteEncoderJSON(&ej); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteMerges(&vb); err != nil {
		t.Fatal(err)
	}
	vocab, err := ParseEncoderJSON(ej.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	merges, err := ParseMerges(vb.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	again, err := New(vocab, merges, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Encode(sample); !slices.Equal(got, ids) {
		t.Error("encoder.json + vocab.bpe model encodes differently")
	}
}

func TestTrainOptionsErrors(t *testing.T) {
	for _, opt := range []TrainOptions{
		{VocabSize: 100},
		{VocabSize: 300, MinFrequency: -1},
		{VocabSize: 300, SpecialTokens: []string{"a", "a"}},
		{VocabSize: 300, SpecialTokens: []string{""}},
	} {
		if _, err := Train(context.Background(), strings.NewReader("hello"), opt); err == nil {
			t.Errorf("Train(%+v) succeeded", opt)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, bytes.NewReader(bytes.Repeat([]byte("abc def\n"), 10000)), TrainOptions{VocabSize: 400}); err == nil {
		t.Error("Train with a cancelled context succeeded")
	}
}

// TestTrainStopsAtMinFrequency: a tiny corpus has few pairs worth merging.
func TestTrainStopsAtMinFrequency(t *testing.T) {
	m, err := Train(context.Background(), strings.NewReader("ab ab ab cd"), TrainOptions{VocabSize: 1000, MinFrequency: 2})
	if err != nil {
		t.Fatal(err)
	}
	// "a b" (3×), "Ġ a" (2×), "Ġa b"... everything seen at least twice.
	got := m.Merges()
	want := [][2]string{{"a", "b"}, {"Ġ", "ab"}}
	if !slices.Equal(got, want) {
		t.Errorf("merges %q, want %q", got, want)
	}
	if ids := m.Encode("ab ab cd"); len(ids) != 5 {
		t.Errorf("Encode = %v", ids)
	}
}

func TestLoaderErrors(t *testing.T) {
	vocab := map[string]int{"a": 0, "b": 1, "ab": 2}
	for name, tc := range map[string]struct {
		vocab  map[string]int
		merges [][2]string
		opt    Options
	}{
		"empty":           {map[string]int{}, nil, Options{}},
		"negative id":     {map[string]int{"a": -1}, nil, Options{}},
		"huge id":         {map[string]int{"a": 1 << 30}, nil, Options{}},
		"duplicate id":    {map[string]int{"a": 0, "b": 0}, nil, Options{}},
		"empty token":     {map[string]int{"": 0}, nil, Options{}},
		"merge unknown":   {vocab, [][2]string{{"a", "c"}}, Options{}},
		"merge result":    {map[string]int{"a": 0, "b": 1}, [][2]string{{"a", "b"}}, Options{}},
		"unknown special": {vocab, nil, Options{SpecialTokens: []string{"<s>"}}},
		"unknown unk":     {vocab, nil, Options{UnknownToken: "<unk>"}},
	} {
		if _, err := New(tc.vocab, tc.merges, tc.opt); err == nil || !strings.HasPrefix(err.Error(), "bpe: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	for _, bad := range []string{"a\n", "a b c\n", " b\n"} {
		if _, err := ParseMerges([]byte(bad)); err == nil {
			t.Errorf("ParseMerges(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{
		`{`,
		`{"model": {"type": "WordPiece"}}`,
		`{"pre_tokenizer": {"type": "Whitespace"}, "model": {"type": "BPE", "vocab": {"a": 0}}}`,
		`{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0}}}`,
		`{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}`,
		`{"pre_tokenizer": {"type": "ByteLevel"}, "normalizer": {"type": "NFC"}, "model": {"type": "BPE", "vocab": {"a": 0}}}`,
	} {
		if _, err := FromTokenizerJSON([]byte(bad)); err == nil {
			t.Errorf("FromTokenizerJSON(%s) succeeded", bad)
		}
	}
	if _, err := LoadFiles("/nonexistent/encoder.json", "/nonexistent/vocab.bpe"); err == nil {
		t.Error("LoadFiles of missing files succeeded")
	}
}

// TestUnknownBytes: a vocabulary without some bytes drops them, or maps them
// to the unknown token when there is one.
func TestUnknownBytes(t *testing.T) {
	vocab := map[string]int{"a": 0, "b": 1, "ab": 2, "<unk>": 3}
	drop, err := New(vocab, [][2]string{{"a", "b"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := drop.Encode("abzab"); !slices.Equal(got, []int{2, 2}) {
		t.Errorf("dropping: %v", got)
	}
	unk, err := New(vocab, [][2]string{{"a", "b"}}, Options{UnknownToken: "<unk>"})
	if err != nil {
		t.Fatal(err)
	}
	if got := unk.Encode("abzab"); !slices.Equal(got, []int{2, 3, 2}) {
		t.Errorf("unknown token: %v", got)
	}
	toks := unk.Tokenize("abzab")
	if len(toks) != 3 || toks[1].Start != 2 || toks[1].End != 3 || toks[2].Start != 3 {
		t.Errorf("Tokenize = %+v", toks)
	}
}

// TestConcurrentTinyCache hammers a model whose cache is far too small, so
// shards are cleared while other goroutines read them.
func TestConcurrentTinyCache(t *testing.T) {
	g := loadGPT2(t)
	m, err := New(g.Vocab(), g.Merges(), Options{CacheSize: 64, SpecialTokens: []string{EndOfText}})
	if err != nil {
		t.Fatal(err)
	}
	cases := readGolden(t)
	texts := make([]string, 0, 4*len(cases))
	for range 4 {
		for _, c := range cases {
			texts = append(texts, c.Text)
		}
	}
	got := m.EncodeBatch(texts)
	for i, tx := range texts {
		if want := g.Encode(tx); !slices.Equal(got[i], want) {
			t.Fatalf("%q: %v, want %v", tx, got[i], want)
		}
	}
}

// TestSplitPreTokenizer: the GPT-2 expression spelled out as a Split
// pre-tokenizer is accepted; other expressions are not.
func TestSplitPreTokenizer(t *testing.T) {
	doc := func(pattern string) []byte {
		pre := map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
		}}
		b, _ := json.Marshal(map[string]any{"pre_tokenizer": pre, "model": map[string]any{
			"type": "BPE", "vocab": map[string]int{"a": 0, "Ġ": 1}, "merges": []string{}}})
		return b
	}
	if _, err := FromTokenizerJSON(doc(GPT2Pattern)); err != nil {
		t.Errorf("GPT-2 Split: %v", err)
	}
	if _, err := FromTokenizerJSON(doc(`(?i:'s|'t)|\p{L}+`)); err == nil {
		t.Error("another Split expression was accepted")
	}
}

func TestAppendTokens(t *testing.T) {
	m := loadGPT2(t)
	prefix := []tokenizer.Token{{ID: 1}}
	got := m.AppendTokens(prefix, "Hello world")
	want := append([]tokenizer.Token{{ID: 1}}, m.Tokenize("Hello world")...)
	if !slices.Equal(got, want) {
		t.Errorf("AppendTokens = %+v, want %+v", got, want)
	}
}
