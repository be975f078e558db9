// Package bpe implements GPT-2's byte-level byte-pair encoding: loading the
// vocabulary (encoder.json + vocab.bpe, or a Hugging Face tokenizer.json),
// encoding text to ids with byte offsets, decoding ids back to the exact
// bytes, and training a new vocabulary from a corpus.
//
// Encoding follows GPT-2's encoder.py: the text is split into pre-tokens by
// GPT-2's regular expression (pretokenize.go), each pre-token's bytes are
// written as byte-level symbols and merged pair by pair in rank order
// (merge.go). Every byte has a token, so any input, including invalid UTF-8,
// encodes and decodes back to itself.
//
// A Model is immutable after construction and safe for concurrent use; it
// implements tokenizer.Model.
package bpe

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/glossa-ai/glossa/tokenizer"
)

// Model is a byte-level BPE vocabulary with its merges.
type Model struct {
	tokens    []string         // id → token as written in the vocabulary ("Ġthe"); "" for a hole
	raw       []string         // id → the bytes the token stands for (" the")
	ids       map[string]int   // token → id
	short     shortWords       // single-token words of 2..8 bytes
	whole     map[string]int32 // single-token words of more than 8 bytes
	byteIDs   [256]int32       // id of each single-byte token, -1 if the vocabulary lacks it
	pairs     pairTable
	merges    [][2]int32 // merges in rank order, as token ids
	special   []bool     // ids that Decode skips when asked to
	unk       int32      // id used for bytes without a token, -1 to drop them
	prefix    bool       // AddPrefixSpace
	cacheSize int        // per-encoder word cache bound; 0 disables it
	encoders  encoderPool
}

// Options configures New. The zero value gives GPT-2's behaviour.
type Options struct {
	// SpecialTokens lists vocabulary tokens that Decode drops when asked to
	// skip special tokens (for GPT-2, "<|endoftext|>"). Tokenize never
	// produces them from text by itself; matching special-token text is the
	// job of the tokenizer pipeline.
	SpecialTokens []string
	// UnknownToken names the token that stands for a byte the vocabulary has
	// no token for. Empty: such bytes are dropped. GPT-2's vocabulary covers
	// all 256 bytes, so this only matters for unusual vocabularies.
	UnknownToken string
	// AddPrefixSpace prepends a space to text that does not start with one,
	// so that the first word is encoded like any other (RoBERTa style).
	AddPrefixSpace bool
	// CacheSize bounds the number of words whose merges are remembered by
	// each concurrent encoder (one per goroutine encoding at the same time).
	// Zero means DefaultCacheSize; negative disables the cache.
	CacheSize int
}

// maxIDGap bounds how far ids may run past the number of tokens, so that a
// malformed vocabulary cannot make New allocate without limit.
const maxIDGap = 1 << 16

