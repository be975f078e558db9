package sentencepiece

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// TestModelProtoMatchesLlama2C: SentencePiece's own Llama 2 model file and
// llama2.c's export of it encode alike (llama2.c reimplements SentencePiece
// BPE), and decoding restores the text.
func TestModelProtoMatchesLlama2C(t *testing.T) {
	c, _ := loadLlama2(t)
	m, err := LoadModel(testenv.Shared(t, "tokenizers", "llama2", "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	if m.VocabSize() != 32000 || m.BOS() != 1 || m.EOS() != 2 {
		t.Fatalf("VocabSize %d BOS %d EOS %d", m.VocabSize(), m.BOS(), m.EOS())
	}
	if id, ok := m.TokenToID("▁the"); !ok || id != 278 {
		t.Errorf("TokenToID(▁the) = %d, %v", id, ok)
	}
	texts := testTexts(t)
	if data, err := os.ReadFile(testenv.Shared(t, "data", "tinyshakespeare", "input.txt")); err == nil {
		texts = append(texts, string(data[:20000]))
	}
	for _, text := range texts {
		want := c.Encode(text, true, true)
		got := m.Encode(text, true, true)
		if !slices.Equal(got, want) {
			t.Errorf("%.60q:\n model     %v\n llama2.c  %v", text, got, want)
			continue
		}
		if dec, err := m.Decode(got, true); err != nil || dec != text {
			t.Errorf("Decode(Encode(%.60q)) = %.60q, %v", text, dec, err)
		}
	}
	if s, _ := m.Decode([]int{1, 15043, 2}, false); s != "Hello" {
		t.Errorf("Decode with control pieces = %q", s)
	}
	if s, _ := m.Decode([]int{15043, 0}, false); s != "Hello ⁇ " {
		t.Errorf("Decode with <unk> = %q", s)
	}
}

func TestParseModelErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":        nil,
		"bad key":      {0x80},
		"field 0":      {0x00},
		"bad length":   {0x0a, 0x05, 'a'},
		"wire type 3":  {0x0b},
		"bad piece":    {0x0a, 0x02, 0x18, 0x09}, // type 9
		"not BPE":      {0x0a, 0x02, 0x18, 0x02, 0x12, 0x02, 0x18, 0x01},
		"unk not unk":  {0x0a, 0x02, 0x0a, 0x00, 0x12, 0x02, 0x18, 0x02, 0x1a, 0x02, 0x20, 0x00},
		"normalizer":   {0x0a, 0x02, 0x18, 0x02, 0x12, 0x02, 0x18, 0x02, 0x1a, 0x06, 0x0a, 0x04, 'n', 'f', 'k', 'c'},
		"extra spaces": {0x0a, 0x02, 0x18, 0x02, 0x12, 0x02, 0x18, 0x02},
	} {
		if _, err := ParseModel(data); err == nil || !strings.HasPrefix(err.Error(), "sentencepiece: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParseModel(f *testing.F) {
	if data, err := os.ReadFile(testenv.Shared(f, "tokenizers", "llama2", "tokenizer.model")); err == nil {
		f.Add(data[:4096])
	}
	// unk piece, a user-defined piece "ab", BPE, byte fallback, identity.
	f.Add([]byte{0x0a, 0x02, 0x18, 0x02, 0x0a, 0x06, 0x0a, 0x02, 'a', 'b', 0x18, 0x04, 0x12, 0x05, 0x18, 0x02, 0x98, 0x02, 0x01, 0x1a, 0x02, 0x20, 0x00})
	// Unigram models must be refused cleanly: a small one, and the start of
	// a real one.
	u := spmodel.New()
	u.Pieces = []spmodel.Piece{{Piece: "<unk>", Type: spmodel.Unknown}, {Piece: "▁a", Score: -1, Type: spmodel.Normal}}
	f.Add(u.Marshal())
	if data, err := os.ReadFile(testenv.Shared(f, "tokenizers", "multi30k-unigram", "multi30k-unigram.model")); err == nil {
		f.Add(data[:4096])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseModel(data)
		if err != nil {
			return
		}
		text := "ab a\xff b"
		ids := m.Encode(text, true, true)
		if _, err := m.Decode(ids, false); err != nil {
			t.Fatal(err)
		}
		for _, tk := range m.Tokenize(text) {
			if tk.Start < 0 || tk.End < tk.Start || tk.End > len(text) {
				t.Fatalf("bad offsets %+v", tk)
			}
		}
	})
}

// TestChunkingExact: merging word chunks independently (and memoizing
// them in long texts) gives exactly what one merge loop over the whole text
// gives.
func TestChunkingExact(t *testing.T) {
	c, hf := loadLlama2(t)
	sp, err := LoadModel(testenv.Shared(t, "tokenizers", "llama2", "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(testenv.Shared(t, "data", "tinyshakespeare", "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	texts := append(testTexts(t), string(data[:30000]), strings.Repeat("ab \n\t  x\xff日本 ", 500))
	for name, m := range map[string]*Model{"llama2.c": c, "hf": hf, "model": sp} {
		if !m.chunked || !m.byteAlone {
			t.Fatalf("%s: chunked %v byteAlone %v, want both", name, m.chunked, m.byteAlone)
		}
		whole := *m
		whole.chunked, whole.byteAlone = false, false
		for _, text := range texts {
			got, want := m.Tokenize(text), whole.Tokenize(text)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %.40q: chunked merge differs", name, text)
			}
		}
	}
}

// TestParseModelUnigram: a Unigram model file is refused with an error that
// says what it is and where to load it.
func TestParseModelUnigram(t *testing.T) {
	_, err := LoadModel(testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model"))
	if err == nil || !strings.Contains(err.Error(), "Unigram model") || !strings.Contains(err.Error(), "tokenizer/unigram") {
		t.Fatalf("err = %v", err)
	}
}
