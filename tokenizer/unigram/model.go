// Package unigram implements the Unigram language-model tokenizer of
// SentencePiece (Kudo, "Subword Regularization", 2018), used by T5, mT5,
// Marian (OPUS-MT), XLM-R, ALBERT and mBART.
//
// A Unigram vocabulary gives every piece a log probability (its score); a
// text is normalized and then cut into the sequence of pieces with the
// highest total score, found by Viterbi search over every way to spell it:
//
//	best(t) = max over pieces p ending at t of best(t - len(p)) + score(p)
//
// A character that no piece covers costs min score − 10 and becomes <unk>
// (or, with byte fallback, its UTF-8 bytes as <0xXX> pieces).
//
// Models load from SentencePiece's own .model file (LoadModel, ParseModel:
// spiece.model, source.spm, sentencepiece.bpe.model, …), where encoding and
// decoding follow Google's sentencepiece exactly — the precompiled nmt_nfkc
// normalization, whitespace handling, float32 scores and tie-breaking,
// merged <unk> runs — or from a Hugging Face tokenizer.json with a Unigram
// model (FromTokenizerJSON), which follows Hugging Face tokenizers instead
// (its normalizers, Metaspace pre-tokenizer and decoder). WithVocab re-maps
// ids to a separate vocabulary (Marian's vocab.json). Train learns a new
// vocabulary with SentencePiece's EM algorithm; WriteModel and
// WriteTokenizerJSON save it.
//
// A Model is immutable after loading, safe for concurrent use, and
// implements tokenizer.Model.
package unigram

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// PieceType is the kind of a vocabulary piece, as in SentencePiece.
type PieceType uint8

const (
	// Normal pieces are found by segmentation.
	Normal PieceType = PieceType(spmodel.Normal)
	// Unknown is the <unk> piece, produced for characters no piece covers.
	Unknown PieceType = PieceType(spmodel.Unknown)
	// Control pieces (<s>, </s>, <pad>) never match text and decode to
	// nothing.
	Control PieceType = PieceType(spmodel.Control)
	// UserDefined pieces match whole, before normalization, and always win.
	UserDefined PieceType = PieceType(spmodel.UserDefined)
	// Unused pieces are in the vocabulary but never produced.
	Unused PieceType = PieceType(spmodel.Unused)
	// Byte pieces <0x00>..<0xFF> spell characters the vocabulary lacks.
	Byte PieceType = PieceType(spmodel.Byte)
)

// String names the type as sentencepiece_model.proto does.
func (t PieceType) String() string {
	switch t {
	case Normal:
		return "NORMAL"
	case Unknown:
		return "UNKNOWN"
	case Control:
		return "CONTROL"
	case UserDefined:
		return "USER_DEFINED"
	case Unused:
		return "UNUSED"
	case Byte:
		return "BYTE"
	}
	return fmt.Sprintf("PieceType(%d)", uint8(t))
}

// Piece is one vocabulary entry.
type Piece struct {
	Text  string    // the piece, spaces written as "▁"
	Score float64   // its log probability (SentencePiece stores float32)
	Type  PieceType // zero means Normal
}

// flavour selects whose semantics encoding and decoding follow.
type flavour uint8

const (
	flavourSPM flavour = iota // Google sentencepiece (.model files)
	flavourHF                 // Hugging Face tokenizers (tokenizer.json)
)

// Model is a Unigram vocabulary with its normalization.
type Model struct {
	kind    flavour
	pieces  []string
	scores  []float64
	types   []PieceType
	special []bool              // skipped by Decode(ids, true)
	ids     map[string]int      // piece → id, first occurrence
	da      spmodel.DoubleArray // the pieces segmentation may use: piece → id
	unk     int32               // -1 if none
	bos     int                 // -1 if none
	eos     int
	pad     int
	byteIDs [256]int32 // byte-fallback piece of each byte, -1 if none
	// sentencepiece flavour
	scores32   []float32
	minScore32 float32
	maxScore32 float32
	norm       *normalizer
	unkSurface string
	proto      *spmodel.Model // what WriteModel writes
	// Hugging Face flavour
	minScore float64
	hf       *hfPipeline
	hfBytes  bool // byte_fallback
	// WithVocab
	remap *remap
	// scratch for encoding
	bufs *sync.Pool
}

// scratch is per-call encoding state.
type scratch struct {
	norm normalized
	best []bestNode
	segs []seg
	hf   hfBufs
}

// seg is one piece of a segmentation: bytes [start, end) of the normalized
// text and the piece's id.
type seg struct {
	start, end int32
	id         int32
}

func (m *Model) scratch() *scratch {
	if m.bufs == nil {
		return new(scratch)
	}
	return m.bufs.Get().(*scratch)
}

