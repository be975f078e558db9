package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/serve/constrain"
	"github.com/glossa-ai/glossa/serve/scheduler"
)

// job is a planned generation request: one scheduler request per choice.
type job struct {
	reqs    []scheduler.Request
	prompts []int  // prompt tokens of each choice
	n       int    // choices per prompt
	onStart func() // called once the sequences are queued
	// out, when not nil, returns the response's stream (nil until it has
	// started): what each batch of events wrote to it is flushed after
	// the batch, or with Options.FlushInterval once the interval since the
	// last flush has passed, and at the end.
	out func() *sse
}

// chatPrompt renders the request's messages (and tools) with the model's
// chat template, or joins their contents, and encodes them.
func (rt *served) chatPrompt(req *chatRequest) ([]int, *Error) {
	cm := make([]chat.Message, 0, len(req.Messages)+1)
	for _, m := range req.Messages {
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		msg := chat.Message{Role: role, Content: string(m.Content), ToolCallID: m.ToolCallID, Name: m.Name}
		for _, c := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
		}
		cm = append(cm, msg)
	}
	var tools []json.RawMessage
	if req.toolsMode() != "" { // tool_choice none leaves the tools out of the prompt
		tools = req.toolsJSON()
		if t := rt.m.ChatTemplate; t == nil || !t.TakesTools() {
			sys := chat.Message{Role: "system", Content: toolsSystemPrompt(tools, req.toolsMode(), req.directTool())}
			if cm[0].Role == "system" {
				cm[0].Content += "\n\n" + sys.Content
			} else {
				cm = append([]chat.Message{sys}, cm...)
			}
		}
	}
	var ids []int
	if t := rt.m.ChatTemplate; t != nil {
		text, err := t.RenderWith(cm, chat.RenderOptions{AddGenerationPrompt: true, Tools: tools})
		if err != nil {
			return nil, badRequest("messages", "the model's chat template refused the conversation: %v", err)
		}
		enc, err := rt.plain.Encode(text)
		if err != nil {
			return nil, badRequest("messages", "encoding the conversation: %v", err)
		}
		ids = enc.IDs
	} else {
		parts := make([]string, len(cm))
		for i, m := range cm {
			parts[i] = m.Content
			for _, c := range m.ToolCalls {
				parts[i] += fmt.Sprintf(`{"name": %q, "arguments": %s}`, c.Name, c.Arguments)
			}
		}
		enc, err := rt.m.Tokenizer.Encode(strings.Join(parts, "\n"))
		if err != nil {
			return nil, badRequest("messages", "encoding the conversation: %v", err)
		}
		ids = enc.IDs
	}
	if len(ids) == 0 {
		return nil, badRequest("messages", "the conversation encodes to no tokens")
	}
	return ids, nil
}

// plan turns the sampling fields of a request over prompts into scheduler
// requests, checking them against the model: the context, the vocabulary,
// the schema.
func (s *Server) plan(rt *served, p *samplingParams, prompts [][]int, promptParam string, logprobs bool, top int) (*job, *Error) {
	C := rt.sched.MaxLen()
	V := rt.m.LM.VocabSize()
	mt := p.maxTokens()
	base := scheduler.Request{
		Sampling:    generate.SamplingOptions{Temperature: 1, TopP: 1},
		StopTokens:  rt.m.StopTokens,
		StopStrings: p.Stop,
		Logprobs:    logprobs,
		TopLogprobs: top,
	}
	if p.Temperature != nil {
		base.Sampling.Temperature = *p.Temperature
	}
	if p.TopP != nil {
		base.Sampling.TopP = *p.TopP
	}
	if p.TopK != nil {
		base.Sampling.TopK = *p.TopK
	}
	if p.MinP != nil {
		base.Sampling.MinP = *p.MinP
	}
	if p.RepetitionPenalty != nil {
		base.Sampling.RepetitionPenalty = *p.RepetitionPenalty
	}
	if p.PresencePenalty != nil {
		base.Sampling.PresencePenalty = *p.PresencePenalty
	}
	if p.FrequencyPenalty != nil {
		base.Sampling.FrequencyPenalty = *p.FrequencyPenalty
	}
	if len(p.LogitBias) > 0 {
		base.LogitBias = make(map[int]float32, len(p.LogitBias))
		for k, v := range p.LogitBias {
			id, _ := strconv.Atoi(k) // checked by samplingParams.check
			if id < 0 || id >= V {
				return nil, badRequest("logit_bias", "logit_bias: token id %d is outside the vocabulary of %d", id, V)
			}
			base.LogitBias[id] = float32(v)
		}
	}
	var ix *constrain.Index
	if f := p.ResponseFormat; f != nil {
		switch f.Type {
		case "json_object":
			ix = rt.objIndex
		case "json_schema":
			var err *Error
			if ix, err = rt.schemaIndex(f.JSONSchema.Schema, "response_format.json_schema.schema"); err != nil {
				return nil, err
			}
		}
	}
	seed := s.randomSeed()
	if p.Seed != nil {
		seed = uint64(*p.Seed)
	}
	n := p.choices()
	j := &job{n: n}
	for _, prompt := range prompts {
		P := len(prompt)
		if P >= C {
			return nil, &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: promptParam, Code: "context_length_exceeded",
				Message: fmt.Sprintf("the prompt is %d tokens; this model's context is %d tokens, and at least one must be left to generate", P, C)}
		}
		avail := C - P
		if mt > avail {
			return nil, &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: p.maxTokensParam(), Code: "context_length_exceeded",
				Message: fmt.Sprintf("%s %d is too large: this model's context is %d tokens and the prompt takes %d, so at most %d can be generated",
					p.maxTokensParam(), mt, C, P, avail)}
		}
		for range n {
			r := base
			r.Prompt = prompt
			r.MaxTokens = mt
			if mt == 0 {
				r.MaxTokens = avail
			}
			r.Seed = seed
			seed++
			if ix != nil {
				r.Constraint = ix.NewMatcher(rt.m.StopTokens)
			}
			j.reqs = append(j.reqs, r)
			j.prompts = append(j.prompts, P)
		}
	}
	if len(j.reqs) > rt.sched.Capacity() {
		return nil, badRequest("n", "%d sequences are more than this server holds at once (%d)", len(j.reqs), rt.sched.Capacity())
	}
	return j, nil
}

