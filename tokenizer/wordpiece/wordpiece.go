// Package wordpiece implements BERT's WordPiece tokenizer as Hugging Face
// tokenizers (Rust) does: the BERT normalizer (clean text, isolated CJK
// ideographs, optional accent stripping and lower-casing), the BERT
// pre-tokenizer (whitespace and punctuation), and greedy longest-match-first
// WordPiece with "##" continuations and [UNK] for words it cannot spell.
//
// Every token carries the byte span of the original text it covers, also
// when lower-casing or accent stripping changed the byte length.
//
// A Model loads from a vocab.txt (LoadVocab, ReadVocab) or a tokenizer.json
// (FromTokenizerJSON), or is learnt from a corpus (Train). It implements
// tokenizer.Model; wrap it in a tokenizer.Tokenizer for [CLS]/[SEP],
// pairs, truncation and padding.
package wordpiece

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/tokenizer"
)

// AccentMode says whether accents are stripped (NFD, then combining
// non-spacing marks removed).
type AccentMode uint8

const (
	AccentsDefault AccentMode = iota // strip when lower-casing (BERT's strip_accents=None)
	AccentsStrip                     // always strip
	AccentsKeep                      // never strip
)

// Options configure a Model. The zero value is bert-base-uncased's
// configuration.
type Options struct {
	// Cased keeps letter case (bert-base-cased, bert-base-chinese).
	// Zero: lower-case.
	Cased bool
	// Accents chooses accent stripping. Zero: strip when lower-casing.
	Accents AccentMode
	// KeepControl turns off clean_text (removal of NUL, U+FFFD, control,
	// format, private-use and unassigned characters, and mapping of every
	// whitespace character to a space). Zero: clean.
	KeepControl bool
	// NoCJKSplit turns off putting each CJK ideograph in a word of its own.
	// Zero: split.
	NoCJKSplit bool
	// UnkToken is the unknown token. Zero: "[UNK]".
	UnkToken string
	// Prefix marks a word-continuing piece. Zero: "##".
	Prefix string
	// MaxInputCharsPerWord: longer words become UnkToken. Zero: 100.
	MaxInputCharsPerWord int
	// NoCleanup turns off the decoder's clean-up of spaces before
	// punctuation and contractions (" ." → ".", " n't" → "n't"). Zero: clean.
	NoCleanup bool
	// SpecialTokens are the tokens Decode drops when asked to skip special
	// tokens. Zero: those of [PAD] [UNK] [CLS] [SEP] [MASK] in the vocabulary.
	SpecialTokens []string
}

// Model is a WordPiece vocabulary with its normalizer. It implements
// tokenizer.Model and is safe for concurrent use.
type Model struct {
	vocab  map[string]int // token → id
	full   *table         // vocab as a search table, for word-initial pieces
	cont   *table         // continuation pieces, without their prefix
	tokens []string       // id → token
	holes  map[int]bool   // ids with no token (sparse tokenizer.json vocabularies)

	unk     string
	unkID   int
	prefix  string
	special map[int]bool

	maxChars     int
	cleanText    bool
	chineseChars bool
	stripAccents bool
	lowercase    bool
	cleanup      bool
	opts         Options

	ascii      [utf8.RuneSelf]asciiClass
	asciiLower [utf8.RuneSelf]byte
	pool       sync.Pool // *scratch
}

var _ tokenizer.Model = (*Model)(nil)

// New returns a Model over vocab, the tokens in id order (id i is
// vocab[i]); when a token repeats, the last id wins for encoding, as in
// Hugging Face.
func New(vocab []string, opts Options) (*Model, error) {
	ids := make(map[string]int, len(vocab))
	for i, t := range vocab {
		ids[t] = i
	}
	return newModel(ids, append([]string(nil), vocab...), nil, opts)
}

