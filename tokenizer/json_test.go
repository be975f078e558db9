package tokenizer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/tokenizer"
)

func TestFromJSON(t *testing.T) {
	const bertTemplate = `{"type":"TemplateProcessing",
		"single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
		"pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},
		        {"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],
		"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[1],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[2],"tokens":["[SEP]"]}}}`
	for _, tc := range []struct {
		name, json string
		ids, types []int
	}{
		{"template", `{"post_processor":` + bertTemplate + `}`, []int{1, 'a', 2, 'b', 2}, []int{0, 0, 0, 1, 1}},
		{"bert", `{"post_processor":{"type":"BertProcessing","sep":["[SEP]",2],"cls":["[CLS]",1]}}`,
			[]int{1, 'a', 2, 'b', 2}, []int{0, 0, 0, 1, 1}},
		{"roberta", `{"post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true}}`,
			[]int{0, 'a', 2, 2, 'b', 2}, []int{0, 0, 0, 0, 0, 0}},
		{"sequence", `{"post_processor":{"type":"Sequence","processors":[{"type":"ByteLevel"},` + bertTemplate + `]}}`,
			[]int{1, 'a', 2, 'b', 2}, []int{0, 0, 0, 1, 1}},
		{"bytelevel", `{"post_processor":{"type":"ByteLevel","trim_offsets":false}}`, []int{'a', 'b'}, []int{0, 1}},
		{"none", `{"post_processor":null}`, []int{'a', 'b'}, []int{0, 1}},
		{"truncation", `{"post_processor":` + bertTemplate + `,"truncation":{"direction":"Left","max_length":4,"strategy":"LongestFirst","stride":0}}`,
			[]int{1, 2, 'b', 2}, []int{0, 0, 1, 1}},
		{"padding", `{"post_processor":null,"padding":{"strategy":{"Fixed":4},"direction":"Left","pad_to_multiple_of":null,"pad_id":3,"pad_type_id":0,"pad_token":"[PAD]"}}`,
			[]int{3, 3, 'a', 'b'}, []int{0, 0, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tokenizer.FromJSON([]byte(tc.json), charModel{})
			if err != nil {
				t.Fatal(err)
			}
			e, err := tok.EncodePair("a", "b")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.IDs, tc.ids) || !slices.Equal(e.TypeIDs, tc.types) {
				t.Errorf("pair = %v %v, want %v %v", e.IDs, e.TypeIDs, tc.ids, tc.types)
			}
		})
	}
	tok, err := tokenizer.FromJSON([]byte(`{"added_tokens":[{"id":300,"content":"<x>","special":true}]}`), charModel{})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := tok.Encode("a<x>"); !slices.Equal(e.IDs, []int{'a', 300}) {
		t.Errorf("added token: %v", e.IDs)
	}
}

func TestFromJSONErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`[`, "tokenizer.json"},
		{`{"added_tokens":[{"content":"x"}]}`, "missing or negative id"},
		{`{"added_tokens":[{"id":1,"content":""}]}`, "empty content"},
		{`{"post_processor":{"type":"Nope"}}`, `unsupported post_processor type "Nope"`},
		{`{"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[X]"}}],"special_tokens":{}}}`, `"[X]" not in special_tokens`},
		{`{"post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"C"}}]}}`, "want A or B"},
		{`{"post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A"}},{"Sequence":{"id":"A"}}]}}`, "appears 2 times"},
		{`{"post_processor":{"type":"BertProcessing","sep":["[SEP]"],"cls":["[CLS]",1]}}`, "want [token, id]"},
		{`{"truncation":{"max_length":4,"strategy":"Middle"}}`, "unknown truncation strategy"},
		{`{"truncation":{"max_length":-1}}`, "max length -1"},
		{`{"padding":{"strategy":"Shortest"}}`, "unknown padding strategy"},
		{`{"padding":{"strategy":"BatchLongest","direction":"Up"}}`, "unknown direction"},
	} {
		_, err := tokenizer.FromJSON([]byte(tc.json), charModel{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("FromJSON(%s) error = %v, want %q", tc.json, err, tc.want)
		}
	}
}

// FuzzFromJSON feeds arbitrary tokenizer.json text: FromJSON must return a
// tokenizer or an error, never panic, and a tokenizer it returns must
// encode.
func FuzzFromJSON(f *testing.F) {
	f.Add(`{"post_processor":{"type":"BertProcessing","sep":["[SEP]",2],"cls":["[CLS]",1]},"truncation":{"max_length":3}}`)
	f.Add(`{"added_tokens":[{"id":7,"content":"ab","lstrip":true,"single_word":true}],"padding":{"strategy":{"Fixed":2}}}`)
	f.Add(`{"post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{}}}`)
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := tokenizer.FromJSON([]byte(s), charModel{})
		if err != nil {
			return
		}
		tok.EncodePair("x ab y", "ab")
		tok.EncodeBatch([]string{"ab", "", "abab ab"})
	})
}
