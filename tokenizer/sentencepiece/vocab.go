package sentencepiece

import (
	"fmt"
	"math"
)

// Vocabulary is a SentencePiece BPE vocabulary given piece by piece, as a
// GGUF file's tokenizer.ggml.* metadata (model "llama") stores it.
type Vocabulary struct {
	// Pieces by id, a space written as "▁".
	Pieces []string
	// Scores holds one merge score per piece (higher merges first); nil
	// means all zero.
	Scores []float32
	// Types holds one piece type per piece in SentencePiece's numbering,
	// which llama.cpp's token types share: 1 normal, 2 unknown, 3 control,
	// 4 user-defined, 5 unused, 6 byte. nil means every piece is normal
	// except UNK (unknown), BOS and EOS (control) and the <0xXX> pieces
	// (byte).
	Types []int32
	// UNK, BOS and EOS are the ids of <unk>, <s> and </s>; -1 when the
	// vocabulary has none.
	UNK, BOS, EOS int
	// NoDummyPrefix turns off the "▁" SentencePiece adds in front of the
	// text (llama.cpp's tokenizer.ggml.add_space_prefix = false).
	NoDummyPrefix bool
}

// New builds a Model from a vocabulary given piece by piece. It encodes and
// decodes like a SentencePiece tokenizer.model (see ParseModel): the
// highest-scoring merge first, byte fallback through the byte pieces,
// user-defined pieces matched whole, control pieces printing nothing.
func New(v Vocabulary) (*Model, error) {
	n := len(v.Pieces)
	switch {
	case n == 0:
		return nil, fmt.Errorf("sentencepiece: vocabulary has no pieces")
	case v.Scores != nil && len(v.Scores) != n:
		return nil, fmt.Errorf("sentencepiece: %d scores for %d pieces", len(v.Scores), n)
	case v.Types != nil && len(v.Types) != n:
		return nil, fmt.Errorf("sentencepiece: %d piece types for %d pieces", len(v.Types), n)
	}
	for _, id := range []struct {
		name string
		v    int
	}{{"unk", v.UNK}, {"bos", v.BOS}, {"eos", v.EOS}} {
		if id.v < -1 || id.v >= n {
			return nil, fmt.Errorf("sentencepiece: %s id %d outside %d pieces", id.name, id.v, n)
		}
	}
	m := &Model{kind: flavourSPM, unk: int32(v.UNK), bos: v.BOS, eos: v.EOS, unkSurface: " \u2047 ", prefix: !v.NoDummyPrefix}
	m.pieces = append([]string(nil), v.Pieces...)
	m.scores = make([]float32, n)
	if v.Scores != nil {
		for id, s := range v.Scores {
			if math.IsNaN(float64(s)) {
				return nil, fmt.Errorf("sentencepiece: piece %d: score is NaN", id)
			}
		}
		copy(m.scores, v.Scores)
	}
	m.types = make([]pieceType, n)
	for id := range m.types {
		t := typeNormal
		switch {
		case v.Types != nil:
			if v.Types[id] < int32(typeNormal) || v.Types[id] > int32(typeByte) {
				return nil, fmt.Errorf("sentencepiece: piece %d: type %d is not 1..6", id, v.Types[id])
			}
			t = pieceType(v.Types[id])
		case id == v.UNK:
			t = typeUnknown
		case id == v.BOS || id == v.EOS:
			t = typeControl
		default:
			if _, ok := byteToken(v.Pieces[id]); ok {
				t = typeByte
			}
		}
		m.types[id] = t
	}
	if m.unk >= 0 && m.types[m.unk] != typeUnknown {
		return nil, fmt.Errorf("sentencepiece: unk id %d is not an unknown piece", m.unk)
	}
	m.markTypes()
	m.index()
	m.scorePairs()
	return m, nil
}

// PieceType returns the SentencePiece type of id (1 normal, 2 unknown, 3
// control, 4 user-defined, 5 unused, 6 byte), as New and ParseModel record
// it or, for the other loaders, as their vocabularies imply: <unk> unknown,
// <s> and </s> control, <0xXX> byte, the rest normal. It returns 0 for an
// id outside the vocabulary.
func (m *Model) PieceType(id int) int32 {
	switch {
	case id < 0 || id >= len(m.pieces):
		return 0
	case m.types != nil:
		return int32(m.types[id])
	case id == int(m.unk):
		return int32(typeUnknown)
	case id == m.bos || id == m.eos:
		return int32(typeControl)
	case m.isByte[id]:
		return int32(typeByte)
	}
	return int32(typeNormal)
}
