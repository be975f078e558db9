package tokenizer

import "unicode/utf8"

// Encoding is the result of encoding one input (a text or a pair of texts):
// parallel slices, one entry per token, in the layout a Transformer expects.
type Encoding struct {
	IDs    []int    // vocabulary ids
	Tokens []string // the tokens as written in the vocabulary
	// TypeIDs are the segment ids (BERT's token_type_ids): 0 for the first
	// sequence and its specials, 1 for the second, as the template says.
	TypeIDs []int
	// AttentionMask is 1 for real tokens and 0 for padding.
	AttentionMask []int
	// SpecialTokensMask is 1 for tokens inserted by the template or by
	// padding, 0 for tokens that come from the text.
	SpecialTokensMask []int
	// Offsets are byte ranges [start, end) into the original text the token
	// came from (text A or text B, see SequenceIDs). Inserted tokens have
	// [0, 0).
	Offsets [][2]int
	// SequenceIDs tell which input each token came from: 0 for the first
	// text, 1 for the second, -1 for inserted special and padding tokens.
	SequenceIDs []int
	// Overflowing holds the further windows that truncation cut off, each
	// a complete encoding, when Truncation.Overflow is set.
	Overflowing []Encoding
}

// Len returns the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

// CharOffsets returns the offsets as Unicode code point indices instead of
// bytes, as Python's str indexing counts them. texts are the inputs given to
// Encode or EncodePair (one or two strings); tokens whose sequence has no
// text, and inserted tokens, get [0, 0). Byte offsets that fall inside a
// multi-byte character count that character as started.
func (e *Encoding) CharOffsets(texts ...string) [][2]int {
	// Byte→char tables are built lazily per sequence.
	var tables [2][]int
	table := func(seq int) []int {
		if tables[seq] == nil {
			s := texts[seq]
			t := make([]int, len(s)+1)
			n := 0
			for i := 0; i < len(s); {
				_, size := utf8.DecodeRuneInString(s[i:])
				for j := 0; j < size; j++ {
					t[i+j] = n
				}
				i += size
				n++
			}
			t[len(s)] = n
			tables[seq] = t
		}
		return tables[seq]
	}
	out := make([][2]int, len(e.Offsets))
	for i, off := range e.Offsets {
		seq := -1
		if i < len(e.SequenceIDs) {
			seq = e.SequenceIDs[i]
		}
		if seq < 0 || seq > 1 || seq >= len(texts) {
			continue
		}
		t := table(seq)
		start, end := clamp(off[0], len(t)-1), clamp(off[1], len(t)-1)
		cs, ce := t[start], t[end]
		if end > 0 && end < len(t)-1 && t[end-1] == t[end] {
			ce++ // end falls inside a character: count it as covered
		}
		out[i] = [2]int{cs, ce}
	}
	return out
}

func clamp(x, hi int) int {
	if x < 0 {
		return 0
	}
	if x > hi {
		return hi
	}
	return x
}
