package unigram_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/tokenizer/unigram"
)

func ExampleFromTokenizerJSON() {
	// A miniature T5-style tokenizer.json: a Unigram vocabulary of
	// [piece, log probability] pairs, Metaspace for spaces.
	const tj = `{
	  "added_tokens": [{"id": 0, "content": "<pad>", "special": true},
	                   {"id": 1, "content": "</s>", "special": true},
	                   {"id": 2, "content": "<unk>", "special": true}],
	  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
	    {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}]},
	  "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
	  "model": {"type": "Unigram", "unk_id": 2, "vocab": [["<pad>", 0], ["</s>", 0], ["<unk>", 0],
	    ["▁", -2], ["▁the", -3], ["▁cat", -4], ["▁c", -5], ["at", -5], ["s", -4], ["t", -6], ["a", -6]]}}`
	m, err := unigram.FromTokenizerJSON([]byte(tj))
	if err != nil {
		panic(err)
	}
	for _, tok := range m.Tokenize("the  cats!") {
		fmt.Printf("%d %q [%d,%d)\n", tok.ID, tok.Text, tok.Start, tok.End)
	}
	text, _ := m.Decode(m.Encode("the  cats!"), false)
	fmt.Println(text)
	// Output:
	// 4 "▁the" [0,3)
	// 5 "▁cat" [5,8)
	// 8 "s" [8,9)
	// 2 "!" [9,10)
	// the cats<unk>
}

func ExampleTrain() {
	corpus := strings.Repeat("the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n", 50)
	m, err := unigram.Train(context.Background(), strings.NewReader(corpus), unigram.TrainOptions{
		VocabSize:     24,
		Normalization: unigram.Identity,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.VocabSize(), m.Pieces("the dogs sat on a mat"))
	text, _ := m.Decode(m.Encode("the dogs sat on a mat"), false)
	fmt.Println(text)
	// Output:
	// 24 [▁the ▁dog s ▁sat ▁on ▁a ▁mat]
	// the dogs sat on a mat
}
