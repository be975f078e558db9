// Package scheduler decodes many requests together over one
// generate.BatchLM, the way a server does with continuous batching.
//
// One goroutine (Run) owns the model's BatchState, whose rows (slots) hold
// independent sequences. Requests wait in a bounded queue; every step the
// loop admits waiting requests into free rows, feeds each active row either
// the next chunk of its prompt (prefill) or its last sampled token, runs one
// BatchState.Step over all of them, and samples each row with its own
// generate.Sampler, penalties, logit bias, optional Constraint (constrained
// decoding), stop tokens, stop strings and token budget. Tokens and text
// pieces are queued on the request's Sequence, which never blocks the loop.
// A request leaves its row the moment it finishes, is cancelled (its
// context ends: a client disconnect or a deadline) or fails, so a freed slot
// is reused at the next step.
//
// A row's output depends only on its own request: sampling runs on
// per-sequence state, and each row of a BatchState is independent, so a
// request decoded alongside others gives the tokens it gives alone.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/kernels"
)

// Errors of Submit.
var (
	// ErrBusy means every row is taken and the queue is full; try later.
	ErrBusy = errors.New("scheduler: all slots and the queue are full")
	// ErrClosed means the scheduler has stopped.
	ErrClosed = errors.New("scheduler: closed")
)

// Options configure a Scheduler. The zero value is a valid configuration.
type Options struct {
	// Rows is the number of sequences decoded together (slots). 0 means 4.
	Rows int
	// Queue is how many submitted sequences may wait for a row; past
	// Rows+Queue outstanding sequences Submit returns ErrBusy. 0 means 64;
	// negative means no queue (only free rows admit).
	Queue int
	// MaxLen is the number of positions a row holds, prompt included. 0 (or
	// more than the model's) means the model's MaxLen.
	MaxLen int
	// PrefillBudget bounds the prompt tokens fed in one step, over all rows,
	// so that a long prompt is prefilled in chunks between the decoding
	// steps of the other rows. 0 means 256.
	PrefillBudget int
	// Decoder turns tokens into text for Event.Text and stop strings; nil
	// means no text.
	Decoder generate.Decoder
	// Logger receives warnings (a model error, a constraint with no allowed
	// token); nil discards them.
	Logger *slog.Logger
}

// Constraint restricts which tokens may come next (constrained decoding,
// such as JSON that follows a schema). A Constraint serves one sequence.
type Constraint interface {
	// Mask sets the logits of tokens that may not come next to −Inf and
	// returns how many tokens remain allowed.
	Mask(logits []float32) int
	// Advance records the chosen token.
	Advance(id int) error
	// Done reports that the output is complete and nothing may follow.
	Done() bool
}

// Request is one sequence to decode.
type Request struct {
	// Prompt is the token ids to continue (at least one, fewer than the
	// row's length).
	Prompt []int
	// Sampling picks each token; the penalties see only generated tokens
	// (OpenAI's semantics), not the prompt.
	Sampling generate.SamplingOptions
	// Seed seeds the sampler.
	Seed uint64
	// MaxTokens bounds the generated tokens; 0 means until the row is full.
	MaxTokens int
	// StopTokens end the sequence when sampled (EOS); they are not text.
	StopTokens []int
	// StopStrings end the sequence when its text contains one; the text is
	// cut before it. They need Options.Decoder.
	StopStrings []string
	// LogitBias is added to the logits of its token ids before sampling.
	LogitBias map[int]float32
	// Logprobs asks for each token's log-probability (Event.Logprob) and
	// TopLogprobs for that many most likely alternatives (Event.Top).
	Logprobs    bool
	TopLogprobs int
	// Constraint, when not nil, masks the logits before sampling.
	Constraint Constraint
	// Notify, when not nil, receives a non-blocking send whenever the
	// sequence has new events; several sequences may share one (a request
	// with several choices). It should have a buffer of at least one. nil
	// means a channel of the sequence's own (Sequence.Ready).
	Notify chan struct{}
}

