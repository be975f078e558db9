package tokenizer_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/tokenizer"
)

// charModel is a toy vocabulary model: every non-space byte is a token
// whose id is the byte value; ids 1–3 play [CLS], [SEP] and [PAD].
type charModel struct{}

func (charModel) Tokenize(text string) []tokenizer.Token {
	var out []tokenizer.Token
	for i := 0; i < len(text); i++ {
		if text[i] != ' ' {
			out = append(out, tokenizer.Token{ID: int(text[i]), Text: text[i : i+1], Start: i, End: i + 1})
		}
	}
	return out
}

func (charModel) Decode(ids []int, skipSpecial bool) (string, error) {
	var sb strings.Builder
	for _, id := range ids {
		if id < 0 || id > 255 {
			return "", fmt.Errorf("charModel: bad id %d", id)
		}
		sb.WriteByte(byte(id))
	}
	return sb.String(), nil
}

func (charModel) TokenToID(tok string) (int, bool) {
	if len(tok) != 1 {
		return 0, false
	}
	return int(tok[0]), true
}

func (charModel) IDToToken(id int) (string, bool) {
	if id < 0 || id > 255 {
		return "", false
	}
	return string([]byte{byte(id)}), true
}

func (charModel) VocabSize() int { return 256 }

const cls, sep, pad = 1, 2, 3

