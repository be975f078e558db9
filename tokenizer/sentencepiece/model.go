// Package sentencepiece implements the SentencePiece-style BPE of Llama
// models, loaded from any of its three usual files:
//
//   - llama2.c's tokenizer.bin (LoadLlama2C): pieces with scores; encoding
//     is run.c's encode — a dummy-prefix space, one symbol per UTF-8
//     character (or byte-fallback tokens <0xXX> at id byte+3), then
//     repeatedly merging the adjacent pair whose concatenation is the
//     highest-scoring piece, leftmost first. Decoding is run.c's decode.
//   - Hugging Face tokenizer.json with a BPE model, byte_fallback and the
//     "▁" metaspace (FromTokenizerJSON): the same loop driven by merge ranks,
//     as Hugging Face tokenizers runs it.
//   - SentencePiece's own tokenizer.model (LoadModel): the score-driven loop
//     with piece types (control, byte, user-defined), decoded as
//     SentencePiece does.
//
// On the Llama 2 vocabulary the three agree (see the tests).
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
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
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
	flavourSPM                    // merge by score, decode as SentencePiece
)

// Model is a SentencePiece-style BPE vocabulary.
type Model struct {
	kind    flavour
	pieces  []string         // id → piece as written in the vocabulary ("▁the" or " the")
	surface []string         // id → the text it stands for, "▁" written as " "
	scores  []float32        // merge scores (llama2.c, SentencePiece)
	lookup  map[string]int32 // surface text → id
	ids     map[string]int   // piece → id
	byteIDs [256]int32       // byte-fallback token of each byte, -1 if none
	special []bool
	unk     int32                  // -1 if none
	bos     int                    // <s>, -1 if none
	eos     int                    // </s>, -1 if none
	pairs   map[[2]int32]pairMerge // keyed by canonical ids for the score flavours
	canon   []int32                // id → the id its surface text looks up to
	prefix  bool                   // add the dummy "▁" in front of non-empty text
	split   bool                   // Metaspace split: merge within "▁word" pieces only
	// chunked: no piece has a space right after a non-space, so no merge
	// can cross the start of a "▁word" and words merge independently.
	chunked bool
	// byteAlone: no merge involves a byte-fallback piece, so those pieces
	// also bound chunks.
	byteAlone bool
	isByte    []bool // id → is a byte-fallback piece
	fuseUnk   bool
	// SentencePiece flavour
	types      []pieceType    // nil for the other flavours
	user       map[string]int // user-defined pieces, matched whole
	userMaxLen int
	unkSurface string // what <unk> decodes to
}

// pairMerge is the merge of a pair of pieces: its priority (lower first:
// the rank for Hugging Face, minus the merged piece's score otherwise) and
// the merged piece.
type pairMerge struct {
	prio float64
	id   int32
}

// metaspace is SentencePiece's visible space.
const metaspace = "▁"

// surfaceOf writes a vocabulary piece as the text it stands for.
func surfaceOf(piece string) string { return strings.ReplaceAll(piece, metaspace, " ") }

// byteToken parses a byte-fallback piece "<0xXX>".
func byteToken(piece string) (byte, bool) { return spmodel.ByteValue(piece) }

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
	unsafe, bytesMerge := false, false
	m.isByte = make([]bool, n)
	for id, p := range m.pieces {
		s := p
		if m.kind != flavourLlama2C {
			s = surfaceOf(p)
		}
		m.surface[id] = s
		if _, dup := m.lookup[s]; !dup && m.mergeable(id) {
			m.lookup[s] = int32(id)
		}
		if _, dup := m.ids[p]; !dup {
			m.ids[p] = id
		}
		b, isByte := byteToken(p)
		isByte = isByte && (m.types == nil || m.types[id] == typeByte)
		m.isByte[id] = isByte
		if m.mergeable(id) {
			unsafe = unsafe || spaceAfterNonSpace(s)
			// A merge with a byte piece would contain its text "<0xXX>".
			bytesMerge = bytesMerge || (!isByte && strings.Contains(s, "<0x"))
		}
		if isByte && m.byteIDs[b] < 0 {
			m.byteIDs[b] = int32(id)
		}
	}
	m.chunked = !unsafe
	m.byteAlone = !bytesMerge
}

// spaceAfterNonSpace reports whether s has a space right after another
// character that is not a space.
func spaceAfterNonSpace(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] == ' ' && s[i-1] != ' ' {
			return true
		}
	}
	return false
}

// Tokenize splits text into pieces with byte offsets into text. It adds no
// BOS/EOS; the dummy-prefix piece covers no bytes (its Start == End == 0
// when it stands alone, otherwise it extends the first piece's span only
// over real text). It implements tokenizer.Model.
func (m *Model) Tokenize(text string) []tokenizer.Token {
	return m.AppendTokens(nil, text)
}

// AppendTokens appends the tokens of text to dst, as Tokenize returns them,
// and returns the extended slice (tokenizer.TokenAppender).
func (m *Model) AppendTokens(dst []tokenizer.Token, text string) []tokenizer.Token {
	syms := m.encode(text, false)
	toks := dst
	if dst == nil {
		toks = make([]tokenizer.Token, 0, len(syms))
	}
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
// gets none. (run.c reads C strings, so a NUL byte would end its text; here
// it is encoded like any other byte, as <0x00>.)
func (m *Model) Encode(text string, bos, eos bool) []int {
	syms := m.encode(text, bos)
	ids := make([]int, 0, len(syms)+2)
	if bos && m.kind != flavourLlama2C && m.bos >= 0 {
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
//
// SentencePiece flavour (LoadModel), as SentencePiece: like Hugging Face,
// except that control pieces never print, <unk> prints the model's
// unk_surface (" ⁇ "), and only the first piece loses its leading space.
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
	first := true      // no text piece written yet
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
		if m.types != nil {
			switch {
			case m.types[id] == typeControl:
				continue // SentencePiece never prints control pieces
			case int32(id) == m.unk:
				flush()
				sb.WriteString(m.unkSurface)
				continue
			}
		}
		if b, ok := byteToken(m.pieces[id]); ok && (m.types == nil || m.types[id] == typeByte) {
			pending = append(pending, b)
			continue
		}
		flush()
		piece := m.surface[id]
		if m.kind == flavourSPM && m.prefix && first {
			// SentencePiece removes the dummy prefix from the first piece.
			piece = strings.TrimPrefix(piece, " ")
		}
		first = false
		sb.WriteString(piece)
	}
	flush()
	s := sb.String()
	if m.kind == flavourHF && m.prefix {
		// Hugging Face's Strip decoder acts on the fused text.
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

var (
	_ tokenizer.Model         = (*Model)(nil)
	_ tokenizer.TokenAppender = (*Model)(nil)
)
