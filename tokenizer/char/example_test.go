package char_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/tokenizer/char"
)

func ExampleModel() {
	m, _ := char.FromRunes([]rune("To be, or not to be\n"))
	ids, _ := m.Encode("to be")
	text, _ := m.Decode(ids, false)
	fmt.Println(m.VocabSize(), ids, text)
	// Output: 10 [9 7 1 4 5] to be
}
