package sentencepiece

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// This file reads SentencePiece's own model file (tokenizer.model), a
// protocol-buffer ModelProto, with a minimal wire-format reader: only the
// fields that BPE encoding needs are decoded, everything else is skipped.
//
//	ModelProto      1: repeated SentencePiece pieces, 2: TrainerSpec, 3: NormalizerSpec
//	SentencePiece   1: piece (string), 2: score (float), 3: type (enum, default NORMAL)
//	TrainerSpec     3: model_type (1 unigram, 2 BPE), 35: byte_fallback,
//	                40: unk_id, 41: bos_id, 42: eos_id, 44: unk_surface
//	NormalizerSpec  1: name, 3: add_dummy_prefix, 4: remove_extra_whitespaces,
//	                5: escape_whitespaces

// pieceType is SentencePiece.Type.
type pieceType uint8

const (
	typeNormal      pieceType = 1
	typeUnknown     pieceType = 2
	typeControl     pieceType = 3
	typeUserDefined pieceType = 4
	typeUnused      pieceType = 5
	typeByte        pieceType = 6
)

// mergeable reports whether id may be the result of a merge or a
// character's piece: SentencePiece looks up only normal and user-defined
// pieces (unused ones are left out here too).
func (m *Model) mergeable(id int) bool {
	if m.types == nil {
		return true
	}
	t := m.types[id]
	return t == typeNormal || t == typeUserDefined
}

// LoadModel loads a SentencePiece BPE model file (tokenizer.model), such as
// Llama 2's, see ParseModel.
func LoadModel(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("sentencepiece: %s is larger than %d bytes", path, maxFileSize)
	}
	m, err := ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// ParseModel parses a serialized SentencePiece ModelProto of type BPE (a
// Unigram model is an error that says so; tokenizer/unigram loads those).
// Encoding then follows SentencePiece's BPE: a dummy-prefix "▁" if the
// model asks for it, spaces as "▁", user-defined pieces matched whole, the
// highest-scoring merge first (leftmost among equals), byte fallback for
// characters without a piece. Decoding follows SentencePiece too: control
// pieces print nothing, <unk> prints the model's unk_surface (" ⁇ "), and
// the dummy-prefix space is removed. Only the identity normalizer is
// supported (NFKC-style rules need SentencePiece's compiled tables).
func ParseModel(data []byte) (*Model, error) {
	m := &Model{kind: flavourSPM, unk: 0, bos: 1, eos: 2, unkSurface: " \u2047 ", prefix: true}
	var (
		modelType    uint64 = 1
		byteFallback bool
		normName     string
		removeExtra  = true
		escapeWS     = true
	)
	err := protoFields(data, func(field int, wire int, v uint64, b []byte) error {
		switch field {
		case 1: // piece
			if wire != 2 {
				return errWire
			}
			piece, score, typ := "", float32(0), typeNormal
			err := protoFields(b, func(f, w int, v uint64, b []byte) error {
				switch {
				case f == 1 && w == 2:
					piece = string(b)
				case f == 2 && w == 5:
					score = math.Float32frombits(uint32(v))
				case f == 3 && w == 0:
					if v < 1 || v > 6 {
						return fmt.Errorf("piece type %d", v)
					}
					typ = pieceType(v)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, piece)
			m.scores = append(m.scores, score)
			m.types = append(m.types, typ)
		case 2: // trainer_spec
			if wire != 2 {
				return errWire
			}
			return protoFields(b, func(f, w int, v uint64, b []byte) error {
				switch {
				case f == 3 && w == 0:
					modelType = v
				case f == 35 && w == 0:
					byteFallback = v != 0
				case f == 40 && w == 0:
					m.unk = int32(v)
				case f == 41 && w == 0:
					m.bos = int(int32(v))
				case f == 42 && w == 0:
					m.eos = int(int32(v))
				case f == 44 && w == 2:
					m.unkSurface = string(b)
				}
				return nil
			})
		case 3: // normalizer_spec
			if wire != 2 {
				return errWire
			}
			return protoFields(b, func(f, w int, v uint64, b []byte) error {
				switch {
				case f == 1 && w == 2:
					normName = string(b)
				case f == 3 && w == 0:
					m.prefix = v != 0
				case f == 4 && w == 0:
					removeExtra = v != 0
				case f == 5 && w == 0:
					escapeWS = v != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: %w", err)
	}
	switch {
	case len(m.pieces) == 0:
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: no pieces")
	case modelType != 2:
		if modelType == 1 {
			return nil, fmt.Errorf("sentencepiece: tokenizer.model: this is a Unigram model, not BPE; load it with tokenizer/unigram (or tokenizer/auto)")
		}
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: model type %d is not BPE (2)", modelType)
	case normName != "" && normName != "identity":
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: normalizer %q is not supported (only identity)", normName)
	case removeExtra:
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: remove_extra_whitespaces is not supported")
	case !escapeWS:
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: escape_whitespaces=false is not supported")
	}
	n := len(m.pieces)
	if m.unk < 0 || int(m.unk) >= n || m.types[m.unk] != typeUnknown {
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: unk_id %d is not an unknown piece", m.unk)
	}
	if m.bos >= n || m.eos >= n {
		return nil, fmt.Errorf("sentencepiece: tokenizer.model: bos_id %d / eos_id %d outside %d pieces", m.bos, m.eos, n)
	}
	m.bos, m.eos = max(m.bos, -1), max(m.eos, -1)
	m.markTypes()
	m.index()
	if !byteFallback {
		for b := range m.byteIDs {
			m.byteIDs[b] = -1
		}
	}
	m.scorePairs()
	return m, nil
}

var errWire = spmodel.ErrWire

// protoFields calls fn for every field of a protocol-buffer message (see
// spmodel.Fields).
func protoFields(data []byte, fn func(field, wire int, v uint64, b []byte) error) error {
	return spmodel.Fields(data, fn)
}

// markTypes derives the special pieces and the user-defined ones matched
// whole from the piece types.
func (m *Model) markTypes() {
	m.special = make([]bool, len(m.pieces))
	for id, t := range m.types {
		m.special[id] = t == typeControl || t == typeUnknown
		if t == typeUserDefined {
			if m.user == nil {
				m.user = map[string]int{}
			}
			s := surfaceOf(m.pieces[id])
			if _, dup := m.user[s]; !dup && s != "" {
				m.user[s] = id
				m.userMaxLen = max(m.userMaxLen, len(s))
			}
		}
	}
}