func (m *Model) release(s *scratch) {
	if m.bufs != nil {
		m.bufs.Put(s)
	}
}

// finish builds the lookup tables from pieces, scores and types.
func (m *Model) finish() {
	n := len(m.pieces)
	m.ids = make(map[string]int, n)
	for id, p := range m.pieces {
		if _, dup := m.ids[p]; !dup {
			m.ids[p] = id
		}
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
	}
	if m.special == nil {
		m.special = make([]bool, n)
		for id, t := range m.types {
			m.special[id] = t == Control || t == Unknown
		}
	}
	m.bufs = &sync.Pool{New: func() any { return new(scratch) }}
}

// setBytes records the byte-fallback pieces: pieces "<0xXX>" (of type
// Byte for the sentencepiece flavour).
func (m *Model) setBytes() {
	for id, p := range m.pieces {
		if b, ok := byteValue(p); ok && (m.kind == flavourHF || m.types[id] == Byte) && m.byteIDs[b] < 0 {
			m.byteIDs[b] = int32(id)
		}
	}
}

// byteValue parses a byte-fallback piece "<0xXX>".
func byteValue(piece string) (byte, bool) { return spmodel.ByteValue(piece) }

// bytePiece writes b as a byte-fallback piece, "<0xE4>".
func bytePiece(b byte) string { return spmodel.BytePiece(b) }

// oneCharLen is the length of the UTF-8 sequence a lead byte announces, as
// SentencePiece computes it (1 for continuation bytes).
func oneCharLen(b byte) int {
	return int("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02\x02\x03\x04"[b>>4])
}

// Tokenize splits text into pieces with byte offsets into text. It adds no
// BOS/EOS. It implements tokenizer.Model.
//
// For a SentencePiece model the tokens are what sentencepiece's Encode
// returns: the text of an <unk> token is the normalized text it stands for
// (runs of unknown characters are one token), and of byte-fallback tokens
// only the last covers the character's bytes (the others have Start ==
// End). A token's span includes the whitespace normalization dropped before
// it.
func (m *Model) Tokenize(text string) []tokenizer.Token {
	return m.AppendTokens(nil, text)
}

// AppendTokens appends the tokens of text to dst, as Tokenize returns them,
// and returns the extended slice (tokenizer.TokenAppender).
func (m *Model) AppendTokens(dst []tokenizer.Token, text string) []tokenizer.Token {
	st := m.scratch()
	defer m.release(st)
	mark := len(dst)
	if m.kind == flavourHF {
		dst = m.appendHF(dst, text, st)
	} else {
		dst = m.appendSPM(dst, text, st)
	}
	if m.remap != nil {
		m.remap.apply(dst[mark:], m)
	}
	return dst
}

// Encode returns the ids of text (no BOS/EOS), as sentencepiece's
// encode(text) does.
func (m *Model) Encode(text string) []int {
	toks := m.Tokenize(text)
	ids := make([]int, len(toks))
	for i, t := range toks {
		ids[i] = t.ID
	}
	return ids
}

// Pieces returns the pieces of text, as sentencepiece's
// encode(text, out_type=str) does.
func (m *Model) Pieces(text string) []string {
	toks := m.Tokenize(text)
	ps := make([]string, len(toks))
	for i, t := range toks {
		ps[i] = t.Text
	}
	return ps
}

// Normalize returns text as the model normalizes it before segmentation
// ("▁" for spaces, the dummy prefix, NFKC for nmt_nfkc models).
func (m *Model) Normalize(text string) string {
	st := m.scratch()
	defer m.release(st)
	if m.kind == flavourHF {
		var sb strings.Builder
		for _, w := range m.hf.pretokenize(text, st) {
			sb.Write(w.s)
		}
		return sb.String()
	}
	m.norm.normalize(text, &st.norm)
	return string(st.norm.s)
}

// appendSPM is sentencepiece's Encode: normalize, segment, then turn the
// segments into pieces (merging runs of <unk>, or spelling them in bytes).
func (m *Model) appendSPM(dst []tokenizer.Token, text string, st *scratch) []tokenizer.Token {
	m.norm.normalize(text, &st.norm)
	s, orig := st.norm.s, st.norm.orig
	st.segs = m.viterbiSPM(s, st)
	prevUnk := false
	for _, g := range st.segs {
		begin, end := int(orig[g.start]), int(orig[g.end])
		isUnk := g.id == m.unk
		switch {
		case isUnk && m.hasBytes():
			w := s[g.start:g.end]
			for i, b := range w {
				id := m.byteIDs[b]
				if id < 0 {
					id = m.unk
				}
				e := begin
				if i == len(w)-1 {
					e = end
				}
				dst = append(dst, tokenizer.Token{ID: int(id), Text: m.pieces[id], Start: begin, End: e})
			}
		case isUnk && prevUnk:
			last := &dst[len(dst)-1]
			last.Text += string(s[g.start:g.end])
			last.End = end
		case isUnk:
			dst = append(dst, tokenizer.Token{ID: int(g.id), Text: string(s[g.start:g.end]), Start: begin, End: end})
		default:
			dst = append(dst, tokenizer.Token{ID: int(g.id), Text: m.pieces[g.id], Start: begin, End: end})
		}
		prevUnk = isUnk
	}
	return dst
}

