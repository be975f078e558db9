package unigram

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// maxFileSize bounds the files the loaders read (1 GiB).
const maxFileSize = 1 << 30

// readFile reads a file of at most maxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unigram: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("unigram: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("unigram: %s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// LoadModel loads a SentencePiece model file of type Unigram (T5's
// spiece.model, Marian's source.spm, XLM-R's sentencepiece.bpe.model), see
// ParseModel.
func LoadModel(path string) (*Model, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// ParseModel parses a serialized SentencePiece ModelProto of type Unigram.
// A model of another type (BPE, as Llama's) is an error that names the
// type; tokenizer/sentencepiece loads BPE models and tokenizer/auto either.
//
// The model encodes and decodes as sentencepiece does: its precompiled
// normalization rules (nmt_nfkc's NFKC folding), add_dummy_prefix,
// remove_extra_whitespaces and escape_whitespaces; Viterbi segmentation
// with float32 scores; user-defined pieces matched whole; byte fallback
// when the trainer enabled it.
func ParseModel(data []byte) (*Model, error) {
	p, err := spmodel.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("unigram: model file: %w", err)
	}
	if p.Trainer.ModelType != spmodel.Unigram {
		return nil, fmt.Errorf("unigram: model file: the model type is %v, not Unigram (tokenizer/sentencepiece loads BPE models, tokenizer/auto any)", p.Trainer.ModelType)
	}
	return fromProto(p)
}

// fromProto builds a sentencepiece-flavoured model, checking what
// sentencepiece checks when it loads one.
func fromProto(p *spmodel.Model) (*Model, error) {
	n := len(p.Pieces)
	if n == 0 {
		return nil, fmt.Errorf("unigram: model file: no pieces")
	}
	tr := &p.Trainer
	if tr.TreatWhitespaceAsSuffix {
		return nil, fmt.Errorf("unigram: model file: treat_whitespace_as_suffix is not supported")
	}
	m := &Model{
		kind: flavourSPM, unk: -1, proto: p, unkSurface: tr.UnkSurface,
		pieces: make([]string, n), scores: make([]float64, n), scores32: make([]float32, n), types: make([]PieceType, n),
		minScore32: math.MaxFloat32, maxScore32: 0x1p-126, // FLT_MAX, FLT_MIN as in sentencepiece
	}
	seen := make(map[string]int, n)
	var userKeys []string
	var userIDs []int32
	var trieKeys []string
	var trieIDs []int32
	for id, pc := range p.Pieces {
		if pc.Piece == "" {
			return nil, fmt.Errorf("unigram: model file: piece %d is empty", id)
		}
		if prev, dup := seen[pc.Piece]; dup {
			return nil, fmt.Errorf("unigram: model file: piece %q is defined twice (ids %d and %d)", pc.Piece, prev, id)
		}
		seen[pc.Piece] = id
		if math.IsNaN(float64(pc.Score)) {
			return nil, fmt.Errorf("unigram: model file: piece %d (%q) has a NaN score", id, pc.Piece)
		}
		t := PieceType(pc.Type)
		m.pieces[id], m.scores32[id], m.scores[id], m.types[id] = pc.Piece, pc.Score, float64(pc.Score), t
		switch t {
		case Normal:
			m.minScore32 = min(m.minScore32, pc.Score)
			m.maxScore32 = max(m.maxScore32, pc.Score)
			trieKeys, trieIDs = append(trieKeys, pc.Piece), append(trieIDs, int32(id))
		case UserDefined:
			userKeys, userIDs = append(userKeys, pc.Piece), append(userIDs, int32(id))
			trieKeys, trieIDs = append(trieKeys, pc.Piece), append(trieIDs, int32(id))
		case Unused:
			trieKeys, trieIDs = append(trieKeys, pc.Piece), append(trieIDs, int32(id))
		case Unknown:
			if m.unk >= 0 {
				return nil, fmt.Errorf("unigram: model file: pieces %d and %d are both unknown pieces", m.unk, id)
			}
			m.unk = int32(id)
		case Byte:
			if !tr.ByteFallback {
				return nil, fmt.Errorf("unigram: model file: byte piece %q found although byte_fallback is off", pc.Piece)
			}
			if _, ok := byteValue(pc.Piece); !ok {
				return nil, fmt.Errorf("unigram: model file: byte piece %d is %q, not <0xXX>", id, pc.Piece)
			}
		}
	}
	if m.unk < 0 {
		return nil, fmt.Errorf("unigram: model file: no unknown piece (<unk>)")
	}
	if len(trieKeys) == 0 {
		return nil, fmt.Errorf("unigram: model file: no normal or user-defined pieces")
	}
	m.da = newPieceArray(trieKeys, trieIDs)
	nm := &p.Normalizer
	m.norm = &normalizer{dummyPrefix: nm.AddDummyPrefix, removeExtra: nm.RemoveExtraWhitespaces, escape: nm.EscapeWhitespaces}
	if len(nm.PrecompiledCharsmap) > 0 {
		c, err := spmodel.ParseCharsmap(nm.PrecompiledCharsmap)
		if err != nil {
			return nil, fmt.Errorf("unigram: model file: %w", err)
		}
		m.norm.cmap = c
	}
	if len(userKeys) > 0 {
		m.norm.user = buildTrie(userKeys, userIDs)
	}
	control := func(piece string) int {
		if id, ok := seen[piece]; ok && m.types[id] == Control {
			return id
		}
		return -1
	}
	m.bos, m.eos, m.pad = control(tr.BOSPiece), control(tr.EOSPiece), control(tr.PadPiece)
	m.finish()
	if tr.ByteFallback {
		m.setBytes()
	}
	return m, nil
}
