package serve

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/serve/scheduler"
)

// OpenAI's (legacy) completion objects.
type (
	completion struct {
		ID                string             `json:"id"`
		Object            string             `json:"object"`
		Created           int64              `json:"created"`
		Model             string             `json:"model"`
		SystemFingerprint string             `json:"system_fingerprint"`
		Choices           []completionChoice `json:"choices"`
		Usage             *usage             `json:"usage,omitempty"`
	}
	completionChoice struct {
		Text         string              `json:"text"`
		Index        int                 `json:"index"`
		Logprobs     *completionLogprobs `json:"logprobs"`
		FinishReason *string             `json:"finish_reason"`
	}
	completionLogprobs struct {
		Tokens        []string             `json:"tokens"`
		TokenLogprobs []float32            `json:"token_logprobs"`
		TopLogprobs   []map[string]float32 `json:"top_logprobs"`
		TextOffset    []int                `json:"text_offset"`
	}
)

// add appends an event's token to the log-probabilities; offset is the
// token's position in the choice's text.
func (l *completionLogprobs) add(rt *served, ev scheduler.Event, offset int) int {
	text, b := rt.tokenText(ev.Token)
	l.Tokens = append(l.Tokens, text)
	l.TokenLogprobs = append(l.TokenLogprobs, ev.Logprob)
	top := make(map[string]float32, len(ev.Top))
	for _, t := range ev.Top {
		tt, _ := rt.tokenText(t.ID)
		if _, dup := top[tt]; !dup {
			top[tt] = t.Logprob
		}
	}
	l.TopLogprobs = append(l.TopLogprobs, top)
	l.TextOffset = append(l.TextOffset, offset)
	return offset + len(b)
}

func newCompletionLogprobs() *completionLogprobs {
	return &completionLogprobs{Tokens: []string{}, TokenLogprobs: []float32{}, TopLogprobs: []map[string]float32{}, TextOffset: []int{}}
}

// completionPrompts encodes the request's prompts.
func (rt *served) completionPrompts(p promptList) ([][]int, *Error) {
	V := rt.m.LM.VocabSize()
	var out [][]int
	for _, t := range p.texts {
		enc, err := rt.m.Tokenizer.Encode(t)
		if err != nil {
			return nil, badRequest("prompt", "encoding the prompt: %v", err)
		}
		if len(enc.IDs) == 0 {
			return nil, badRequest("prompt", "the prompt encodes to no tokens")
		}
		out = append(out, enc.IDs)
	}
	for _, ids := range p.ids {
		if len(ids) == 0 {
			return nil, badRequest("prompt", "an empty list of token ids")
		}
		for _, id := range ids {
			if id < 0 || id >= V {
				return nil, badRequest("prompt", "token id %d is outside the vocabulary of %d", id, V)
			}
		}
		out = append(out, ids)
	}
	return out, nil
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) error {
	arrived := time.Now()
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, aerr := decodeCompletionRequest(body)
	if aerr != nil {
		return aerr
	}
	rt, aerr := s.lookup(req.Model)
	if aerr != nil {
		return aerr
	}
	if rt.m.Text2Text != nil {
		return s.seq2seqCompletions(w, r, rt, req, body, arrived)
	}
	if aerr := rt.generates("/v1/completions"); aerr != nil {
		return aerr
	}
	prompts, aerr := rt.completionPrompts(req.Prompt)
	if aerr != nil {
		return aerr
	}
	logprobs := req.Logprobs != nil
	top := 0
	if logprobs {
		top = *req.Logprobs
	}
	j, aerr := s.plan(rt, &req.samplingParams, prompts, "prompt", logprobs, top)
	if aerr != nil {
		return aerr
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	id, created := s.newID("cmpl-"), time.Now().Unix()
	promptTokens := 0
	for _, p := range prompts {
		promptTokens += len(p)
	}
	offsets := make([]int, len(j.reqs))
	if req.Stream {
		var out *sse
		j.onStart = func() { out = startSSE(w) }
		j.out = func() *sse { return out }
		var u usage
		chunk := func(c completionChoice) completion {
			return completion{ID: id, Object: "text_completion", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint,
				Choices: []completionChoice{c}}
		}
		deltas := newDeltaEvents(false, id, created, rt.m.ID)
		var pending []*completionLogprobs
		if logprobs {
			pending = make([]*completionLogprobs, len(j.reqs))
		}
		err := s.run(ctx, rt, j, arrived, func(i int, ev scheduler.Event) error {
			if !ev.Done && logprobs {
				if pending[i] == nil {
					pending[i] = newCompletionLogprobs()
				}
				offsets[i] = pending[i].add(rt, ev, offsets[i])
			}
			if ev.Text != "" && !logprobs {
				if err := out.write(deltas.event(i, ev.Text)); err != nil {
					return err
				}
			} else if ev.Text != "" || (ev.Done && logprobs && pending[i] != nil) {
				c := completionChoice{Index: i, Text: ev.Text}
				if logprobs {
					c.Logprobs, pending[i] = pending[i], nil
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
			return out.send(chunk(completionChoice{Index: i, FinishReason: &reason}))
		})
		if out == nil {
			return err
		}
		if err != nil {
			return err
		}
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			u.PromptTokens = promptTokens
			u.TotalTokens = u.PromptTokens + u.CompletionTokens
			c := completion{ID: id, Object: "text_completion", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint,
				Choices: []completionChoice{}, Usage: &u}
			if err := out.send(c); err != nil {
				return err
			}
		}
		return out.raw([]byte("[DONE]"))
	}

	out := completion{ID: id, Object: "text_completion", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint,
		Usage: &usage{PromptTokens: promptTokens}}
	texts := make([]strings.Builder, len(j.reqs))
	for i := range j.reqs {
		c := completionChoice{Index: i}
		if logprobs {
			c.Logprobs = newCompletionLogprobs()
		}
		out.Choices = append(out.Choices, c)
	}
	var failed *Error
	err = s.run(ctx, rt, j, arrived, func(i int, ev scheduler.Event) error {
		texts[i].WriteString(ev.Text)
		c := &out.Choices[i]
		if !ev.Done {
			if logprobs {
				offsets[i] = c.Logprobs.add(rt, ev, offsets[i])
			}
			return nil
		}
		if e := s.endError(ev); e != nil && failed == nil {
			failed = e
		}
		reason := finishReason(ev.Reason)
		c.FinishReason = &reason
		out.Usage.CompletionTokens += ev.CompletionTokens
		return nil
	})
	if err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens + out.Usage.CompletionTokens
	for i := range out.Choices {
		out.Choices[i].Text = texts[i].String()
	}
	return writeJSON(w, http.StatusOK, out)
}