// hasBytes reports whether byte fallback is on.
func (m *Model) hasBytes() bool {
	return m.proto != nil && m.proto.Trainer.ByteFallback
}

// bestNode is the best segmentation of a prefix of the text: its score,
// where its last piece starts (-1: none found yet) and that piece's id.
type bestNode struct {
	score64 float64 // Hugging Face flavour
	score   float32 // sentencepiece flavour
	start   int32
	id      int32
}

func (st *scratch) resetBest(n int) []bestNode {
	if cap(st.best) < n {
		st.best = make([]bestNode, n)
	}
	b := st.best[:n]
	for i := range b {
		b[i] = bestNode{start: -1, id: -1}
	}
	return b
}

// unkPenalty is what an unknown character costs below the lowest score.
const unkPenalty = 10.0

// viterbiSPM is sentencepiece's EncodeOptimized: the best segmentation
// ending at each byte, built left to right, with sentencepiece's
// arithmetic: best scores are stored as float32, but a piece's candidate
// score is summed and compared in float64 (the C++ conditional that picks a
// piece's score mixes float and double), while an unknown character's is
// float32 throughout. These matter: paths of equal float32 score differ in
// float64. Exact ties keep the candidate found first: the one whose last
// piece starts earliest. A user-defined piece of n bytes scores
// n·max_score − 0.1, so it beats any split into normal pieces.
func (m *Model) viterbiSPM(s []byte, st *scratch) []seg {
	size := len(s)
	if size == 0 {
		return st.segs[:0]
	}
	best := st.resetBest(size + 1)
	unkScore := m.minScore32 - unkPenalty
	root := m.da.Root()
	for start := 0; start < size; {
		till := best[start].score
		mblen := min(oneCharLen(s[start]), size-start)
		single := false
		pos := root
		for k := start; k < size; k++ {
			var id int32
			var ok bool
			if pos, id, ok = m.da.Step(pos, s[k]); !ok {
				break
			}
			if id < 0 || m.types[id] == Unused {
				continue
			}
			length := k + 1 - start
			score := float64(m.scores32[id])
			if m.types[id] == UserDefined {
				score = float64(float32(length)*m.maxScore32) - 0.1
			}
			if c, tgt := score+float64(till), &best[k+1]; tgt.start < 0 || c > float64(tgt.score) {
				tgt.score, tgt.start, tgt.id = float32(c), int32(start), id
			}
			if length == mblen {
				single = true
			}
		}
		if !single {
			tgt := &best[start+mblen]
			c := unkScore + till
			if tgt.start < 0 || c > tgt.score {
				tgt.score, tgt.start, tgt.id = c, int32(start), m.unk
			}
		}
		start += mblen
	}
	return backtrack(best, st.segs[:0])
}

