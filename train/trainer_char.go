package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/data"
)

// CharVocabFile is the file a CharVocab saves to inside a model folder.
const CharVocabFile = "char_vocab.json"

// CharVocab is a character-level vocabulary, as nanoGPT's Shakespeare
// character model uses: every distinct character of the corpus (and "\n")
// is one token, ids in code-point order.
type CharVocab struct {
	Chars []string       // id → character
	index map[rune]int32 // character → id
}

// BuildCharVocab scans the corpus once and returns the vocabulary of its
// characters plus "\n". An empty corpus is an error.
func BuildCharVocab(ctx context.Context, c *data.Corpus) (*CharVocab, error) {
	seen := map[rune]bool{'\n': true}
	n := 0
	if _, err := c.ScanLines(ctx, func(l data.Line) error {
		for _, r := range l.Text {
			seen[r] = true
			n++
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("train: char vocabulary: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("train: char vocabulary: corpus %v holds no characters", c.Files)
	}
	rs := make([]rune, 0, len(seen))
	for r := range seen {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	chars := make([]string, len(rs))
	for i, r := range rs {
		chars[i] = string(r)
	}
	return newCharVocab(chars)
}

func newCharVocab(chars []string) (*CharVocab, error) {
	v := &CharVocab{Chars: chars, index: make(map[rune]int32, len(chars))}
	for i, s := range chars {
		rs := []rune(s)
		if len(rs) != 1 {
			return nil, fmt.Errorf("train: char vocabulary: entry %d %q is not one character", i, s)
		}
		if _, dup := v.index[rs[0]]; dup {
			return nil, fmt.Errorf("train: char vocabulary: duplicate %q", s)
		}
		v.index[rs[0]] = int32(i)
	}
	return v, nil
}

// Size returns the number of tokens.
func (v *CharVocab) Size() int { return len(v.Chars) }

// Encode implements data.Encoder: one id per character; a character outside
// the vocabulary is an error.
func (v *CharVocab) Encode(text string) ([]int, error) {
	ids := make([]int, 0, len(text))
	for _, r := range text {
		id, ok := v.index[r]
		if !ok {
			return nil, fmt.Errorf("train: char vocabulary: character %q not in the vocabulary", r)
		}
		ids = append(ids, int(id))
	}
	return ids, nil
}

// Decode maps ids back to text; an id outside the vocabulary is an error.
func (v *CharVocab) Decode(ids []int) (string, error) {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(v.Chars) {
			return "", fmt.Errorf("train: char vocabulary: id %d outside %d", id, len(v.Chars))
		}
		b = append(b, v.Chars[id]...)
	}
	return string(b), nil
}

// charVocabJSON is the on-disk form.
type charVocabJSON struct {
	Type  string   `json:"type"` // "char"
	Chars []string `json:"chars"`
}

// Save writes dir/char_vocab.json.
func (v *CharVocab) Save(dir string) error {
	b, err := json.Marshal(charVocabJSON{Type: "char", Chars: v.Chars})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CharVocabFile), append(b, '\n'), 0o644)
}

// Bytes returns the serialised vocabulary (a cache key for token files).
func (v *CharVocab) Bytes() []byte {
	b, _ := json.Marshal(charVocabJSON{Type: "char", Chars: v.Chars})
	return b
}

// LoadCharVocab reads a char_vocab.json file.
func LoadCharVocab(path string) (*CharVocab, error) {
	var j charVocabJSON
	if err := checkpoint.ReadJSON(path, &j, 64<<20); err != nil {
		return nil, fmt.Errorf("train: char vocabulary: %w", err)
	}
	if j.Type != "char" || len(j.Chars) == 0 {
		return nil, fmt.Errorf("train: char vocabulary: %s: not a character vocabulary", path)
	}
	return newCharVocab(j.Chars)
}
