package sentencepiece_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

func ExampleFromTokenizerJSON() {
	// A miniature Llama-style tokenizer.json: "▁" for spaces, byte fallback.
	const tj = `{
	  "added_tokens": [{"id": 0, "content": "<unk>", "special": true},
	                   {"id": 1, "content": "<s>", "special": true},
	                   {"id": 2, "content": "</s>", "special": true}],
	  "normalizer": {"type": "Sequence", "normalizers": [
	    {"type": "Prepend", "prepend": "▁"},
	    {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
	  "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
	    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0xC3>": 3, "<0xA9>": 4,
	              "▁": 5, "h": 6, "i": 7, "▁h": 8, "▁hi": 9},
	    "merges": ["▁ h", "▁h i"]}}`
	m, err := sentencepiece.FromTokenizerJSON([]byte(tj))
	if err != nil {
		panic(err)
	}
	for _, tok := range m.Tokenize("hi hé") {
		fmt.Printf("%d %q [%d,%d)\n", tok.ID, tok.Text, tok.Start, tok.End)
	}
	ids := m.Encode("hi hé", true, false)
	text, _ := m.Decode(ids, true)
	fmt.Println(ids, text)
	// Output:
	// 9 "▁hi" [0,2)
	// 8 "▁h" [2,4)
	// 3 "<0xC3>" [4,5)
	// 4 "<0xA9>" [5,6)
	// [1 9 8 3 4] hi hé
}
