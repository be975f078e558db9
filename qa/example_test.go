package qa_test

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/qa"
)

// Score a trivial answerer on a SQuAD v2.0 file: the sentence of the
// context that shares the most words with the question.
func ExampleScore() {
	d, err := qa.Parse(strings.NewReader(`{"version": "v2.0", "data": [{"title": "Café", "paragraphs": [{
	  "context": "The café opened in 1901. It closed in 1990.",
	  "qas": [
	    {"id": "q1", "question": "When did the café open?", "answers": [{"text": "1901", "answer_start": 19}]},
	    {"id": "q2", "question": "When did it close?", "answers": [{"text": "in 1990", "answer_start": 35}]},
	    {"id": "q3", "question": "Who owns it?", "answers": [], "is_impossible": true}]}]}]}`), 1<<20)
	if err != nil {
		panic(err)
	}
	preds := qa.BaselinePredictions(qa.BestSentence, d.Examples)
	s, err := qa.Score(d.Examples, preds)
	if err != nil {
		panic(err)
	}
	for _, p := range preds {
		fmt.Printf("%s: %q\n", p.ID, p.Text)
	}
	fmt.Printf("exact %.1f, F1 %.1f; HasAns F1 %.1f, NoAns exact %.1f\n", s.Exact, s.F1, s.HasAnsF1, s.NoAnsExact)
	// Output:
	// q1: "The café opened in 1901."
	// q2: "It closed in 1990."
	// q3: "It closed in 1990."
	// exact 0.0, F1 35.6; HasAns F1 53.3, NoAns exact 0.0
}
