package sentencepiece

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// FuzzLlama2CRoundTrip: run.c's encode and decode restore any bytes, and
// Tokenize's offsets tile the text.
func FuzzLlama2CRoundTrip(f *testing.F) {
	m := loadTok512(f)
	for _, s := range []string{"", "Once upon a time", " two  spaces ", "\xff\x80\xc3", "日本 😀", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := m.Encode(text, true, true)
		got, err := m.Decode(ids, true)
		if err != nil || got != text {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", text, got, err)
		}
		end := 0
		toks := m.Tokenize(text)
		if len(toks) != len(ids)-2 {
			t.Fatalf("Tokenize: %d tokens, Encode: %d", len(toks), len(ids)-2)
		}
		for _, tk := range toks {
			if tk.Start != end || tk.End < tk.Start || tk.End > len(text) {
				t.Fatalf("bad offsets %+v after %d", tk, end)
			}
			end = tk.End
		}
		if end != len(text) {
			t.Fatalf("offsets end at %d of %d", end, len(text))
		}
	})
}

// FuzzHFRoundTrip: the Hugging Face flavour restores valid UTF-8 text.
func FuzzHFRoundTrip(f *testing.F) {
	c := loadTok512(f)
	hf, err := FromTokenizerJSON(llama2HFJSON(f, c))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "Once upon a time", " two  spaces ", "日本 😀", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := hf.Encode(text, true, false)
		if want := c.Encode(text, true, false); utf8.ValidString(text) && !equalInts(ids, want) {
			t.Fatalf("%q: HF %v, llama2.c %v", text, ids, want)
		}
		got, err := hf.Decode(ids, true)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(text) && got != text {
			t.Fatalf("Decode(Encode(%q)) = %q", text, got)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseLlama2C feeds malformed tokenizer.bin files to the parser.
func FuzzParseLlama2C(f *testing.F) {
	if data, err := os.ReadFile(testenv.Shared(f, "models", "stories260K", "tok512.bin")); err == nil {
		f.Add(data)
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, int32(4))
	for i := range 300 {
		binary.Write(&b, binary.LittleEndian, float32(-i))
		binary.Write(&b, binary.LittleEndian, int32(1))
		b.WriteByte(byte(i))
	}
	f.Add(b.Bytes())
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseLlama2C(data)
		if err != nil {
			return
		}
		if m.VocabSize() > len(data)/8 {
			t.Fatalf("%d pieces from %d bytes", m.VocabSize(), len(data))
		}
		for _, s := range m.scores {
			if math.IsNaN(float64(s)) {
				t.Fatal("NaN score accepted")
			}
		}
		ids := m.Encode("hello wörld \xff", true, true)
		if _, err := m.Decode(ids, false); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzFromTokenizerJSON feeds malformed tokenizer.json files to the loader.
func FuzzFromTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},"model":{"type":"BPE","byte_fallback":true,"fuse_unk":true,"unk_token":"<unk>","vocab":{"<unk>":0,"<s>":1,"</s>":2,"▁":3,"a":4,"▁a":5,"<0x61>":6},"merges":["▁ a"]}}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true},"added_tokens":[{"id":3,"content":"<pad>","special":true}],"model":{"type":"BPE","vocab":{"<unk>":0,"▁":1,"b":2},"merges":[["▁","b"]]}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":100000000}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := FromTokenizerJSON(data)
		if err != nil {
			return
		}
		text := "a b  ▁ab\xff é"
		ids := m.Encode(text, true, true)
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
