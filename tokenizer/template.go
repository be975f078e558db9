package tokenizer

import "fmt"

// Piece is one element of a post-processing Template: either an input
// sequence (A or B) or a special token inserted around it.
type Piece struct {
	// Special is the inserted token's text ("[CLS]"); empty for a sequence
	// piece.
	Special string
	// ID is the inserted token's id (ignored for a sequence piece).
	ID int
	// Sequence selects the input of a sequence piece: 0 for A, 1 for B.
	Sequence int
	// TypeID is the type (segment) id given to the piece's tokens.
	TypeID int
}

// IsSequence reports whether the piece stands for an input sequence.
func (p Piece) IsSequence() bool { return p.Special == "" }

// Sequence returns a piece standing for input seq (0 = A, 1 = B).
func Sequence(seq, typeID int) Piece { return Piece{Sequence: seq, TypeID: typeID} }

// Special returns a piece inserting the special token text with the given id.
func Special(text string, id, typeID int) Piece {
	return Piece{Special: text, ID: id, TypeID: typeID}
}

// Template is a post-processor: it lays out the special tokens around one
// sequence (Single) or two (Pair), like Hugging Face's TemplateProcessing.
// A nil *Template adds nothing and gives every token type id 0.
type Template struct {
	Single []Piece // must contain Sequence(0, …) exactly once
	Pair   []Piece // must contain Sequence(0, …) and Sequence(1, …) once each
}

// BERTTemplate returns BERT's layout: [CLS] A [SEP] and [CLS] A [SEP] B [SEP],
// with type id 1 on B and its closing [SEP].
func BERTTemplate(cls string, clsID int, sep string, sepID int) *Template {
	return &Template{
		Single: []Piece{Special(cls, clsID, 0), Sequence(0, 0), Special(sep, sepID, 0)},
		Pair: []Piece{Special(cls, clsID, 0), Sequence(0, 0), Special(sep, sepID, 0),
			Sequence(1, 1), Special(sep, sepID, 1)},
	}
}

// RoBERTaTemplate returns RoBERTa's layout: <s> A </s> and <s> A </s></s> B </s>,
// all with type id 0.
func RoBERTaTemplate(cls string, clsID int, sep string, sepID int) *Template {
	return &Template{
		Single: []Piece{Special(cls, clsID, 0), Sequence(0, 0), Special(sep, sepID, 0)},
		Pair: []Piece{Special(cls, clsID, 0), Sequence(0, 0), Special(sep, sepID, 0),
			Special(sep, sepID, 0), Sequence(1, 0), Special(sep, sepID, 0)},
	}
}

// BOSTemplate returns Llama's layout: BOS A and BOS A BOS B (B with type id 1).
func BOSTemplate(bos string, bosID int) *Template {
	return &Template{
		Single: []Piece{Special(bos, bosID, 0), Sequence(0, 0)},
		Pair:   []Piece{Special(bos, bosID, 0), Sequence(0, 0), Special(bos, bosID, 1), Sequence(1, 1)},
	}
}

// validate checks that each layout names its sequences exactly once.
func (t *Template) validate() error {
	if t == nil {
		return nil
	}
	check := func(name string, ps []Piece, want int) error {
		var seen [2]int
		for _, p := range ps {
			if !p.IsSequence() {
				continue
			}
			if p.Sequence < 0 || p.Sequence > 1 {
				return fmt.Errorf("tokenizer: template %s: sequence %d, want 0 (A) or 1 (B)", name, p.Sequence)
			}
			seen[p.Sequence]++
		}
		for s := 0; s < 2; s++ {
			exp := 0
			if s < want {
				exp = 1
			}
			if seen[s] != exp {
				return fmt.Errorf("tokenizer: template %s: sequence %c appears %d times, want %d", name, 'A'+s, seen[s], exp)
			}
		}
		return nil
	}
	if err := check("single", t.Single, 1); err != nil {
		return err
	}
	if len(t.Pair) == 0 {
		return nil // pairs unsupported: encoded as A then B with type ids 0 and 1
	}
	return check("pair", t.Pair, 2)
}

// numSpecial returns how many tokens the template inserts.
func (t *Template) numSpecial(pair bool) int {
	if t == nil {
		return 0
	}
	ps := t.Single
	if pair {
		ps = t.pairPieces()
	}
	n := 0
	for _, p := range ps {
		if !p.IsSequence() {
			n++
		}
	}
	return n
}

func (t *Template) pairPieces() []Piece {
	if t == nil {
		return []Piece{Sequence(0, 0), Sequence(1, 1)}
	}
	if len(t.Pair) == 0 {
		// No pair layout: A's template followed by B with type id 1.
		return append(append([]Piece(nil), t.Single...), Sequence(1, 1))
	}
	return t.Pair
}

// apply lays out a (and b when pair) according to the template.
func (t *Template) apply(a, b Encoding, pair bool) Encoding {
	var ps []Piece
	switch {
	case t == nil && !pair:
		return a
	case pair:
		ps = t.pairPieces()
	default:
		ps = t.Single
	}
	n := 0
	for _, p := range ps {
		switch {
		case !p.IsSequence():
			n++
		case p.Sequence == 0:
			n += a.Len()
		default:
			n += b.Len()
		}
	}
	out := Encoding{
		IDs:               make([]int, 0, n),
		Tokens:            make([]string, 0, n),
		TypeIDs:           make([]int, 0, n),
		AttentionMask:     make([]int, 0, n),
		SpecialTokensMask: make([]int, 0, n),
		Offsets:           make([][2]int, 0, n),
		SequenceIDs:       make([]int, 0, n),
	}
	for _, p := range ps {
		if !p.IsSequence() {
			out.IDs = append(out.IDs, p.ID)
			out.Tokens = append(out.Tokens, p.Special)
			out.TypeIDs = append(out.TypeIDs, p.TypeID)
			out.AttentionMask = append(out.AttentionMask, 1)
			out.SpecialTokensMask = append(out.SpecialTokensMask, 1)
			out.Offsets = append(out.Offsets, [2]int{})
			out.SequenceIDs = append(out.SequenceIDs, -1)
			continue
		}
		s := a
		if p.Sequence == 1 {
			s = b
		}
		out.IDs = append(out.IDs, s.IDs...)
		out.Tokens = append(out.Tokens, s.Tokens...)
		for range s.IDs {
			out.TypeIDs = append(out.TypeIDs, p.TypeID)
		}
		out.AttentionMask = append(out.AttentionMask, s.AttentionMask...)
		out.SpecialTokensMask = append(out.SpecialTokensMask, s.SpecialTokensMask...)
		out.Offsets = append(out.Offsets, s.Offsets...)
		out.SequenceIDs = append(out.SequenceIDs, s.SequenceIDs...)
	}
	return out
}
