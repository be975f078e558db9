package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/text2text"
)

// seq2seqExtras are the completions fields an encoder-decoder reads
// beyond OpenAI's: Hugging Face's generation keys (extensions, as vLLM
// and llama.cpp add top_k).
type seq2seqExtras struct {
	NumBeams          *int     `json:"num_beams"`
	LengthPenalty     *float64 `json:"length_penalty"`
	NoRepeatNGramSize *int     `json:"no_repeat_ngram_size"`
	MinLength         *int     `json:"min_length"`
	MinNewTokens      *int     `json:"min_new_tokens"`
	Truncation        bool     `json:"truncation"`
}

// seq2seqOptions maps a completions request to the text2text-generation
// pipeline's options: max_tokens is max_new_tokens; temperature 0 is
// greedy and a positive one samples (with top_p and top_k), as does top_p
// or top_k alone. A request with none of them keeps the model's
// generation_config.json, beam search included (Marian's num_beams 4),
// unless it streams: OpenAI's sampling fields and a stream ask for one
// sequence decoded token by token, so they mean num_beams 1 unless the
// request names num_beams. Fields an encoder-decoder cannot honour are a
// 400.
func seq2seqOptions(req *completionRequest, body []byte) (pipeline.Text2TextOptions, *Error) {
	var o pipeline.Text2TextOptions
	var x seq2seqExtras
	if err := json.Unmarshal(body, &x); err != nil {
		return o, decodeError(err)
	}
	p := &req.samplingParams
	switch {
	case len(req.Prompt.ids) > 0:
		return o, badRequest("prompt", "an encoder-decoder takes text prompts, not token ids")
	case req.Logprobs != nil:
		return o, badRequest("logprobs", "logprobs are not supported for encoder-decoder models")
	case p.ResponseFormat != nil && p.ResponseFormat.Type != "text":
		return o, badRequest("response_format", "response_format %q is not supported for encoder-decoder models", p.ResponseFormat.Type)
	case len(p.LogitBias) > 0:
		return o, badRequest("logit_bias", "logit_bias is not supported for encoder-decoder models")
	case x.NumBeams != nil && (*x.NumBeams < 1 || *x.NumBeams > MaxBeams):
		return o, badRequest("num_beams", "num_beams %d must be in [1, %d]", *x.NumBeams, MaxBeams)
	case x.MinNewTokens != nil && *x.MinNewTokens < 0:
		return o, badRequest("min_new_tokens", "min_new_tokens %d must not be negative", *x.MinNewTokens)
	}
	o.MaxNewTokens = p.maxTokens()
	switch {
	case x.NumBeams != nil:
		o.NumBeams = *x.NumBeams
	case p.Stream || p.Temperature != nil || p.TopP != nil || p.TopK != nil:
		o.NumBeams = 1
	}
	if x.MinNewTokens != nil {
		o.MinNewTokens = *x.MinNewTokens
	}
	o.LengthPenalty, o.NoRepeatNGramSize, o.MinLength, o.Truncation = x.LengthPenalty, x.NoRepeatNGramSize, x.MinLength, x.Truncation
	sample := func() {
		yes := true
		o.DoSample = &yes
	}
	switch {
	case p.Temperature != nil && *p.Temperature == 0:
		no := false
		o.DoSample = &no
	case p.Temperature != nil:
		sample()
		o.Temperature = p.Temperature
	case p.TopP != nil || p.TopK != nil:
		sample()
	}
	o.TopP, o.TopK = p.TopP, p.TopK
	if p.Seed != nil {
		seed := uint64(*p.Seed)
		o.Seed = &seed
	}
	return o, nil
}

