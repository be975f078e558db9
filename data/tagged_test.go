package data

import (
	"reflect"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

func TestParseTaggedCoNLL(t *testing.T) {
	in := "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\r\n\n\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n-DOCSTART- -X- -X- O\nBRUSSELS NNP B-NP B-LOC"
	d, err := ParseTagged(strings.NewReader(in), "x.conll", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []TaggedSentence{
		{Words: []string{"EU", "rejects"}, Tags: []string{"B-ORG", "O"}, Line: 3},
		{Words: []string{"Peter", "Blackburn"}, Tags: []string{"B-PER", "I-PER"}, Line: 8},
		{Words: []string{"BRUSSELS"}, Tags: []string{"B-LOC"}, Line: 11},
	}
	if !reflect.DeepEqual(d.Sentences, want) || d.Documents != 2 {
		t.Errorf("got %+v (%d documents), want %+v", d.Sentences, d.Documents, want)
	}
	if tags := d.Tags(); !reflect.DeepEqual(tags, []string{"B-LOC", "B-ORG", "B-PER", "I-PER", "O"}) || d.Words() != 5 {
		t.Errorf("tags %v, %d words", tags, d.Words())
	}
}

func TestParseTaggedJSONL(t *testing.T) {
	in := `{"id": "0", "tokens": ["EU", "rejects"], "ner_tags": ["B-ORG", "O"]}

{"tokens": [], "ner_tags": []}
{"tokens": ["Peter"], "ner_tags": ["B-PER"]}`
	d, err := ParseTagged(strings.NewReader(in), "x.jsonl", &TaggedOptions{Format: TaggedJSONL})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sentences) != 2 || d.Sentences[1].Line != 4 || d.Sentences[0].Tags[0] != "B-ORG" {
		t.Errorf("got %+v", d.Sentences)
	}
	names := []string{"O", "B-PER", "I-PER"}
	d, err = ParseTagged(strings.NewReader(`{"words": ["Peter", "Blackburn", "said"], "tags": [1, 2, 0]}`), "x.jsonl",
		&TaggedOptions{Format: TaggedJSONL, WordsKey: "words", TagsKey: "tags", TagNames: names})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Sentences[0].Tags, []string{"B-PER", "I-PER", "O"}) {
		t.Errorf("integer tags: %v", d.Sentences[0].Tags)
	}
}

