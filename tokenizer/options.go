package tokenizer

import "fmt"

// Side says which end of a sequence truncation cuts or padding fills.
type Side uint8

const (
	Right Side = iota // the end (the default)
	Left              // the beginning
)

// TruncationStrategy chooses which sequence of a pair loses tokens.
type TruncationStrategy uint8

const (
	// LongestFirst shortens the longer sequence first and, when both must
	// shrink, leaves them about max/2 each (Hugging Face's longest_first).
	LongestFirst TruncationStrategy = iota
	// OnlyFirst shortens only the first sequence.
	OnlyFirst
	// OnlySecond shortens only the second sequence (pairs only).
	OnlySecond
)

// Truncation limits the length of an encoding. The zero value does not
// truncate.
type Truncation struct {
	// MaxLength is the maximum number of tokens, template specials
	// included. Zero means no truncation.
	MaxLength int
	// Strategy chooses which sequence of a pair is cut. Zero: LongestFirst.
	Strategy TruncationStrategy
	// Side is the end that is cut. Zero: Right.
	Side Side
	// Overflow keeps what truncation cuts off, as Encoding.Overflowing:
	// further windows of the cut sequence, each through the template
	// (Hugging Face's return_overflowing_tokens). Zero: drop it.
	Overflow bool
	// Stride is how many tokens each overflowing window repeats from the
	// window before it (for question answering over long contexts); it
	// must be smaller than the kept length. Zero: no overlap.
	Stride int
}

// PaddingStrategy chooses the length encodings are padded to.
type PaddingStrategy uint8

const (
	NoPadding  PaddingStrategy = iota // leave lengths alone (the default)
	PadLongest                        // pad to the longest encoding of the batch
	PadFixed                          // pad to Padding.Length
)

// Padding makes the encodings of a batch equally long. The zero value does
// not pad.
type Padding struct {
	Strategy PaddingStrategy // zero: NoPadding
	// Length is the target of PadFixed; longer encodings are left as they are.
	Length int
	// MultipleOf rounds the target length up to a multiple (zero: 1).
	MultipleOf int
	// Side is where pad tokens go. Zero: Right.
	Side Side
	// ID and TypeID are the pad token's id and type id (zero: 0, 0 — BERT's
	// [PAD] is id 0).
	ID, TypeID int
	// Token is the pad token's text. Zero: the vocabulary's token for ID.
	Token string
}

// Options control how a Tokenizer encodes. The zero value applies the
// template, matches every added token, and neither truncates nor pads.
type Options struct {
	Truncation Truncation // how over-long encodings are cut (zero: not at all)
	Padding    Padding    // how encodings are padded (zero: not at all)
	// SkipTemplate leaves out the template's special tokens (Hugging Face's
	// add_special_tokens=False); pairs are then plain concatenations with
	// type ids 0 and 1.
	SkipTemplate bool
	// SpecialAsText tokenizes the text of special added tokens like any other
	// text instead of turning it into the special token: tiktoken's default
	// for GPT-2's "<|endoftext|>"; Hugging Face matches them (false).
	SpecialAsText bool
}

func (o Options) validate(t *Template) error {
	tr, p := o.Truncation, o.Padding
	if tr.MaxLength < 0 {
		return fmt.Errorf("tokenizer: truncation max length %d < 0", tr.MaxLength)
	}
	if tr.Stride < 0 {
		return fmt.Errorf("tokenizer: truncation stride %d < 0", tr.Stride)
	}
	if tr.Strategy > OnlySecond || tr.Side > Left {
		return fmt.Errorf("tokenizer: invalid truncation strategy %d or side %d", tr.Strategy, tr.Side)
	}
	if !o.SkipTemplate && tr.MaxLength > 0 && tr.MaxLength < t.numSpecial(false) {
		return fmt.Errorf("tokenizer: truncation max length %d is shorter than the template's %d special tokens",
			tr.MaxLength, t.numSpecial(false))
	}
	if p.Strategy > PadFixed || p.Side > Left {
		return fmt.Errorf("tokenizer: invalid padding strategy %d or side %d", p.Strategy, p.Side)
	}
	if p.Length < 0 || p.MultipleOf < 0 {
		return fmt.Errorf("tokenizer: padding length %d and multiple %d must not be negative", p.Length, p.MultipleOf)
	}
	if p.Strategy == PadFixed && p.Length == 0 {
		return fmt.Errorf("tokenizer: fixed padding needs a length")
	}
	return nil
}

