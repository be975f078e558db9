package generate

import (
	"errors"
	"fmt"
)

// BatchLM is a causal language model that decodes many independent
// sequences together, the way a server does with continuous batching: its
// state holds a fixed number of rows (slots), each with its own length, and
// one Step appends new tokens to any subset of them in a single batched
// forward pass. A request joins by taking a free row and leaves by clearing
// it, without touching the other rows.
type BatchLM interface {
	// VocabSize is the number of logits Step returns per row.
	VocabSize() int
	// MaxLen is the longest sequence (prompt included) a row can hold.
	MaxLen() int
	// NewBatch returns a state of rows empty rows of up to maxLen positions
	// each (0 or more than MaxLen means MaxLen).
	NewBatch(rows, maxLen int) (BatchState, error)
}

// BatchState is the per-row KV cache and scratch of a BatchLM. It is used by
// one goroutine at a time.
type BatchState interface {
	// Step appends tokens[i] (at least one id) to row rows[i] for every i,
	// in one forward pass, and returns the next-token logits of the last new
	// position of each listed row, [len(rows), VocabSize()] row-major. A row
	// appears at most once. The slice is the state's buffer, valid until the
	// next call. Rows not listed are left as they are.
	Step(rows []int, tokens [][]int) ([]float32, error)
	// Rows reports the number of rows.
	Rows() int
	// Len reports the positions row holds.
	Len(row int) int
	// Truncate keeps the first n positions of row (n ≤ Len(row)).
	Truncate(row, n int) error
	// Clear empties row for a new sequence.
	Clear(row int)
}

// CheckStep validates the arguments of a BatchState.Step for a state of
// nrows rows whose row r holds length(r) of at most maxLen positions, over a
// vocabulary of vocab ids. Model packages call it before touching their
// buffers.
func CheckStep(rows []int, tokens [][]int, nrows, maxLen, vocab int, length func(int) int) error {
	if len(rows) == 0 || len(rows) != len(tokens) {
		return fmt.Errorf("generate: Step: %d rows and %d token lists", len(rows), len(tokens))
	}
	seen := make(map[int]bool, len(rows))
	for i, r := range rows {
		if r < 0 || r >= nrows {
			return fmt.Errorf("generate: Step: row %d outside [0, %d)", r, nrows)
		}
		if seen[r] {
			return fmt.Errorf("generate: Step: row %d listed twice", r)
		}
		seen[r] = true
		if len(tokens[i]) == 0 {
			return fmt.Errorf("generate: Step: no tokens for row %d", r)
		}
		if n := length(r) + len(tokens[i]); n > maxLen {
			return fmt.Errorf("generate: Step: row %d would hold %d positions, more than its %d", r, n, maxLen)
		}
		for _, id := range tokens[i] {
			if id < 0 || id >= vocab {
				return fmt.Errorf("generate: Step: token id %d outside the vocabulary of %d", id, vocab)
			}
		}
	}
	return nil
}

// PerRow adapts any LM to BatchLM by giving each row a batch-1 state of its
// own: Step runs one Forward per listed row, so it is correct for every model
// but streams the weights once per row. Models whose state holds independent
// rows implement BatchLM natively and run one pass per Step.
func PerRow[S any](m LM[S]) BatchLM { return perRow[S]{m} }

type perRow[S any] struct{ m LM[S] }

func (p perRow[S]) VocabSize() int { return p.m.VocabSize() }
func (p perRow[S]) MaxLen() int    { return p.m.MaxLen() }

func (p perRow[S]) NewBatch(rows, maxLen int) (BatchState, error) {
	if rows <= 0 {
		return nil, fmt.Errorf("generate: NewBatch: %d rows must be positive", rows)
	}
	if maxLen <= 0 || maxLen > p.m.MaxLen() {
		maxLen = p.m.MaxLen()
	}
	return &perRowState[S]{m: p.m, maxLen: maxLen, st: make([]S, rows), ok: make([]bool, rows),
		n: make([]int, rows), logits: make([]float32, rows*p.m.VocabSize())}, nil
}

type perRowState[S any] struct {
	m      LM[S]
	maxLen int
	st     []S
	ok     []bool // st[r] exists
	n      []int  // positions per row
	logits []float32
}

func (s *perRowState[S]) Rows() int       { return len(s.st) }
func (s *perRowState[S]) Len(row int) int { return s.n[row] }

func (s *perRowState[S]) Step(rows []int, tokens [][]int) ([]float32, error) {
	V := s.m.VocabSize()
	if err := CheckStep(rows, tokens, len(s.st), s.maxLen, V, s.Len); err != nil {
		return nil, err
	}
	for i, r := range rows {
		if !s.ok[r] {
			st, err := s.m.NewState(1, s.maxLen)
			if err != nil {
				return nil, err
			}
			s.st[r], s.ok[r] = st, true
		}
		logits, err := s.m.Forward(s.st[r], tokens[i], nil)
		if err != nil {
			return nil, err
		}
		copy(s.logits[i*V:(i+1)*V], logits)
		s.n[r] += len(tokens[i])
	}
	return s.logits[:len(rows)*V], nil
}

func (s *perRowState[S]) Truncate(row, n int) error {
	if row < 0 || row >= len(s.st) || n < 0 || n > s.n[row] {
		return fmt.Errorf("generate: Truncate(%d, %d) outside the batch", row, n)
	}
	if n == s.n[row] {
		return nil
	}
	t, ok := any(s.st[row]).(interface{ Truncate(n int) error })
	if !ok {
		return errors.New("generate: Truncate: the model's state cannot be truncated")
	}
	if err := t.Truncate(n); err != nil {
		return err
	}
	s.n[row] = n
	return nil
}

func (s *perRowState[S]) Clear(row int) {
	if row < 0 || row >= len(s.st) {
		return
	}
	if r, ok := any(s.st[row]).(interface{ Reset() }); ok && s.ok[row] {
		r.Reset()
	} else {
		var zero S
		s.st[row], s.ok[row] = zero, false
	}
	s.n[row] = 0
}
