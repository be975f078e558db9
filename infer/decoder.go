package infer

import "fmt"

// Decoder is the model-specific half of a decoder-only language model: its
// shape and one forward pass. State supplies the rest — the KV cache of
// independent rows, padding removal, chunking of long prompts, per-row
// logits, beam reordering — once for every model.
type Decoder interface {
	// Shape describes the cache the model needs and its logits.
	Shape() DecoderShape
	// Pass runs the model over the N = Σ T tokens of segs (ids, in segment
	// order; segment i holds positions Start … Start+T−1 of its row, and
	// those are also its position ids), writes their keys and values into
	// s.Cache, and the next-token logits of each segment's last position
	// into logits[i·Vocab : (i+1)·Vocab]. State commits the cache after it.
	Pass(s *State, segs []Segment, ids []int, logits []float32)
}

// DecoderShape is what State needs to know of a Decoder.
type DecoderShape struct {
	Layers, KVHeads, HeadDim int
	Heads                    int // query heads (0: KVHeads)
	Vocab                    int // logits per position
	MaxLen                   int // most positions a row can hold
	// Cache is the element type of the state's KV cache (KVDefault:
	// KVF32).
	Cache KVType
}

// Trace receives a pass's intermediate results, for comparisons with a
// reference implementation and for showing attention. Its functions are
// called while the pass runs; slices are scratch, valid during the call.
type Trace struct {
	// Hidden, when set, receives the residual stream [N, C] before layer
	// i (i = 0 … Layers−1) and the final-norm output (i = Layers).
	Hidden func(i int, x []float32)
	// Probs, when set, receives the attention probabilities of layer,
	// segment seg, head and new position t over key positions 0 … len(p)−1.
	// It is called from several goroutines at once.
	Probs func(layer, seg, head, t int, p []float32)
	// Logits, when set, receives the logits [N, Vocab] of every position
	// of the pass, not only each segment's last.
	Logits func(logits []float32)
}

// DefaultChunk bounds the positions per row in one internal pass, so that
// the scratch buffers stay small for long prompts; longer ones are fed in
// chunks through the cache.
const DefaultChunk = 256

// State is one decoding session of a Decoder: a KV cache of rows that each
// have their own length, the scratch of a pass, and each row's latest
// logits. It implements the state of generate.LM (Forward, with left
// padding removed, so a padded row costs only its real tokens), beam
// search's Reorder, and, through Batch, generate.BatchState for continuous
// batching. A State is used by one goroutine at a time.
type State struct {
	// Cache holds the keys and values of every row.
	Cache *KVCache
	// Scratch is the working memory of the pass's products and attention.
	Scratch Scratch
	// Trace, when not nil, receives the intermediate results of passes.
	Trace *Trace
	// Chunk bounds the positions per row in one pass (0: DefaultChunk).
	Chunk int

	dec    Decoder
	shape  DecoderShape
	bufs   [][]float32 // the model's activation buffers (Buf)
	segs   []Segment
	last   []float32 // [Rows, Vocab]: each row's latest next-token logits
	out    []float32 // Step's result [len(rows), Vocab]
	ids    []int     // a pass's tokens
	rows   []int
	counts []int
	pass   []float32 // a pass's logits [segments, Vocab]
	opts   []AttendOptions
	tail   []float32 // Logits' rows: the last of each segment, or all of them
	all    []float32 // Logits' logits of every position, for Trace.Logits

	prows, pcounts, pids []int // one chunked pass's share

}

// NewState returns an empty state for rows rows of up to maxLen positions
// (0 or more than the model's MaxLen means MaxLen).
func NewState(d Decoder, rows, maxLen int) (*State, error) {
	sh := d.Shape()
	if maxLen <= 0 || maxLen > sh.MaxLen {
		maxLen = sh.MaxLen
	}
	if rows <= 0 {
		return nil, fmt.Errorf("infer: a state of %d rows", rows)
	}
	c, err := NewKVCacheOf(sh.Cache, sh.Layers, rows, sh.KVHeads, sh.HeadDim, maxLen)
	if err != nil {
		return nil, err
	}
	return &State{Cache: c, dec: d, shape: sh, last: make([]float32, rows*sh.Vocab)}, nil
}

