package scheduler_test

import (
	"context"
	"fmt"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/serve/scheduler"
)

// bigram is a toy model: the next token's logits depend only on the last
// token. Its state is the last token of each row.
type bigram struct{ table [][]float32 }

func (m bigram) VocabSize() int { return len(m.table) }
func (m bigram) MaxLen() int    { return 100 }

func (m bigram) NewState(batch, maxLen int) ([]int, error) { return make([]int, batch), nil }

func (m bigram) Forward(last []int, ids []int, _ []bool) ([]float32, error) {
	last[0] = ids[len(ids)-1]
	return m.table[last[0]], nil
}

type words []string

func (w words) Decode(ids []int, _ bool) (string, error) {
	s := ""
	for _, id := range ids {
		s += w[id]
	}
	return s, nil
}

// Two requests decode together in a scheduler of two rows; each reads its
// own tokens and text as they come.
func Example() {
	m := bigram{table: [][]float32{
		{0, 0, 0, 0},   // 0 → anything
		{0, 0, 1, 0},   // 1 → 2
		{0, 0, 0, 1},   // 2 → 3
		{2, 0.5, 0, 0}, // 3 → 0 (end of text)
	}}
	s, err := scheduler.New(generate.PerRow[[]int](m), scheduler.Options{Rows: 2, Decoder: words{"<eos>", " the", " cat", " sat"}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	seqs, err := s.Submit(ctx,
		scheduler.Request{Prompt: []int{1}, StopTokens: []int{0}},
		scheduler.Request{Prompt: []int{2}, MaxTokens: 1})
	if err != nil {
		panic(err)
	}
	for i, q := range seqs {
		for {
			e, err := q.Next(ctx)
			if err != nil {
				panic(err)
			}
			fmt.Printf("%d: %q", i, e.Text)
			if e.Done {
				fmt.Printf(" %s after %d tokens\n", e.Reason, e.CompletionTokens)
				break
			}
			fmt.Println()
		}
	}
	// Output:
	// 0: " cat"
	// 0: " sat"
	// 0: "" stop after 3 tokens
	// 1: " sat"
	// 1: "" length after 1 tokens
}