// newModel builds a Model from token→id and id→token tables (tokens may
// have holes, listed in holes).
func newModel(ids map[string]int, tokens []string, holes map[int]bool, opts Options) (*Model, error) {
	m := &Model{vocab: ids, tokens: tokens, holes: holes, opts: opts}
	m.unk = opts.UnkToken
	if m.unk == "" {
		m.unk = "[UNK]"
	}
	m.prefix = opts.Prefix
	if m.prefix == "" {
		m.prefix = "##"
	}
	m.maxChars = opts.MaxInputCharsPerWord
	if m.maxChars == 0 {
		m.maxChars = 100
	}
	if m.maxChars < 0 {
		return nil, fmt.Errorf("wordpiece: max input chars per word %d < 0", m.maxChars)
	}
	id, ok := ids[m.unk]
	if !ok {
		return nil, fmt.Errorf("wordpiece: unknown token %q is not in the vocabulary", m.unk)
	}
	m.unkID = id
	m.cleanText = !opts.KeepControl
	m.chineseChars = !opts.NoCJKSplit
	m.lowercase = !opts.Cased
	switch opts.Accents {
	case AccentsDefault:
		m.stripAccents = m.lowercase
	case AccentsStrip:
		m.stripAccents = true
	case AccentsKeep:
	default:
		return nil, fmt.Errorf("wordpiece: invalid accent mode %d", opts.Accents)
	}
	m.cleanup = !opts.NoCleanup

	cont := make(map[string]int)
	for t, id := range ids {
		if rest, ok := strings.CutPrefix(t, m.prefix); ok {
			cont[rest] = id
		}
	}
	m.full, m.cont = newTable(ids), newTable(cont)
	m.special = make(map[int]bool)
	specials := opts.SpecialTokens
	if specials == nil {
		specials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	}
	for _, s := range specials {
		if id, ok := ids[s]; ok {
			m.special[id] = true
		}
	}
	m.ascii = asciiTable(m.cleanText)
	for c := range utf8.RuneSelf {
		m.asciiLower[c] = byte(c)
		if m.lowercase && 'A' <= c && c <= 'Z' {
			m.asciiLower[c] = byte(c + 'a' - 'A')
		}
	}
	m.pool.New = func() any { return new(scratch) }
	return m, nil
}

// Options returns the options the model was built with.
func (m *Model) Options() Options { return m.opts }

// TokenToID looks up a token's id.
func (m *Model) TokenToID(token string) (int, bool) {
	id, ok := m.vocab[token]
	return id, ok
}

// IDToToken looks up an id's token.
func (m *Model) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.tokens) || m.holes[id] {
		return "", false
	}
	return m.tokens[id], true
}

// VocabSize returns the number of ids (one more than the largest).
func (m *Model) VocabSize() int { return len(m.tokens) }

// Vocab returns the tokens in id order (empty strings for unused ids).
func (m *Model) Vocab() []string { return append([]string(nil), m.tokens...) }

// Decode joins tokens as Hugging Face does: a continuation ("##ing") is
// glued to the token before it, any other token is preceded by a space,
// and with clean-up the spaces tokenization put before punctuation and
// inside contractions are removed from the whole text (" ." → ".",
// " ' " → "'", " n't" → "n't", ...), as transformers' decode with
// clean_up_tokenization_spaces does. With skipSpecial, the special tokens
// (Options.SpecialTokens) are dropped.
func (m *Model) Decode(ids []int, skipSpecial bool) (string, error) {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		tok, ok := m.IDToToken(id)
		if !ok {
			return "", fmt.Errorf("wordpiece: decode: id %d outside the vocabulary of %d", id, len(m.tokens))
		}
		if skipSpecial && m.special[id] {
			continue
		}
		toks = append(toks, tok)
	}
	return m.DecodeTokens(toks), nil
}

// DecodeTokens joins tokens as Hugging Face's WordPiece decoder does
// (convert_tokens_to_string): a continuation piece loses its prefix and
// glues to the token before it, other tokens are separated by a space, and
// the clean-up applies. A first token keeps its prefix. Tokens need not be
// in the vocabulary (a pipeline puts a word's original text in place of
// [UNK]).
func (m *Model) DecodeTokens(tokens []string) string {
	var sb strings.Builder
	for i, tok := range tokens {
		if i > 0 {
			if rest, ok := strings.CutPrefix(tok, m.prefix); ok {
				tok = rest
			} else {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(tok)
	}
	if !m.cleanup {
		return sb.String()
	}
	return cleanup(sb.String())
}

// cleanupPairs are the replacements of the decoder's clean-up, applied in
// order.
var cleanupPairs = [...][2]string{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
	{" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}

func cleanup(s string) string {
	for _, p := range cleanupPairs {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}
