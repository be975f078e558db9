// Package sentencepiece implements the SentencePiece-style BPE of Llama
// models in two flavours:
//
//   - llama2.c's tokenizer.bin (LoadLlama2C): pieces with scores; encoding
//     is run.c's encode — a dummy-prefix space, one symbol per UTF-8
//     character (or byte-fallback tokens <0xXX> at id byte+3), then
//     repeatedly merging the adjacent pair whose concatenation is the
//     highest-scoring piece, leftmost first. Decoding is run.c's decode.
//   - Hugging Face tokenizer.json with a BPE model, byte_fallback and the
//     "▁" metaspace (FromTokenizerJSON): the same loop driven by merge ranks,
//     as Hugging Face tokenizers runs it.
//
// Both merge loops run in O(n log n) over a linked list of symbols with a
// priority queue of candidate pairs, so long prompts stay fast; SentencePiece
// has no pre-tokenizer and merges over the whole text.
//
// A Model is immutable after loading, safe for concurrent use, and
// implements tokenizer.Model.
package sentencepiece

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/tokenizer"
)

// Well-known ids of Llama tokenizers (llama2.c hard-codes them).
const (
	UnknownID = 0 // <unk>
	BOSID     = 1 // <s>
	EOSID     = 2 // </s>
)

// flavour selects the merge priority and decoding rules.
type flavour uint8

const (
	flavourLlama2C flavour = iota // merge by score, decode as run.c
	flavourHF                     // merge by rank, decode as HF's Llama decoder
)

// Model is a SentencePiece-style BPE vocabulary.
type Model struct {
	kind    flavour
	pieces  []string         // id → piece as written in the vocabulary ("▁the" or " the")
	surface []string         // id → the text it stands for, "▁" written as " "
	scores  []float32        // llama2.c scores
	lookup  map[string]int32 // surface text → id
	ids     map[string]int   // piece → id
	byteIDs [256]int32       // byte-fallback token of each byte, -1 if none
	special []bool
	unk     int32 // -1 if none
	bos     int   // <s>, -1 if none
	eos     int   // </s>, -1 if none
	// Hugging Face flavour
	pairs   map[[2]int32]pairMerge
	prefix  bool // add the dummy "▁" in front of non-empty text
	split   bool // Metaspace split: merge within "▁word" pieces only
	fuseUnk bool
}

// pairMerge is a merge of the Hugging Face flavour.
type pairMerge struct {
	rank int32
	id   int32
}

// metaspace is SentencePiece's visible space.
const metaspace = "▁"

// surfaceOf writes a vocabulary piece as the text it stands for.
func surfaceOf(piece string) string { return strings.ReplaceAll(piece, metaspace, " ") }