// Buf returns the model's activation buffer i resized to n values; its
// storage is kept from pass to pass, so a steady decoding loop allocates
// nothing.
func (s *State) Buf(i, n int) []float32 {
	for len(s.bufs) <= i {
		s.bufs = append(s.bufs, nil)
	}
	return s.Scratch.grow(&s.bufs[i], n)
}

// Attend returns the AttendOptions of layer for a pass: nil without a
// trace, else options that forward probabilities to Trace.Probs.
func (s *State) Attend(layer int) *AttendOptions {
	if s.Trace == nil || s.Trace.Probs == nil {
		return nil
	}
	for len(s.opts) < s.shape.Layers {
		l := len(s.opts)
		s.opts = append(s.opts, AttendOptions{Probs: func(seg, head, t int, p []float32) {
			s.Trace.Probs(l, seg, head, t, p)
		}})
	}
	return &s.opts[layer]
}

// Hidden reports the residual stream x before layer i to the trace, if any.
func (s *State) Hidden(i int, x []float32) {
	if s.Trace != nil && s.Trace.Hidden != nil {
		s.Trace.Hidden(i, x)
	}
}

// Norm is a row normalisation: *LayerNorm or *RMSNorm.
type Norm interface {
	Forward(dst, x []float32, N int)
}

// Projection maps N rows of x to N rows of y: a *Linear, or a head with
// more to it (T5's rescaled tied head).
type Projection interface {
	Forward(sc *Scratch, y, x []float32, N int)
}

// Logits ends a Decoder's pass over segs: given the residual stream x
// [N, C] after the last layer, it writes head(norm(x)) of each segment's
// last position into logits [segments, Vocab]. norm nil is the identity.
// With a Trace it also reports norm(x) of every position as the last hidden
// state, and their logits.
func (s *State) Logits(logits, x []float32, C int, segs []Segment, norm Norm, head Projection) {
	N := len(x) / C
	if tr := s.Trace; tr != nil && (tr.Hidden != nil || tr.Logits != nil) {
		h := s.Scratch.grow(&s.tail, N*C)
		copy(h, x)
		if norm != nil {
			norm.Forward(h, h, N)
		}
		s.Hidden(s.shape.Layers, h)
		if tr.Logits != nil {
			all := s.Scratch.grow(&s.all, N*s.shape.Vocab)
			head.Forward(&s.Scratch, all, h, N)
			tr.Logits(all)
		}
	}
	last := s.Scratch.grow(&s.tail, len(segs)*C)
	for i, sg := range segs {
		r := sg.Off + sg.T - 1
		copy(last[i*C:(i+1)*C], x[r*C:(r+1)*C])
	}
	if norm != nil {
		norm.Forward(last, last, len(segs))
	}
	head.Forward(&s.Scratch, logits, last, len(segs))
}

// Decoder returns the model the state belongs to.
func (s *State) Decoder() Decoder { return s.dec }

// Rows reports the number of rows.
func (s *State) Rows() int { return s.Cache.Rows }

// MaxLen reports the most positions a row can hold.
func (s *State) MaxLen() int { return s.Cache.MaxLen }

// Len reports the longest row's positions (for a one-row session, its
// length).
func (s *State) Len() int {
	n := 0
	for r := range s.Cache.Rows {
		n = max(n, s.Cache.Len(r))
	}
	return n
}

// Reset empties every row.
func (s *State) Reset() { s.Cache.Reset() }