// TokenLogprob is a token id with its log-probability.
type TokenLogprob struct {
	ID      int
	Logprob float32
}

// Event is one message of a Sequence: a generated token with the text it
// completed, or, last, the end of the sequence.
type Event struct {
	// Token is the generated id (-1 in the final event).
	Token int
	// Text is the text this token completed (possibly empty: text is held
	// back while it ends in an incomplete character or a possible start of
	// a stop string); the final event carries what was held back.
	Text string
	// Logprob is the token's log-probability under the distribution it was
	// sampled from, after penalties, bias and constraint but before
	// temperature, top-k/top-p/min-p (with Request.Logprobs).
	Logprob float32
	// Top holds the Request.TopLogprobs most likely tokens of that
	// distribution, most likely first.
	Top []TokenLogprob

	// Done marks the final event.
	Done bool
	// Reason says why the sequence ended (final event).
	Reason generate.FinishReason
	// Err is the cause of an abnormal end (final event): the request
	// context's error for a cancelled sequence, a model error, ErrClosed.
	Err error
	// PromptTokens and CompletionTokens count the sequence's tokens (final
	// event); CompletionTokens includes a final stop token.
	PromptTokens, CompletionTokens int
}

// Sequence is a submitted request. Its events are read with Drain or Next
// by one goroutine; the scheduler appends to them without ever blocking.
type Sequence struct {
	ctx    context.Context
	req    Request
	notify chan struct{}

	mu     sync.Mutex
	events []Event
	closed bool // the final event is queued

	// Owned by the scheduler loop.
	row       int
	fed       int    // prompt tokens in the row
	generated []int  // sampled tokens
	last      [1]int // the sampled token to feed next (Step's token list)
	sampler   *generate.Sampler
	rng       *rand.Rand // plain softmax sampling (no truncation): O(V), no sort
	text      *textStream
	top       []TokenLogprob // scratch
}

// Ready returns the channel that receives a value when new events are
// queued (Request.Notify when it was set).
func (q *Sequence) Ready() <-chan struct{} { return q.notify }

// Drain appends the queued events to dst and returns it; the events are
// removed from the sequence.
func (q *Sequence) Drain(dst []Event) []Event {
	q.mu.Lock()
	dst = append(dst, q.events...)
	clear(q.events)
	q.events = q.events[:0]
	q.mu.Unlock()
	return dst
}

