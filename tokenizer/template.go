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

// apply lays out a (and b when pair) according to the template, filling
// one Encoding with a single allocation per field type.
func (t *Template) apply(a, b []Token, pair bool) Encoding {
	var ps []Piece
	switch {
	case pair:
		ps = t.pairPieces()
	case t == nil:
		ps = []Piece{Sequence(0, 0)}
	default:
		ps = t.Single
	}
	n := 0
	for _, p := range ps {
		switch {
		case !p.IsSequence():
			n++
		case p.Sequence == 0:
			n += len(a)
		default:
			n += len(b)
		}
	}
	ints := make([]int, 5*n)
	e := Encoding{
		IDs:               ints[0*n : 1*n : 1*n],
		TypeIDs:           ints[1*n : 2*n : 2*n],
		AttentionMask:     ints[2*n : 3*n : 3*n],
		SpecialTokensMask: ints[3*n : 4*n : 4*n],
		SequenceIDs:       ints[4*n : 5*n : 5*n],
		Tokens:            make([]string, n),
		Offsets:           make([][2]int, n),
	}
	i := 0
	for _, p := range ps {
		if !p.IsSequence() {
			e.IDs[i], e.Tokens[i], e.TypeIDs[i] = p.ID, p.Special, p.TypeID
			e.AttentionMask[i], e.SpecialTokensMask[i], e.SequenceIDs[i] = 1, 1, -1
			i++
			continue
		}
		toks := a
		if p.Sequence == 1 {
			toks = b
		}
		for _, tk := range toks {
			e.IDs[i], e.Tokens[i], e.TypeIDs[i] = tk.ID, tk.Text, p.TypeID
			e.AttentionMask[i], e.SequenceIDs[i] = 1, p.Sequence
			e.Offsets[i] = [2]int{tk.Start, tk.End}
			i++
		}
	}
	return e
}
