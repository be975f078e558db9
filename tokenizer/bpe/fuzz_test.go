package bpe

import (
	"bytes"
	"regexp"
	"slices"
	"testing"
	"unicode/utf8"
)

// White_Space, spelled out: Go's regexp \s is ASCII-only.
const ws = `[\t\n\v\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]`

var (
	refHead  = regexp.MustCompile(`^(?:'s|'t|'re|'ve|'m|'ll|'d| ?\pL+| ?\pN+| ?[^\pL\pN` + ws[1:] + `+)`)
	refSpace = regexp.MustCompile(`^` + ws + `+`)
)

// refPretokens is an independent reference for the GPT-2 expression: Go's
// leftmost-first regexp for the alternatives without look-ahead, and the
// look-ahead \s+(?!\S) done by giving back one character.
func refPretokens(text string) []string {
	var out []string
	for p := 0; p < len(text); {
		rest := text[p:]
		n := len(refHead.FindString(rest))
		if n == 0 {
			run := refSpace.FindString(rest)
			n = len(run)
			if n < len(rest) { // a non-space follows: \s+(?!\S) backs off one char
				_, size := utf8.DecodeLastRuneInString(run)
				if n-size > 0 {
					n -= size
				}
			}
		}
		if n == 0 {
			panic("reference matched nothing at " + rest)
		}
		out = append(out, rest[:n])
		p += n
	}
	return out
}

func FuzzPretokens(f *testing.F) {
	for _, s := range []string{"Hello  world", "I'm 's\n\n x", "a\u3000\u3000b", "x \u0085y", "x \ufeffy", "\xff\xfe a", "12½ ab!!", "'re've'll'd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var got []string
		for s, e := range Pretokens(text) {
			got = append(got, text[s:e])
		}
		if want := refPretokens(text); !slices.Equal(got, want) {
			t.Fatalf("Pretokens(%q) = %q, reference %q", text, got, want)
		}
	})
}

// FuzzRoundTrip: any bytes encode and decode back to themselves, Tokenize
// agrees with Encode and its offsets tile the input.
func FuzzRoundTrip(f *testing.F) {
	m := loadGPT2(f)
	for _, s := range []string{"", "Hello, world!", "\xff\x00\xc3", "  \n\t x", "日本語 😀", "<|endoftext|>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text := string(data)
		ids := m.Encode(text)
		dec, err := m.Decode(ids, false)
		if err != nil || dec != text {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", text, dec, err)
		}
		toks := m.Tokenize(text)
		if len(toks) != len(ids) {
			t.Fatalf("Tokenize: %d tokens, Encode: %d", len(toks), len(ids))
		}
		end := 0
		for i, tk := range toks {
			if tk.ID != ids[i] || tk.Start != end || tk.End <= tk.Start || tk.End > len(text) {
				t.Fatalf("token %d %+v after offset %d (ids %v)", i, tk, end, ids)
			}
			if text[tk.Start:tk.End] != string(m.raw[tk.ID]) {
				t.Fatalf("token %d covers %q but stands for %q", i, text[tk.Start:tk.End], m.raw[tk.ID])
			}
			end = tk.End
		}
		if end != len(text) {
			t.Fatalf("offsets end at %d of %d", end, len(text))
		}
	})
}

// FuzzLoadFiles feeds malformed encoder.json / vocab.bpe pairs to the
// loaders: errors are fine, panics and runaway allocations are not.
func FuzzLoadFiles(f *testing.F) {
	f.Add([]byte(`{"a": 0, "b": 1, "ab": 2}`), []byte("#version: 0.2\na b\n"))
	f.Add([]byte(`{"a": 0, "b": 1}`), []byte("a b\n"))
	f.Add([]byte(`{"a": 5000000}`), []byte(""))
	f.Add([]byte(`{"a": -1}`), []byte("a"))
	f.Add([]byte(`{"Ġ": 0, "a": 1, "Ġa": 2, "": 3}`), []byte("Ġ a\r\n\n"))
	f.Fuzz(func(t *testing.T, enc, merges []byte) {
		vocab, err := ParseEncoderJSON(enc)
		if err != nil {
			return
		}
		mr, err := ParseMerges(merges)
		if err != nil {
			return
		}
		m, err := New(vocab, mr, Options{})
		if err != nil {
			return
		}
		if m.VocabSize() > len(vocab)+maxIDGap {
			t.Fatalf("VocabSize %d for %d tokens", m.VocabSize(), len(vocab))
		}
		text := "ab a Ġa \xff"
		ids := m.Encode(text)
		if _, err := m.Decode(ids, true); err != nil {
			t.Fatal(err)
		}
		m.Tokenize(text)
	})
}

func FuzzFromTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true},"added_tokens":[{"id":3,"content":"<s>","special":true}],"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"Ġ":4},"merges":[["a","b"]]}}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"ByteLevel"}]},"model":{"vocab":{"a":0},"merges":null,"unk_token":"a"}}`))
	f.Add([]byte(`{"model":{"type":"WordPiece"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := FromTokenizerJSON(data)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := m.WriteTokenizerJSON(&buf); err != nil {
			t.Fatal(err)
		}
		text := "ab  a\nb \xff"
		ids := m.Encode(text)
		if _, err := m.Decode(ids, true); err != nil {
			t.Fatal(err)
		}
		for _, tk := range m.Tokenize(text) {
			if tk.Start < 0 || tk.End < tk.Start || tk.End > len(text) {
				t.Fatalf("bad offsets %+v", tk)
			}
		}
	})
}
