package pretrain

import (
	"context"
	"fmt"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/tokenizer/char"
)

// BuildCharVocab scans the corpus once and returns the character
// vocabulary of its characters plus "\n" (nanoGPT's Shakespeare model). An
// empty corpus is an error.
func BuildCharVocab(ctx context.Context, c *data.Corpus) (*char.Model, error) {
	seen := map[rune]bool{'\n': true}
	n := 0
	if _, err := c.ScanLines(ctx, func(l data.Line) error {
		for _, r := range l.Text {
			seen[r] = true
			n++
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("pretrain: char vocabulary: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("pretrain: char vocabulary: corpus %v holds no characters", c.Files)
	}
	rs := make([]rune, 0, len(seen))
	for r := range seen {
		rs = append(rs, r)
	}
	m, err := char.FromRunes(rs)
	if err != nil {
		return nil, fmt.Errorf("pretrain: char vocabulary: %w", err)
	}
	return m, nil
}