func TestParseTaggedErrors(t *testing.T) {
	jsonl := &TaggedOptions{Format: TaggedJSONL}
	for _, c := range []struct {
		in   string
		opts *TaggedOptions
		want string
	}{
		{"", nil, "no sentence"},
		{"-DOCSTART- -X- O\n\n", nil, "no sentence"},
		{"EU B-ORG\nrejects\n", nil, ":2: \"rejects\" has 1 column"},
		{"EU NNP B-ORG\nrejects O\n", nil, ":2: 2 columns where the file's first word line has 3"},
		{strings.Repeat("a O\n", 4), &TaggedOptions{MaxWords: 3}, "more than 3 words"},
		{"a" + strings.Repeat(" ", 40) + "O\n", &TaggedOptions{MaxLineBytes: 16}, "longer than 16 bytes"},
		{`{"tokens": ["a"]}`, jsonl, `no "ner_tags" field`},
		{`{"ner_tags": ["O"]}`, jsonl, `no "tokens" field`},
		{`{"tokens": ["a", "b"], "ner_tags": ["O"]}`, jsonl, "2 words but 1 tags"},
		{`{"tokens": ["a"], "ner_tags": [0]}`, jsonl, "integer tags need their names"},
		{`{"tokens": ["a"], "ner_tags": [5]}`, &TaggedOptions{Format: TaggedJSONL, TagNames: []string{"O"}}, "outside the 1 tag names"},
		{`{"tokens": ["a"], "ner_tags": ["B PER"]}`, jsonl, "white space"},
		{`{"tokens": [" "], "ner_tags": ["O"]}`, jsonl, "empty or blank"},
		{`{"tokens": "a", "ner_tags": ["O"]}`, jsonl, "list of strings"},
		{`{"tokens": ["a"], "ner_tags": [true]}`, jsonl, "strings or of integers"},
		{"{", jsonl, "invalid JSON"},
	} {
		_, err := ParseTagged(strings.NewReader(c.in), "f", c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTagged(%.30q) error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

func tinyWordPiece(t testing.TB) *tokenizer.Tokenizer {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "."}
	m, err := wordpiece.New(vocab, wordpiece.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(m, tokenizer.Config{Template: tokenizer.BERTTemplate("[CLS]", 2, "[SEP]", 3)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestEncodeTokenClassification(t *testing.T) {
	tok := tinyWordPiece(t)
	lm, err := LabelMapOf([]string{"B-PER", "I-PER", "O"})
	if err != nil {
		t.Fatal(err)
	}
	d := &TaggedData{Path: "f", Sentences: []TaggedSentence{
		{Words: []string{"the", "cats", "sat", "[SEP]"}, Tags: []string{"O", "B-PER", "O", "O"}, Line: 1},
		{Words: []string{"mats", "mats"}, Tags: []string{"B-PER", "I-PER"}, Line: 6},
	}}
	const I = IgnoreLabel
	cases := []struct {
		name     string
		opts     TokenClassOptions
		ids      [][]int32
		labels   [][]int32
		words    [][]int32
		windowed int
		cut      int
	}{
		{"first sub-token", TokenClassOptions{MaxLen: 16},
			// "[SEP]" in the text is text: "[", "SEP", "]", each [UNK]
			[][]int32{{2, 5, 6, 10, 7, 1, 1, 1, 3}, {2, 9, 10, 9, 10, 3}},
			[][]int32{{I, 2, 0, I, 2, 2, I, I, I}, {I, 0, I, 1, I, I}},
			[][]int32{{-1, 0, 1, 1, 2, 3, 3, 3, -1}, {-1, 0, 0, 1, 1, -1}}, 0, 0},
		{"all sub-tokens", TokenClassOptions{MaxLen: 16, LabelAllTokens: true},
			[][]int32{{2, 5, 6, 10, 7, 1, 1, 1, 3}, {2, 9, 10, 9, 10, 3}},
			[][]int32{{I, 2, 0, 1, 2, 2, 2, 2, I}, {I, 0, 1, 1, 1, I}}, nil, 0, 0},
		{"windows of whole words", TokenClassOptions{MaxLen: 4},
			[][]int32{{2, 5, 3}, {2, 6, 10, 3}, {2, 7, 3}, {2, 1, 1, 3}, {2, 1, 3}, {2, 9, 10, 3}, {2, 9, 10, 3}},
			[][]int32{{I, 2, I}, {I, 0, I, I}, {I, 2, I}, {I, 2, I, I}, {I, I, I}, {I, 0, I, I}, {I, 1, I, I}},
			[][]int32{{-1, 0, -1}, {-1, 1, 1, -1}, {-1, 2, -1}, {-1, 3, 3, -1}, {-1, 3, -1}, {-1, 0, 0, -1}, {-1, 1, 1, -1}}, 2, 0},
		{"a word longer than a window", TokenClassOptions{MaxLen: 3},
			[][]int32{{2, 5, 3}, {2, 6, 3}, {2, 10, 3}, {2, 7, 3}, {2, 1, 3}, {2, 1, 3}, {2, 1, 3}, {2, 9, 3}, {2, 10, 3}, {2, 9, 3}, {2, 10, 3}},
			nil, nil, 2, 0},
		{"truncated", TokenClassOptions{MaxLen: 4, Truncate: true},
			[][]int32{{2, 5, 3}, {2, 9, 10, 3}},
			[][]int32{{I, 2, I}, {I, 0, I, I}}, nil, 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, err := EncodeTokenClassification(tok, d, lm, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var ids, labels, words [][]int32
			for _, e := range enc.Examples {
				ids, labels, words = append(ids, e.InputIDs), append(labels, e.Labels), append(words, e.WordIDs)
			}
			if !reflect.DeepEqual(ids, c.ids) {
				t.Errorf("ids %v, want %v", ids, c.ids)
			}
			if c.labels != nil && !reflect.DeepEqual(labels, c.labels) {
				t.Errorf("labels %v, want %v", labels, c.labels)
			}
			if c.words != nil && !reflect.DeepEqual(words, c.words) {
				t.Errorf("words %v, want %v", words, c.words)
			}
			if enc.Windowed != c.windowed || enc.Truncated != c.cut {
				t.Errorf("windowed %d truncated %d, want %d %d", enc.Windowed, enc.Truncated, c.windowed, c.cut)
			}
		})
	}
	enc, err := EncodeTokenClassification(tok, d, lm, TokenClassOptions{MaxLen: 4, Truncate: true})
	if err != nil || enc.CutWords != 4 {
		t.Errorf("cut words %d (%v), want 4", enc.CutWords, err)
	}
	d.Sentences[1].Tags[1] = "I-LOC"
	_, err = EncodeTokenClassification(tok, d, lm, TokenClassOptions{MaxLen: 16})
	if err == nil || !strings.Contains(err.Error(), `f:6: tag "I-LOC"`) || !strings.Contains(err.Error(), "not one of the model's labels") {
		t.Errorf("unknown tag: %v", err)
	}
	if _, err := EncodeTokenClassification(tok, d, nil, TokenClassOptions{MaxLen: 2}); err == nil {
		t.Error("max length 2 accepted")
	}
	b := CollateTokenClassification(enc.Examples, 0)
	if b.B != 2 || b.T != 4 || !reflect.DeepEqual(b.InputIDs, []int32{2, 5, 3, 0, 2, 9, 10, 3}) ||
		!reflect.DeepEqual(b.AttentionMask, []int32{1, 1, 1, 0, 1, 1, 1, 1}) || b.Labels[3] != I {
		t.Errorf("collated %+v", b)
	}
}

// FuzzParseTagged reads arbitrary input as CoNLL and JSONL: no panic, and
// every sentence it returns has as many tags as words, none of them empty.
func FuzzParseTagged(f *testing.F) {
	f.Add("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n-DOCSTART- -X- O\nPeter B-PER\n")
	f.Add(`{"tokens": ["EU", "rejects"], "ner_tags": ["B-ORG", "O"]}` + "\n" + `{"tokens": ["a"], "ner_tags": [1]}`)
	f.Add("\uFEFFa O\r\n\r\nb\tI-X\n")
	f.Fuzz(func(t *testing.T, in string) {
		for _, format := range []TaggedFormat{TaggedCoNLL, TaggedJSONL} {
			d, err := ParseTagged(strings.NewReader(in), "f", &TaggedOptions{Format: format, TagNames: []string{"O", "B-X"}, MaxLineBytes: 1 << 12})
			if err != nil {
				continue
			}
			for _, s := range d.Sentences {
				if len(s.Words) == 0 || len(s.Words) != len(s.Tags) {
					t.Fatalf("%v: sentence %+v", format, s)
				}
				for _, tag := range s.Tags {
					if tag == "" {
						t.Fatalf("%v: empty tag in %+v", format, s)
					}
				}
			}
		}
	})
}

func TestToIOB2(t *testing.T) {
	d := &TaggedData{Sentences: []TaggedSentence{
		{Tags: []string{"I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG", "E-X"}},
		{Tags: []string{"B-PER", "I-PER", "I-LOC"}},
	}}
	d.ToIOB2()
	want := [][]string{{"B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG", "E-X"}, {"B-PER", "I-PER", "B-LOC"}}
	for i, s := range d.Sentences {
		if !reflect.DeepEqual(s.Tags, want[i]) {
			t.Errorf("sentence %d: %v, want %v", i, s.Tags, want[i])
		}
	}
}

// FuzzEncodeTokenClassification encodes arbitrary words at small window
// sizes: no panic, no window longer than MaxLen, and (without truncation)
// every word that has tokens starts exactly once, labelled with its tag.
func FuzzEncodeTokenClassification(f *testing.F) {
	f.Add("the cats sat on the mats .", 4, false)
	f.Add("catscatscats [SEP] ## \x00 é", 3, true)
	tok := tinyWordPiece(f)
	lm, err := LabelMapOf([]string{"B-X", "O"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, maxLen int, truncate bool) {
		words := strings.Fields(text)
		if len(words) == 0 || maxLen < 3 || maxLen > 64 {
			return
		}
		tags := make([]string, len(words))
		for i := range tags {
			tags[i] = []string{"O", "B-X"}[i%2]
		}
		d := &TaggedData{Sentences: []TaggedSentence{{Words: words, Tags: tags, Line: 1}}}
		enc, err := EncodeTokenClassification(tok, d, lm, TokenClassOptions{MaxLen: maxLen, Truncate: truncate})
		if err != nil {
			t.Fatal(err)
		}
		starts := make([]int, len(words))
		for _, e := range enc.Examples {
			if len(e.InputIDs) > maxLen || len(e.Labels) != len(e.InputIDs) || len(e.WordIDs) != len(e.InputIDs) {
				t.Fatalf("window %+v for max length %d", e, maxLen)
			}
			for j, w := range e.WordIDs {
				if l := e.Labels[j]; l != IgnoreLabel {
					if w < 0 || int(l) != 1-int(w)%2 {
						t.Fatalf("label %d on word %d", l, w)
					}
					starts[w]++
				}
			}
		}
		lost := 0
		for _, n := range starts {
			if n > 1 {
				t.Fatalf("a word starts %d times: %+v", n, enc.Examples)
			}
			lost += 1 - n
		}
		if lost != enc.Untokenized+enc.CutWords {
			t.Fatalf("%d words without a start, %d untokenized + %d cut", lost, enc.Untokenized, enc.CutWords)
		}
	})
}
