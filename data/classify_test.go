package data

import (
	"reflect"
	"testing"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

func TestEncodeClassification(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "."}
	m, err := wordpiece.New(vocab, wordpiece.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(m, tokenizer.Config{Template: tokenizer.BERTTemplate("[CLS]", 2, "[SEP]", 3)})
	if err != nil {
		t.Fatal(err)
	}
	single, err := EncodeClassification(tok, []Example{{Text: "the cat sat on the mats ."}, {Text: "cat"}}, []int{1, 0}, 6)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(single[0].InputIDs, []int32{2, 5, 6, 7, 8, 3}) || single[0].Label != 1 || !reflect.DeepEqual(single[1].InputIDs, []int32{2, 6, 3}) {
		t.Errorf("single: %+v", single)
	}
	pair, err := EncodeClassification(tok, []Example{{Text: "the cat", Pair: "mats"}}, nil, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pair[0].InputIDs, []int32{2, 5, 6, 3, 9, 10, 3}) || !reflect.DeepEqual(pair[0].TokenTypeIDs, []int32{0, 0, 0, 0, 1, 1, 1}) || pair[0].Label != -1 {
		t.Errorf("pair: %+v", pair)
	}
	b := CollateClassification(single, 0, 0)
	if b.B != 2 || b.T != 6 || !reflect.DeepEqual(b.InputIDs[6:], []int32{2, 6, 3, 0, 0, 0}) ||
		!reflect.DeepEqual(b.AttentionMask[6:], []int32{1, 1, 1, 0, 0, 0}) || !reflect.DeepEqual(b.Labels, []int32{1, 0}) {
		t.Errorf("batch %+v", b)
	}
	if _, err := EncodeClassification(tok, []Example{{Text: "a"}, {Text: "b"}}, []int{1}, 8); err == nil {
		t.Error("label count mismatch: no error")
	}
}
