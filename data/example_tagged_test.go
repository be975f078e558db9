package data_test

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

// Read a CoNLL-2003 sentence and align its word tags to WordPiece
// sub-tokens: the first sub-token of a word carries the word's label, the
// others and the specials are ignored (-100), as Hugging Face's run_ner.
func ExampleEncodeTokenClassification() {
	conll := "-DOCSTART- -X- -X- O\n\nthe DT B-NP O\ncats NNS I-NP B-PER\nsat VBD B-VP O\n"
	d, err := data.ParseTagged(strings.NewReader(conll), "toy.conll", nil)
	if err != nil {
		panic(err)
	}
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "##s"}
	m, _ := wordpiece.New(vocab, wordpiece.Options{})
	tok, _ := tokenizer.New(m, tokenizer.Config{Template: tokenizer.BERTTemplate("[CLS]", 2, "[SEP]", 3)})
	labels, _ := data.LabelMapOf(d.Tags()) // B-PER = 0, O = 1
	enc, err := data.EncodeTokenClassification(tok, d, labels, data.TokenClassOptions{MaxLen: 128})
	if err != nil {
		panic(err)
	}
	e := enc.Examples[0]
	fmt.Println(d.Sentences[0].Words, d.Sentences[0].Tags)
	fmt.Println("ids   ", e.InputIDs)
	fmt.Println("labels", e.Labels)
	fmt.Println("words ", e.WordIDs)
	// Output:
	// [the cats sat] [O B-PER O]
	// ids    [2 4 5 7 6 3]
	// labels [-100 1 0 -100 1 -100]
	// words  [-1 0 1 1 2 -1]
}