// New builds a model from a vocabulary (token → id, tokens written in the
// byte-level alphabet as in encoder.json) and merges in rank order (each a
// pair of tokens whose concatenation is in the vocabulary).
func New(vocab map[string]int, merges [][2]string, opt Options) (*Model, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("bpe: empty vocabulary")
	}
	size := 0
	for tok, id := range vocab {
		if tok == "" {
			return nil, fmt.Errorf("bpe: the vocabulary has an empty token (id %d)", id)
		}
		if id < 0 || id >= len(vocab)+maxIDGap {
			return nil, fmt.Errorf("bpe: token %q has id %d, outside [0, %d)", tok, id, len(vocab)+maxIDGap)
		}
		size = max(size, id+1)
	}
	m := &Model{
		tokens:  make([]string, size),
		raw:     make([]string, size),
		ids:     make(map[string]int, len(vocab)),
		whole:   make(map[string]int32, len(vocab)),
		special: make([]bool, size),
		unk:     -1,
		prefix:  opt.AddPrefixSpace,
	}
	present := make([]bool, size)
	for tok, id := range vocab {
		if present[id] {
			return nil, fmt.Errorf("bpe: id %d is given to both %q and %q", id, m.tokens[id], tok)
		}
		present[id] = true
		m.tokens[id] = tok
		m.ids[tok] = id
		m.raw[id], _ = ByteLevelDecode(tok)
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
		if id, ok := m.ids[string(byteToRune[b])]; ok {
			m.byteIDs[b] = int32(id)
		}
	}
	m.pairs = newPairTable(len(merges))
	for rank, mg := range merges {
		a, okA := m.ids[mg[0]]
		b, okB := m.ids[mg[1]]
		c, okC := m.ids[mg[0]+mg[1]]
		switch {
		case !okA || !okB:
			return nil, fmt.Errorf("bpe: merge %d %q: token not in the vocabulary", rank+1, mg[0]+" "+mg[1])
		case !okC:
			return nil, fmt.Errorf("bpe: merge %d %q: merged token %q not in the vocabulary", rank+1, mg[0]+" "+mg[1], mg[0]+mg[1])
		}
		m.pairs.insert(int32(a), int32(b), uint32(rank), int32(c))
		m.merges = append(m.merges, [2]int32{int32(a), int32(b)})
	}
	for _, s := range opt.SpecialTokens {
		id, ok := m.ids[s]
		if !ok {
			return nil, fmt.Errorf("bpe: special token %q not in the vocabulary", s)
		}
		m.special[id] = true
	}
	if opt.UnknownToken != "" {
		id, ok := m.ids[opt.UnknownToken]
		if !ok {
			return nil, fmt.Errorf("bpe: unknown token %q not in the vocabulary", opt.UnknownToken)
		}
		m.unk = int32(id)
	}
	if opt.CacheSize >= 0 {
		c := opt.CacheSize
		if c == 0 {
			c = DefaultCacheSize
		}
		m.cacheSize = c
	}
	m.indexWholeWords()
	return m, nil
}

// indexWholeWords records the tokens that BPE produces, alone, from their own
// bytes. A pre-token equal to one of them needs no merging: one map lookup
// answers it. (Not every vocabulary token qualifies: merges can take a
// different path, so the check is made, not assumed.)
func (m *Model) indexWholeWords() {
	enc := &encoder{}
	short := map[string]int32{}
	for id, raw := range m.raw {
		if len(raw) < 2 || m.tokens[id] == "" || m.special[id] {
			continue
		}
		if tok, ok := m.ids[ByteLevelEncode(raw)]; !ok || tok != id {
			continue // not a byte-level token
		}
		syms := m.mergeWord(enc, raw)
		if len(syms) == 1 && syms[0] == int32(id) {
			if len(raw) <= 8 {
				short[raw] = int32(id)
			} else {
				m.whole[raw] = int32(id)
			}
		}
	}
	m.short = newShortWords(len(short))
	for w, id := range short {
		m.short.put(w, id)
	}
}

// wholeWord looks word up among the single-token words.
func (m *Model) wholeWord(word string) (int32, bool) {
	if len(word) <= 8 {
		return m.short.get(word)
	}
	id, ok := m.whole[word]
	return id, ok
}

// encoder is per-goroutine scratch space for encoding.
type encoder struct {
	mg    merger
	syms  []int32
	cache *wordCache // nil when the model caches nothing
}

// encoderPool keeps idle encoders, and with them their word caches, for
// the life of the Model. (A sync.Pool would drop them, and the caches, at
// every other garbage collection.) It holds at most as many encoders as
// goroutines ever encoded at the same time.
type encoderPool struct {
	mu   sync.Mutex
	idle []*encoder
}

func (m *Model) putEncoder(e *encoder) {
	m.encoders.mu.Lock()
	m.encoders.idle = append(m.encoders.idle, e)
	m.encoders.mu.Unlock()
}

func (m *Model) getEncoder() *encoder {
	p := &m.encoders
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		e := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return e
	}
	p.mu.Unlock()
	e := &encoder{}
	if m.cacheSize > 0 {
		e.cache = newWordCache(m.cacheSize)
	}
	return e
}

