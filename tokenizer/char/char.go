// Package char is the character-level vocabulary of nanoGPT's Shakespeare
// model: every distinct character of a corpus is one token, ids in
// code-point order. It is saved as char_vocab.json beside a model and
// implements tokenizer.Model, so tokenizer/auto loads it like any other
// tokenizer and "glossa generate" runs character models.
package char

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/tokenizer"
)

// VocabFile is the file a Model is saved to inside a model folder.
const VocabFile = "char_vocab.json"

// maxFileSize bounds the char_vocab.json that Parse and Load accept.
const maxFileSize = 64 << 20

// Model is a character vocabulary. It is immutable and safe for concurrent
// use.
type Model struct {
	chars []string       // id → character
	index map[rune]int32 // character → id
}

// New returns the vocabulary whose id i is chars[i]; every entry must be
// one distinct character.
func New(chars []string) (*Model, error) {
	if len(chars) == 0 {
		return nil, fmt.Errorf("char: empty vocabulary")
	}
	m := &Model{chars: slices.Clone(chars), index: make(map[rune]int32, len(chars))}
	for i, s := range chars {
		r, n := utf8.DecodeRuneInString(s)
		if n == 0 || n != len(s) || (r == utf8.RuneError && n == 1) {
			return nil, fmt.Errorf("char: entry %d %q is not one character", i, s)
		}
		if _, dup := m.index[r]; dup {
			return nil, fmt.Errorf("char: duplicate entry %q", s)
		}
		m.index[r] = int32(i)
	}
	return m, nil
}

// FromRunes returns the vocabulary of the given characters in code-point
// order (duplicates collapse).
func FromRunes(rs []rune) (*Model, error) {
	rs = slices.Clone(rs)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	chars := make([]string, len(rs))
	for i, r := range rs {
		chars[i] = string(r)
	}
	return New(chars)
}

// Chars returns id → character (a copy).
func (m *Model) Chars() []string { return slices.Clone(m.chars) }

// VocabSize returns the number of ids.
func (m *Model) VocabSize() int { return len(m.chars) }

// Encode returns one id per character of text; a character outside the
// vocabulary is an error (a training corpus must be covered exactly).
func (m *Model) Encode(text string) ([]int, error) {
	ids := make([]int, 0, len(text))
	for _, r := range text {
		id, ok := m.index[r]
		if !ok {
			return nil, fmt.Errorf("char: character %q is not in the vocabulary", r)
		}
		ids = append(ids, int(id))
	}
	return ids, nil
}

// Tokenize implements tokenizer.Model: one token per character with its
// byte offsets. There is no unknown token: characters outside the
// vocabulary are left out, which CheckText reports (and so
// tokenizer.Tokenizer's Encode refuses).
func (m *Model) Tokenize(text string) []tokenizer.Token {
	toks := make([]tokenizer.Token, 0, len(text))
	for i, r := range text {
		if id, ok := m.index[r]; ok {
			toks = append(toks, tokenizer.Token{ID: int(id), Text: m.chars[id], Start: i, End: i + utf8.RuneLen(r)})
		}
	}
	return toks
}

// CheckText implements tokenizer.TextChecker: an error naming the first
// character of text outside the vocabulary, with its byte offset.
func (m *Model) CheckText(text string) error {
	for i, r := range text {
		if _, ok := m.index[r]; !ok {
			return fmt.Errorf("char: character %q at byte %d is not in the vocabulary of %d characters", r, i, len(m.chars))
		}
	}
	return nil
}

// Decode implements tokenizer.Model: the characters of ids, concatenated.
// The vocabulary has no special tokens, so skipSpecial changes nothing.
func (m *Model) Decode(ids []int, skipSpecial bool) (string, error) {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(m.chars) {
			return "", fmt.Errorf("char: id %d outside the vocabulary of %d", id, len(m.chars))
		}
		b = append(b, m.chars[id]...)
	}
	return string(b), nil
}

// TokenToID implements tokenizer.Model.
func (m *Model) TokenToID(token string) (int, bool) {
	r, n := utf8.DecodeRuneInString(token)
	if n != len(token) || n == 0 {
		return 0, false
	}
	id, ok := m.index[r]
	return int(id), ok
}

// IDToToken implements tokenizer.Model.
func (m *Model) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.chars) {
		return "", false
	}
	return m.chars[id], true
}

// fileJSON is the on-disk form: {"type": "char", "chars": [...]}.
type fileJSON struct {
	Type  string   `json:"type"`
	Chars []string `json:"chars"`
}

// MarshalJSON returns the char_vocab.json form of m.
func (m *Model) MarshalJSON() ([]byte, error) {
	return json.Marshal(fileJSON{Type: "char", Chars: m.chars})
}

// Save writes dir/char_vocab.json atomically.
func (m *Model) Save(dir string) error {
	b, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, VocabFile), append(b, '\n'))
}

// Parse reads the char_vocab.json form.
func Parse(data []byte) (*Model, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("char: vocabulary file larger than %d bytes", maxFileSize)
	}
	var j fileJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("char: %w", err)
	}
	if j.Type != "char" {
		return nil, fmt.Errorf("char: not a character vocabulary (type %q)", j.Type)
	}
	return New(j.Chars)
}

// Load reads a char_vocab.json file.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("char: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("char: read %s: %w", path, err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}