// schemaIndex compiles a response_format schema (or takes it from the
// model's cache).
func (rt *served) schemaIndex(schema json.RawMessage, param string) (*constrain.Index, *Error) {
	key := string(schema)
	rt.schemaMu.Lock()
	ix := rt.schemas[key]
	rt.schemaMu.Unlock()
	if ix != nil {
		return ix, nil
	}
	sc, err := constrain.CompileSchema(schema)
	if err != nil {
		return nil, badRequest(param, "invalid JSON schema: %v", strings.TrimPrefix(err.Error(), "constrain: "))
	}
	ix = constrain.NewIndex(sc, rt.vocab)
	rt.schemaMu.Lock()
	if len(rt.schemas) >= maxSchemas {
		clear(rt.schemas)
	}
	rt.schemas[key] = ix
	rt.schemaMu.Unlock()
	return ix, nil
}

// run submits the job's sequences and calls each with every event of each
// choice, in order per choice, until all have ended. It returns the
// submission's error (503 when busy) or the first error of each.
//
// A failed write (the client has gone, perhaps before the server's read of
// the connection noticed) cancels the sequences too, so that they leave
// their rows at the scheduler's next step rather than run to their limit.
func (s *Server) run(ctx context.Context, rt *served, j *job, arrived time.Time, each func(choice int, ev scheduler.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	notify := make(chan struct{}, 1)
	for i := range j.reqs {
		j.reqs[i].Notify = notify
	}
	seqs, err := rt.sched.Submit(ctx, j.reqs...)
	switch {
	case errors.Is(err, scheduler.ErrBusy):
		s.metrics.rejected.WithLabelValues(rt.m.ID).Inc()
		st := rt.sched.Stats()
		return &Error{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "server_busy",
			Message: fmt.Sprintf("all %d slots of %q are busy and %d requests are waiting; retry later", st.Rows, rt.m.ID, st.Waiting)}
	case errors.Is(err, scheduler.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "shutting_down", Message: "the server is shutting down"}
	case err != nil:
		return badRequest("", "%v", err)
	}
	if j.onStart != nil {
		j.onStart()
	}
	for _, P := range j.prompts {
		s.metrics.promptTok.WithLabelValues(rt.m.ID).Add(float64(P))
	}
	type progress struct {
		done  bool
		first time.Time
	}
	prog := make([]progress, len(seqs))
	left := len(seqs)
	var buf []scheduler.Event
	var werr error
	var gone time.Time    // when ctx ended
	var flushed time.Time // the stream's last flush
	var pending *time.Timer
	var pendingC <-chan time.Time // fires when the written events are due to be flushed
	for left > 0 {
		first := false // a sequence gave its first token: flush at once
		for i, q := range seqs {
			if prog[i].done {
				continue
			}
			buf = q.Drain(buf[:0])
			for _, ev := range buf {
				if !ev.Done && prog[i].first.IsZero() {
					first = true
					prog[i].first = time.Now()
					s.metrics.ttft.WithLabelValues(rt.m.ID).Observe(time.Since(arrived).Seconds())
				}
				if ev.Done {
					prog[i].done = true
					left--
					s.finished(rt, ev, prog[i].first)
				}
				if werr == nil {
					werr = each(i, ev)
				}
			}
		}
		if out := j.stream(); out != nil && out.dirty && werr == nil {
			pendingC = nil
			if wait := s.opts.FlushInterval - time.Since(flushed); left == 0 || first || wait <= 0 {
				werr = out.flush()
				flushed = time.Now()
			} else if pending == nil {
				pending = time.NewTimer(wait)
				pendingC = pending.C
			} else {
				pending.Reset(wait)
				pendingC = pending.C
			}
		}
		if left == 0 {
			break
		}
		if werr != nil {
			cancel()
		}
		if ctx.Err() == nil {
			if pendingC != nil {
				// Events wait to be flushed: the next ones can wait with
				// them, without a wake-up per step.
				select {
				case <-pendingC:
					pendingC = nil
				case <-ctx.Done():
				}
				continue
			}
			select {
			case <-notify:
			case <-ctx.Done():
			}
			continue
		}
		// The scheduler ends the sequences at its next step; wait for their
		// final events, but not for ever if it is stuck in a long step.
		if gone.IsZero() {
			gone = time.Now()
		} else if time.Since(gone) > 10*time.Second {
			return errors.Join(werr, ctx.Err())
		}
		select {
		case <-notify:
		case <-time.After(100 * time.Millisecond):
		}
	}
	if pending != nil {
		pending.Stop()
	}
	return werr
}

// stream returns the job's response stream, nil if it has none (yet).
func (j *job) stream() *sse {
	if j.out == nil {
		return nil
	}
	return j.out()
}

// finished records a sequence's end in the metrics.
func (s *Server) finished(rt *served, ev scheduler.Event, first time.Time) {
	reason := string(ev.Reason)
	switch {
	case ev.Reason == generate.FinishCancelled:
		reason = "cancelled"
	case ev.Err != nil:
		reason = "error"
	}
	s.metrics.finished.WithLabelValues(rt.m.ID, reason).Inc()
	s.metrics.outTok.WithLabelValues(rt.m.ID).Add(float64(ev.CompletionTokens))
	if !first.IsZero() && ev.CompletionTokens > 1 {
		if d := time.Since(first).Seconds(); d > 0 {
			s.metrics.tokPerSec.WithLabelValues(rt.m.ID).Observe(float64(ev.CompletionTokens-1) / d)
		}
	}
}

// endError turns the error of a sequence's final event into an API error.
func (s *Server) endError(ev scheduler.Event) *Error {
	switch {
	case ev.Err == nil:
		return nil
	case errors.Is(ev.Err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Type: "server_error", Code: "timeout",
			Message: fmt.Sprintf("the request did not finish within the server's limit of %v", s.opts.RequestTimeout)}
	case errors.Is(ev.Err, context.Canceled):
		return &Error{Status: 499, Type: "invalid_request_error", Code: "cancelled", Message: "the request was cancelled"}
	case errors.Is(ev.Err, scheduler.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "shutting_down", Message: "the server is shutting down"}
	}
	return serverError("generation failed: %v", ev.Err)
}

// finishReason is OpenAI's spelling of a sequence's end.
func finishReason(r generate.FinishReason) string {
	if r == generate.FinishLength {
		return "length"
	}
	return "stop"
}

// usage is OpenAI's token accounting.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// tokenText returns the text of a token for logprobs: its bytes, or its
// vocabulary string for a special token.
func (rt *served) tokenText(id int) (string, []byte) {
	if p := rt.vocab.Piece(id); p != nil {
		return string(p), p
	}
	t, _ := rt.m.Tokenizer.IDToToken(id)
	return t, []byte(t)
}

// sse writes Server-Sent Events. Events are written as they come and
// flushed once per batch (flush), so that a client that lags behind the
// scheduler gets the tokens of several steps in one write.
type sse struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	buf   bytes.Buffer
	enc   *json.Encoder
	dirty bool
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	e := &sse{w: w, rc: http.NewResponseController(w)}
	e.enc = json.NewEncoder(&e.buf)
	return e
}

// send writes one "data:" event with v as JSON, unflushed.
func (e *sse) send(v any) error {
	e.buf.Reset()
	e.buf.WriteString("data: ")
	if err := e.enc.Encode(v); err != nil { // ends with a newline
		return err
	}
	e.buf.WriteByte('\n')
	e.dirty = true
	_, err := e.w.Write(e.buf.Bytes())
	return err
}

// write writes one event already framed ("data: …" and the blank line),
// unflushed.
func (e *sse) write(event []byte) error {
	e.dirty = true
	_, err := e.w.Write(event)
	return err
}

// flush sends what was written since the last flush.
func (e *sse) flush() error {
	if e == nil || !e.dirty {
		return nil
	}
	e.dirty = false
	return e.rc.Flush()
}

// raw writes one "data:" event of b and flushes.
func (e *sse) raw(b []byte) error {
	e.buf.Reset()
	e.buf.WriteString("data: ")
	e.buf.Write(b)
	e.buf.WriteString("\n\n")
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return err
	}
	e.dirty = false
	return e.rc.Flush()
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}
