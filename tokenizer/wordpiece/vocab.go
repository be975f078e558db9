package wordpiece

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxVocabLine bounds one line of a vocab.txt.
const maxVocabLine = 1 << 16

// LoadVocab reads a BERT vocab.txt (one token per line, the line number is
// the id) and returns a Model with opts.
func LoadVocab(path string, opts Options) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: %w", err)
	}
	defer f.Close()
	m, err := ReadVocab(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return m, nil
}

// ReadVocab reads a vocab.txt from r. Trailing whitespace (including "\r")
// is trimmed from each line, as Hugging Face does; empty lines are tokens
// too, so ids stay line numbers.
func ReadVocab(r io.Reader, opts Options) (*Model, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxVocabLine)
	var tokens []string
	for sc.Scan() {
		line := sc.Text()
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("wordpiece: vocab line %d: invalid UTF-8", len(tokens)+1)
		}
		tokens = append(tokens, strings.TrimRightFunc(line, unicode.IsSpace))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("wordpiece: vocab line %d longer than %d bytes", len(tokens)+1, maxVocabLine)
		}
		return nil, fmt.Errorf("wordpiece: read vocab: %w", err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("wordpiece: empty vocabulary")
	}
	return New(tokens, opts)
}

// WriteVocab writes the vocabulary as a vocab.txt: one token per line in id
// order.
func (m *Model) WriteVocab(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, t := range m.tokens {
		bw.WriteString(t)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
