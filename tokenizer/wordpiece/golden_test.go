package wordpiece_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

// goldenCase is one line of ../shared/golden/bert_wordpiece/{uncased,chinese}.jsonl.
type goldenCase struct {
	Text          string   `json:"text"`
	TextPair      *string  `json:"text_pair"`
	IDs           []int    `json:"ids"`
	Tokens        []string `json:"tokens"`
	TypeIDs       []int    `json:"token_type_ids"`
	AttentionMask []int    `json:"attention_mask"`
	Decoded       *string  `json:"decoded"`
	// Where transformers.js and Hugging Face tokenizers (Rust) differ, the
	// golden carries the Rust result; we match Rust.
	RustIDs     []int  `json:"ids_hf_rust_semantics_own_reimpl"`
	RustTypeIDs []int  `json:"token_type_ids_hf_rust_semantics_own_reimpl"`
	Note        string `json:"note"`
}

func readGolden(t *testing.T, name string) []goldenCase {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "golden", "bert_wordpiece", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// loadJSON builds the full tokenizer from a shared tokenizer.json.
func loadJSON(t testing.TB, dir string) *tokenizer.Tokenizer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := wordpiece.FromTokenizerJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromJSON(data, m)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// loadVocab builds the same tokenizer from vocab.txt alone.
func loadVocab(t testing.TB, dir string, opts wordpiece.Options) *tokenizer.Tokenizer {
	t.Helper()
	m, err := wordpiece.LoadVocab(filepath.Join(dir, "vocab.txt"), opts)
	if err != nil {
		t.Fatal(err)
	}
	var added []tokenizer.AddedToken
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		id, _ := m.TokenToID(s)
		added = append(added, tokenizer.AddedToken{Content: s, ID: id, Special: true})
	}
	cls, _ := m.TokenToID("[CLS]")
	sep, _ := m.TokenToID("[SEP]")
	tok, err := tokenizer.New(m, tokenizer.Config{AddedTokens: added, Template: tokenizer.BERTTemplate("[CLS]", cls, "[SEP]", sep)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		golden, vocab string
		opts          wordpiece.Options
	}{
		{"uncased.jsonl", "bert-base-uncased", wordpiece.Options{}},
		{"chinese.jsonl", "bert-base-chinese", wordpiece.Options{Cased: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			cases := readGolden(t, tc.golden)
			dir := testenv.Shared(t, "tokenizers", tc.vocab)
			for _, loader := range []struct {
				name string
				tok  *tokenizer.Tokenizer
			}{{"tokenizer.json", loadJSON(t, dir)}, {"vocab.txt", loadVocab(t, dir, tc.opts)}} {
				t.Run(loader.name, func(t *testing.T) {
					var texts []string
					for i, c := range cases {
						checkGolden(t, loader.tok, i, c)
						if c.TextPair == nil {
							texts = append(texts, c.Text)
						}
					}
					// The parallel batch gives the same encodings in order.
					batch, err := loader.tok.EncodeBatch(texts)
					if err != nil {
						t.Fatal(err)
					}
					for i, e := range batch {
						one, _ := loader.tok.Encode(texts[i])
						if !slices.Equal(e.IDs, one.IDs) || !slices.Equal(e.Offsets, one.Offsets) {
							t.Errorf("batch item %d %q differs from Encode", i, texts[i])
						}
					}
				})
			}
		})
	}
}

func checkGolden(t *testing.T, tok *tokenizer.Tokenizer, line int, c goldenCase) {
	t.Helper()
	var enc tokenizer.Encoding
	var err error
	if c.TextPair != nil {
		enc, err = tok.EncodePair(c.Text, *c.TextPair)
	} else {
		enc, err = tok.Encode(c.Text)
	}
	if err != nil {
		t.Fatalf("line %d %q: %v", line+1, c.Text, err)
	}
	wantIDs, wantTypes, wantTokens := c.IDs, c.TypeIDs, c.Tokens
	if c.RustIDs != nil {
		wantIDs, wantTypes, wantTokens = c.RustIDs, c.RustTypeIDs, nil
	}
	if !slices.Equal(enc.IDs, wantIDs) {
		t.Errorf("line %d %q: ids\n got %v\nwant %v", line+1, c.Text, enc.IDs, wantIDs)
		return
	}
	if wantTokens != nil && !slices.Equal(enc.Tokens, wantTokens) {
		t.Errorf("line %d %q: tokens\n got %q\nwant %q", line+1, c.Text, enc.Tokens, wantTokens)
	}
	if !slices.Equal(enc.TypeIDs, wantTypes) {
		t.Errorf("line %d %q: type ids %v, want %v", line+1, c.Text, enc.TypeIDs, wantTypes)
	}
	if c.RustIDs == nil && !slices.Equal(enc.AttentionMask, c.AttentionMask) {
		t.Errorf("line %d %q: attention mask %v, want %v", line+1, c.Text, enc.AttentionMask, c.AttentionMask)
	}
	checkOffsets(t, c.Text, c.TextPair, enc)
	if c.Decoded != nil && c.RustIDs == nil {
		got, err := tok.Decode(enc.IDs, true)
		if err != nil {
			t.Fatal(err)
		}
		if got != *c.Decoded {
			t.Errorf("line %d %q: decoded %q, want %q", line+1, c.Text, got, *c.Decoded)
		}
	}
}

// checkOffsets verifies that every offset lies in its text, that offsets
// never go backwards, and that for plain ASCII text each token spells the
// text it covers.
func checkOffsets(t *testing.T, a string, b *string, enc tokenizer.Encoding) {
	t.Helper()
	last := [2]int{}
	for i, off := range enc.Offsets {
		seq := enc.SequenceIDs[i]
		if seq < 0 {
			if off != [2]int{} {
				t.Errorf("%q: special token %d has offsets %v", a, i, off)
			}
			continue
		}
		text := a
		if seq == 1 {
			text = *b
		}
		if off[0] < 0 || off[0] > off[1] || off[1] > len(text) {
			t.Fatalf("%q: token %d %q offsets %v outside [0, %d]", text, i, enc.Tokens[i], off, len(text))
		}
		if off[0] < last[seq] {
			t.Errorf("%q: token %d offsets %v go backwards", text, i, off)
		}
		last[seq] = off[0]
		span := text[off[0]:off[1]]
		if isASCII(text) && enc.Tokens[i] != "[UNK]" && !strings.HasPrefix(enc.Tokens[i], "[") {
			if got := strings.TrimPrefix(enc.Tokens[i], "##"); !strings.EqualFold(got, span) {
				t.Errorf("%q: token %q covers %q", text, enc.Tokens[i], span)
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}
