package generate_test

import (
	"context"
	"fmt"

	"github.com/glossa-ai/glossa/generate"
)

// bigram is a toy model: the next token's logits depend only on the last
// token. Its state is the last real token of each row.
type bigram struct{ table [][]float32 }

func (m bigram) VocabSize() int { return len(m.table) }
func (m bigram) MaxLen() int    { return 100 }

func (m bigram) NewState(batch, maxLen int) ([]int, error) { return make([]int, batch), nil }

func (m bigram) Forward(last []int, ids []int, mask []bool) ([]float32, error) {
	T := len(ids) / len(last)
	var out []float32
	for b := range last {
		for t := range T {
			if mask == nil || mask[b*T+t] {
				last[b] = ids[b*T+t]
			}
		}
		out = append(out, m.table[last[b]]...)
	}
	return out, nil
}

// Any model with NewState and Forward can be decoded: here greedily, with a
// stop token, and with the text streamed as it is produced.
func ExampleGenerate() {
	m := bigram{table: [][]float32{
		{0, 0, 0, 0},   // 0 → anything (never reached)
		{0, 0, 1, 0},   // 1 → 2
		{0, 0, 0, 1},   // 2 → 3
		{0, 2, 0.5, 0}, // 3 → 1
	}}
	words := []string{"<eos>", " the", " cat", " sat"}
	opts := generate.Options{
		MaxNewTokens: 5,
		Decoder:      decoderFunc(func(ids []int) string { return join(words, ids) }),
		OnText:       func(row int, piece string) { fmt.Printf("[%s]", piece) },
	}
	seqs, err := generate.Generate(context.Background(), m, [][]int{{1}}, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println()
	fmt.Println(seqs[0].Tokens, seqs[0].Reason)
	// Output:
	// [ cat][ sat][ the][ cat][ sat]
	// [2 3 1 2 3] length
}

type decoderFunc func(ids []int) string

func (f decoderFunc) Decode(ids []int, _ bool) (string, error) { return f(ids), nil }

func join(words []string, ids []int) string {
	s := ""
	for _, id := range ids {
		s += words[id]
	}
	return s
}
