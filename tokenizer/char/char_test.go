package char

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/tokenizer"
)

// TestEncodeRefusesUnknown checks that a Tokenizer over a character
// vocabulary refuses text with a character outside it, instead of encoding
// the text with that character left out, and that added tokens are not
// taken for unknown characters.
func TestEncodeRefusesUnknown(t *testing.T) {
	m, err := FromRunes([]rune("abc "))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(m, tokenizer.Config{AddedTokens: []tokenizer.AddedToken{{ID: 4, Content: "<eot>", Special: true}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text, b string
		pair    bool
		errWith string // "" for success
	}{
		{text: "abc cab"},
		{text: "ab<eot>c"},
		{text: "abx", errWith: `'x' at byte 2`},
		{text: "ab", b: "cé", pair: true, errWith: `'é' at byte 1`},
	}
	for _, tt := range tests {
		var err error
		if tt.pair {
			_, err = tok.EncodePair(tt.text, tt.b)
		} else {
			_, err = tok.Encode(tt.text)
		}
		if (err == nil) != (tt.errWith == "") || (err != nil && !strings.Contains(err.Error(), tt.errWith)) {
			t.Errorf("Encode(%q, %q) error %v, want one with %q", tt.text, tt.b, err, tt.errWith)
		}
	}
	if _, err := tok.EncodeBatch([]string{"abc", "zz"}); err == nil {
		t.Error("EncodeBatch accepted an unknown character")
	}
}

func TestModel(t *testing.T) {
	m, err := FromRunes([]rune("hello, wörld\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"\n", " ", ",", "d", "e", "h", "l", "o", "r", "w", "ö"}; !slices.Equal(m.Chars(), want) {
		t.Fatalf("chars %q, want %q", m.Chars(), want)
	}
	tests := []struct {
		text    string
		ids     []int
		encErr  bool
		decoded string // of Tokenize's ids
	}{
		{"hello", []int{5, 4, 6, 6, 7}, false, "hello"},
		{"wörld\n", []int{9, 10, 8, 6, 3, 0}, false, "wörld\n"},
		{"", []int{}, false, ""},
		{"hex", nil, true, "he"}, // x is not in the vocabulary
	}
	for _, tt := range tests {
		ids, err := m.Encode(tt.text)
		if (err != nil) != tt.encErr || (!tt.encErr && !slices.Equal(ids, tt.ids)) {
			t.Errorf("Encode(%q) = %v, %v; want %v (error %v)", tt.text, ids, err, tt.ids, tt.encErr)
		}
		toks := m.Tokenize(tt.text)
		var got []int
		for _, tok := range toks {
			if tt.text[tok.Start:tok.End] != tok.Text {
				t.Errorf("%q: token %q has offsets [%d,%d)", tt.text, tok.Text, tok.Start, tok.End)
			}
			got = append(got, tok.ID)
		}
		if s, err := m.Decode(got, true); err != nil || s != tt.decoded {
			t.Errorf("Decode(Tokenize(%q)) = %q, %v; want %q", tt.text, s, err, tt.decoded)
		}
	}
	if _, err := m.Decode([]int{11}, false); err == nil {
		t.Error("Decode accepted an id outside the vocabulary")
	}
	if id, ok := m.TokenToID("ö"); !ok || id != 10 {
		t.Errorf("TokenToID(ö) = %d, %v", id, ok)
	}
	if _, ok := m.TokenToID("he"); ok {
		t.Error("TokenToID accepted two characters")
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(filepath.Join(dir, VocabFile))
	if err != nil || !slices.Equal(back.Chars(), m.Chars()) {
		t.Fatalf("Load after Save: %v, %q", err, back.Chars())
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		``, `{}`, `{"type":"bpe","chars":["a"]}`, `{"type":"char","chars":[]}`,
		`{"type":"char","chars":["ab"]}`, `{"type":"char","chars":["a","a"]}`, `{"type":"char","chars":[""]}`,
		`{"type":"char","chars":"abc"}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q): no error", in)
		}
	}
}

// FuzzParse feeds arbitrary bytes to the vocabulary reader: an error or a
// model that round-trips its own characters, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"char","chars":["\n"," ","a"]}`))
	f.Add([]byte(`{"type":"char","chars":["a","a"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		for id, c := range m.Chars() {
			if !utf8.ValidString(c) {
				t.Fatalf("invalid character %q accepted", c)
			}
			if got, ok := m.TokenToID(c); !ok || got != id {
				t.Fatalf("TokenToID(%q) = %d, %v; want %d", c, got, ok, id)
			}
		}
	})
}
