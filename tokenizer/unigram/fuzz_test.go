package unigram

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// checkOffsets fails unless every token lies inside text, in order.
func checkOffsets(t *testing.T, m *Model, text string) {
	t.Helper()
	prev := 0
	for _, tk := range m.Tokenize(text) {
		if tk.Start < prev || tk.End < tk.Start || tk.End > len(text) {
			t.Fatalf("%q: token %+v out of order or range (previous start %d)", text, tk, prev)
		}
		if _, ok := m.IDToToken(tk.ID); !ok || tk.Text == "" {
			t.Fatalf("%q: token %+v", text, tk)
		}
		prev = tk.Start
	}
}

var fuzzSeeds = []string{"", " ", "A man in an orange hat.", "  two  spaces ", "Zwei Männer", "ｆｕｌｌ ½ ﬁ", "a\xff\xc3b",
	"日本語 😀 👨‍👩‍👧", "\x00\t\n\r", "<s></s><unk>", "▁▁x", "e\u0301 \u200b"}

// FuzzMulti30k: on the real model, offsets stay in range and in order, the
// pieces spell the normalized text, and decoding never fails.
func FuzzMulti30k(f *testing.F) {
	m := loadMulti30k(f)
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkOffsets(t, m, text)
		if got, want := strings.Join(m.Pieces(text), ""), m.Normalize(text); got != want {
			t.Fatalf("%q: pieces spell %q, normalized %q", text, got, want)
		}
		if _, err := m.Decode(m.Encode(text), false); err != nil {
			t.Fatal(err)
		}
	})
}

// byteModel is a small byte-fallback model with the identity normalizer,
// for which decoding restores any valid UTF-8 text.
func byteModel(t testing.TB) *Model {
	pieces, edit := withBytes([]spmodel.Piece{{Piece: "▁", Score: -2}, {Piece: "a", Score: -2}, {Piece: "▁a", Score: -1},
		{Piece: "é", Score: -3}, {Piece: "▁▁", Score: -3}, {Piece: "ab", Score: -2}})
	return mustParse(t, synthetic(t, pieces, edit))
}

// FuzzRoundTrip: with byte fallback and no normalization, Decode(Encode(s))
// is s for valid UTF-8, and s with each malformed byte as U+FFFD otherwise;
// the tokenizer.json form of the model encodes the same valid text alike.
func FuzzRoundTrip(f *testing.F) {
	m := byteModel(f)
	var buf bytes.Buffer
	if err := m.WriteTokenizerJSON(&buf); err != nil {
		f.Fatal(err)
	}
	hf, err := FromTokenizerJSON(buf.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkOffsets(t, m, text)
		checkOffsets(t, hf, text)
		got, err := m.Decode(m.Encode(text), false)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, metaspace) {
			return // a literal "▁" reads as a space
		}
		if want := toValid(text); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", text, got, want)
		}
		// Hugging Face's Metaspace does not prepend "▁" to text that starts
		// with a space, and its decoder drops every "▁" of the first token,
		// so a leading space does not survive there.
		if utf8.ValidString(text) && !strings.HasPrefix(text, " ") {
			hdec, err := hf.Decode(hf.Encode(text), false)
			if err != nil || hdec != text {
				t.Fatalf("tokenizer.json: Decode(Encode(%q)) = %q, %v", text, hdec, err)
			}
		}
	})
}

// FuzzParseModel feeds malformed model files to the parser: it must fail
// cleanly or give a model that encodes and decodes without panicking.
func FuzzParseModel(f *testing.F) {
	if data, err := os.ReadFile(testenv.Shared(f, "tokenizers", "multi30k-unigram", "multi30k-unigram.model")); err == nil {
		f.Add(data[:2048])
	}
	pieces, edit := withBytes([]spmodel.Piece{{Piece: "▁a", Score: -1}, {Piece: "<u>", Type: spmodel.UserDefined}, {Piece: "x", Type: spmodel.Unused}})
	f.Add(synthetic(f, pieces, edit))
	f.Add(synthetic(f, []spmodel.Piece{{Piece: "▁", Score: -1}, {Piece: "b", Score: -2}}, func(p *spmodel.Model) {
		p.Normalizer.PrecompiledCharsmap = []byte{8, 0, 0, 0, 0, 4, 0, 0, 0x62, 0x01, 0, 0, 'x', 0}
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseModel(data)
		if err != nil {
			return
		}
		text := "a<u> b\xff é  x"
		checkOffsets(t, m, text)
		if _, err := m.Decode(m.Encode(text), false); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := m.WriteModel(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseModel(buf.Bytes()); err != nil {
			t.Fatalf("a written model does not parse: %v", err)
		}
	})
}

// FuzzFromTokenizerJSON feeds malformed tokenizer.json files to the loader.
func FuzzFromTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "},{"type":"Strip"}]},` +
		`"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}]},` +
		`"decoder":{"type":"Metaspace","replacement":"▁","add_prefix_space":true},` +
		`"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["▁",-1],["a",-2],["▁a",-1.5],["<0x62>",-9]],"byte_fallback":true}}`))
	f.Add([]byte(`{"added_tokens":[{"id":1,"content":"</s>","special":true}],"pre_tokenizer":{"type":"Metaspace","add_prefix_space":false},` +
		`"decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},` +
		`"model":{"type":"Unigram","vocab":[["a",-1],["</s>",0]]}}`))
	f.Add([]byte(`{"normalizer":{"type":"Precompiled","precompiled_charsmap":"CAAAAAAEAABiAQAAeAA="},"model":{"type":"Unigram","unk_id":5,"vocab":[["a",1]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := FromTokenizerJSON(data)
		if err != nil {
			return
		}
		text := "a b  ▁ab\xff é </s>"
		checkOffsets(t, m, text)
		if _, err := m.Decode(m.Encode(text), true); err != nil {
			t.Fatal(err)
		}
	})
}

// toValid replaces each byte of malformed UTF-8 by U+FFFD.
func toValid(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	return sb.String()
}
