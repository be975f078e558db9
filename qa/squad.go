package qa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Example is one question about one context, as SQuAD files hold them.
type Example struct {
	ID       string
	Title    string // the article's title
	Question string
	Context  string
	// Answers are the gold answers, the first the one training uses (as
	// Hugging Face's run_qa does); empty for an unanswerable question.
	Answers []GoldAnswer
	// Impossible marks SQuAD v2.0's unanswerable questions
	// (is_impossible).
	Impossible bool
}

// GoldAnswer is an answer span: Context[Start : Start+len(Text)] in
// characters (code points, Python's str indices).
type GoldAnswer struct {
	Text  string `json:"text"`
	Start int    `json:"answer_start"`
}

// Texts returns the answers' texts.
func (e Example) Texts() []string {
	out := make([]string, len(e.Answers))
	for i, a := range e.Answers {
		out[i] = a.Text
	}
	return out
}

// Dataset is a SQuAD file: v1.1 (every question answerable) or v2.0 (with
// is_impossible questions).
type Dataset struct {
	Path     string
	Version  string
	Examples []Example
	// Misaligned counts answers whose text is not the context's characters
	// at answer_start (SQuAD has a few, with shifted whitespace); they are
	// kept as given, as Hugging Face keeps them.
	Misaligned int
}

// HasImpossible reports whether any question is unanswerable (a v2.0
// file that uses it).
func (d *Dataset) HasImpossible() bool {
	for _, e := range d.Examples {
		if e.Impossible {
			return true
		}
	}
	return false
}

// MaxFileBytes is the largest SQuAD file ReadFile reads (SQuAD v2.0's
// training file is 42 MB).
const MaxFileBytes = 1 << 30

// ReadFile reads a SQuAD JSON file (see Parse).
func ReadFile(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("qa: %w", err)
	}
	defer f.Close()
	d, err := Parse(f, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("qa: %s: %w", path, err)
	}
	d.Path = path
	return d, nil
}

// squadFile is the JSON layout of SQuAD v1.1 and v2.0.
type squadFile struct {
	Version string `json:"version"`
	Data    []struct {
		Title      string `json:"title"`
		Paragraphs []struct {
			Context string `json:"context"`
			QAs     []struct {
				ID         string       `json:"id"`
				Question   string       `json:"question"`
				Answers    []GoldAnswer `json:"answers"`
				Impossible bool         `json:"is_impossible"`
			} `json:"qas"`
		} `json:"paragraphs"`
	} `json:"data"`
}

// ErrFormat is matched (errors.Is) by Parse's errors about the content of
// a file, as opposed to failures to read it.
var ErrFormat = errors.New("not a valid SQuAD file")

// Parse reads SQuAD JSON ({"version", "data": [{"title", "paragraphs":
// [{"context", "qas": [{"id", "question", "answers": [{"text",
// "answer_start"}], "is_impossible"}]}]}]}) of at most maxBytes. Every
// question needs a unique non-empty id and a non-empty context; an
// answerable question needs an answer, an unanswerable one none; every
// answer must lie inside its context. Errors name the question.
func Parse(r io.Reader, maxBytes int64) (*Dataset, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > maxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, maxBytes)
	}
	var f squadFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if f.Data == nil {
		return nil, fmt.Errorf("%w: no \"data\" list", ErrFormat)
	}
	d := &Dataset{Version: f.Version}
	seen := map[string]bool{}
	for ai, art := range f.Data {
		for pi, par := range art.Paragraphs {
			if strings.TrimSpace(par.Context) == "" {
				return nil, fmt.Errorf("%w: article %d paragraph %d: empty context", ErrFormat, ai, pi)
			}
			if !utf8.ValidString(par.Context) {
				return nil, fmt.Errorf("%w: article %d paragraph %d: context is not valid UTF-8", ErrFormat, ai, pi)
			}
			chars := utf8.RuneCountInString(par.Context)
			var runes []rune
			for _, q := range par.QAs {
				switch {
				case q.ID == "":
					return nil, fmt.Errorf("%w: article %d paragraph %d: a question without an id", ErrFormat, ai, pi)
				case seen[q.ID]:
					return nil, fmt.Errorf("%w: question id %q appears twice", ErrFormat, q.ID)
				case q.Impossible && len(q.Answers) > 0:
					return nil, fmt.Errorf("%w: question %s is unanswerable (is_impossible) but has %d answers", ErrFormat, q.ID, len(q.Answers))
				case !q.Impossible && len(q.Answers) == 0:
					return nil, fmt.Errorf("%w: question %s has no answer and is not marked is_impossible", ErrFormat, q.ID)
				}
				seen[q.ID] = true
				for _, a := range q.Answers {
					n := utf8.RuneCountInString(a.Text)
					if a.Start < 0 || a.Start+n > chars || n == 0 {
						return nil, fmt.Errorf("%w: question %s: answer %q at character %d does not fit the context's %d characters", ErrFormat, q.ID, a.Text, a.Start, chars)
					}
					if runes == nil {
						runes = []rune(par.Context)
					}
					if string(runes[a.Start:a.Start+n]) != a.Text {
						d.Misaligned++
					}
				}
				d.Examples = append(d.Examples, Example{ID: q.ID, Title: art.Title, Question: q.Question,
					Context: par.Context, Answers: q.Answers, Impossible: q.Impossible})
			}
		}
	}
	if len(d.Examples) == 0 {
		return nil, fmt.Errorf("%w: no questions", ErrFormat)
	}
	return d, nil
}