// mergeWord runs BPE on the bytes of one pre-token. The result lives in
// enc until the next call.
func (m *Model) mergeWord(enc *encoder, word string) []int32 {
	enc.syms = grow(enc.syms, len(word))
	syms := enc.syms
	for i := 0; i < len(word); i++ {
		syms[i] = m.byteIDs[word[i]]
	}
	return m.pairs.merge(&enc.mg, syms)
}

// wordIDs returns the ids of one pre-token, from the whole-word index, the
// cache, or the merge loop. The slice is valid until enc is used again.
func (m *Model) wordIDs(enc *encoder, word string) []int32 {
	if id, ok := m.wholeWord(word); ok {
		enc.syms = append(enc.syms[:0], id)
		return enc.syms
	}
	if enc.cache != nil {
		if ids, ok := enc.cache.get(word); ok {
			return ids
		}
	}
	syms := m.mergeWord(enc, word)
	if enc.cache != nil {
		enc.cache.put(word, syms)
	}
	return syms
}

// prepare applies AddPrefixSpace; shift is the number of bytes added.
func (m *Model) prepare(text string) (string, int) {
	if m.prefix && text != "" && text[0] != ' ' {
		return " " + text, 1
	}
	return text, 0
}

// Encode returns the token ids of text. (GPT-2 averages about 3.3 bytes
// per token on English, so len(text)/3 ids are reserved up front.)
func (m *Model) Encode(text string) []int {
	return m.AppendEncode(make([]int, 0, len(text)/3+4), text)
}

// AppendEncode appends the token ids of text to dst and returns it.
func (m *Model) AppendEncode(dst []int, text string) []int {
	enc := m.getEncoder()
	dst = m.appendEncode(enc, dst, text)
	m.putEncoder(enc)
	return dst
}

// appendEncode is AppendEncode with the caller's encoder.
func (m *Model) appendEncode(enc *encoder, dst []int, text string) []int {
	text, _ = m.prepare(text)
	for p := 0; p < len(text); {
		e := nextPretoken(text, p)
		// Fast paths: a single byte, or a word that is one token.
		if e-p == 1 {
			if id := m.byteIDs[text[p]]; id >= 0 {
				dst = append(dst, int(id))
				p = e
				continue
			}
		} else if id, ok := m.wholeWord(text[p:e]); ok {
			dst = append(dst, int(id))
			p = e
			continue
		}
		for _, id := range m.wordIDs(enc, text[p:e]) {
			if id < 0 {
				if m.unk < 0 {
					continue
				}
				id = m.unk
			}
			dst = append(dst, int(id))
		}
		p = e
	}
	return dst
}