func newTok(t testing.TB, opts tokenizer.Options, added ...tokenizer.AddedToken) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.New(charModel{}, tokenizer.Config{
		AddedTokens: added,
		Template:    tokenizer.BERTTemplate("[CLS]", cls, "[SEP]", sep),
		Options:     opts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTemplate(t *testing.T) {
	tok := newTok(t, tokenizer.Options{})
	e, err := tok.EncodePair("ab", "c")
	if err != nil {
		t.Fatal(err)
	}
	want := tokenizer.Encoding{
		IDs:               []int{cls, 'a', 'b', sep, 'c', sep},
		Tokens:            []string{"[CLS]", "a", "b", "[SEP]", "c", "[SEP]"},
		TypeIDs:           []int{0, 0, 0, 0, 1, 1},
		AttentionMask:     []int{1, 1, 1, 1, 1, 1},
		SpecialTokensMask: []int{1, 0, 0, 1, 0, 1},
		Offsets:           [][2]int{{}, {0, 1}, {1, 2}, {}, {0, 1}, {}},
		SequenceIDs:       []int{-1, 0, 0, -1, 1, -1},
	}
	if fmt.Sprint(e) != fmt.Sprint(want) {
		t.Errorf("EncodePair:\n got %+v\nwant %+v", e, want)
	}
	// An empty second text is still a sequence (Hugging Face tokenizers).
	e, _ = tok.EncodePair("a", "")
	if !slices.Equal(e.IDs, []int{cls, 'a', sep, sep}) || !slices.Equal(e.TypeIDs, []int{0, 0, 0, 1}) {
		t.Errorf("EncodePair(a, \"\") = %v %v", e.IDs, e.TypeIDs)
	}
	noSpecial, _ := tok.WithOptions(tokenizer.Options{SkipTemplate: true})
	e, _ = noSpecial.EncodePair("ab", "c")
	if !slices.Equal(e.IDs, []int{'a', 'b', 'c'}) || !slices.Equal(e.TypeIDs, []int{0, 0, 1}) {
		t.Errorf("SkipTemplate pair = %v %v", e.IDs, e.TypeIDs)
	}
	for _, tc := range []struct {
		tmpl       *tokenizer.Template
		ids, types []int
	}{
		{tokenizer.RoBERTaTemplate("<s>", 5, "</s>", 6), []int{5, 'a', 6, 6, 'b', 6}, []int{0, 0, 0, 0, 0, 0}},
		{tokenizer.BOSTemplate("<s>", 5), []int{5, 'a', 5, 'b'}, []int{0, 0, 1, 1}},
		{nil, []int{'a', 'b'}, []int{0, 1}},
	} {
		tk, err := tokenizer.New(charModel{}, tokenizer.Config{Template: tc.tmpl})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := tk.EncodePair("a", "b")
		if !slices.Equal(e.IDs, tc.ids) || !slices.Equal(e.TypeIDs, tc.types) {
			t.Errorf("template %+v: pair = %v %v, want %v %v", tc.tmpl, e.IDs, e.TypeIDs, tc.ids, tc.types)
		}
	}
	bad := &tokenizer.Template{Single: []tokenizer.Piece{tokenizer.Special("[CLS]", 1, 0)}}
	if _, err := tokenizer.New(charModel{}, tokenizer.Config{Template: bad}); err == nil {
		t.Error("template without sequence A accepted")
	}
}

func TestTruncation(t *testing.T) {
	a, b := strings.Repeat("a", 10), strings.Repeat("b", 4)
	for _, tc := range []struct {
		name           string
		tr             tokenizer.Truncation
		a, b           string
		pair           bool
		wantA, wantB   int
		wantErr        string
		firstA, firstB byte // the first kept letter, for Side checks
	}{
		{"single fits", tokenizer.Truncation{MaxLength: 12}, a, "", false, 10, 0, "", 'a', 0},
		{"single cut", tokenizer.Truncation{MaxLength: 7}, a, "", false, 5, 0, "", 'a', 0},
		{"longest first only longer", tokenizer.Truncation{MaxLength: 13}, a, b, true, 6, 4, "", 'a', 'b'},
		{"longest first both", tokenizer.Truncation{MaxLength: 9}, a, b, true, 3, 3, "", 'a', 'b'},
		{"longest first odd", tokenizer.Truncation{MaxLength: 8}, a, b, true, 3, 2, "", 'a', 'b'},
		{"longest first equal odd", tokenizer.Truncation{MaxLength: 8}, b, b, true, 2, 3, "", 'b', 'b'},
		{"only first", tokenizer.Truncation{MaxLength: 10, Strategy: tokenizer.OnlyFirst}, a, b, true, 3, 4, "", 'a', 'b'},
		{"only first too short", tokenizer.Truncation{MaxLength: 6, Strategy: tokenizer.OnlyFirst}, b, a, true, 0, 0, "too short", 0, 0},
		{"only second", tokenizer.Truncation{MaxLength: 12, Strategy: tokenizer.OnlySecond}, b, a, true, 4, 5, "", 'b', 'a'},
		{"only second single", tokenizer.Truncation{MaxLength: 5, Strategy: tokenizer.OnlySecond}, a, "", false, 0, 0, "needs a pair", 0, 0},
		{"pair below specials", tokenizer.Truncation{MaxLength: 2}, a, b, true, 0, 0, "shorter than", 0, 0},
		{"left", tokenizer.Truncation{MaxLength: 5, Side: tokenizer.Left}, "abcdef", "", false, 3, 0, "", 'd', 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := newTok(t, tokenizer.Options{Truncation: tc.tr})
			var e tokenizer.Encoding
			var err error
			if tc.pair {
				e, err = tok.EncodePair(tc.a, tc.b)
			} else {
				e, err = tok.Encode(tc.a)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var na, nb int
			var fa, fb byte
			for i, s := range e.SequenceIDs {
				switch s {
				case 0:
					if na == 0 {
						fa = byte(e.IDs[i])
					}
					na++
				case 1:
					if nb == 0 {
						fb = byte(e.IDs[i])
					}
					nb++
				}
			}
			if na != tc.wantA || nb != tc.wantB || fa != tc.firstA || fb != tc.firstB {
				t.Errorf("kept %d (from %q) + %d (from %q), want %d (%q) + %d (%q): %v",
					na, fa, nb, fb, tc.wantA, tc.firstA, tc.wantB, tc.firstB, e.Tokens)
			}
			if e.Len() > tc.tr.MaxLength {
				t.Errorf("length %d > max %d", e.Len(), tc.tr.MaxLength)
			}
		})
	}
	if _, err := tokenizer.New(charModel{}, tokenizer.Config{
		Template: tokenizer.BERTTemplate("[CLS]", 1, "[SEP]", 2),
		Options:  tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: 1}},
	}); err == nil {
		t.Error("max length below the template's specials accepted")
	}
}

