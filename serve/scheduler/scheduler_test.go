package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/generate"
)

// fakeLM is a BatchLM whose next-token logits are a fixed pseudo-random
// function of a row's whole history, so that any mix-up between rows, a
// missed token or a stale cache changes the output. It records the rows of
// every step and can run a hook before each.
type fakeLM struct {
	V, maxLen int

	mu    sync.Mutex
	steps [][]int   // rows of each step
	sizes [][]int   // tokens per row of each step
	hook  func(int) // called with the step number before each step
}

type fakeState struct {
	m      *fakeLM
	hist   [][]int
	logits []float32
}

func (m *fakeLM) VocabSize() int { return m.V }
func (m *fakeLM) MaxLen() int    { return m.maxLen }

func (m *fakeLM) NewBatch(rows, maxLen int) (generate.BatchState, error) {
	return &fakeState{m: m, hist: make([][]int, rows)}, nil
}

func (s *fakeState) Rows() int       { return len(s.hist) }
func (s *fakeState) Len(row int) int { return len(s.hist[row]) }
func (s *fakeState) Clear(row int)   { s.hist[row] = nil }

func (s *fakeState) Truncate(row, n int) error {
	s.hist[row] = s.hist[row][:n]
	return nil
}

func (s *fakeState) Step(rows []int, tokens [][]int) ([]float32, error) {
	m := s.m
	m.mu.Lock()
	n := len(m.steps)
	hook := m.hook
	m.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	if err := generate.CheckStep(rows, tokens, len(s.hist), m.maxLen, m.V, s.Len); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.steps = append(m.steps, slices.Clone(rows))
	var sizes []int
	for _, t := range tokens {
		sizes = append(sizes, len(t))
	}
	m.sizes = append(m.sizes, sizes)
	m.mu.Unlock()
	s.logits = s.logits[:0]
	for i, r := range rows {
		s.hist[r] = append(s.hist[r], tokens[i]...)
		s.logits = append(s.logits, hashLogits(s.hist[r], m.V)...)
	}
	return s.logits, nil
}

// hashLogits hashes a history into V logits in [−4, 4).
func hashLogits(hist []int, V int) []float32 {
	h := uint64(1469598103934665603)
	for _, id := range hist {
		h = (h ^ uint64(id+1)) * 1099511628211
	}
	out := make([]float32, V)
	for v := range out {
		x := (h ^ uint64(v)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
		x ^= x >> 31
		out[v] = float32(x%8000)/1000 - 4
	}
	return out
}

// letters decodes id i as the letter 'a'+i.
type letters struct{}

func (letters) Decode(ids []int, _ bool) (string, error) {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteByte(byte('a' + id))
	}
	return sb.String(), nil
}

// result is what a test reads off a sequence.
type result struct {
	tokens []int
	text   string
	reason generate.FinishReason
	err    error
	lps    []float32
	events int
}

func collect(t *testing.T, q *Sequence) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var r result
	for {
		e, err := q.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for events: %v", err)
		}
		r.events++
		r.text += e.Text
		if e.Done {
			r.reason, r.err = e.Reason, e.Err
			if e.CompletionTokens < len(r.tokens) {
				t.Errorf("CompletionTokens %d < %d tokens seen", e.CompletionTokens, len(r.tokens))
			}
			return r
		}
		r.tokens = append(r.tokens, e.Token)
		r.lps = append(r.lps, e.Logprob)
	}
}

