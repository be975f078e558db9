package qa

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/tokenizer"
)

// Feature is one training window: [CLS] question [SEP] part of the context
// [SEP], and the tokens where the answer starts and ends in it (both 0,
// [CLS], when the window does not hold the whole answer or the question
// has none).
type Feature struct {
	Example      int     // index of the example
	InputIDs     []int32 // [T]
	TokenTypeIDs []int32 // [T]
	Start, End   int32   // answer tokens, inclusive; 0 = [CLS] = no answer
}

// WindowOptions say how contexts are split into windows, with the
// question-answering pipeline's names and defaults (pipeline.QAOptions).
type WindowOptions struct {
	// MaxSeqLen is a window's length, question and special tokens
	// included. Zero: 384, or the model's length when shorter.
	MaxSeqLen int
	// DocStride is how many tokens consecutive windows share. Zero:
	// min(MaxSeqLen/2, 128); pipeline.NoStride: none.
	DocStride int
	// MaxQuestionLen cuts questions to this many tokens. Zero: whole.
	MaxQuestionLen int
}

// pipelineOptions returns the pipeline's options for o.
func (o WindowOptions) pipelineOptions() *pipeline.QAOptions {
	return &pipeline.QAOptions{MaxSeqLen: o.MaxSeqLen, DocStride: o.DocStride, MaxQuestionLen: o.MaxQuestionLen}
}

// Features turns examples into training windows as Hugging Face's run_qa
// (prepare_train_features) does, on the windows the question-answering
// pipeline runs (pipeline.QAWindows, for a model of maxLen positions): the
// question whole (or cut to MaxQuestionLen) beside as much of the context
// as fits, the context split with DocStride tokens of overlap; in each
// window, the first answer's characters [answer_start, answer_start +
// len(text)) mapped to the first and last token that cover them, or both to
// [CLS] when the window does not contain them all — also for SQuAD v2.0's
// unanswerable questions.
//
// One departure from run_qa, which we take for a bug: run_qa's search for
// the start token runs past the window's last context token into [SEP]
// and padding (whose offsets are (0, 0)) when the answer starts in that
// last token; here the search stops at the context's end.
//
// An example the pipeline refuses (pipeline.ErrInput: a question that
// leaves no room for the context in MaxSeqLen, …) gives no window; it is
// listed in skipped with the reason.
func Features(tok *tokenizer.Tokenizer, maxLen int, examples []Example, opts WindowOptions) (feats []Feature, skipped []Skip, err error) {
	inputs := make([]pipeline.QAInput, len(examples))
	for i, e := range examples {
		inputs[i] = pipeline.QAInput{Question: e.Question, Context: e.Context}
	}
	po := opts.pipelineOptions()
	wins, err := pipeline.QAWindows(tok, maxLen, inputs, po)
	if errors.Is(err, pipeline.ErrInput) { // find the examples at fault
		wins = wins[:0]
		for i := range inputs {
			w, err := pipeline.QAWindows(tok, maxLen, inputs[i:i+1], po)
			if errors.Is(err, pipeline.ErrInput) {
				skipped = append(skipped, Skip{Example: i, ID: examples[i].ID, Err: err})
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("qa: %w", err)
			}
			for _, x := range w {
				x.Input = i
				wins = append(wins, x)
			}
		}
		if len(skipped) == 0 { // the options themselves are wrong
			return nil, nil, fmt.Errorf("qa: %w", err)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("qa: %w", err)
	}
	feats = make([]Feature, len(wins))
	for i, w := range wins {
		ex := examples[w.Input]
		e := w.Encoding
		f := Feature{Example: w.Input, InputIDs: make([]int32, e.Len()), TokenTypeIDs: make([]int32, e.Len())}
		for t := range e.Len() {
			f.InputIDs[t], f.TokenTypeIDs[t] = int32(e.IDs[t]), int32(e.TypeIDs[t])
		}
		if len(ex.Answers) > 0 {
			a := ex.Answers[0]
			f.Start, f.End = answerTokens(e, e.CharOffsets(w.Question, ex.Context), a.Start, a.Start+utf8.RuneCountInString(a.Text))
		}
		feats[i] = f
	}
	return feats, skipped, nil
}

// Skip is an example that gives no window, and why.
type Skip struct {
	Example int
	ID      string
	Err     error
}

// answerTokens returns the first and last context tokens of e covering
// characters [startChar, endChar), or 0, 0 when the window's context does
// not contain them all.
func answerTokens(e *tokenizer.Encoding, offs [][2]int, startChar, endChar int) (int32, int32) {
	first, last := -1, -1
	for t, s := range e.SequenceIDs {
		if s == 1 {
			if first < 0 {
				first = t
			}
			last = t
		}
	}
	if first < 0 || offs[first][0] > startChar || offs[last][1] < endChar {
		return 0, 0
	}
	s := first
	for s < last && offs[s+1][0] <= startChar {
		s++
	}
	end := last
	for end > first && offs[end-1][1] >= endChar {
		end--
	}
	return int32(s), int32(end)
}
