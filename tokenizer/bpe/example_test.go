package bpe_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/tokenizer/bpe"
)

func ExamplePretokens() {
	text := "I'm  here, 42 times!"
	for start, end := range bpe.Pretokens(text) {
		fmt.Printf("%q ", text[start:end])
	}
	fmt.Println()
	// Output: "I" "'m" " " " here" "," " 42" " times" "!"
}

func ExampleTrain() {
	corpus := strings.Repeat("the cat sat on the mat. the cat ate the rat.\n", 50)
	m, err := bpe.Train(context.Background(), strings.NewReader(corpus), bpe.TrainOptions{
		VocabSize:     280,
		SpecialTokens: []string{"<|endoftext|>"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("vocabulary:", m.VocabSize())
	fmt.Println("first merges:", m.Merges()[:3])
	for _, tok := range m.Tokenize("the cat sat") {
		fmt.Printf("%d %q [%d,%d)\n", tok.ID, tok.Text, tok.Start, tok.End)
	}

	// Save as a Hugging Face tokenizer.json and load it back.
	var buf bytes.Buffer
	if err := m.WriteTokenizerJSON(&buf); err != nil {
		panic(err)
	}
	back, err := bpe.FromTokenizerJSON(buf.Bytes())
	if err != nil {
		panic(err)
	}
	ids := back.Encode("the rat sat")
	text, _ := back.Decode(ids, false)
	fmt.Println(ids, text)
	// Training stops early once every pair left occurs only once.
	// Output:
	// vocabulary: 273
	// first merges: [[a t] [h e] [t he]]
	// 259 "the" [0,3)
	// 262 "Ġcat" [3,7)
	// 271 "Ġsat" [7,11)
	// [259 270 271] the rat sat
}