func start(t *testing.T, m generate.BatchLM, opts Options) *Scheduler {
	t.Helper()
	s, err := New(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

func submit(t *testing.T, s *Scheduler, ctx context.Context, r Request) *Sequence {
	t.Helper()
	qs, err := s.Submit(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	return qs[0]
}

// requests is a varied set: greedy and sampled, penalties, stop tokens and
// strings, budgets, logprobs.
func requests() []Request {
	var rs []Request
	for i := range 9 {
		r := Request{Prompt: []int{1 + i%5, 2, 3 + i}, Seed: uint64(i), MaxTokens: 5 + 3*i, Logprobs: true, TopLogprobs: i % 3}
		switch i % 4 {
		case 1:
			r.Sampling = generate.SamplingOptions{Temperature: 0.9, TopP: 0.9}
		case 2:
			r.Sampling = generate.SamplingOptions{Temperature: 1.2, TopK: 5, PresencePenalty: 0.5, FrequencyPenalty: 0.3}
			r.StopStrings = []string{"ab", "q"}
		case 3:
			r.StopTokens = []int{4, 7}
			r.LogitBias = map[int]float32{3: 2}
		}
		rs = append(rs, r)
	}
	return rs
}

// TestMatchesAlone checks that every request served among others, in fewer
// rows than requests, gives exactly what it gives alone in a scheduler of
// one row.
func TestMatchesAlone(t *testing.T) {
	rs := requests()
	alone := make([]result, len(rs))
	for i, r := range rs {
		s := start(t, &fakeLM{V: 17, maxLen: 64}, Options{Rows: 1, Decoder: letters{}})
		alone[i] = collect(t, submit(t, s, context.Background(), r))
	}
	m := &fakeLM{V: 17, maxLen: 64}
	s := start(t, m, Options{Rows: 3, Decoder: letters{}})
	var qs []*Sequence
	for _, r := range rs {
		qs = append(qs, submit(t, s, context.Background(), r))
	}
	for i, q := range qs {
		got := collect(t, q)
		if !slices.Equal(got.tokens, alone[i].tokens) || got.text != alone[i].text || got.reason != alone[i].reason ||
			!slices.Equal(got.lps, alone[i].lps) {
			t.Errorf("request %d: batched %v %q %s, alone %v %q %s", i, got.tokens, got.text, got.reason,
				alone[i].tokens, alone[i].text, alone[i].reason)
		}
		if got.err != nil {
			t.Errorf("request %d: %v", i, got.err)
		}
	}
	batched := 0
	for _, rows := range m.steps {
		if len(rows) > 1 {
			batched++
		}
		if len(rows) > 3 {
			t.Fatalf("a step over %d rows with 3 slots", len(rows))
		}
	}
	if batched == 0 {
		t.Error("no step decoded several rows together")
	}
}

// TestGreedyMatchesGenerate checks a greedy request against generate's own
// decoding loop over the same model through the per-row adapter.
func TestGreedyMatchesGenerate(t *testing.T) {
	lm := &histLM{V: 13, maxLen: 40}
	s := start(t, generate.PerRow[*histState](lm), Options{Rows: 2, Decoder: letters{}})
	prompt := []int{3, 1, 4, 1, 5}
	got := collect(t, submit(t, s, context.Background(), Request{Prompt: prompt, MaxTokens: 12, StopTokens: []int{0}}))
	seqs, err := generate.Generate(context.Background(), lm, [][]int{prompt},
		generate.Options{MaxNewTokens: 12, StopTokens: []int{0}, Decoder: letters{}})
	if err != nil {
		t.Fatal(err)
	}
	want := seqs[0].Tokens
	if seqs[0].Reason == generate.FinishStop {
		want = want[:len(want)-1] // the stop token is no event
	}
	if !slices.Equal(got.tokens, want) || got.text != seqs[0].Text || got.reason != seqs[0].Reason {
		t.Fatalf("scheduler %v %q %s; generate %v %q %s", got.tokens, got.text, got.reason, seqs[0].Tokens, seqs[0].Text, seqs[0].Reason)
	}
}

// histLM is a generate.LM over hashLogits, for the per-row adapter.
type histLM struct{ V, maxLen int }
type histState struct{ rows [][]int }

func (m *histLM) VocabSize() int { return m.V }
func (m *histLM) MaxLen() int    { return m.maxLen }
func (m *histLM) NewState(batch, maxLen int) (*histState, error) {
	return &histState{rows: make([][]int, batch)}, nil
}
func (m *histLM) Forward(s *histState, ids []int, mask []bool) ([]float32, error) {
	B := len(s.rows)
	T := len(ids) / B
	var out []float32
	for b := range B {
		for t := range T {
			if mask == nil || mask[b*T+t] {
				s.rows[b] = append(s.rows[b], ids[b*T+t])
			}
		}
		out = append(out, hashLogits(s.rows[b], m.V)...)
	}
	return out, nil
}
func (s *histState) Reset() { clear(s.rows) }

// TestJoinLeave submits requests while others are decoding and checks that
// each joins at the next step, leaves when done, and still matches its solo
// run.
func TestJoinLeave(t *testing.T) {
	rs := requests()[:6]
	alone := make([]result, len(rs))
	for i, r := range rs {
		s := start(t, &fakeLM{V: 17, maxLen: 64}, Options{Rows: 1, Decoder: letters{}})
		alone[i] = collect(t, submit(t, s, context.Background(), r))
	}
	m := &fakeLM{V: 17, maxLen: 64}
	s, err := New(m, Options{Rows: 4, Decoder: letters{}})
	if err != nil {
		t.Fatal(err)
	}
	type joined struct {
		i int
		q *Sequence
	}
	ch := make(chan joined, len(rs))
	// Request 0 starts the loop; request i is submitted from inside step
	// 3i, while the others decode.
	q0, err := s.Submit(context.Background(), rs[0])
	if err != nil {
		t.Fatal(err)
	}
	ch <- joined{0, q0[0]}
	m.hook = func(step int) {
		if i := step / 3; step%3 == 0 && i > 0 && i < len(rs) {
			q, err := s.Submit(context.Background(), rs[i])
			if err != nil {
				t.Error(err)
				return
			}
			ch <- joined{i, q[0]}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	for range rs {
		var j joined
		select {
		case j = <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("a request was never submitted")
		}
		got := collect(t, j.q)
		if !slices.Equal(got.tokens, alone[j.i].tokens) || got.text != alone[j.i].text {
			t.Errorf("request %d: joined %v %q, alone %v %q", j.i, got.tokens, got.text, alone[j.i].tokens, alone[j.i].text)
		}
	}
}

// TestCancelFreesRowNextStep cancels a request from inside a step and checks
// that the following step no longer includes its row, that the row is
// reused, and that the sequence ends with the context's error.
func TestCancelFreesRowNextStep(t *testing.T) {
	m := &fakeLM{V: 17, maxLen: 200}
	s := start(t, m, Options{Rows: 2})
	ctx, cancel := context.WithCancel(context.Background())
	long := submit(t, s, ctx, Request{Prompt: []int{1, 2}, MaxTokens: 150})
	other := submit(t, s, context.Background(), Request{Prompt: []int{3}, MaxTokens: 40})
	var cancelledAt int
	m.mu.Lock()
	m.hook = func(step int) {
		if step == 10 {
			cancel()
			cancelledAt = step
		}
	}
	m.mu.Unlock()
	r := collect(t, long)
	if r.reason != generate.FinishCancelled || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled request: reason %q, err %v", r.reason, r.err)
	}
	// A third request takes the freed row while the other still decodes.
	third := submit(t, s, context.Background(), Request{Prompt: []int{5}, MaxTokens: 3})
	collect(t, other)
	collect(t, third)
	m.mu.Lock()
	defer m.mu.Unlock()
	// Step cancelledAt ran (the hook runs before it); from the next one on,
	// only the other request's row (and later the third's) is stepped.
	if len(m.steps[cancelledAt]) != 2 {
		t.Fatalf("step %d had rows %v", cancelledAt, m.steps[cancelledAt])
	}
	if len(m.steps[cancelledAt+1]) != 1 {
		t.Fatalf("the step after the cancellation had rows %v: the cancelled row was not freed", m.steps[cancelledAt+1])
	}
	if st := s.Stats(); st.Active != 0 || st.Waiting != 0 {
		t.Fatalf("stats after all ended: %+v", st)
	}
}

// TestBusyAndQueue fills the rows and the queue, then checks ErrBusy, and
// that a cancelled waiting request releases its place.
func TestBusyAndQueue(t *testing.T) {
	m := &fakeLM{V: 17, maxLen: 400}
	gate := make(chan struct{})
	m.hook = func(step int) {
		if step == 1 {
			<-gate
		}
	}
	s := start(t, m, Options{Rows: 1, Queue: 1})
	a := submit(t, s, context.Background(), Request{Prompt: []int{1}, MaxTokens: 5})
	ctx, cancel := context.WithCancel(context.Background())
	b := submit(t, s, ctx, Request{Prompt: []int{2}, MaxTokens: 5})
	if _, err := s.Submit(context.Background(), Request{Prompt: []int{3}}); !errors.Is(err, ErrBusy) {
		t.Fatalf("third request: %v, want ErrBusy", err)
	}
	if _, err := s.Submit(context.Background(), Request{Prompt: []int{3}}, Request{Prompt: []int{3}}, Request{Prompt: []int{3}}); err == nil || errors.Is(err, ErrBusy) {
		t.Fatalf("more choices than capacity: %v, want a plain error", err)
	}
	cancel()
	close(gate)
	if r := collect(t, b); r.reason != generate.FinishCancelled {
		t.Fatalf("cancelled waiting request ended %q", r.reason)
	}
	collect(t, a)
	c := submit(t, s, context.Background(), Request{Prompt: []int{3}, MaxTokens: 2})
	if r := collect(t, c); len(r.tokens) != 2 {
		t.Fatalf("after the queue drained: %v", r.tokens)
	}
}

// TestDeadline ends a request whose context has a deadline.
func TestDeadline(t *testing.T) {
	m := &fakeLM{V: 17, maxLen: 100000}
	m.hook = func(int) { time.Sleep(time.Millisecond) }
	s := start(t, m, Options{Rows: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	r := collect(t, submit(t, s, ctx, Request{Prompt: []int{1}}))
	if r.reason != generate.FinishCancelled || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("reason %q err %v", r.reason, r.err)
	}
}

// TestPrefillChunks checks that a long prompt is fed in chunks of the
// budget, interleaved with another row's decoding, with the same output.
func TestPrefillChunks(t *testing.T) {
	prompt := make([]int, 50)
	for i := range prompt {
		prompt[i] = (i * 7) % 17
	}
	req := Request{Prompt: prompt, MaxTokens: 6}
	aloneS := start(t, &fakeLM{V: 17, maxLen: 100}, Options{Rows: 1})
	alone := collect(t, submit(t, aloneS, context.Background(), req))

	m := &fakeLM{V: 17, maxLen: 100}
	s := start(t, m, Options{Rows: 2, PrefillBudget: 8})
	short := submit(t, s, context.Background(), Request{Prompt: []int{1}, MaxTokens: 20})
	long := submit(t, s, context.Background(), req)
	got := collect(t, long)
	collect(t, short)
	if !slices.Equal(got.tokens, alone.tokens) {
		t.Fatalf("chunked %v, whole %v", got.tokens, alone.tokens)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, sizes := range m.sizes {
		total := 0
		for _, n := range sizes {
			if n > 1 {
				total += n
			}
		}
		if total > 8 {
			t.Fatalf("step %d fed %v prompt tokens, over the budget of 8", i, sizes)
		}
	}
}

// TestStops checks stop strings (text cut before them), stop tokens (not in
// the text), the token budget and the row's length.
func TestStops(t *testing.T) {
	m := &fakeLM{V: 17, maxLen: 12}
	s := start(t, m, Options{Rows: 2, Decoder: letters{}})
	free := collect(t, submit(t, s, context.Background(), Request{Prompt: []int{1, 2}}))
	if free.reason != generate.FinishLength || len(free.tokens) != 11 {
		t.Fatalf("unbounded request: %d tokens (%s), want 11 (a row of 12 positions after 2 prompt tokens, plus the last)", len(free.tokens), free.reason)
	}
	text := free.text
	// Cut at a stop string taken from the middle of that text.
	stop := text[4:6]
	want := text[:strings.Index(text, stop)]
	r := collect(t, submit(t, s, context.Background(), Request{Prompt: []int{1, 2}, StopStrings: []string{stop, "zzz"}}))
	if r.reason != generate.FinishStop || r.text != want {
		t.Fatalf("stop %q: %q (%s), want %q", stop, r.text, r.reason, want)
	}
	id := free.tokens[3]
	r = collect(t, submit(t, s, context.Background(), Request{Prompt: []int{1, 2}, StopTokens: []int{id}}))
	if r.reason != generate.FinishStop || r.text != text[:strings.IndexByte(text, byte('a'+id))] {
		t.Fatalf("stop token %d: %q (%s) from %q", id, r.text, r.reason, text)
	}
	r = collect(t, submit(t, s, context.Background(), Request{Prompt: []int{1, 2}, MaxTokens: 3}))
	if r.reason != generate.FinishLength || r.text != text[:3] {
		t.Fatalf("max tokens 3: %q (%s)", r.text, r.reason)
	}
}

// TestLogprobs checks that log-probabilities are normalised and that the top
// alternatives are sorted and include a greedy choice.
func TestLogprobs(t *testing.T) {
	s := start(t, &fakeLM{V: 17, maxLen: 50}, Options{Rows: 1})
	q := submit(t, s, context.Background(), Request{Prompt: []int{1}, MaxTokens: 5, Logprobs: true, TopLogprobs: 17})
	ctx := context.Background()
	for {
		e, err := q.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e.Done {
			break
		}
		var sum float64
		for i, tl := range e.Top {
			sum += math.Exp(float64(tl.Logprob))
			if i > 0 && tl.Logprob > e.Top[i-1].Logprob {
				t.Fatalf("top logprobs not sorted: %v", e.Top)
			}
		}
		if len(e.Top) != 17 || math.Abs(sum-1) > 1e-4 {
			t.Fatalf("top of all 17: %d entries summing to %v", len(e.Top), sum)
		}
		if e.Top[0].ID != e.Token || e.Top[0].Logprob != e.Logprob {
			t.Fatalf("greedy token %d (%v) is not the top one %+v", e.Token, e.Logprob, e.Top[0])
		}
	}
}

// maskAll is a constraint allowing only token 2 until it has seen three,
// then done.
type onlyTwo struct{ n int }

func (c *onlyTwo) Mask(l []float32) int {
	for i := range l {
		if i != 2 {
			l[i] = float32(math.Inf(-1))
		}
	}
	return 1
}
func (c *onlyTwo) Advance(id int) error {
	if id != 2 {
		return fmt.Errorf("token %d", id)
	}
	c.n++
	return nil
}
func (c *onlyTwo) Done() bool { return c.n == 3 }

func TestConstraint(t *testing.T) {
	s := start(t, &fakeLM{V: 17, maxLen: 50}, Options{Rows: 1, Decoder: letters{}})
	r := collect(t, submit(t, s, context.Background(), Request{Prompt: []int{1}, Sampling: generate.SamplingOptions{Temperature: 1},
		Constraint: &onlyTwo{}, Logprobs: true}))
	if r.text != "ccc" || r.reason != generate.FinishStop || r.lps[0] != 0 {
		t.Fatalf("constrained: %q %s %v", r.text, r.reason, r.lps)
	}
}

// TestClosed checks that Run's end finishes outstanding sequences and that
// Submit then fails.
func TestClosed(t *testing.T) {
	m := &fakeLM{V: 17, maxLen: 100000}
	s, err := New(m, Options{Rows: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.hook = func(step int) {
		if step == 5 {
			cancel()
		}
	}
	a := submit(t, s, context.Background(), Request{Prompt: []int{1}})
	b := submit(t, s, context.Background(), Request{Prompt: []int{1}})
	if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	for _, q := range []*Sequence{a, b} {
		if r := collect(t, q); !errors.Is(r.err, ErrClosed) {
			t.Fatalf("after close: %v", r.err)
		}
	}
	if _, err := s.Submit(context.Background(), Request{Prompt: []int{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after close: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	s, err := New(&fakeLM{V: 17, maxLen: 10}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Request{
		"empty":        {},
		"too long":     {Prompt: make([]int, 10)},
		"bad id":       {Prompt: []int{17}},
		"negative max": {Prompt: []int{1}, MaxTokens: -1},
		"stop no dec":  {Prompt: []int{1}, StopStrings: []string{"x"}},
		"bias id":      {Prompt: []int{1}, LogitBias: map[int]float32{99: 1}},
		"temperature":  {Prompt: []int{1}, Sampling: generate.SamplingOptions{Temperature: -1}},
	} {
		if _, err := s.Submit(context.Background(), r); err == nil || errors.Is(err, ErrBusy) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