// backtrack reads the best segmentation of the whole text off best.
func backtrack(best []bestNode, segs []seg) []seg {
	for end := int32(len(best) - 1); end > 0; {
		n := best[end]
		segs = append(segs, seg{start: n.start, end: end, id: n.id})
		end = n.start
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return segs
}

// Decode turns ids back into text.
//
// SentencePiece models decode as sentencepiece does: "▁" becomes a space,
// the dummy prefix goes (the leading "▁" of the first pieces, until one
// prints something; with remove_extra_whitespaces off, only one "▁"),
// control pieces print nothing, <unk> prints the model's unk_surface
// (" ⁇ "), and runs of byte pieces become their bytes (U+FFFD for each
// byte that is not part of valid UTF-8). With skipSpecial, <unk> and
// control pieces are left out.
//
// tokenizer.json models decode as Hugging Face's decoder section says
// (usually Metaspace).
func (m *Model) Decode(ids []int, skipSpecial bool) (string, error) {
	n := m.VocabSize()
	for _, id := range ids {
		if id < 0 || id >= n {
			return "", fmt.Errorf("unigram: decode: id %d is not in the vocabulary (size %d)", id, n)
		}
	}
	if m.kind == flavourHF {
		return m.decodeHF(ids, skipSpecial), nil
	}
	return m.decodeSPM(ids, skipSpecial), nil
}

// decodeSPM is sentencepiece's Decode over ids (external ids under
// WithVocab).
func (m *Model) decodeSPM(ids []int, skipSpecial bool) string {
	var sb strings.Builder
	var pending []byte
	// The dummy prefix: leading "▁"s are dropped until some text is out
	// (only the first one unless extra whitespace is removed).
	bosWS, wsSeen := true, false
	for _, id := range ids {
		piece, typ := m.pieces[id], m.types[id]
		if m.remap != nil {
			piece, typ = m.remap.decodePiece(id, m)
			if skipSpecial && m.remap.special[id] {
				continue
			}
		} else if skipSpecial && m.special[id] {
			continue
		}
		if typ == Byte {
			if b, ok := byteValue(piece); ok {
				pending = append(pending, b)
				continue
			}
		}
		pending = flushBytes(&sb, pending)
		if wsSeen || sb.Len() > 0 {
			bosWS = false
		}
		wsSeen = false
		switch typ {
		case Control:
		case Unknown:
			if m.remap == nil || piece == m.pieces[m.unk] {
				sb.WriteString(m.unkSurface)
			} else {
				sb.WriteString(piece)
			}
		default:
			if bosWS && (m.norm.dummyPrefix || m.norm.removeExtra) {
				var ok bool
				piece, ok = strings.CutPrefix(piece, metaspace)
				wsSeen = ok && !m.norm.removeExtra
			}
			sb.WriteString(strings.ReplaceAll(piece, metaspace, " "))
		}
	}
	flushBytes(&sb, pending)
	return sb.String()
}

// flushBytes writes a run of byte pieces: each valid UTF-8 character as
// it is, each other byte as U+FFFD.
func flushBytes(sb *strings.Builder, b []byte) []byte {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			sb.WriteString(replacementChar)
		} else {
			sb.Write(b[i : i+size])
		}
		i += size
	}
	return b[:0]
}

// TokenToID looks up a piece as written in the vocabulary.
func (m *Model) TokenToID(token string) (int, bool) {
	if m.remap != nil {
		id, ok := m.remap.ids[token]
		return id, ok
	}
	id, ok := m.ids[token]
	return id, ok
}

// IDToToken returns the piece of id as written in the vocabulary.
func (m *Model) IDToToken(id int) (string, bool) {
	if m.remap != nil {
		if id < 0 || id >= len(m.remap.pieces) {
			return "", false
		}
		return m.remap.pieces[id], true
	}
	if id < 0 || id >= len(m.pieces) {
		return "", false
	}
	return m.pieces[id], true
}

// VocabSize returns the number of ids.
func (m *Model) VocabSize() int {
	if m.remap != nil {
		return len(m.remap.pieces)
	}
	return len(m.pieces)
}

// Score returns the score (log probability) of id, or NaN outside the
// vocabulary. Under WithVocab, ids are the new vocabulary's and pieces the
// SentencePiece model lacks score NaN.
func (m *Model) Score(id int) float64 {
	if m.remap != nil {
		if id < 0 || id >= len(m.remap.toModel) || m.remap.toModel[id] < 0 {
			return math.NaN()
		}
		id = int(m.remap.toModel[id])
	}
	if id < 0 || id >= len(m.scores) {
		return math.NaN()
	}
	return m.scores[id]
}

// Type returns the piece type of id (Normal for ids outside the model's own
// pieces under WithVocab; 0 outside the vocabulary).
func (m *Model) Type(id int) PieceType {
	if m.remap != nil {
		if id < 0 || id >= len(m.remap.pieces) {
			return 0
		}
		_, t := m.remap.decodePiece(id, m)
		return t
	}
	if id < 0 || id >= len(m.types) {
		return 0
	}
	return m.types[id]
}

// UnknownID returns the id of <unk>, or -1.
func (m *Model) UnknownID() int {
	if m.remap != nil {
		return m.remap.unk
	}
	return int(m.unk)
}

// BOS returns the id of the beginning-of-sentence piece (<s>), or -1.
func (m *Model) BOS() int { return m.special3(m.bos) }

// EOS returns the id of the end-of-sentence piece (</s>), or -1.
func (m *Model) EOS() int { return m.special3(m.eos) }

// PAD returns the id of the padding piece (<pad>), or -1.
func (m *Model) PAD() int { return m.special3(m.pad) }

func (m *Model) special3(id int) int {
	if id < 0 || m.remap == nil {
		return id
	}
	if ext, ok := m.remap.ids[m.pieces[id]]; ok {
		return ext
	}
	return -1
}

// IsSpecial reports whether Decode(ids, true) leaves id out.
func (m *Model) IsSpecial(id int) bool {
	if m.remap != nil {
		return id >= 0 && id < len(m.remap.special) && m.remap.special[id]
	}
	return id >= 0 && id < len(m.special) && m.special[id]
}

var (
	_ tokenizer.Model         = (*Model)(nil)
	_ tokenizer.TokenAppender = (*Model)(nil)
)
