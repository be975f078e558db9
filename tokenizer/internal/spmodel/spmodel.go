// Package spmodel reads and writes SentencePiece's model file (a serialized
// ModelProto protocol buffer: tokenizer.model, spiece.model, source.spm) with
// a minimal wire-format codec. Only the fields tokenization needs are
// decoded; everything else is skipped when reading and left out when
// writing.
//
//	ModelProto      1: repeated SentencePiece pieces, 2: TrainerSpec,
//	                3: NormalizerSpec, 5: denormalizer NormalizerSpec
//	SentencePiece   1: piece (string), 2: score (float), 3: type (enum, default NORMAL)
//	TrainerSpec     3: model_type (1 unigram, 2 BPE, 3 word, 4 char), 4: vocab_size,
//	                35: byte_fallback, 24: treat_whitespace_as_suffix,
//	                40–43: unk/bos/eos/pad ids, 44: unk_surface, 45–48: their pieces
//	NormalizerSpec  1: name, 2: precompiled_charsmap, 3: add_dummy_prefix,
//	                4: remove_extra_whitespaces, 5: escape_whitespaces
package spmodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// PieceType is SentencePiece.Type.
type PieceType uint8

// The piece types of sentencepiece_model.proto.
const (
	Normal      PieceType = 1 // an ordinary piece
	Unknown     PieceType = 2 // <unk>
	Control     PieceType = 3 // <s>, </s>, <pad>: never matched in text, decoded as nothing
	UserDefined PieceType = 4 // matched whole in the raw text
	Unused      PieceType = 5 // in the vocabulary but never produced
	Byte        PieceType = 6 // byte-fallback piece <0xXX>
)

// ModelType is TrainerSpec.ModelType.
type ModelType int32

// The model types of sentencepiece_model.proto.
const (
	Unigram ModelType = 1
	BPE     ModelType = 2
	Word    ModelType = 3
	Char    ModelType = 4
)

// String names the model type as sentencepiece does.
func (t ModelType) String() string {
	switch t {
	case Unigram:
		return "Unigram"
	case BPE:
		return "BPE"
	case Word:
		return "Word"
	case Char:
		return "Char"
	}
	return fmt.Sprintf("model type %d", int32(t))
}

// Piece is one vocabulary entry.
type Piece struct {
	Piece string    // the piece, spaces as "▁"
	Score float32   // log probability (Unigram) or merge priority (BPE)
	Type  PieceType // zero is not valid; Parse fills Normal when absent
}

// TrainerSpec holds the trainer options that matter for encoding and
// decoding. The zero value is not sentencepiece's default; New fills those.
type TrainerSpec struct {
	ModelType               ModelType // Unigram (default) or BPE, …
	VocabSize               int32     // default 8000
	ByteFallback            bool      // <0xXX> pieces spell unknown characters
	TreatWhitespaceAsSuffix bool      // "▁" ends pieces instead of starting them
	UnkID, BOSID, EOSID     int32     // default 0, 1, 2
	PadID                   int32     // default -1 (none)
	UnkPiece, BOSPiece      string    // default "<unk>", "<s>"
	EOSPiece, PadPiece      string    // default "</s>", "<pad>"
	UnkSurface              string    // what <unk> decodes to; default " ⁇ "
}

// NormalizerSpec is the text normalization a model applies before
// segmentation.
type NormalizerSpec struct {
	Name                   string // "nmt_nfkc", "identity", ...
	PrecompiledCharsmap    []byte // the compiled rules (empty: identity)
	AddDummyPrefix         bool   // default true
	RemoveExtraWhitespaces bool   // default true
	EscapeWhitespaces      bool   // default true
}

// Model is the decoded part of a ModelProto.
type Model struct {
	Pieces     []Piece        // the vocabulary, by id
	Trainer    TrainerSpec    // the trainer options encoding depends on
	Normalizer NormalizerSpec // the normalization before segmentation
}

