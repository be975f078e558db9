package generate

import (
	"fmt"
	"math"
	"slices"

	"github.com/glossa-ai/glossa/kernels"
)

// Logits processors: the constraints of Hugging Face's generate that act on
// every decoding method alike (greedy, sampling, beam search). They run after
// the penalties of SamplingOptions, in the order of HF's
// _get_logits_processor:
//
//  1. no_repeat_ngram_size: ban tokens that would repeat an n-gram of the row;
//  2. bad_words_ids: ban listed tokens, or the last token of a listed
//     sequence whose other tokens end the row;
//  3. min_length, then min_new_tokens: ban the stop tokens while the row is
//     too short;
//  4. forced_bos_token_id: at a row's first step after a one-token prompt,
//     allow only that token;
//  5. forced_eos_token_id: at the last step a row may take, allow only that
//     token;
//  6. renormalize_logits: log-softmax over what is left.
//
// "Ban" sets the score to −Inf. The scores are raw logits for greedy
// decoding and sampling and log-probabilities for beam search, as in HF.

// processor applies the logits processors of one Generate call.
type processor struct {
	noRepeat          int
	badSingle         []int   // one-token bad words
	badMulti          [][]int // longer bad-word sequences
	stop              []int
	minLength, minNew int
	forcedBOS         int // −1: none
	forcedEOS         int // −1: none
	maxNew            int
	renormalize       bool
	active            bool
}

// newProcessor returns the processors of o for rows that may generate maxNew
// tokens.
func newProcessor(o *Options, maxNew int) *processor {
	p := &processor{noRepeat: o.NoRepeatNGramSize, stop: o.StopTokens, minLength: o.MinLength, minNew: o.MinNewTokens,
		forcedBOS: -1, forcedEOS: -1, maxNew: maxNew, renormalize: o.RenormalizeLogits}
	for _, w := range o.BadWordsIDs {
		switch {
		case len(w) == 1 && slices.Contains(o.StopTokens, w[0]):
			// HF drops one-token bad words that are a stop token.
		case len(w) == 1:
			p.badSingle = append(p.badSingle, w[0])
		case len(w) > 1:
			p.badMulti = append(p.badMulti, w)
		}
	}
	if o.ForcedBOSTokenID != nil {
		p.forcedBOS = *o.ForcedBOSTokenID
	}
	if o.ForcedEOSTokenID != nil {
		p.forcedEOS = *o.ForcedEOSTokenID
	}
	p.active = p.noRepeat > 0 || len(p.badSingle) > 0 || len(p.badMulti) > 0 || len(p.stop) > 0 && (p.minLength > 0 || p.minNew > 0) ||
		p.forcedBOS >= 0 || p.forcedEOS >= 0 || p.renormalize
	return p
}

// apply adjusts the scores of the next token of a row holding context
// (prompt tokens, then generated ones).
func (p *processor) apply(scores []float32, context []int, prompt int) {
	if !p.active {
		return
	}
	neg := float32(math.Inf(-1))
	ban := func(id int) {
		if id >= 0 && id < len(scores) {
			scores[id] = neg
		}
	}
	cur, generated := len(context), len(context)-prompt
	if n := p.noRepeat; n > 0 && cur+1 >= n {
		// Every earlier n-gram whose first n−1 tokens equal the row's last
		// n−1 bans its last token.
		tail := context[cur-n+1:]
		for i := 0; i+n <= cur; i++ {
			if slices.Equal(context[i:i+n-1], tail) {
				ban(context[i+n-1])
			}
		}
	}
	for _, id := range p.badSingle {
		ban(id)
	}
	for _, w := range p.badMulti {
		if k := len(w) - 1; k <= cur && slices.Equal(context[cur-k:], w[:k]) {
			ban(w[k])
		}
	}
	if cur < p.minLength || generated < p.minNew {
		for _, id := range p.stop {
			ban(id)
		}
	}
	force := func(id int) {
		for i := range scores {
			scores[i] = neg
		}
		if id < len(scores) {
			scores[id] = 0
		}
	}
	if p.forcedBOS >= 0 && cur == 1 {
		force(p.forcedBOS)
	}
	if p.forcedEOS >= 0 && generated == p.maxNew-1 {
		force(p.forcedEOS)
	}
	if p.renormalize {
		kernels.LogSoftmax(scores, scores)
	}
}

// checkProcessors validates the processor options for a vocabulary of V
// ids.
func checkProcessors(o *Options, V int) error {
	switch {
	case o.MinLength < 0 || o.MinNewTokens < 0:
		return fmt.Errorf("generate: min_length %d and min_new_tokens %d must be >= 0", o.MinLength, o.MinNewTokens)
	case o.NoRepeatNGramSize < 0:
		return fmt.Errorf("generate: no_repeat_ngram_size %d must be >= 0", o.NoRepeatNGramSize)
	case o.NumReturnSequences < 0:
		return fmt.Errorf("generate: num_return_sequences %d must be >= 0", o.NumReturnSequences)
	case o.NumBeams > 1 && o.NumReturnSequences > o.NumBeams:
		return fmt.Errorf("generate: num_return_sequences %d is more than num_beams %d", o.NumReturnSequences, o.NumBeams)
	case o.NumReturnSequences > 1 && o.Greedy() && o.NumBeams <= 1:
		return fmt.Errorf("generate: greedy decoding returns one sequence per prompt, not num_return_sequences %d (sample or beam search)", o.NumReturnSequences)
	}
	for _, id := range []*int{o.ForcedBOSTokenID, o.ForcedEOSTokenID} {
		if id != nil && (*id < 0 || *id >= V) {
			return fmt.Errorf("generate: forced token id %d outside the vocabulary of %d", *id, V)
		}
	}
	for _, w := range o.BadWordsIDs {
		if len(w) == 0 {
			return fmt.Errorf("generate: an empty bad_words_ids entry")
		}
		for _, id := range w {
			if id < 0 || id >= V {
				return fmt.Errorf("generate: bad_words_ids: token id %d outside the vocabulary of %d", id, V)
			}
		}
	}
	return nil
}