// seq2seqCompletions serves POST /v1/completions with an encoder-decoder:
// each prompt is a source and each of its n choices a generated text
// (sampled choices differ by seed: choice i of the request uses seed+i).
// Streaming sends text as it is decoded; beam search, whose beams change
// until the end, cannot stream (a 400).
func (s *Server) seq2seqCompletions(w http.ResponseWriter, r *http.Request, rt *served, req *completionRequest, body []byte, arrived time.Time) error {
	p := rt.m.Text2Text
	opts, aerr := seq2seqOptions(req, body)
	if aerr != nil {
		return aerr
	}
	if limit := maxNewTokens(p.Model()); limit > 0 && opts.MaxNewTokens > limit {
		return badRequest(req.maxTokensParam(), "%s %d is more than the %d tokens the decoder's positions allow", req.maxTokensParam(), opts.MaxNewTokens, limit)
	}
	if aerr := checkText2TextOptions(p.Model(), &opts); aerr != nil {
		return aerr
	}
	if opts.Seed == nil {
		seed := s.randomSeed()
		opts.Seed = &seed
	}
	lo, err := p.LibraryOptions(&opts)
	if err != nil {
		return pipelineError(err, "")
	}
	g := lo.Generation
	g.StopStrings = req.Stop
	if v := req.RepetitionPenalty; v != nil {
		g.RepetitionPenalty = *v
	}
	if v := req.PresencePenalty; v != nil {
		g.PresencePenalty = *v
	}
	if v := req.FrequencyPenalty; v != nil {
		g.FrequencyPenalty = *v
	}
	if v := req.MinP; v != nil && g.Temperature > 0 {
		g.MinP = *v
	}
	beams := g.NumBeams
	if lo.NumBeams > 0 {
		beams = lo.NumBeams
	}
	if req.Stream && beams > 1 {
		return badRequest("stream", "beam search (num_beams %d) cannot stream: its beams change until the end; set num_beams 1 or stream false", beams)
	}
	n := req.choices()
	var sources []string
	for _, t := range req.Prompt.texts {
		if strings.TrimSpace(t) == "" {
			return badRequest("prompt", "the prompt is empty")
		}
		for range n {
			sources = append(sources, t)
		}
	}
	lo.SortByLength = false // row r of the batch samples with seed+r: choice order
	lo.BatchSize = len(sources)

	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	if aerr := s.acquireCall(ctx, rt); aerr != nil {
		return aerr
	}
	defer rt.calls.release()
	id, created := s.newID("cmpl-"), time.Now().Unix()
	var first time.Time
	var out *sse
	var werr error
	var mu sync.Mutex // OnText and OnResult run on the decoding goroutine; the guard keeps that an implementation detail
	if req.Stream {
		out = startSSE(w)
		deltas := newDeltaEvents(false, id, created, rt.m.ID)
		lo.OnText = func(i int, piece string) {
			mu.Lock()
			defer mu.Unlock()
			if first.IsZero() {
				first = time.Now()
				s.metrics.ttft.WithLabelValues(rt.m.ID).Observe(time.Since(arrived).Seconds())
			}
			if werr == nil && piece != "" {
				if werr = out.write(deltas.event(i, piece)); werr == nil {
					werr = out.flush()
				}
				if werr != nil {
					cancel() // the client is gone: stop decoding
				}
			}
		}
	}
	res, gerr := p.Model().Generate(ctx, sources, lo)
	s.seq2seqMetrics(rt, req.Prompt.texts, n, res, gerr, first)
	if gerr != nil {
		e := seq2seqError(gerr, ctx, s.opts.RequestTimeout)
		if out == nil {
			return e
		}
		if werr == nil {
			out.send(e.body())
		}
		return errors.Join(werr, gerr)
	}
	u := usage{}
	for k, r := range res {
		if k%n == 0 {
			u.PromptTokens += r.SourceTokens
		}
		u.CompletionTokens += len(r.Tokens)
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if out != nil {
		if werr != nil {
			return werr
		}
		for i, r := range res {
			reason := finishReason(r.Reason)
			c := completion{ID: id, Object: "text_completion", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint,
				Choices: []completionChoice{{Index: i, FinishReason: &reason}}}
			if err := out.send(c); err != nil {
				return err
			}
		}
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			c := completion{ID: id, Object: "text_completion", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint,
				Choices: []completionChoice{}, Usage: &u}
			if err := out.send(c); err != nil {
				return err
			}
		}
		return out.raw([]byte("[DONE]"))
	}
	c := completion{ID: id, Object: "text_completion", Created: created, Model: rt.m.ID, SystemFingerprint: fingerprint, Usage: &u}
	for i, r := range res {
		reason := finishReason(r.Reason)
		c.Choices = append(c.Choices, completionChoice{Index: i, Text: r.Text, FinishReason: &reason})
	}
	return writeJSON(w, http.StatusOK, c)
}

// seq2seqMetrics records an encoder-decoder call in the metrics: the
// source tokens once per prompt, the generated tokens and each choice's
// end.
func (s *Server) seq2seqMetrics(rt *served, prompts []string, n int, res []text2text.Result, err error, first time.Time) {
	id := rt.m.ID
	if err != nil {
		reason := "error"
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			reason = "cancelled"
		}
		s.metrics.finished.WithLabelValues(id, reason).Add(float64(len(prompts) * n))
		return
	}
	out := 0
	for k, r := range res {
		if k%n == 0 {
			s.metrics.promptTok.WithLabelValues(id).Add(float64(r.SourceTokens))
		}
		out += len(r.Tokens)
		s.metrics.finished.WithLabelValues(id, string(r.Reason)).Inc()
	}
	s.metrics.outTok.WithLabelValues(id).Add(float64(out))
	if !first.IsZero() && out > 1 {
		if d := time.Since(first).Seconds(); d > 0 {
			s.metrics.tokPerSec.WithLabelValues(id).Observe(float64(out-1) / d)
		}
	}
}

// seq2seqError maps a text2text error to an API error: a bad source
// (empty, too long) is a 400, an ended request its own status.
func seq2seqError(err error, ctx context.Context, limit time.Duration) *Error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Type: "server_error", Code: "timeout",
			Message: "the request did not finish within the server's limit of " + limit.String()}
	case ctx.Err() != nil:
		return &Error{Status: 499, Type: "invalid_request_error", Code: "cancelled", Message: "the request was cancelled"}
	}
	if errors.Is(err, seq2seq.ErrTooLong) || errors.Is(err, seq2seq.ErrEmptySource) {
		return badRequest("prompt", "%s (send truncation: true to cut the source)", strings.TrimPrefix(err.Error(), "text2text: "))
	}
	return serverError("generation failed: %v", err)
}