// ByteValue parses a byte-fallback piece "<0xXX>" (upper- or lower-case
// hex).
func ByteValue(piece string) (byte, bool) {
	if len(piece) != 6 || piece[:3] != "<0x" || piece[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(piece[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// BytePiece writes b as sentencepiece's byte-fallback piece, "<0xE4>".
func BytePiece(b byte) string {
	const hex = "0123456789ABCDEF"
	return "<0x" + string(hex[b>>4]) + string(hex[b&15]) + ">"
}

// DefaultUnkSurface is what sentencepiece prints for <unk>: " ⁇ ".
const DefaultUnkSurface = " \u2047 "

// New returns a Model with sentencepiece's defaults for every field this
// package reads.
func New() *Model {
	return &Model{
		Trainer: TrainerSpec{
			ModelType: Unigram, VocabSize: 8000, UnkID: 0, BOSID: 1, EOSID: 2, PadID: -1,
			UnkPiece: "<unk>", BOSPiece: "<s>", EOSPiece: "</s>", PadPiece: "<pad>",
			UnkSurface: DefaultUnkSurface,
		},
		Normalizer: NormalizerSpec{AddDummyPrefix: true, RemoveExtraWhitespaces: true, EscapeWhitespaces: true},
	}
}

// ErrWire reports a field whose wire type does not fit its declaration.
var ErrWire = errors.New("unexpected wire type")

// Parse decodes a serialized ModelProto. It checks the wire format and the
// piece types only; the callers check what their model kind requires.
func Parse(data []byte) (*Model, error) {
	m := New()
	err := Fields(data, func(field, wire int, v uint64, b []byte) error {
		switch field {
		case 1: // pieces
			if wire != 2 {
				return fmt.Errorf("piece %d: %w", len(m.Pieces), ErrWire)
			}
			p, err := parsePiece(b)
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(m.Pieces), err)
			}
			m.Pieces = append(m.Pieces, p)
		case 2: // trainer_spec
			if wire != 2 {
				return fmt.Errorf("trainer_spec: %w", ErrWire)
			}
			if err := parseTrainer(b, &m.Trainer); err != nil {
				return fmt.Errorf("trainer_spec: %w", err)
			}
		case 3: // normalizer_spec
			if wire != 2 {
				return fmt.Errorf("normalizer_spec: %w", ErrWire)
			}
			if err := parseNormalizer(b, &m.Normalizer); err != nil {
				return fmt.Errorf("normalizer_spec: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func parsePiece(data []byte) (Piece, error) {
	p := Piece{Type: Normal}
	err := Fields(data, func(f, w int, v uint64, b []byte) error {
		switch {
		case f == 1 && w == 2:
			p.Piece = string(b)
		case f == 2 && w == 5:
			p.Score = math.Float32frombits(uint32(v))
		case f == 3 && w == 0:
			if v < uint64(Normal) || v > uint64(Byte) {
				return fmt.Errorf("piece type %d", v)
			}
			p.Type = PieceType(v)
		}
		return nil
	})
	return p, err
}

func parseTrainer(data []byte, t *TrainerSpec) error {
	return Fields(data, func(f, w int, v uint64, b []byte) error {
		if w == 0 {
			switch f {
			case 3:
				t.ModelType = ModelType(int32(v))
			case 4:
				t.VocabSize = int32(v)
			case 24:
				t.TreatWhitespaceAsSuffix = v != 0
			case 35:
				t.ByteFallback = v != 0
			case 40:
				t.UnkID = int32(v)
			case 41:
				t.BOSID = int32(v)
			case 42:
				t.EOSID = int32(v)
			case 43:
				t.PadID = int32(v)
			}
			return nil
		}
		if w == 2 {
			switch f {
			case 44:
				t.UnkSurface = string(b)
			case 45:
				t.UnkPiece = string(b)
			case 46:
				t.BOSPiece = string(b)
			case 47:
				t.EOSPiece = string(b)
			case 48:
				t.PadPiece = string(b)
			}
		}
		return nil
	})
}

func parseNormalizer(data []byte, n *NormalizerSpec) error {
	return Fields(data, func(f, w int, v uint64, b []byte) error {
		switch {
		case f == 1 && w == 2:
			n.Name = string(b)
		case f == 2 && w == 2:
			n.PrecompiledCharsmap = b
		case f == 3 && w == 0:
			n.AddDummyPrefix = v != 0
		case f == 4 && w == 0:
			n.RemoveExtraWhitespaces = v != 0
		case f == 5 && w == 0:
			n.EscapeWhitespaces = v != 0
		}
		return nil
	})
}

// Fields calls fn for every field of a protocol-buffer message: its number,
// wire type, the value of a varint or fixed field, or the bytes of a
// length-delimited one (a sub-slice of data).
func Fields(data []byte, fn func(field, wire int, v uint64, b []byte) error) error {
	for len(data) > 0 {
		key, n := binary.Uvarint(data)
		if n <= 0 {
			return errors.New("bad field key")
		}
		data = data[n:]
		if key>>3 > math.MaxInt32 {
			return errors.New("field number out of range")
		}
		field, wire := int(key>>3), int(key&7)
		if field == 0 {
			return errors.New("field number 0")
		}
		var v uint64
		var b []byte
		switch wire {
		case 0:
			v, n = binary.Uvarint(data)
			if n <= 0 {
				return fmt.Errorf("field %d: bad varint", field)
			}
			data = data[n:]
		case 1:
			if len(data) < 8 {
				return fmt.Errorf("field %d: truncated", field)
			}
			v, data = binary.LittleEndian.Uint64(data), data[8:]
		case 5:
			if len(data) < 4 {
				return fmt.Errorf("field %d: truncated", field)
			}
			v, data = uint64(binary.LittleEndian.Uint32(data)), data[4:]
		case 2:
			l, n := binary.Uvarint(data)
			if n <= 0 || l > uint64(len(data)-n) {
				return fmt.Errorf("field %d: bad length", field)
			}
			b, data = data[n:n+int(l)], data[n+int(l):]
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", field, wire)
		}
		if err := fn(field, wire, v, b); err != nil {
			return err
		}
	}
	return nil
}

// Marshal encodes the model as a ModelProto that sentencepiece reads: the
// pieces, the trainer fields above and the normalizer spec.
func (m *Model) Marshal() []byte {
	var out []byte
	for _, p := range m.Pieces {
		var pb []byte
		pb = appendBytes(pb, 1, []byte(p.Piece))
		pb = appendFixed32(pb, 2, math.Float32bits(p.Score))
		if p.Type != Normal {
			pb = appendVarint(pb, 3, uint64(p.Type))
		}
		out = appendBytes(out, 1, pb)
	}
	t := &m.Trainer
	var tb []byte
	tb = appendVarint(tb, 3, uint64(int64(t.ModelType)))
	tb = appendVarint(tb, 4, uint64(int64(t.VocabSize)))
	if t.TreatWhitespaceAsSuffix {
		tb = appendVarint(tb, 24, 1)
	}
	if t.ByteFallback {
		tb = appendVarint(tb, 35, 1)
	}
	tb = appendVarint(tb, 40, uint64(int64(t.UnkID)))
	tb = appendVarint(tb, 41, uint64(int64(t.BOSID)))
	tb = appendVarint(tb, 42, uint64(int64(t.EOSID)))
	tb = appendVarint(tb, 43, uint64(int64(t.PadID)))
	if t.UnkSurface != DefaultUnkSurface {
		tb = appendBytes(tb, 44, []byte(t.UnkSurface))
	}
	for i, s := range []string{t.UnkPiece, t.BOSPiece, t.EOSPiece, t.PadPiece} {
		tb = appendBytes(tb, 45+i, []byte(s))
	}
	out = appendBytes(out, 2, tb)
	n := &m.Normalizer
	var nb []byte
	nb = appendBytes(nb, 1, []byte(n.Name))
	if len(n.PrecompiledCharsmap) > 0 {
		nb = appendBytes(nb, 2, n.PrecompiledCharsmap)
	}
	nb = appendVarint(nb, 3, boolVal(n.AddDummyPrefix))
	nb = appendVarint(nb, 4, boolVal(n.RemoveExtraWhitespaces))
	nb = appendVarint(nb, 5, boolVal(n.EscapeWhitespaces))
	return appendBytes(out, 3, nb)
}

func boolVal(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func appendKey(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendVarint(b []byte, field int, v uint64) []byte {
	return binary.AppendUvarint(appendKey(b, field, 0), v)
}

func appendFixed32(b []byte, field int, v uint32) []byte {
	return binary.LittleEndian.AppendUint32(appendKey(b, field, 5), v)
}

func appendBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(appendKey(b, field, 2), uint64(len(v)))
	return append(b, v...)
}
