package unigram

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// synthetic returns a serialized Unigram model: <unk> <s> </s>, then the
// given pieces (Normal unless typed), with the identity normalizer and
// remove_extra_whitespaces off unless edit changes it.
func synthetic(t testing.TB, pieces []spmodel.Piece, edit func(*spmodel.Model)) []byte {
	t.Helper()
	p := spmodel.New()
	p.Pieces = append([]spmodel.Piece{{Piece: "<unk>", Type: spmodel.Unknown}, {Piece: "<s>", Type: spmodel.Control},
		{Piece: "</s>", Type: spmodel.Control}}, pieces...)
	for i := range p.Pieces {
		if p.Pieces[i].Type == 0 {
			p.Pieces[i].Type = spmodel.Normal
		}
	}
	p.Normalizer.Name = "identity"
	p.Normalizer.RemoveExtraWhitespaces = false
	if edit != nil {
		edit(p)
	}
	return p.Marshal()
}

func mustParse(t testing.TB, data []byte) *Model {
	t.Helper()
	m, err := ParseModel(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// withBytes adds the 256 byte pieces and turns byte fallback on.
func withBytes(pieces []spmodel.Piece) ([]spmodel.Piece, func(*spmodel.Model)) {
	var bs []spmodel.Piece
	for b := range 256 {
		bs = append(bs, spmodel.Piece{Piece: bytePiece(byte(b)), Type: spmodel.Byte})
	}
	return append(bs, pieces...), func(p *spmodel.Model) { p.Trainer.ByteFallback = true }
}

type tok struct {
	text       string
	start, end int
}

func toks(ts []tokenizer.Token) []tok {
	out := make([]tok, len(ts))
	for i, t := range ts {
		out[i] = tok{t.Text, t.Start, t.End}
	}
	return out
}

func TestSegmentation(t *testing.T) {
	m := mustParse(t, synthetic(t, []spmodel.Piece{
		{Piece: "▁", Score: -2}, {Piece: "a", Score: -3}, {Piece: "b", Score: -3}, {Piece: "▁ab", Score: -5},
		{Piece: "▁a", Score: -3}, {Piece: "bc", Score: -1}, {Piece: "c", Score: -9}, {Piece: "cd", Score: -20, Type: spmodel.Unused},
		{Piece: "d", Score: -4},
	}, nil))
	for _, c := range []struct {
		text string
		want []tok
	}{
		{"", nil},
		{"ab", []tok{{"▁ab", 0, 2}}}, // -5 beats ▁a b (-6)
		{"abc", []tok{{"▁a", 0, 1}, {"bc", 1, 3}}},           // -4 beats ▁ab c (-14)
		{"cd", []tok{{"▁", 0, 0}, {"c", 0, 1}, {"d", 1, 2}}}, // the unused "cd" is never produced
		{"a b", []tok{{"▁a", 0, 1}, {"▁", 1, 2}, {"b", 2, 3}}},
		{"axxb", []tok{{"▁a", 0, 1}, {"xx", 1, 3}, {"b", 3, 4}}}, // one merged <unk>
	} {
		if got := toks(m.Tokenize(c.text)); !slices.Equal(got, c.want) {
			t.Errorf("Tokenize(%q) = %v, want %v", c.text, got, c.want)
		}
	}
	if ids := m.Encode("axxb"); !slices.Equal(ids, []int{7, 0, 5}) {
		t.Errorf("Encode(axxb) = %v", ids)
	}
	if s, _ := m.Decode(m.Encode("axxb"), false); s != "a ⁇ b" {
		t.Errorf("Decode = %q", s)
	}
	if s, _ := m.Decode([]int{1, 7, 0, 5, 2}, true); s != "ab" {
		t.Errorf("Decode skipping specials = %q", s)
	}
	// Control pieces print nothing, so the piece after <s> still loses the
	// dummy prefix; with extra whitespace removed, so do pieces after "▁".
	if s, _ := m.Decode([]int{1, 7, 5, 2}, false); s != "ab" {
		t.Errorf("Decode with <s> = %q", s)
	}
	if _, err := m.Decode([]int{99}, false); err == nil {
		t.Error("Decode of an id outside the vocabulary: no error")
	}
}

func TestByteFallback(t *testing.T) {
	pieces, edit := withBytes([]spmodel.Piece{{Piece: "▁", Score: -1}, {Piece: "a", Score: -2}, {Piece: "▁a", Score: -2}})
	m := mustParse(t, synthetic(t, pieces, edit))
	got := toks(m.Tokenize("aé"))
	want := []tok{{"▁a", 0, 1}, {"<0xC3>", 1, 1}, {"<0xA9>", 1, 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("Tokenize = %v, want %v", got, want)
	}
	for _, text := range []string{"aé", " a  é ", "日本 😀 a", "\x00", ""} {
		if s, err := m.Decode(m.Encode(text), false); err != nil || s != text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", text, s, err)
		}
	}
	// Invalid UTF-8 normalizes to U+FFFD, and stray byte pieces decode to it.
	if s, _ := m.Decode(m.Encode("a\xff"), false); s != "a\uFFFD" {
		t.Errorf("invalid byte: %q", s)
	}
	id := m.byteIDs[0xE6]
	if s, _ := m.Decode([]int{int(id), m.ids["a"]}, false); s != "\uFFFDa" {
		t.Errorf("lone lead byte: %q", s)
	}
}

func TestUserDefined(t *testing.T) {
	m := mustParse(t, synthetic(t, []spmodel.Piece{
		{Piece: "▁", Score: -1}, {Piece: "x", Score: -1}, {Piece: "<", Score: -1}, {Piece: "s", Score: -1},
		{Piece: "e", Score: -1}, {Piece: "p", Score: -1}, {Piece: ">", Score: -1}, {Piece: "<sep>", Type: spmodel.UserDefined},
	}, func(p *spmodel.Model) { p.Normalizer.RemoveExtraWhitespaces = true }))
	got := toks(m.Tokenize("x<sep>x"))
	want := []tok{{"▁", 0, 0}, {"x", 0, 1}, {"<sep>", 1, 6}, {"x", 6, 7}}
	if !slices.Equal(got, want) {
		t.Fatalf("Tokenize = %v, want %v", got, want)
	}
	if s, _ := m.Decode(m.Encode("x<sep>x"), false); s != "x<sep>x" {
		t.Errorf("Decode = %q", s)
	}
	if typ := m.Type(m.Encode("<sep>")[1]); typ != UserDefined {
		t.Errorf("type %v", typ)
	}
}

func TestRemoveExtraWhitespaces(t *testing.T) {
	m := mustParse(t, synthetic(t, []spmodel.Piece{{Piece: "▁", Score: -1}, {Piece: "a", Score: -1}, {Piece: "b", Score: -1}},
		func(p *spmodel.Model) { p.Normalizer.RemoveExtraWhitespaces = true }))
	if got := m.Normalize("  a   b  "); got != "▁a▁b" {
		t.Errorf("Normalize = %q", got)
	}
	got := toks(m.Tokenize("  a   b  "))
	// Dropped spaces belong to the token before them; leading and trailing
	// ones to none.
	want := []tok{{"▁", 2, 2}, {"a", 2, 3}, {"▁", 3, 6}, {"b", 6, 7}}
	if !slices.Equal(got, want) {
		t.Errorf("Tokenize = %v, want %v", got, want)
	}
	if got := m.Tokenize("   "); len(got) != 0 {
		t.Errorf("spaces only: %v", got)
	}
	n := mustParse(t, synthetic(t, []spmodel.Piece{{Piece: "▁", Score: -1}, {Piece: "a", Score: -1}},
		func(p *spmodel.Model) { p.Normalizer.AddDummyPrefix = false }))
	if got := n.Normalize(" a  a"); got != "▁a▁▁a" {
		t.Errorf("no dummy prefix, no removal: %q", got)
	}
	if s, _ := n.Decode(n.Encode(" a  a"), false); s != " a  a" {
		t.Errorf("round trip without dummy prefix: %q", s)
	}
}

func TestParseModelErrors(t *testing.T) {
	ok := []spmodel.Piece{{Piece: "a"}}
	for name, data := range map[string][]byte{
		"empty":       nil,
		"bad wire":    {0x0a, 0x05, 'a'},
		"BPE":         synthetic(t, ok, func(p *spmodel.Model) { p.Trainer.ModelType = spmodel.BPE }),
		"no unk":      synthetic(t, ok, func(p *spmodel.Model) { p.Pieces[0].Type = spmodel.Control }),
		"two unks":    synthetic(t, []spmodel.Piece{{Piece: "x", Type: spmodel.Unknown}}, nil),
		"duplicate":   synthetic(t, []spmodel.Piece{{Piece: "a"}, {Piece: "a"}}, nil),
		"empty piece": synthetic(t, []spmodel.Piece{{Piece: ""}}, nil),
		"byte":        synthetic(t, []spmodel.Piece{{Piece: "<0x41>", Type: spmodel.Byte}}, nil),
		"bad byte":    synthetic(t, []spmodel.Piece{{Piece: "A", Type: spmodel.Byte}}, func(p *spmodel.Model) { p.Trainer.ByteFallback = true }),
		"no pieces":   synthetic(t, nil, nil),
		"charsmap":    synthetic(t, ok, func(p *spmodel.Model) { p.Normalizer.PrecompiledCharsmap = []byte{9, 0, 0, 0, 1} }),
		"suffix":      synthetic(t, ok, func(p *spmodel.Model) { p.Trainer.TreatWhitespaceAsSuffix = true }),
		"piece type":  {0x0a, 0x02, 0x18, 0x09},
	} {
		if _, err := ParseModel(data); err == nil || !strings.HasPrefix(err.Error(), "unigram: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	_, err := ParseModel(synthetic(t, ok, func(p *spmodel.Model) { p.Trainer.ModelType = spmodel.BPE }))
	if !strings.Contains(err.Error(), "BPE, not Unigram") {
		t.Errorf("wrong-type error does not say what the model is: %v", err)
	}
	if _, err := LoadModel(testenv.Shared(t, "tokenizers", "llama2", "tokenizer.model")); err == nil || !strings.Contains(err.Error(), "BPE") {
		t.Errorf("Llama 2's BPE tokenizer.model: err = %v", err)
	}
}

// TestWriteModelRoundTrip: a loaded model written back parses to the same
// model and encodes alike.
func TestWriteModelRoundTrip(t *testing.T) {
	m := loadMulti30k(t)
	var buf strings.Builder
	if err := m.WriteModel(&buf); err != nil {
		t.Fatal(err)
	}
	m2 := mustParse(t, []byte(buf.String()))
	if m2.VocabSize() != 8000 || !slices.Equal(m2.pieces, m.pieces) || !slices.Equal(m2.scores32, m.scores32) || !slices.Equal(m2.types, m.types) {
		t.Fatal("pieces differ after WriteModel")
	}
	for _, c := range readGolden(t) {
		if !slices.Equal(m2.Encode(c.Text), c.IDs) {
			t.Errorf("%q: %v, want %v", c.Text, m2.Encode(c.Text), c.IDs)
		}
	}
	var vocab strings.Builder
	if err := m.WriteVocab(&vocab); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.vocab"))
	if err != nil {
		t.Fatal(err)
	}
	if vocab.String() != string(want) {
		t.Error("WriteVocab differs from sentencepiece's .vocab")
	}
}

func TestAccessors(t *testing.T) {
	m := loadMulti30k(t)
	if m.UnknownID() != 0 || m.BOS() != 1 || m.EOS() != 2 || m.PAD() != -1 {
		t.Errorf("unk %d bos %d eos %d pad %d", m.UnknownID(), m.BOS(), m.EOS(), m.PAD())
	}
	if id, ok := m.TokenToID("▁man"); !ok || id != 20 {
		t.Errorf("TokenToID(▁man) = %d, %v", id, ok)
	}
	if p, ok := m.IDToToken(20); !ok || p != "▁man" {
		t.Errorf("IDToToken(20) = %q, %v", p, ok)
	}
	if _, ok := m.IDToToken(8000); ok {
		t.Error("IDToToken(8000) ok")
	}
	if s := m.Score(4); float32(s) != -3.2111585 {
		t.Errorf("Score(4) = %v", s)
	}
	if m.Type(0) != Unknown || m.Type(1) != Control || m.Type(4) != Normal || !m.IsSpecial(1) || m.IsSpecial(4) {
		t.Error("types")
	}
	if got := m.Normalize("ｆｕｌｌ  Ⅻ\tx"); got != "▁full▁XII▁x" {
		t.Errorf("Normalize = %q", got)
	}
}