// EncodeBatch encodes many texts on runtime.GOMAXPROCS(0) goroutines; the
// result is in the order of texts.
func (m *Model) EncodeBatch(texts []string) [][]int {
	out := make([][]int, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	if workers <= 1 {
		for i, t := range texts {
			out[i] = m.Encode(t)
		}
		return out
	}
	// Workers take texts in small runs, each with its own encoder for the
	// whole batch, so that they share no cache line while they work.
	const run = 16
	var wg sync.WaitGroup
	var next atomic.Int64 // the first text of the next run
	for range workers {
		wg.Go(func() {
			enc := m.getEncoder()
			defer m.putEncoder(enc)
			for {
				lo := int(next.Add(run) - run)
				if lo >= len(texts) {
					return
				}
				for i := lo; i < min(lo+run, len(texts)); i++ {
					out[i] = m.appendEncode(enc, make([]int, 0, len(texts[i])/3+4), texts[i])
				}
			}
		})
	}
	wg.Wait()
	return out
}

// Tokenize splits text into tokens with their byte offsets in text. It
// implements tokenizer.Model. A token covers exactly the bytes it decodes
// to, so a character split over two tokens is split in the offsets too; the
// prefix space added by AddPrefixSpace covers no bytes.
func (m *Model) Tokenize(text string) []tokenizer.Token {
	return m.AppendTokens(make([]tokenizer.Token, 0, len(text)/3+4), text)
}

// AppendTokens appends the tokens of text to dst, as Tokenize returns them,
// and returns the extended slice (tokenizer.TokenAppender).
func (m *Model) AppendTokens(dst []tokenizer.Token, text string) []tokenizer.Token {
	text, shift := m.prepare(text)
	enc := m.getEncoder()
	toks := dst
	emit := func(id int32, start, end int) {
		start, end = max(start-shift, 0), max(end-shift, 0)
		if id < 0 {
			if m.unk < 0 {
				return
			}
			id = m.unk
		}
		toks = append(toks, tokenizer.Token{ID: int(id), Text: m.tokens[id], Start: start, End: end})
	}
	for p := 0; p < len(text); {
		e := nextPretoken(text, p)
		q := p
		for _, id := range m.wordIDs(enc, text[p:e]) {
			n := 1 // a byte without a token
			if id >= 0 {
				n = len(m.raw[id])
			}
			emit(id, q, q+n)
			q += n
		}
		p = e
	}
	m.putEncoder(enc)
	return toks
}

// Decode returns the bytes the ids stand for, concatenated: exactly the
// encoded text, even when it is not valid UTF-8 (use strings.ToValidUTF8 to
// get Hugging Face's lossy behaviour). With skipSpecial, special tokens are
// left out. An id outside the vocabulary is an error.
func (m *Model) Decode(ids []int, skipSpecial bool) (string, error) {
	n := 0
	for _, id := range ids {
		if id < 0 || id >= len(m.tokens) || m.tokens[id] == "" {
			return "", fmt.Errorf("bpe: decode: id %d is not in the vocabulary", id)
		}
		n += len(m.raw[id])
	}
	buf := make([]byte, 0, n)
	for _, id := range ids {
		if skipSpecial && m.special[id] {
			continue
		}
		buf = append(buf, m.raw[id]...)
	}
	return string(buf), nil
}

// DecodeTokens joins tokens written in the byte-level alphabet ("Ġthe")
// into the text they stand for, as Hugging Face's ByteLevel decoder does
// (convert_tokens_to_string): bytes that are not valid UTF-8 become U+FFFD.
// A token outside the alphabet is kept as it is written.
func (m *Model) DecodeTokens(tokens []string) string {
	var buf []byte
	for _, tok := range tokens {
		if id, ok := m.ids[tok]; ok {
			buf = append(buf, m.raw[id]...)
		} else if raw, ok := ByteLevelDecode(tok); ok {
			buf = append(buf, raw...)
		} else {
			buf = append(buf, tok...)
		}
	}
	return strings.ToValidUTF8(string(buf), "\uFFFD")
}

// TokenToID looks up a token written in the byte-level alphabet ("Ġthe").
func (m *Model) TokenToID(token string) (int, bool) {
	id, ok := m.ids[token]
	return id, ok
}

// IDToToken returns the token of id as written in the vocabulary.
func (m *Model) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.tokens) || m.tokens[id] == "" {
		return "", false
	}
	return m.tokens[id], true
}

// TokenBytes returns the bytes token id stands for (" the" for "Ġthe").
func (m *Model) TokenBytes(id int) ([]byte, bool) {
	if id < 0 || id >= len(m.tokens) || m.tokens[id] == "" {
		return nil, false
	}
	return []byte(m.raw[id]), true
}

// VocabSize returns the number of ids: one more than the largest id.
func (m *Model) VocabSize() int { return len(m.tokens) }

// IsSpecial reports whether id is one of the special tokens Decode can skip.
func (m *Model) IsSpecial(id int) bool { return id >= 0 && id < len(m.special) && m.special[id] }

// Vocab returns a copy of the vocabulary (token → id).
func (m *Model) Vocab() map[string]int {
	v := make(map[string]int, len(m.ids))
	for k, id := range m.ids {
		v[k] = id
	}
	return v
}

// Merges returns the merges in rank order, tokens written as in the
// vocabulary.
func (m *Model) Merges() [][2]string {
	out := make([][2]string, len(m.merges))
	for i, p := range m.merges {
		out[i] = [2]string{m.tokens[p[0]], m.tokens[p[1]]}
	}
	return out
}

var (
	_ tokenizer.Model         = (*Model)(nil)
	_ tokenizer.TokenAppender = (*Model)(nil)
)
