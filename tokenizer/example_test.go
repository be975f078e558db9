package tokenizer_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

// A BERT-style tokenizer: WordPiece vocabulary, [CLS] A [SEP] B [SEP]
// template, [MASK] matched in the text, padding to a fixed length.
func Example() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "."}
	m, err := wordpiece.New(vocab, wordpiece.Options{})
	if err != nil {
		panic(err)
	}
	tok, err := tokenizer.New(m, tokenizer.Config{
		AddedTokens: []tokenizer.AddedToken{{Content: "[MASK]", ID: 4, Special: true}},
		Template:    tokenizer.BERTTemplate("[CLS]", 2, "[SEP]", 3),
		Options:     tokenizer.Options{Padding: tokenizer.Padding{Strategy: tokenizer.PadFixed, Length: 12}},
	})
	if err != nil {
		panic(err)
	}
	enc, err := tok.EncodePair("The cat [MASK].", "Mats")
	if err != nil {
		panic(err)
	}
	fmt.Println(enc.Tokens)
	fmt.Println(enc.IDs)
	fmt.Println(enc.TypeIDs)
	fmt.Println(enc.AttentionMask)
	fmt.Println(enc.Offsets[:6])
	text, _ := tok.Decode(enc.IDs, true)
	fmt.Println(text)
	// Output:
	// [[CLS] the cat [MASK] . [SEP] mat ##s [SEP] [PAD] [PAD] [PAD]]
	// [2 5 6 4 11 3 9 10 3 0 0 0]
	// [0 0 0 0 0 0 1 1 1 0 0 0]
	// [1 1 1 1 1 1 1 1 1 0 0 0]
	// [[0 0] [0 3] [4 7] [8 14] [14 15] [0 0]]
	// the cat. mats
}