// Next waits for the next event. It returns ctx's error if ctx ends first.
func (q *Sequence) Next(ctx context.Context) (Event, error) {
	for {
		q.mu.Lock()
		if len(q.events) > 0 {
			e := q.events[0]
			q.events = slices.Delete(q.events, 0, 1)
			q.mu.Unlock()
			return e, nil
		}
		q.mu.Unlock()
		select {
		case <-q.notify:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// push queues an event and signals the reader.
func (q *Sequence) push(e Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.events = append(q.events, e)
	q.closed = e.Done
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// Stats is a snapshot of a scheduler's load.
type Stats struct {
	Active  int // sequences holding a row
	Waiting int // sequences in the queue
	Rows    int // the number of rows
}

// Scheduler batches sequences over one BatchLM. Submit may be called from
// any goroutine; Run runs the loop.
type Scheduler struct {
	lm     generate.BatchLM
	state  generate.BatchState
	opts   Options
	maxLen int
	V      int
	log    *slog.Logger

	mu          sync.Mutex
	waiting     []*Sequence
	outstanding int
	closed      bool
	wake        chan struct{}

	active      []*Sequence // loop-owned, in admission order
	free        []int       // loop-owned free rows
	nActive     atomic.Int32
	stepRows    []int
	stepTokens  [][]int
	stepSeqs    []*Sequence
	readySeqs   []*Sequence
	readyLogits [][]float32
	outcomes    []outcome
	scratch     [][]float32 // sampling scratch per worker
}

// New returns a scheduler over lm with opts.Rows rows of opts.MaxLen
// positions. Call Run to start decoding.
func New(lm generate.BatchLM, opts Options) (*Scheduler, error) {
	if opts.Rows == 0 {
		opts.Rows = 4
	}
	if opts.Rows < 0 {
		return nil, fmt.Errorf("scheduler: %d rows", opts.Rows)
	}
	switch {
	case opts.Queue == 0:
		opts.Queue = 64
	case opts.Queue < 0:
		opts.Queue = 0
	}
	if opts.PrefillBudget <= 0 {
		opts.PrefillBudget = 256
	}
	maxLen := lm.MaxLen()
	if opts.MaxLen > 0 && opts.MaxLen < maxLen {
		maxLen = opts.MaxLen
	}
	if maxLen < 2 {
		return nil, fmt.Errorf("scheduler: rows of %d positions leave no room to generate", maxLen)
	}
	st, err := lm.NewBatch(opts.Rows, maxLen)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{lm: lm, state: st, opts: opts, maxLen: maxLen, V: lm.VocabSize(), log: log,
		wake: make(chan struct{}, 1), scratch: make([][]float32, min(opts.Rows, 8))}
	for r := opts.Rows - 1; r >= 0; r-- {
		s.free = append(s.free, r)
	}
	return s, nil
}

// MaxLen reports the positions of a row: a prompt plus its generated tokens
// fit in MaxLen()+1 (the last token is never fed back).
func (s *Scheduler) MaxLen() int { return s.maxLen }

// Stats reports the current load.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	w := len(s.waiting)
	s.mu.Unlock()
	return Stats{Active: int(s.nActive.Load()), Waiting: w, Rows: s.opts.Rows}
}

// Capacity is the number of sequences that may be outstanding (in rows or
// waiting) at once.
func (s *Scheduler) Capacity() int { return s.opts.Rows + s.opts.Queue }

// Submit queues the requests (the choices of one API request) together: all
// are admitted or none. Each Sequence ends when ctx ends. It returns ErrBusy
// when they do not fit in the free rows and the queue, ErrClosed after Run
// has returned, and an error naming the problem for an invalid request.
func (s *Scheduler) Submit(ctx context.Context, reqs ...Request) ([]*Sequence, error) {
	if len(reqs) > s.Capacity() {
		return nil, fmt.Errorf("scheduler: %d sequences are more than the %d this scheduler holds", len(reqs), s.Capacity())
	}
	seqs := make([]*Sequence, len(reqs))
	for i, r := range reqs {
		if err := s.check(&r); err != nil {
			return nil, err
		}
		sampling := r.Sampling
		sampling.RepetitionPenalty, sampling.PresencePenalty, sampling.FrequencyPenalty = 0, 0, 0 // applied here
		sm, err := generate.NewSampler(sampling, r.Seed)
		if err != nil {
			return nil, err
		}
		var rng *rand.Rand
		if t := sampling.Temperature; t > 0 && sampling.TopK == 0 && (sampling.TopP == 0 || sampling.TopP >= 1) && sampling.MinP == 0 {
			rng = rand.New(rand.NewPCG(r.Seed, r.Seed^0x9e3779b97f4a7c15))
		}
		notify := r.Notify
		if notify == nil {
			notify = make(chan struct{}, 1)
		}
		seqs[i] = &Sequence{ctx: ctx, req: r, notify: notify, row: -1, sampler: sm, rng: rng,
			text: newTextStream(s.opts.Decoder, r.StopStrings, r.Prompt)}
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case s.outstanding+len(seqs) > s.Capacity():
		s.mu.Unlock()
		return nil, ErrBusy
	}
	s.outstanding += len(seqs)
	s.waiting = append(s.waiting, seqs...)
	s.mu.Unlock()
	s.signal()
	return seqs, nil
}

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// check validates a request against the model.
func (s *Scheduler) check(r *Request) error {
	if err := r.Sampling.Validate(); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	switch {
	case len(r.Prompt) == 0:
		return errors.New("scheduler: empty prompt")
	case len(r.Prompt) >= s.maxLen:
		return fmt.Errorf("scheduler: a prompt of %d tokens leaves no room in rows of %d positions", len(r.Prompt), s.maxLen)
	case r.MaxTokens < 0:
		return fmt.Errorf("scheduler: max tokens %d is negative", r.MaxTokens)
	case len(r.StopStrings) > 0 && s.opts.Decoder == nil:
		return errors.New("scheduler: stop strings need a Decoder")
	case r.TopLogprobs < 0:
		return fmt.Errorf("scheduler: top logprobs %d is negative", r.TopLogprobs)
	}
	for _, id := range r.Prompt {
		if id < 0 || id >= s.V {
			return fmt.Errorf("scheduler: token id %d outside the vocabulary of %d", id, s.V)
		}
	}
	for id, b := range r.LogitBias {
		if id < 0 || id >= s.V || math.IsNaN(float64(b)) {
			return fmt.Errorf("scheduler: logit bias for token id %d outside the vocabulary of %d", id, s.V)
		}
	}
	for _, st := range r.StopStrings {
		if st == "" {
			return errors.New("scheduler: empty stop string")
		}
	}
	return nil
}

// Run decodes until ctx ends, then ends every outstanding sequence with
// ErrClosed and returns ctx's error. It must be called once.
func (s *Scheduler) Run(ctx context.Context) error {
	defer s.shutdown()
	for {
		s.admit()
		s.sweep()
		if len(s.active) == 0 {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.step()
	}
}

// shutdown ends every outstanding sequence with ErrClosed.
func (s *Scheduler) shutdown() {
	s.mu.Lock()
	s.closed = true
	waiting := s.waiting
	s.waiting = nil
	s.mu.Unlock()
	for _, q := range waiting {
		s.end(q, generate.FinishCancelled, ErrClosed)
	}
	for len(s.active) > 0 {
		s.finish(s.active[0], generate.FinishCancelled, ErrClosed)
	}
}

// admit moves waiting sequences into free rows, dropping those whose
// context has ended.
func (s *Scheduler) admit() {
	s.mu.Lock()
	var gone []*Sequence
	keep := s.waiting[:0]
	for _, q := range s.waiting {
		switch {
		case q.ctx.Err() != nil:
			gone = append(gone, q)
		case len(s.free) > 0:
			q.row = s.free[len(s.free)-1]
			s.free = s.free[:len(s.free)-1]
			s.active = append(s.active, q)
		default:
			keep = append(keep, q)
		}
	}
	clear(s.waiting[len(keep):])
	s.waiting = keep
	s.mu.Unlock()
	s.nActive.Store(int32(len(s.active)))
	for _, q := range gone {
		s.end(q, generate.FinishCancelled, q.ctx.Err())
	}
}

// sweep ends active sequences whose context has ended, freeing their rows.
func (s *Scheduler) sweep() {
	for i := 0; i < len(s.active); {
		q := s.active[i]
		if err := q.ctx.Err(); err != nil {
			s.finish(q, generate.FinishCancelled, err)
			continue
		}
		i++
	}
}

// step runs one batched forward pass over the active rows and samples the
// rows whose prompt is complete.
func (s *Scheduler) step() {
	rows, tokens, seqs := s.stepRows[:0], s.stepTokens[:0], s.stepSeqs[:0]
	budget := s.opts.PrefillBudget
	for _, q := range s.active {
		if n := len(q.req.Prompt) - q.fed; n > 0 {
			n = min(n, budget)
			if n == 0 {
				continue
			}
			budget -= n
			tokens = append(tokens, q.req.Prompt[q.fed:q.fed+n])
		} else {
			tokens = append(tokens, q.last[:])
		}
		rows = append(rows, q.row)
		seqs = append(seqs, q)
	}
	s.stepRows, s.stepTokens, s.stepSeqs = rows, tokens, seqs
	if len(rows) == 0 {
		return
	}
	logits, err := s.state.Step(rows, tokens)
	if err != nil {
		s.log.Error("scheduler: model step failed", "rows", len(rows), "err", err)
		for _, q := range seqs {
			s.finish(q, "", fmt.Errorf("scheduler: model step: %w", err))
		}
		return
	}
	ready, rl := s.readySeqs[:0], s.readyLogits[:0]
	for i, q := range seqs {
		if q.fed < len(q.req.Prompt) {
			q.fed += len(tokens[i])
			if q.fed < len(q.req.Prompt) {
				continue // more prompt to prefill
			}
		}
		ready = append(ready, q)
		rl = append(rl, logits[i*s.V:(i+1)*s.V])
	}
	s.sampleRows(ready, rl)
	clear(seqs)
	clear(ready)
	clear(rl)
	s.readySeqs, s.readyLogits = ready, rl
}

// outcome is what picking a row's token decided: whether the sequence
// ends, why, and with what error.
type outcome struct {
	end    bool
	reason generate.FinishReason
	err    error
}

// pick chooses q's next token from its row's logits (which it modifies) and
// queues its event. It touches only q and scratch, so rows are picked in
// parallel; the caller applies the outcome.
func (s *Scheduler) pick(q *Sequence, logits []float32, scratch *[]float32) outcome {
	r := &q.req
	generate.ApplyPenalties(logits, q.generated, r.Sampling)
	for id, b := range r.LogitBias {
		logits[id] += b
	}
	if r.Constraint != nil && r.Constraint.Mask(logits) == 0 {
		s.log.Warn("scheduler: the constraint allows no token; ending the sequence", "generated", len(q.generated))
		return outcome{end: true, reason: generate.FinishStop}
	}
	ev := Event{Token: -1}
	var lse float64
	if r.Logprobs {
		lse = logSumExp(logits, scratch)
	}
	var id int
	if q.rng != nil {
		id = sampleSoftmax(logits, r.Sampling.Temperature, q.rng, scratch)
	} else {
		id = q.sampler.Next(logits, nil)
	}
	ev.Token = id
	if r.Logprobs {
		ev.Logprob = float32(float64(logits[id]) - lse)
		if r.TopLogprobs > 0 {
			q.top = topK(q.top[:0], logits, r.TopLogprobs)
			ev.Top = make([]TokenLogprob, len(q.top))
			for i, t := range q.top {
				ev.Top[i] = TokenLogprob{ID: t.ID, Logprob: float32(float64(t.Logprob) - lse)}
			}
		}
	}
	q.generated = append(q.generated, id)
	if r.Constraint != nil {
		if err := r.Constraint.Advance(id); err != nil {
			return outcome{end: true, err: fmt.Errorf("scheduler: constraint: %w", err)}
		}
	}
	if slices.Contains(r.StopTokens, id) {
		return outcome{end: true, reason: generate.FinishStop}
	}
	piece, stopped, err := q.text.push(id)
	if err != nil {
		return outcome{end: true, err: err}
	}
	ev.Text = piece
	q.push(ev)
	switch {
	case stopped || (r.Constraint != nil && r.Constraint.Done()):
		return outcome{end: true, reason: generate.FinishStop}
	case r.MaxTokens > 0 && len(q.generated) >= r.MaxTokens:
		return outcome{end: true, reason: generate.FinishLength}
	}
	q.last[0] = id
	return outcome{}
}

// sampleRows picks the next token of each listed sequence from its logits,
// in parallel when the vocabulary is large enough to pay for it, then ends
// the sequences that are done.
func (s *Scheduler) sampleRows(seqs []*Sequence, logits [][]float32) {
	out := s.outcomes[:0]
	for range seqs {
		out = append(out, outcome{})
	}
	s.outcomes = out
	workers := min(len(seqs), runtime.GOMAXPROCS(0), len(s.scratch))
	if s.V < parallelVocab {
		workers = 1
	}
	if workers <= 1 {
		for i, q := range seqs {
			out[i] = s.pick(q, logits[i], &s.scratch[0])
		}
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(seqs); i += workers {
					out[i] = s.pick(seqs[i], logits[i], &s.scratch[w])
				}
			})
		}
		wg.Wait()
	}
	for i, q := range seqs {
		o := out[i]
		if !o.end && s.state.Len(q.row) >= s.maxLen {
			o = outcome{end: true, reason: generate.FinishLength} // the row is full
		}
		if o.end {
			s.finish(q, o.reason, o.err)
		}
	}
}

// parallelVocab is the vocabulary size from which rows are sampled in
// parallel (a small vocabulary samples faster than goroutines start).
const parallelVocab = 4096

// finish ends an active sequence and frees its row.
func (s *Scheduler) finish(q *Sequence, reason generate.FinishReason, err error) {
	if i := slices.Index(s.active, q); i >= 0 {
		s.active = slices.Delete(s.active, i, i+1)
	}
	if q.row >= 0 {
		s.state.Clear(q.row)
		s.free = append(s.free, q.row)
		q.row = -1
	}
	s.nActive.Store(int32(len(s.active)))
	s.end(q, reason, err)
}

// end queues q's final event and releases its place.
func (s *Scheduler) end(q *Sequence, reason generate.FinishReason, err error) {
	ev := Event{Token: -1, Done: true, Reason: reason, Err: err,
		PromptTokens: len(q.req.Prompt), CompletionTokens: len(q.generated)}
	if err == nil {
		ev.Text = q.text.flush() // text held back mid-character
	}
	q.push(ev)
	s.mu.Lock()
	s.outstanding--
	s.mu.Unlock()
}

// expScaled writes exp((logits[i] − max)/t) into dst (0 for NaN and −Inf
// logits) with the SIMD exponential and returns the max and the sum (0 when
// no logit is finite).
func expScaled(dst, logits []float32, t float64) (m float32, sum float64) {
	dst = dst[:len(logits)]
	m = kernels.Max(logits)
	if m != m || math.IsInf(float64(m), -1) {
		return m, 0
	}
	inv := float32(1 / t)
	ninf := float32(math.Inf(-1))
	for i, v := range logits {
		if v != v {
			dst[i] = ninf
			continue
		}
		dst[i] = (v - m) * inv
	}
	kernels.Exp(dst, dst)
	return m, float64(kernels.Sum(dst))
}

// sampleSoftmax draws from softmax(logits/t) in one pass of the SIMD
// exponential, without the sort that truncation (top-k, top-p, min-p)
// needs. NaN and −Inf logits are never drawn unless nothing else is left.
func sampleSoftmax(logits []float32, t float64, rng *rand.Rand, scratch *[]float32) int {
	p := grow(scratch, len(logits))
	_, sum := expScaled(p, logits, t)
	if sum == 0 || math.IsInf(sum, 0) {
		return generate.Argmax(logits)
	}
	r := rng.Float64() * sum
	last := -1
	for i, q := range p {
		if q == 0 {
			continue
		}
		last = i
		if r -= float64(q); r < 0 {
			return i
		}
	}
	return last
}

// logSumExp returns log Σ exp(x) over the finite entries of x.
func logSumExp(x []float32, scratch *[]float32) float64 {
	m, sum := expScaled(grow(scratch, len(x)), x, 1)
	if sum == 0 {
		return math.Inf(-1)
	}
	return float64(m) + math.Log(sum)
}

func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// topK appends the k largest logits of x (ids ascending among ties), largest
// first, to dst.
func topK(dst []TokenLogprob, x []float32, k int) []TokenLogprob {
	k = min(k, len(x))
	for id, v := range x {
		if v != v || math.IsInf(float64(v), -1) {
			continue
		}
		if len(dst) == k && v <= dst[k-1].Logprob {
			continue
		}
		if len(dst) < k {
			dst = append(dst, TokenLogprob{})
		}
		i := len(dst) - 1
		for i > 0 && dst[i-1].Logprob < v {
			dst[i] = dst[i-1]
			i--
		}
		dst[i] = TokenLogprob{ID: id, Logprob: v}
	}
	return dst
}