// byteToken parses a byte-fallback piece "<0xXX>".
func byteToken(piece string) (byte, bool) {
	if len(piece) != 6 || !strings.HasPrefix(piece, "<0x") || piece[5] != '>' {
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

// index fills the lookup tables from pieces; scores may be nil.
func (m *Model) index() {
	n := len(m.pieces)
	m.surface = make([]string, n)
	m.lookup = make(map[string]int32, n)
	m.ids = make(map[string]int, n)
	if m.special == nil {
		m.special = make([]bool, n)
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
	}
	for id, p := range m.pieces {
		s := p
		if m.kind == flavourHF {
			s = surfaceOf(p)
		}
		m.surface[id] = s
		if _, dup := m.lookup[s]; !dup {
			m.lookup[s] = int32(id)
		}
		if _, dup := m.ids[p]; !dup {
			m.ids[p] = id
		}
		if b, ok := byteToken(p); ok && m.byteIDs[b] < 0 {
			m.byteIDs[b] = int32(id)
		}
	}
}

// Tokenize splits text into pieces with byte offsets into text. It adds no
// BOS/EOS; the dummy-prefix piece covers no bytes (its Start == End == 0
// when it stands alone, otherwise it extends the first piece's span only
// over real text). It implements tokenizer.Model.
func (m *Model) Tokenize(text string) []tokenizer.Token {
	syms := m.encode(text, false)
	toks := make([]tokenizer.Token, 0, len(syms))
	for _, s := range syms {
		id := s.id
		if id < 0 {
			continue
		}
		toks = append(toks, tokenizer.Token{ID: int(id), Text: m.pieces[id], Start: int(s.start), End: int(s.end)})
	}
	return toks
}

// Encode returns the ids of text, with BOS and/or EOS when asked, as
// llama2.c's encode(tokenizer, text, bos, eos, ...) does. For the Hugging
// Face flavour BOS ("<s>") is simply prepended, as Hugging Face's
// post-processor does after merging; a vocabulary without "<s>" / "</s>"
// gets none.
func (m *Model) Encode(text string, bos, eos bool) []int {
	syms := m.encode(text, bos)
	ids := make([]int, 0, len(syms)+2)
	if bos && m.kind == flavourHF && m.bos >= 0 {
		ids = append(ids, m.bos)
	}
	for _, s := range syms {
		if s.id >= 0 {
			ids = append(ids, int(s.id))
		}
	}
	if eos && m.eos >= 0 {
		ids = append(ids, m.eos)
	}
	return ids
}

// Decode turns ids back into text.
//
// Llama2.c flavour, as run.c's decode: a piece that follows BOS loses its
// leading space, and byte pieces <0xXX> become the raw byte; nothing else is
// touched (without a BOS the dummy-prefix space stays). With skipSpecial,
// <unk>, <s> and </s> are left out (a skipped BOS still strips the space).
//
// Hugging Face flavour, as its Llama decoder: "▁" becomes a space, runs of
// byte pieces become their bytes (U+FFFD per byte if they are not valid
// UTF-8), and one leading space is removed.
func (m *Model) Decode(ids []int, skipSpecial bool) (string, error) {
	for _, id := range ids {
		if id < 0 || id >= len(m.pieces) {
			return "", fmt.Errorf("sentencepiece: decode: id %d is not in the vocabulary (size %d)", id, len(m.pieces))
		}
	}
	if m.kind == flavourLlama2C {
		return m.decodeLlama2C(ids, skipSpecial), nil
	}
	return m.decodeHF(ids, skipSpecial), nil
}

func (m *Model) decodeLlama2C(ids []int, skipSpecial bool) string {
	var sb strings.Builder
	prev := -1
	for _, id := range ids {
		if skipSpecial && m.special[id] {
			prev = id
			continue
		}
		piece := m.pieces[id]
		if prev == m.bos && strings.HasPrefix(piece, " ") {
			piece = piece[1:]
		}
		if b, ok := byteToken(piece); ok {
			sb.WriteByte(b)
		} else {
			sb.WriteString(piece)
		}
		prev = id
	}
	return sb.String()
}

func (m *Model) decodeHF(ids []int, skipSpecial bool) string {
	var sb strings.Builder
	var pending []byte // a run of byte pieces
	flush := func() {
		if utf8.Valid(pending) {
			sb.Write(pending)
		} else {
			for range pending {
				sb.WriteString(string(utf8.RuneError))
			}
		}
		pending = pending[:0]
	}
	for _, id := range ids {
		if skipSpecial && m.special[id] {
			continue
		}
		if b, ok := byteToken(m.pieces[id]); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		sb.WriteString(m.surface[id])
	}
	flush()
	s := sb.String()
	if m.prefix {
		s = strings.TrimPrefix(s, " ")
	}
	return s
}

// TokenToID looks up a piece as written in the vocabulary.
func (m *Model) TokenToID(token string) (int, bool) {
	id, ok := m.ids[token]
	return id, ok
}

// IDToToken returns the piece of id as written in the vocabulary.
func (m *Model) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.pieces) {
		return "", false
	}
	return m.pieces[id], true
}

// VocabSize returns the number of pieces.
func (m *Model) VocabSize() int { return len(m.pieces) }

// Score returns the llama2.c score of id (0 for the Hugging Face flavour).
func (m *Model) Score(id int) float32 {
	if id < 0 || id >= len(m.scores) {
		return 0
	}
	return m.scores[id]
}

// BOS returns the id of the beginning-of-sequence piece, or -1.
func (m *Model) BOS() int { return m.bos }

// EOS returns the id of the end-of-sequence piece, or -1.
func (m *Model) EOS() int { return m.eos }

// IsSpecial reports whether Decode skips id when asked to.
func (m *Model) IsSpecial(id int) bool { return id >= 0 && id < len(m.special) && m.special[id] }

var _ tokenizer.Model = (*Model)(nil)
