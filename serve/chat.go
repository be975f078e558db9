package serve

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/serve/constrain"
	"github.com/glossa-ai/glossa/serve/scheduler"
)

// OpenAI's chat completion objects.
type (
	chatCompletion struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"`
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		SystemFingerprint string       `json:"system_fingerprint"`
		Choices           []chatChoice `json:"choices"`
		Usage             usage        `json:"usage"`
	}
	chatChoice struct {
		Index        int           `json:"index"`
		Message      chatReply     `json:"message"`
		Logprobs     *chatLogprobs `json:"logprobs"`
		FinishReason string        `json:"finish_reason"`
	}
	chatReply struct {
		Role      string            `json:"role"`
		Content   *string           `json:"content"`
		Refusal   *string           `json:"refusal"`
		ToolCalls []messageToolCall `json:"tool_calls,omitempty"`
	}
	chatLogprobs struct {
		Content []tokenLogprob `json:"content"`
		Refusal []tokenLogprob `json:"refusal"`
	}
	tokenLogprob struct {
		Token       string       `json:"token"`
		Logprob     float32      `json:"logprob"`
		Bytes       []int        `json:"bytes"`
		TopLogprobs []topLogprob `json:"top_logprobs"`
	}
	topLogprob struct {
		Token   string  `json:"token"`
		Logprob float32 `json:"logprob"`
		Bytes   []int   `json:"bytes"`
	}
	chatChunk struct {
		ID                string        `json:"id"`
		Object            string        `json:"object"`
		Created           int64         `json:"created"`
		Model             string        `json:"model"`
		SystemFingerprint string        `json:"system_fingerprint"`
		Choices           []chunkChoice `json:"choices"`
		Usage             *usage        `json:"usage,omitempty"`
	}
	chunkChoice struct {
		Index        int           `json:"index"`
		Delta        chunkDelta    `json:"delta"`
		Logprobs     *chatLogprobs `json:"logprobs"`
		FinishReason *string       `json:"finish_reason"`
	}
	chunkDelta struct {
		Role      string            `json:"role,omitempty"`
		Content   *string           `json:"content,omitempty"`
		ToolCalls []messageToolCall `json:"tool_calls,omitempty"`
	}
)

const fingerprint = "glossa"