func TestPadding(t *testing.T) {
	texts := []string{"abc", "a", "abcdef"}
	for _, tc := range []struct {
		name string
		p    tokenizer.Padding
		want [][]int
	}{
		{"longest right", tokenizer.Padding{Strategy: tokenizer.PadLongest, ID: pad},
			[][]int{{1, 'a', 'b', 'c', 2, 3, 3, 3}, {1, 'a', 2, 3, 3, 3, 3, 3}, {1, 'a', 'b', 'c', 'd', 'e', 'f', 2}}},
		{"longest left multiple", tokenizer.Padding{Strategy: tokenizer.PadLongest, ID: pad, Side: tokenizer.Left, MultipleOf: 5},
			[][]int{{3, 3, 3, 3, 3, 1, 'a', 'b', 'c', 2}, {3, 3, 3, 3, 3, 3, 3, 1, 'a', 2}, {3, 3, 1, 'a', 'b', 'c', 'd', 'e', 'f', 2}}},
		{"fixed", tokenizer.Padding{Strategy: tokenizer.PadFixed, Length: 6, ID: pad},
			[][]int{{1, 'a', 'b', 'c', 2, 3}, {1, 'a', 2, 3, 3, 3}, {1, 'a', 'b', 'c', 'd', 'e', 'f', 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := newTok(t, tokenizer.Options{Padding: tc.p})
			encs, err := tok.EncodeBatch(texts)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range encs {
				if !slices.Equal(e.IDs, tc.want[i]) {
					t.Errorf("%q: ids %v, want %v", texts[i], e.IDs, tc.want[i])
				}
				for j, id := range e.IDs {
					isPad := id == pad
					if (e.AttentionMask[j] == 0) != isPad || (isPad && (e.SpecialTokensMask[j] != 1 || e.SequenceIDs[j] != -1 || e.Tokens[j] != "\x03")) {
						t.Errorf("%q: token %d: mask %d special %d seq %d tok %q", texts[i], j,
							e.AttentionMask[j], e.SpecialTokensMask[j], e.SequenceIDs[j], e.Tokens[j])
					}
				}
			}
		})
	}
	if _, err := newTok(t, tokenizer.Options{}).WithOptions(tokenizer.Options{Padding: tokenizer.Padding{Strategy: tokenizer.PadFixed}}); err == nil {
		t.Error("fixed padding without length accepted")
	}
}

func TestEncodeBatchOrder(t *testing.T) {
	tok := newTok(t, tokenizer.Options{})
	texts := make([]string, 1000)
	for i := range texts {
		texts[i] = fmt.Sprint(i)
	}
	encs, err := tok.EncodeBatch(texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range encs {
		one, _ := tok.Encode(texts[i])
		if !slices.Equal(e.IDs, one.IDs) {
			t.Fatalf("batch item %d = %v, want %v", i, e.IDs, one.IDs)
		}
	}
	pairs, err := tok.EncodePairBatch(texts, texts)
	if err != nil || len(pairs) != len(texts) {
		t.Fatal(err)
	}
	if _, err := tok.EncodePairBatch(texts, texts[1:]); err == nil {
		t.Error("mismatched pair batch accepted")
	}
	if encs, err := tok.EncodeBatch(nil); err != nil || len(encs) != 0 {
		t.Errorf("empty batch: %v %v", encs, err)
	}
}

func TestAddedTokens(t *testing.T) {
	added := []tokenizer.AddedToken{
		{Content: "[MASK]", ID: 300, Special: true},
		{Content: "[M]", ID: 301, Special: true, LStrip: true, RStrip: true},
		{Content: "xy", ID: 302, SingleWord: true},
	}
	for _, tc := range []struct {
		text      string
		plain     bool
		want      []int
		wantSpans [][2]int
	}{
		{"a[MASK]b", false, []int{'a', 300, 'b'}, [][2]int{{0, 1}, {1, 7}, {7, 8}}},
		{"a [M] b", false, []int{'a', 301, 'b'}, [][2]int{{0, 1}, {1, 6}, {6, 7}}},
		{"xy axy xy", false, []int{302, 'a', 'x', 'y', 302}, [][2]int{{0, 2}, {3, 4}, {4, 5}, {5, 6}, {7, 9}}},
		{"a[MASK]", true, []int{'a', '[', 'M', 'A', 'S', 'K', ']'}, nil},
		{"xy", true, []int{302}, nil}, // not special: still matched
	} {
		tok := newTok(t, tokenizer.Options{SpecialAsText: tc.plain, SkipTemplate: true}, added...)
		e, err := tok.Encode(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(e.IDs, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, e.IDs, tc.want)
		}
		if tc.wantSpans != nil && !slices.Equal(e.Offsets, tc.wantSpans) {
			t.Errorf("Encode(%q) offsets = %v, want %v", tc.text, e.Offsets, tc.wantSpans)
		}
	}
	tok := newTok(t, tokenizer.Options{}, added...)
	if n := tok.VocabSize(); n != 303 {
		t.Errorf("VocabSize = %d, want 303", n)
	}
	for _, tc := range []struct {
		ids  []int
		skip bool
		want string
	}{
		{[]int{'a', 300, 'b', 302}, false, "a[MASK]bxy"},
		{[]int{'a', 300, 'b', 302}, true, "abxy"},
	} {
		got, err := tok.Decode(tc.ids, tc.skip)
		if err != nil || got != tc.want {
			t.Errorf("Decode(%v, %v) = %q, %v; want %q", tc.ids, tc.skip, got, err, tc.want)
		}
	}
	if _, err := tok.Decode([]int{999}, false); err == nil {
		t.Error("Decode of an unknown id succeeded")
	}
}

func TestCharOffsets(t *testing.T) {
	tok := newTok(t, tokenizer.Options{})
	a, b := "é x", "日b"
	e, _ := tok.EncodePair(a, b)
	got := e.CharOffsets(a, b)
	// Bytes of "é" are two tokens here (the toy model is byte-wise); both
	// cover character 0.
	want := [][2]int{{}, {0, 1}, {0, 1}, {2, 3}, {}, {0, 1}, {0, 1}, {0, 1}, {1, 2}, {}}
	if !slices.Equal(got, want) {
		t.Errorf("CharOffsets = %v, want %v (byte offsets %v)", got, want, e.Offsets)
	}
}

// FuzzTruncatePad checks the truncation and padding invariants for any
// lengths and options: the encoding never exceeds MaxLength when
// truncation succeeds, a batch comes out equally long, masks agree with the
// tokens, and offsets stay inside their texts.
func FuzzTruncatePad(f *testing.F) {
	f.Add("hello", "world", 5, uint8(0), uint8(1), 0, true, 0, false)
	f.Add("a", "", 3, uint8(2), uint8(2), 8, false, 1, true)
	f.Add("abcdefgh", "xyz", 4, uint8(1), uint8(0), 3, true, 2, true)
	f.Fuzz(func(t *testing.T, a, b string, maxLen int, strategy, padding uint8, length int, left bool, stride int, overflow bool) {
		side := tokenizer.Right
		if left {
			side = tokenizer.Left
		}
		opts := tokenizer.Options{
			Truncation: tokenizer.Truncation{MaxLength: maxLen, Strategy: tokenizer.TruncationStrategy(strategy), Side: side,
				Stride: stride, Overflow: overflow},
			Padding: tokenizer.Padding{Strategy: tokenizer.PaddingStrategy(padding), Length: length, Side: side, ID: pad},
		}
		tok, err := tokenizer.New(charModel{}, tokenizer.Config{Template: tokenizer.BERTTemplate("[CLS]", 1, "[SEP]", 2), Options: opts})
		if err != nil {
			return // invalid options are rejected, which is fine
		}
		encs, err := tok.EncodePairBatch([]string{a, b}, []string{b, a})
		if err != nil {
			return
		}
		var all []tokenizer.Encoding
		var from []int // which batch item each encoding belongs to
		for i, e := range encs {
			all, from = append(all, e), append(from, i)
			for _, o := range e.Overflowing {
				all, from = append(all, o), append(from, i)
			}
		}
		for k, e := range all {
			i := from[k]
			n := e.Len()
			for _, s := range [][]int{e.TypeIDs, e.AttentionMask, e.SpecialTokensMask, e.SequenceIDs} {
				if len(s) != n || len(e.Tokens) != n || len(e.Offsets) != n {
					t.Fatalf("ragged encoding %+v", e)
				}
			}
			real := 0
			for j := range n {
				if e.AttentionMask[j] == 1 {
					real++
				}
				text := []string{a, b}[i]
				if e.SequenceIDs[j] == 1 {
					text = []string{b, a}[i]
				}
				if o := e.Offsets[j]; o[0] < 0 || o[0] > o[1] || o[1] > len(text) {
					t.Fatalf("offset %v outside %q", o, text)
				}
			}
			if maxLen > 0 && real > maxLen {
				t.Fatalf("%d real tokens > max length %d", real, maxLen)
			}
			switch tokenizer.PaddingStrategy(padding) {
			case tokenizer.PadLongest:
				if n != all[0].Len() {
					t.Fatalf("padded lengths differ: %d vs %d", n, all[0].Len())
				}
			case tokenizer.PadFixed:
				if n < length || n > length && real != n {
					t.Fatalf("fixed padding to %d: length %d with %d real tokens", length, n, real)
				}
			}
		}
	})
}

func TestOverflow(t *testing.T) {
	ids := func(e tokenizer.Encoding) string { return string(bytesOf(e.IDs)) }
	for _, tc := range []struct {
		name    string
		tr      tokenizer.Truncation
		a, b    string
		pair    bool
		want    []string // main, then overflowing; \x01 [CLS], \x02 [SEP]
		wantErr string
	}{
		{"single", tokenizer.Truncation{MaxLength: 5, Stride: 1, Overflow: true}, "abcdefgh", "", false,
			[]string{"\x01abc\x02", "\x01cde\x02", "\x01efg\x02", "\x01gh\x02"}, ""},
		{"single no stride", tokenizer.Truncation{MaxLength: 5, Overflow: true}, "abcdefg", "", false,
			[]string{"\x01abc\x02", "\x01def\x02", "\x01g\x02"}, ""},
		{"left", tokenizer.Truncation{MaxLength: 5, Stride: 1, Overflow: true, Side: tokenizer.Left}, "abcdefgh", "", false,
			[]string{"\x01fgh\x02", "\x01def\x02", "\x01bcd\x02", "\x01ab\x02"}, ""},
		{"question answering", tokenizer.Truncation{MaxLength: 7, Stride: 1, Overflow: true, Strategy: tokenizer.OnlySecond}, "q", "abcdef", true,
			[]string{"\x01q\x02abc\x02", "\x01q\x02cde\x02", "\x01q\x02ef\x02"}, ""},
		{"fits", tokenizer.Truncation{MaxLength: 9, Stride: 1, Overflow: true}, "abc", "", false, []string{"\x01abc\x02"}, ""},
		{"no overflow", tokenizer.Truncation{MaxLength: 5, Stride: 1}, "abcdefgh", "", false, []string{"\x01abc\x02"}, ""},
		{"stride too long", tokenizer.Truncation{MaxLength: 5, Stride: 3, Overflow: true}, "abcdefgh", "", false, nil, "stride 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := newTok(t, tokenizer.Options{Truncation: tc.tr})
			var e tokenizer.Encoding
			var err error
			if tc.pair {
				e, err = tok.EncodePair(tc.a, tc.b)
			} else {
				e, err = tok.Encode(tc.a)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{ids(e)}
			for _, o := range e.Overflowing {
				got = append(got, ids(o))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("windows %q, want %q", got, tc.want)
			}
		})
	}
	// Padding covers the overflowing windows too.
	tok := newTok(t, tokenizer.Options{
		Truncation: tokenizer.Truncation{MaxLength: 5, Overflow: true},
		Padding:    tokenizer.Padding{Strategy: tokenizer.PadLongest, ID: pad},
	})
	e, err := tok.Encode("abcdefg")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(e.Overflowing[1]); got != "\x01g\x02\x03\x03" {
		t.Errorf("padded last window %q", got)
	}
	if _, err := tok.WithOptions(tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: 5, Stride: -1}}); err == nil {
		t.Error("negative stride accepted")
	}
}

func bytesOf(ids []int) []byte {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return b
}
