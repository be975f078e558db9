package generate

import (
	"context"
	"errors"
	"slices"
)

// Session is one growing token sequence — a chat, a REPL — whose state (the
// KV cache) lives from one Generate call to the next, so that a turn costs
// only its new tokens instead of the whole conversation again. It holds one
// row and is used by one goroutine at a time.
type Session[S any] struct {
	m      LM[S]
	st     S
	tokens []int // the sequence so far: every prompt and every reply
	fed    int   // tokens[:fed] are in st
	ok     bool  // st exists
}

// NewSession returns an empty session over m. The state, sized for the
// model's maximum length, is created by the first Generate.
func NewSession[S any](m LM[S]) *Session[S] {
	return &Session[S]{m: m}
}

// Tokens returns the sequence so far (a copy).
func (s *Session[S]) Tokens() []int { return slices.Clone(s.tokens) }

// Cached reports how many leading tokens of Tokens are already in the state
// and will not be computed again.
func (s *Session[S]) Cached() int { return s.fed }

// SetTokens replaces the sequence, for example to drop the oldest turns of a
// conversation that outgrew the model, or to rewind to an earlier point. The
// state keeps the longest prefix it shares with tokens when it can be
// truncated (it has a Truncate(n int) error method, as the states of
// models/gpt2 and models/llama do); otherwise it is kept only when it holds
// a prefix of tokens, and recomputed on the next Generate.
func (s *Session[S]) SetTokens(tokens []int) {
	keep := 0
	for keep < min(s.fed, len(tokens)) && s.tokens[keep] == tokens[keep] {
		keep++
	}
	if keep < s.fed {
		if t, ok := any(s.st).(interface{ Truncate(n int) error }); ok && s.ok && t.Truncate(keep) == nil {
			s.fed = keep // rewound to the shared prefix
		} else {
			s.fed = 0 // the state cannot be cut back: start it over
			s.resetState()
		}
	}
	s.tokens = slices.Clone(tokens)
}

// Reset empties the session.
func (s *Session[S]) Reset() { s.SetTokens(nil) }

func (s *Session[S]) resetState() {
	if r, ok := any(s.st).(interface{ Reset() }); ok && s.ok {
		r.Reset()
		return
	}
	s.ok = false // a state without Reset is replaced
}

// Generate appends ids to the sequence and continues it, as Generate does
// for one prompt whose earlier part is already in the state: the penalties
// see the whole sequence, only the new tokens are computed. The reply is
// appended to the sequence (a final stop token included, as in
// Sequence.Tokens; drop it with SetTokens if the next turn should not see
// it). Beam search is not supported. When ctx ends the reply so far is kept
// and returned with ctx's error.
func (s *Session[S]) Generate(ctx context.Context, ids []int, opts Options) (Sequence, error) {
	if opts.NumBeams > 1 {
		return Sequence{}, errors.New("generate: a Session does not beam search")
	}
	if opts.NumReturnSequences > 1 {
		return Sequence{}, errors.New("generate: a Session returns one sequence per turn")
	}
	seq := append(slices.Clone(s.tokens), ids...)
	if err := check(s.m, [][]int{seq}, &opts); err != nil {
		return Sequence{}, err
	}
	if !s.ok {
		st, err := s.m.NewState(1, s.m.MaxLen())
		if err != nil {
			return Sequence{}, err
		}
		s.st, s.ok, s.fed = st, true, 0
	}
	sampler, err := NewSampler(opts.SamplingOptions, opts.Seed)
	if err != nil {
		return Sequence{}, err
	}
	w := newRow(0, seq, sampler, &opts)
	maxNew := newTokens(s.m.MaxLen(), len(seq), opts.MaxNewTokens)
	s.tokens = seq
	if maxNew <= 0 {
		return w.result(FinishLength), nil
	}
	if err := ctx.Err(); err != nil {
		return w.result(FinishCancelled), err
	}
	logits, err := s.m.Forward(s.st, seq[s.fed:], nil)
	if err != nil {
		s.fed = 0
		s.resetState()
		return Sequence{}, err
	}
	s.fed = len(seq)
	reason, fed, err := decode(ctx, s.m, s.st, []*row{w}, logits, maxNew)
	if reason == "" { // the model failed mid-reply: the state is unknown
		s.fed = 0
		s.resetState()
		return Sequence{}, err
	}
	out := w.result(reason)
	s.tokens = append(s.tokens, out.Tokens...)
	s.fed += fed
	return out, err
}