func byteList(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

// chatLogprob converts an event's log-probabilities.
func (rt *served) chatLogprob(ev scheduler.Event) tokenLogprob {
	text, b := rt.tokenText(ev.Token)
	tl := tokenLogprob{Token: text, Logprob: ev.Logprob, Bytes: byteList(b), TopLogprobs: []topLogprob{}}
	for _, t := range ev.Top {
		text, b := rt.tokenText(t.ID)
		tl.TopLogprobs = append(tl.TopLogprobs, topLogprob{Token: text, Logprob: t.Logprob, Bytes: byteList(b)})
	}
	return tl
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) error {
	arrived := time.Now()
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, aerr := decodeChatRequest(body)
	if aerr != nil {
		return aerr
	}
	rt, aerr := s.lookup(req.Model)
	if aerr != nil {
		return aerr
	}
	if aerr := rt.generates("/v1/chat/completions"); aerr != nil {
		return aerr
	}
	prompt, aerr := rt.chatPrompt(req)
	if aerr != nil {
		return aerr
	}
	logprobs := req.Logprobs != nil && *req.Logprobs
	top := 0
	if req.TopLogprobs != nil {
		top = *req.TopLogprobs
	}
	var tools *constrain.Index // a call of a tool, when one is required
	if mode := req.toolsMode(); mode == "required" || mode == "function" {
		if tools, aerr = rt.toolIndex(req); aerr != nil {
			return aerr
		}
	}
	j, aerr := s.plan(rt, &req.samplingParams, [][]int{prompt}, "messages", logprobs, top)
	if aerr != nil {
		return aerr
	}
	for i := range j.reqs {
		if tools != nil {
			j.reqs[i].Constraint = tools.NewMatcher(rt.m.StopTokens)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	id, created := s.newID("chatcmpl-"), time.Now().Unix()
	if req.Stream {
		return s.streamChat(w, rt, j, req, id, created, logprobs, arrived, ctx)
	}

	out := chatCompletion{ID: id, Object: "chat.completion", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint}
	texts := make([]strings.Builder, len(j.reqs))
	for i := range j.reqs {
		c := chatChoice{Index: i, Message: chatReply{Role: "assistant"}}
		if logprobs {
			c.Logprobs = &chatLogprobs{Content: []tokenLogprob{}, Refusal: nil}
		}
		out.Choices = append(out.Choices, c)
	}
	var failed *Error
	err = s.run(ctx, rt, j, arrived, func(i int, ev scheduler.Event) error {
		texts[i].WriteString(ev.Text)
		c := &out.Choices[i]
		if !ev.Done {
			if logprobs {
				c.Logprobs.Content = append(c.Logprobs.Content, rt.chatLogprob(ev))
			}
			return nil
		}
		if e := s.endError(ev); e != nil && failed == nil {
			failed = e
		}
		c.FinishReason = finishReason(ev.Reason)
		out.Usage.PromptTokens += ev.PromptTokens
		out.Usage.CompletionTokens += ev.CompletionTokens
		return nil
	})
	if err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	// One prompt, n choices: OpenAI counts the prompt once.
	out.Usage.PromptTokens = len(prompt)
	out.Usage.TotalTokens = out.Usage.PromptTokens + out.Usage.CompletionTokens
	for i := range out.Choices {
		c := &out.Choices[i]
		text := texts[i].String()
		c.Message.Content = &text
		if req.toolsMode() == "" {
			continue
		}
		if name := req.directTool(); name != "" {
			if call, ok := directCall(name, text); ok && c.FinishReason == "stop" {
				c.Message.ToolCalls, c.FinishReason, c.Message.Content = s.callsOut([]chat.ToolCall{call}), "tool_calls", nil
			}
			continue
		}
		if calls, content, ok := s.toolCalls(req, text); ok {
			c.Message.ToolCalls, c.FinishReason = calls, "tool_calls"
			c.Message.Content = nil
			if content != "" {
				c.Message.Content = &content
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) streamChat(w http.ResponseWriter, rt *served, j *job, req *chatRequest, id string, created int64,
	logprobs bool, arrived time.Time, ctx context.Context) error {
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	chunk := func(choices ...chunkChoice) chatChunk {
		return chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint, Choices: choices}
	}
	// Submitting first lets a busy server answer 503 before the stream
	// starts; the role chunks go out as soon as the sequences are queued.
	var ev0 *sse
	started := func() *sse {
		if ev0 == nil {
			ev0 = startSSE(w)
			empty := ""
			for i := range j.reqs {
				ev0.send(chunk(chunkChoice{Index: i, Delta: chunkDelta{Role: "assistant", Content: &empty}}))
			}
		}
		return ev0
	}
	j.onStart = func() { started() }
	j.out = func() *sse { return ev0 }
	pending := make([][]tokenLogprob, len(j.reqs))
	// A reply that may be a tool call is held back until it is known not
	// to be one, or until it ends and is parsed.
	held := make([]strings.Builder, len(j.reqs))
	holding := make([]bool, len(j.reqs))
	parsers := make([]*toolStream, len(j.reqs)) // the calls of a held reply, as they come
	direct := req.directTool()
	limit := 0
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		limit = 1
	}
	for i := range holding {
		holding[i] = req.toolsMode() != "" && direct == ""
		parsers[i] = newToolStream(req.Tools, limit)
	}
	var calls []messageToolCall // a direct tool's call per choice, once opened
	if direct != "" {
		calls = make([]messageToolCall, len(j.reqs))
	}
	deltas := newDeltaEvents(true, id, created, rt.m.ID)
	var u usage
	err := s.run(ctx, rt, j, arrived, func(i int, ev scheduler.Event) error {
		out := started()
		if !ev.Done && logprobs {
			pending[i] = append(pending[i], rt.chatLogprob(ev))
		}
		if direct != "" {
			return s.streamDirect(out, chunk, i, ev, &calls[i], direct, &pending[i], &u)
		}
		text := ev.Text
		if holding[i] {
			held[i].WriteString(text)
			text = ""
			if d := parsers[i].feed(ev.Text); parsers[i].opened() {
				return s.streamCalls(out, chunk, i, ev, d, &pending[i], &u)
			}
			switch {
			case ev.Done:
				if calls, content, ok := s.toolCalls(req, held[i].String()); ok && s.endError(ev) == nil {
					u.CompletionTokens += ev.CompletionTokens
					return s.sendToolCalls(out, chunk, i, content, calls, pending[i])
				}
				text, holding[i] = held[i].String(), false
			case !mayBeToolCall(held[i].String()):
				text, holding[i] = held[i].String(), false
			default:
				return nil
			}
		}
		if text != "" && !logprobs {
			if err := out.write(deltas.event(i, text)); err != nil {
				return err
			}
		} else if text != "" || (ev.Done && len(pending[i]) > 0) {
			c := chunkChoice{Index: i, Delta: chunkDelta{Content: &text}}
			if logprobs {
				c.Logprobs = &chatLogprobs{Content: pending[i]}
				pending[i] = nil
			}
			if err := out.send(chunk(c)); err != nil {
				return err
			}
		}
		if !ev.Done {
			return nil
		}
		if e := s.endError(ev); e != nil {
			return out.send(e.body())
		}
		u.CompletionTokens += ev.CompletionTokens
		reason := finishReason(ev.Reason)
		return out.send(chunk(chunkChoice{Index: i, FinishReason: &reason}))
	})
	if ev0 == nil {
		if err != nil {
			return err // nothing was sent: an ordinary error response
		}
		started()
	}
	if err != nil {
		return err
	}
	if includeUsage {
		u.PromptTokens = j.prompts[0]
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
		c := chunk()
		c.Choices = []chunkChoice{}
		c.Usage = &u
		if err := ev0.send(c); err != nil {
			return err
		}
	}
	return ev0.raw([]byte("[DONE]"))
}

// streamDirect streams a direct tool's call as its arguments come: the
// first event opens the call (index 0, id, type, name, empty arguments),
// each piece of text is an arguments delta, and the end gives
// finish_reason tool_calls (length when the budget ran out first).
func (s *Server) streamDirect(out *sse, chunk func(...chunkChoice) chatChunk, i int, ev scheduler.Event,
	call *messageToolCall, name string, pending *[]tokenLogprob, u *usage) error {
	zero := 0
	if call.ID == "" {
		*call = s.callsOut([]chat.ToolCall{{Name: name}})[0]
		call.Index = &zero
		if err := out.send(chunk(chunkChoice{Index: i, Delta: chunkDelta{ToolCalls: []messageToolCall{*call}}})); err != nil {
			return err
		}
	}
	if ev.Text != "" || (ev.Done && len(*pending) > 0) {
		d := messageToolCall{Index: &zero}
		d.Function.Arguments = ev.Text
		c := chunkChoice{Index: i, Delta: chunkDelta{ToolCalls: []messageToolCall{d}}}
		if err := out.send(chunk(takeLogprobs(c, pending))); err != nil {
			return err
		}
	}
	return s.endCalls(out, chunk, i, ev, pending, u)
}

// endCalls sends the end of choice i's streamed tool calls once ev is the
// last event: the error event if decoding failed, else a chunk with
// finish_reason "tool_calls" ("length" when the budget ran out first)
// carrying any log-probabilities not yet sent.
func (s *Server) endCalls(out *sse, chunk func(...chunkChoice) chatChunk, i int, ev scheduler.Event, pending *[]tokenLogprob, u *usage) error {
	if !ev.Done {
		return nil
	}
	if e := s.endError(ev); e != nil {
		return out.send(e.body())
	}
	u.CompletionTokens += ev.CompletionTokens
	reason := finishReason(ev.Reason)
	if reason == "stop" {
		reason = "tool_calls"
	}
	return out.send(chunk(takeLogprobs(chunkChoice{Index: i, FinishReason: &reason}, pending)))
}

// takeLogprobs moves the log-probabilities read since the last chunk into
// c.
func takeLogprobs(c chunkChoice, pending *[]tokenLogprob) chunkChoice {
	if *pending != nil {
		c.Logprobs = &chatLogprobs{Content: *pending}
		*pending = nil
	}
	return c
}

// streamCalls streams choice i's tool calls as they are decoded (see
// toolStream): a delta per opened call with its index, id, type, name and
// empty arguments, then its argument fragments; at the end the
// finish_reason "tool_calls" (length when the budget ran out first). A
// delta carries the log-probabilities of the tokens read since the last.
func (s *Server) streamCalls(out *sse, chunk func(...chunkChoice) chatChunk, i int, ev scheduler.Event, deltas []toolDelta,
	pending *[]tokenLogprob, u *usage) error {
	for _, d := range deltas {
		k := d.Index
		c := messageToolCall{Index: &k}
		if d.Open {
			c.ID, c.Type, c.Function.Name = s.newID("call_"), "function", d.Name
		} else {
			c.Function.Arguments = d.Args
		}
		ch := chunkChoice{Index: i, Delta: chunkDelta{ToolCalls: []messageToolCall{c}}}
		if err := out.send(chunk(takeLogprobs(ch, pending))); err != nil {
			return err
		}
	}
	return s.endCalls(out, chunk, i, ev, pending, u)
}

// toolCalls parses a reply for the request's tools and returns them as
// the answer's tool_calls, with fresh ids (only the first with
// parallel_tool_calls false).
func (s *Server) toolCalls(req *chatRequest, text string) ([]messageToolCall, string, bool) {
	calls, content, ok := parseToolCalls(text, req.Tools)
	if !ok {
		return nil, "", false
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		calls = calls[:1]
	}
	return s.callsOut(calls), content, true
}

// callsOut gives calls fresh ids in the answer's shape.
func (s *Server) callsOut(calls []chat.ToolCall) []messageToolCall {
	out := make([]messageToolCall, len(calls))
	for k, c := range calls {
		out[k].ID, out[k].Type = s.newID("call_"), "function"
		out[k].Function.Name, out[k].Function.Arguments = c.Name, c.Arguments
	}
	return out
}

// sendToolCalls streams choice i's tool calls as OpenAI does: per call, a
// delta with its index, id, type, name and empty arguments, then one with
// the arguments; then the finish_reason "tool_calls".
func (s *Server) sendToolCalls(out *sse, chunk func(...chunkChoice) chatChunk, i int, content string,
	calls []messageToolCall, lp []tokenLogprob) error {
	if content != "" {
		if err := out.send(chunk(chunkChoice{Index: i, Delta: chunkDelta{Content: &content}})); err != nil {
			return err
		}
	}
	for k, c := range calls {
		head := c
		head.Index, head.Function.Arguments = &k, ""
		args := messageToolCall{Index: &k}
		args.Function.Arguments = c.Function.Arguments
		for _, d := range []messageToolCall{head, args} {
			if err := out.send(chunk(chunkChoice{Index: i, Delta: chunkDelta{ToolCalls: []messageToolCall{d}}})); err != nil {
				return err
			}
		}
	}
	reason := "tool_calls"
	last := chunkChoice{Index: i, FinishReason: &reason}
	if lp != nil {
		last.Logprobs = &chatLogprobs{Content: lp}
	}
	return out.send(chunk(last))
}