// Truncate keeps at most the first n positions of every row.
func (s *State) Truncate(n int) error {
	if n < 0 || n > s.Len() {
		return fmt.Errorf("infer: Truncate(%d) of a state holding %d positions", n, s.Len())
	}
	for r := range s.Cache.Rows {
		if s.Cache.Len(r) > n {
			s.Cache.Truncate(r, n)
		}
	}
	return nil
}

// Reorder makes row i continue from what was row src[i], as beam search
// does between steps.
func (s *State) Reorder(src []int) error {
	if err := s.Cache.Reorder(src); err != nil {
		return err
	}
	V := s.shape.Vocab
	tmp := s.Scratch.grow(&s.Scratch.tmp, len(s.last))
	copy(tmp, s.last)
	for i, j := range src {
		copy(s.last[i*V:(i+1)*V], tmp[j*V:(j+1)*V])
	}
	return nil
}

// Forward appends ids ([Rows, T] row-major) to the rows, mask marking the
// real tokens (nil: all; false: left padding, skipped), and returns each
// row's next-token logits [Rows, Vocab], the state's buffer valid until the
// next call. A row whose T ids are all padding keeps its last logits. It is
// the Forward of generate.LM: position ids are each row's count of real
// tokens, as Hugging Face's cumsum(mask)−1 gives them.
func (s *State) Forward(ids []int, mask []bool) ([]float32, error) {
	B := s.Cache.Rows
	if len(ids) == 0 || len(ids)%B != 0 {
		return nil, fmt.Errorf("infer: %d ids do not split into %d rows", len(ids), B)
	}
	if mask != nil && len(mask) != len(ids) {
		return nil, fmt.Errorf("infer: mask has %d entries for %d ids", len(mask), len(ids))
	}
	T := len(ids) / B
	s.rows, s.counts, s.ids = s.rows[:0], s.counts[:0], s.ids[:0]
	for b := range B {
		n := 0
		for t := range T {
			if mask == nil || mask[b*T+t] {
				s.ids = append(s.ids, ids[b*T+t])
				n++
			}
		}
		if n > 0 {
			s.rows, s.counts = append(s.rows, b), append(s.counts, n)
		}
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	s.run()
	return s.last, nil
}

// check validates the pending rows, counts and ids.
func (s *State) check() error {
	off := 0
	V := s.shape.Vocab
	for i, r := range s.rows {
		if n := s.Cache.Len(r) + s.counts[i]; n > s.Cache.MaxLen {
			return fmt.Errorf("infer: row %d would hold %d positions, more than its %d", r, n, s.Cache.MaxLen)
		}
		for _, id := range s.ids[off : off+s.counts[i]] {
			if id < 0 || id >= V {
				return fmt.Errorf("infer: token id %d outside the vocabulary of %d", id, V)
			}
		}
		off += s.counts[i]
	}
	return nil
}

// run feeds the pending tokens through the model, at most Chunk positions
// per row per pass, and leaves each row's logits in s.last.
func (s *State) run() {
	chunk := s.Chunk
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	longest := 0
	for _, n := range s.counts {
		longest = max(longest, n)
	}
	if longest <= chunk {
		s.step(s.rows, s.counts, s.ids)
		return
	}
	for k := 0; k*chunk < longest; k++ {
		s.prows, s.pcounts, s.pids = s.prows[:0], s.pcounts[:0], s.pids[:0]
		off := 0
		for i, r := range s.rows {
			n := s.counts[i]
			if lo := k * chunk; lo < n {
				hi := min(n, lo+chunk)
				s.prows, s.pcounts = append(s.prows, r), append(s.pcounts, hi-lo)
				s.pids = append(s.pids, s.ids[off+lo:off+hi]...)
			}
			off += n
		}
		s.step(s.prows, s.pcounts, s.pids)
	}
}

// step runs one pass appending counts[i] tokens to rows[i].
func (s *State) step(rows, counts, ids []int) {
	V := s.shape.Vocab
	s.segs, _ = s.Cache.Plan(s.segs, rows, counts)
	s.pass = s.Scratch.grow(&s.pass, len(rows)*V)
	s.dec.Pass(s, s.segs, ids, s.pass)
	s.Cache.Commit(s.segs)
	for i, r := range rows {
		copy(s.last[r*V:(r+1)*V], s.pass[i*V:(i+1)*V])
	}
}

// Batch returns s as a generate.BatchState: rows that join, step together
// and leave independently.
func (s *State) Batch() *Rows { return &Rows{s} }

// Rows is a State seen as a set of independent rows (it implements
// generate.BatchState).
type Rows struct{ s *State }

// State returns the underlying state.
func (b *Rows) State() *State { return b.s }

// Rows reports the number of rows.
func (b *Rows) Rows() int { return b.s.Cache.Rows }

// Len reports the positions row holds.
func (b *Rows) Len(row int) int { return b.s.Cache.Len(row) }

// Clear empties row for a new sequence.
func (b *Rows) Clear(row int) {
	if row >= 0 && row < b.s.Cache.Rows {
		b.s.Cache.Clear(row)
	}
}

// Truncate keeps the first n positions of row.
func (b *Rows) Truncate(row, n int) error { return b.s.Cache.Truncate(row, n) }

// Step appends tokens[i] to row rows[i] for every i in one pass (long
// prompts in chunks) and returns the next-token logits of each listed row,
// [len(rows), Vocab], valid until the next call.
func (b *Rows) Step(rows []int, tokens [][]int) ([]float32, error) {
	s := b.s
	if len(rows) == 0 || len(rows) != len(tokens) {
		return nil, fmt.Errorf("infer: Step: %d rows and %d token lists", len(rows), len(tokens))
	}
	s.rows, s.counts, s.ids = s.rows[:0], s.counts[:0], s.ids[:0]
	for i, r := range rows {
		if r < 0 || r >= s.Cache.Rows {
			return nil, fmt.Errorf("infer: Step: row %d outside [0, %d)", r, s.Cache.Rows)
		}
		if len(tokens[i]) == 0 {
			return nil, fmt.Errorf("infer: Step: no tokens for row %d", r)
		}
		for _, prev := range rows[:i] {
			if prev == r {
				return nil, fmt.Errorf("infer: Step: row %d listed twice", r)
			}
		}
		s.rows, s.counts = append(s.rows, r), append(s.counts, len(tokens[i]))
		s.ids = append(s.ids, tokens[i]...)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	s.run()
	V := s.shape.Vocab
	s.out = s.Scratch.grow(&s.out, len(rows)*V)
	for i, r := range rows {
		copy(s.out[i*V:(i+1)*V], s.last[r*V:(r+1)*V])
	}
	return s.out, nil
}

// LM gives a Decoder the methods of generate.LM[*State] (VocabSize, MaxLen,
// NewState, Forward): a model embeds it, pointing it at itself, and decodes
// through State.
type LM struct{ Decoder Decoder }

// VocabSize reports the logits per position.
func (l LM) VocabSize() int { return l.Decoder.Shape().Vocab }

// MaxLen reports the most positions a row can hold.
func (l LM) MaxLen() int { return l.Decoder.Shape().MaxLen }

// NewState returns an empty state for batch rows of up to maxLen positions
// (0 or more than MaxLen means MaxLen).
func (l LM) NewState(batch, maxLen int) (*State, error) { return NewState(l.Decoder, batch, maxLen) }

// Forward appends ids ([B, T] row-major) to s, mask marking real tokens
// (nil: all real; false: left padding), and returns each row's next-token
// logits [B, Vocab] (see State.Forward).
func (l LM) Forward(s *State, ids []int, mask []bool) ([]float32, error) {
	if s == nil || s.dec != l.Decoder {
		return nil, fmt.Errorf("infer: the state belongs to another model")
	}
	return s.Forward(ids, mask)
}
