package unigram

import (
	"fmt"
	"sort"
	"sync"

	"github.com/glossa-ai/glossa/tokenizer"
)

// remap gives a model's pieces the ids of another vocabulary.
type remap struct {
	pieces  []string       // new id → piece
	ids     map[string]int // piece → new id
	toExt   []int32        // model id → new id (the new <unk> if missing)
	toModel []int32        // new id → model id, -1 if the model lacks the piece
	unk     int            // new id of the unknown piece
	special []bool         // new ids of control and unknown pieces
}

// maxIDGap bounds how far ids may run past the number of entries.
const maxIDGap = 1 << 16

// WithVocab returns a copy of m whose ids come from vocab (piece → id), as
// Hugging Face's Marian tokenizer uses vocab.json over its source.spm: text
// is segmented by m, and each piece gets vocab's id for it, or unk's id when
// vocab lacks it; decoding maps ids back to pieces and decodes those as m
// would. The ids of vocab must be dense (0 … len(vocab)-1) and unk must be
// one of its pieces.
func (m *Model) WithVocab(vocab map[string]int, unk string) (*Model, error) {
	if m.remap != nil {
		return nil, fmt.Errorf("unigram: WithVocab on a model that already has one")
	}
	n := len(vocab)
	if n == 0 {
		return nil, fmt.Errorf("unigram: WithVocab: empty vocabulary")
	}
	r := &remap{pieces: make([]string, n), ids: make(map[string]int, n), toModel: make([]int32, n), special: make([]bool, n)}
	have := make([]bool, n)
	keys := make([]string, 0, n)
	for p := range vocab {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		id := vocab[p]
		if id < 0 || id >= n {
			return nil, fmt.Errorf("unigram: WithVocab: piece %q has id %d, outside [0, %d) (ids must be dense)", p, id, n)
		}
		if have[id] {
			return nil, fmt.Errorf("unigram: WithVocab: id %d is given to both %q and %q", id, r.pieces[id], p)
		}
		have[id] = true
		r.pieces[id], r.ids[p] = p, id
	}
	u, ok := r.ids[unk]
	if !ok {
		return nil, fmt.Errorf("unigram: WithVocab: the unknown piece %q is not in the vocabulary", unk)
	}
	r.unk = u
	r.toExt = make([]int32, len(m.pieces))
	for id, p := range m.pieces {
		ext, ok := r.ids[p]
		if !ok {
			ext = u
		}
		r.toExt[id] = int32(ext)
	}
	for ext, p := range r.pieces {
		r.toModel[ext] = -1
		if id, ok := m.ids[p]; ok {
			r.toModel[ext] = int32(id)
			r.special[ext] = m.special[id]
		}
	}
	r.special[u] = true
	c := *m
	c.remap = r
	c.bufs = &sync.Pool{New: func() any { return new(scratch) }}
	return &c, nil
}

// apply rewrites the ids of toks (model ids) as new ids.
func (r *remap) apply(toks []tokenizer.Token, m *Model) {
	for i := range toks {
		t := &toks[i]
		if int32(t.ID) == m.unk {
			// An unknown run keeps its text; the vocabulary may still know it.
			if ext, ok := r.ids[t.Text]; ok {
				t.ID = ext
				continue
			}
			t.ID = r.unk
			continue
		}
		t.ID = int(r.toExt[t.ID])
	}
}

// decodePiece returns the piece of new id ext and its type in the model:
// pieces the model lacks are unknown to it, as sentencepiece's PieceToId
// has them.
func (r *remap) decodePiece(ext int, m *Model) (string, PieceType) {
	if id := r.toModel[ext]; id >= 0 {
		return m.pieces[id], m.types[id]
	}
	return r.pieces[ext], Unknown
}