// lengths returns how many tokens of A and B to keep so that, with
// nSpecial inserted tokens, they fit in MaxLength.
func (tr Truncation) lengths(n1, n2 int, pair bool, nSpecial int) (k1, k2 int, err error) {
	if tr.MaxLength == 0 {
		return n1, n2, nil
	}
	budget := tr.MaxLength - nSpecial
	if budget < 0 {
		return 0, 0, fmt.Errorf("tokenizer: truncation max length %d is shorter than the template's %d special tokens",
			tr.MaxLength, nSpecial)
	}
	if !pair {
		n2 = 0
	}
	if n1+n2 <= budget {
		return n1, n2, nil
	}
	remove := n1 + n2 - budget
	switch {
	case tr.Strategy == OnlySecond && !pair:
		return 0, 0, fmt.Errorf("tokenizer: truncation only_second needs a pair of sequences")
	case tr.Strategy == OnlyFirst || tr.Strategy == OnlySecond:
		target := &n1
		if tr.Strategy == OnlySecond {
			target = &n2
		}
		if *target <= remove {
			return 0, 0, fmt.Errorf("tokenizer: truncation: sequence of %d tokens too short to remove %d (max length %d)",
				*target, remove, tr.MaxLength)
		}
		*target -= remove
		return n1, n2, nil
	case !pair:
		return budget, 0, nil
	}
	// Longest first, as Hugging Face tokenizers computes it: with s <= l
	// the two lengths, keep s and cut l to budget-s if that is enough, else
	// give them budget/2 and budget - budget/2 (the longer one, or B on a
	// tie, keeps the odd token).
	s, l := n1, n2
	swap := s > l
	if swap {
		s, l = l, s
	}
	if s > budget {
		l = s
	} else {
		l = max(s, budget-s)
	}
	if s+l > budget {
		s = budget / 2
		l = s + budget%2
	}
	if swap {
		s, l = l, s
	}
	return s, l, nil
}

// cut keeps n tokens of toks, dropping the others from side.
func cut(toks *[]Token, n int, side Side) {
	if n >= len(*toks) {
		return
	}
	if side == Left {
		*toks = (*toks)[len(*toks)-n:]
	} else {
		*toks = (*toks)[:n]
	}
}

// windows splits toks into the kept window of n tokens (first) and, when
// overflow is set, the windows truncation would drop: each n tokens long
// (the last one shorter), each repeating the stride tokens next to the
// window before it, walking away from the kept side.
func windows(toks []Token, n, stride int, side Side, overflow bool) ([][]Token, error) {
	if n >= len(toks) {
		return [][]Token{toks}, nil
	}
	if !overflow || n == 0 {
		if side == Left {
			return [][]Token{toks[len(toks)-n:]}, nil
		}
		return [][]Token{toks[:n]}, nil
	}
	if stride >= n {
		return nil, fmt.Errorf("tokenizer: truncation stride %d must be smaller than the %d tokens kept", stride, n)
	}
	step := n - stride
	var out [][]Token
	if side == Left {
		for end := len(toks); ; end -= step {
			start := max(end-n, 0)
			out = append(out, toks[start:end])
			if start == 0 {
				break
			}
		}
		return out, nil
	}
	for start := 0; ; start += step {
		end := min(start+n, len(toks))
		out = append(out, toks[start:end])
		if end == len(toks) {
			break
		}
	}
	return out, nil
}

// target returns the length to pad to, given the longest encoding.
func (p Padding) target(longest int) int {
	n := longest
	if p.Strategy == PadFixed {
		n = p.Length
	}
	if m := p.MultipleOf; m > 1 && n%m != 0 {
		n += m - n%m
	}
	return n
}

// pad grows e and its overflowing windows to n tokens with pad tokens.
func (p Padding) pad(e *Encoding, n int, token string) {
	for i := range e.Overflowing {
		p.pad(&e.Overflowing[i], n, token)
	}
	k := n - e.Len()
	if k <= 0 {
		return
	}
	grow := func(s []int, v int) []int {
		out := make([]int, 0, n)
		if p.Side == Left {
			for range k {
				out = append(out, v)
			}
			return append(out, s...)
		}
		out = append(out, s...)
		for range k {
			out = append(out, v)
		}
		return out
	}
	e.IDs = grow(e.IDs, p.ID)
	e.TypeIDs = grow(e.TypeIDs, p.TypeID)
	e.AttentionMask = grow(e.AttentionMask, 0)
	e.SpecialTokensMask = grow(e.SpecialTokensMask, 1)
	e.SequenceIDs = grow(e.SequenceIDs, -1)
	toks := make([]string, 0, n)
	offs := make([][2]int, 0, n)
	if p.Side == Right {
		toks = append(toks, e.Tokens...)
		offs = append(offs, e.Offsets...)
	}
	for range k {
		toks = append(toks, token)
		offs = append(offs, [2]int{})
	}
	if p.Side == Left {
		toks = append(toks, e.Tokens...)
		offs = append(offs, e.Offsets...)
	}
	e.Tokens, e.Offsets = toks, offs
}
