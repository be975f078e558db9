package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/text2text"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// Encoder-decoder models (Marian, T5, BART) serve Hugging Face's
// translation, summarization and text2text-generation pipelines at POST
// /v1/translation, /v1/summarization and /v1/text2text-generation, and
// POST /v1/completions as text2text (the prompt is the source, the
// completion the generated text). Their calls run through the model's
// bounded calls (Options.Parallel at once, Options.Queue waiting, then
// 503), each call decoding its inputs in padded batches.
//
// A source longer than the encoder's positions is refused with a 400 that
// gives both lengths, unless the call asks for "truncation": true (HF's
// truncation=True), which keeps the source's first tokens and its
// end-of-sequence token.

// The encoder-decoder task routes.
const (
	TaskTranslation   Task = "translation"
	TaskSummarization Task = "summarization"
	TaskText2Text     Task = "text2text-generation"
)

// Bounds on encoder-decoder calls.
const (
	// MaxBeams bounds num_beams.
	MaxBeams = 16
	// MaxInputs bounds the inputs of one task call.
	MaxInputs = 64
)

// seq2seqPipelines maps the encoder-decoder routes to their pipelines.
var seq2seqPipelines = map[Task]pipeline.Task{
	TaskTranslation:   pipeline.TranslationTask,
	TaskSummarization: pipeline.SummarizationTask,
	TaskText2Text:     pipeline.Text2TextTask,
}

// isSeq2SeqTask reports whether t is served by encoder-decoders.
func isSeq2SeqTask(t Task) bool { _, ok := seq2seqPipelines[t]; return ok }

// IsSeq2Seq reports whether path is an encoder-decoder folder (config.json
// names Marian, BART or T5), which Load serves through LoadSeq2Seq.
func IsSeq2Seq(path string) bool {
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		return false
	}
	cfg, err := auto.SniffConfig(path)
	if err != nil {
		return false
	}
	switch cfg.Family() {
	case auto.Marian, auto.BART, auto.T5:
		return true
	}
	return false
}

// LoadSeq2Seq loads an encoder-decoder folder (Marian, T5, BART) with its
// tokenizer (beside it, or opts.Tokenizer) for the translation,
// summarization and text2text-generation routes and /v1/completions.
// opts.ChatTemplate does not apply.
func LoadSeq2Seq(path string, opts LoadOptions) (*Model, error) {
	sm, err := auto.LoadSeq2Seq(path, &auto.LoadOptions{Format: opts.Format})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	tokPath := opts.Tokenizer
	if tokPath == "" {
		tokPath = sm.TokenizerPath
	}
	if tokPath == "" {
		return nil, fmt.Errorf("serve: no tokenizer found beside %s; name one", path)
	}
	tok, err := tokauto.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	m, err := text2text.New(sm.Model, tok)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	var arch []string
	if cfg, err := auto.SniffConfig(path); err == nil {
		arch = cfg.Architectures
	}
	return NewSeq2SeqModel(modelID(path, opts.ID), m, arch)
}

// NewSeq2SeqModel returns the Model that serves an encoder-decoder under
// id (see LoadSeq2Seq); architectures are reported by /v1/models.
func NewSeq2SeqModel(id string, m *text2text.Model, architectures []string) (*Model, error) {
	b := &seq2seqBackend{pipes: map[Task]*pipeline.Text2Text{}}
	for t, pt := range seq2seqPipelines {
		p, err := pipeline.NewText2Text(pt, m)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		b.pipes[t] = p
	}
	if len(architectures) == 0 {
		architectures = []string{m.Family.String()}
	}
	return &Model{ID: id, Tokenizer: m.Tokenizer, Tasks: b, Text2Text: b.pipes[TaskText2Text],
		MaxLen: m.MaxSourceLen(), Architectures: architectures}, nil
}

// seq2seqBackend serves an encoder-decoder's task routes.
type seq2seqBackend struct {
	pipes map[Task]*pipeline.Text2Text
}

// Task runs one task call: the request's inputs through the task's
// pipeline, answered in Hugging Face's shape (one object per input, the
// field named by the task).
func (b *seq2seqBackend) Task(ctx context.Context, t Task, body json.RawMessage) (any, error) {
	out, _, _, err := b.run(ctx, t, body)
	return out, err
}

// run runs a task call and reports the source tokens the encoder read
// (once per input) and the tokens generated.
func (b *seq2seqBackend) run(ctx context.Context, t Task, body json.RawMessage) (out any, source, generated int, err error) {
	p, ok := b.pipes[t]
	if !ok {
		return nil, 0, 0, badRequest("model", "an encoder-decoder serves translation, summarization and text2text-generation, not %s", t)
	}
	req, aerr := decodeText2TextRequest(body)
	if aerr != nil {
		return nil, 0, 0, aerr
	}
	if aerr := checkText2TextOptions(p.Model(), &req.Options); aerr != nil {
		return nil, 0, 0, aerr
	}
	res := p.CallJSON(ctx, req.call())
	if err := res[0].Err; err != nil {
		param := ""
		if errors.Is(err, seq2seq.ErrTooLong) || errors.Is(err, seq2seq.ErrEmptySource) {
			param = "inputs"
		}
		return nil, 0, 0, pipelineError(err, param)
	}
	var texts []pipeline.Generated
	switch v := res[0].Value.(type) {
	case []pipeline.Generated:
		texts = v
	case [][]pipeline.Generated:
		for _, l := range v {
			texts = append(texts, l...)
		}
	}
	n := max(req.Options.NumReturnSequences, 1)
	for k, g := range texts {
		if k%n == 0 {
			source += g.SourceTokens
		}
		generated += g.Tokens
	}
	return res[0].Value, source, generated, nil
}

// tokenCounter is a TaskModel whose calls report the tokens they read and
// generated, for the metrics.
type tokenCounter interface {
	run(ctx context.Context, t Task, body json.RawMessage) (out any, source, generated int, err error)
}

// text2textRequest is the body of an encoder-decoder task route:
// {"model", "inputs": TEXT or [TEXT, …], "parameters": {…}} with the
// generation options under "parameters" (Hugging Face's Inference API) or
// at the top level (the pipeline's keyword arguments).
type text2textRequest struct {
	Model   string
	Inputs  []string
	Single  bool // one text was given, not a list
	Options pipeline.Text2TextOptions
}

// call is the request as one call of the pipeline's JSON face, which
// shapes the answer as Hugging Face does.
func (r *text2textRequest) call() json.RawMessage {
	fields := map[string]any{"options": r.Options}
	if r.Single {
		fields["inputs"] = r.Inputs[0]
	} else {
		fields["inputs"] = r.Inputs
	}
	b, _ := json.Marshal(fields)
	return b
}

// decodeText2TextRequest decodes and checks a task route's body: the
// types, the inputs (1 to MaxInputs non-empty UTF-8 texts) and the
// model-independent ranges; unknown fields are errors.
func decodeText2TextRequest(body []byte) (*text2textRequest, *Error) {
	var fields map[string]json.RawMessage
	if err := decodeBody(body, &fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, badRequest("", "the request body must be a JSON object, not null")
	}
	var r text2textRequest
	if raw, ok := fields["model"]; ok {
		if err := json.Unmarshal(raw, &r.Model); err != nil {
			return nil, badRequest("model", "model: want a string")
		}
		delete(fields, "model")
	}
	raw, ok := fields["inputs"]
	if !ok {
		return nil, badRequest("inputs", "inputs is required: a text or a list of texts")
	}
	delete(fields, "inputs")
	r.Single = len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '"'
	if r.Inputs, ok = textOrList(raw); !ok {
		return nil, badRequest("inputs", "inputs: want a text or a list of texts")
	}
	switch {
	case len(r.Inputs) == 0:
		return nil, badRequest("inputs", "inputs is an empty list")
	case len(r.Inputs) > MaxInputs:
		return nil, badRequest("inputs", "%d inputs; at most %d are accepted", len(r.Inputs), MaxInputs)
	}
	for i, in := range r.Inputs {
		switch {
		case !utf8.ValidString(in):
			return nil, badRequest("inputs", "input %d is not valid UTF-8", i)
		case strings.TrimSpace(in) == "":
			return nil, badRequest("inputs", "input %d is empty", i)
		}
	}
	if raw, ok := fields["parameters"]; ok {
		delete(fields, "parameters")
		var params map[string]json.RawMessage
		if err := json.Unmarshal(raw, &params); err != nil {
			return nil, badRequest("parameters", "parameters: want an object")
		}
		for k, v := range params {
			if _, dup := fields[k]; dup {
				return nil, badRequest(k, "%s is given both at the top level and in parameters", k)
			}
			fields[k] = v
		}
	}
	opts, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(opts))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r.Options); err != nil {
		return nil, optionsError(err)
	}
	o := &r.Options
	switch {
	case o.NumBeams < 0 || o.NumBeams > MaxBeams:
		return nil, badRequest("num_beams", "num_beams %d must be in [1, %d]", o.NumBeams, MaxBeams)
	case o.MaxNewTokens < 0:
		return nil, badRequest("max_new_tokens", "max_new_tokens %d must be at least 1", o.MaxNewTokens)
	case o.MinNewTokens < 0:
		return nil, badRequest("min_new_tokens", "min_new_tokens %d must not be negative", o.MinNewTokens)
	case o.NumReturnSequences < 0 || o.NumReturnSequences > MaxBeams:
		return nil, badRequest("num_return_sequences", "num_return_sequences %d must be in [1, %d]", o.NumReturnSequences, MaxBeams)
	case o.NumReturnSequences > 1 && o.NumBeams > 1 && o.NumReturnSequences > o.NumBeams:
		return nil, badRequest("num_return_sequences", "num_return_sequences %d is more than num_beams %d", o.NumReturnSequences, o.NumBeams)
	case len(r.Inputs)*max(o.NumReturnSequences, 1) > MaxInputs:
		return nil, badRequest("num_return_sequences", "%d inputs × %d sequences are more than the %d texts one call may ask for", len(r.Inputs), o.NumReturnSequences, MaxInputs)
	case o.Temperature != nil && !(*o.Temperature > 0 && *o.Temperature <= 100):
		return nil, badRequest("temperature", "temperature %v must be in (0, 100] (do_sample false decodes greedily)", *o.Temperature)
	case o.TopP != nil && !(*o.TopP > 0 && *o.TopP <= 1):
		return nil, badRequest("top_p", "top_p %v must be in (0, 1]", *o.TopP)
	case o.TopK != nil && *o.TopK < 0:
		return nil, badRequest("top_k", "top_k %d must not be negative", *o.TopK)
	case o.NoRepeatNGramSize != nil && *o.NoRepeatNGramSize < 0:
		return nil, badRequest("no_repeat_ngram_size", "no_repeat_ngram_size %d must not be negative", *o.NoRepeatNGramSize)
	case o.MinLength != nil && *o.MinLength < 0:
		return nil, badRequest("min_length", "min_length %d must not be negative", *o.MinLength)
	}
	return &r, nil
}

// optionsError words a decoding error of the options.
func optionsError(err error) *Error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return badRequest(typ.Field, "%s: want %s, got %s", typ.Field, goTypeName(typ.Type.String()), article(typ.Value))
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name := strings.Trim(f, `"`)
		return badRequest(name, "unknown option %s (the options are max_new_tokens, min_new_tokens, num_beams, do_sample, temperature, top_k, top_p, length_penalty, no_repeat_ngram_size, min_length, seed, num_return_sequences, src_lang, tgt_lang, truncation)", f)
	}
	return badRequest("", "options: %s", strings.TrimPrefix(msg, "json: "))
}

// textOrList decodes a JSON string or array of strings.
func textOrList(raw json.RawMessage) ([]string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return []string{s}, true
	}
	var list []string
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	return list, true
}

// checkText2TextOptions checks the options against the model: a
// generation budget within the decoder's positions.
func checkText2TextOptions(m *text2text.Model, o *pipeline.Text2TextOptions) *Error {
	limit := maxNewTokens(m)
	if limit > 0 && o.MaxNewTokens > limit {
		return badRequest("max_new_tokens", "max_new_tokens %d is more than the %d tokens the decoder's positions allow", o.MaxNewTokens, limit)
	}
	if limit > 0 && o.MinNewTokens > limit {
		return badRequest("min_new_tokens", "min_new_tokens %d is more than the %d tokens the decoder's positions allow", o.MinNewTokens, limit)
	}
	return nil
}

// maxNewTokens is the most tokens m's decoder can generate after its start
// token (0: unbounded).
func maxNewTokens(m *text2text.Model) int { return max(m.MaxTargetLen()-1, 0) }

// seq2seqRoute is the 400 of a route whose kind of model (encoder,
// encoder-decoder) m is not; nil when m serves t.
func seq2seqRoute(m *Model, t Task) *Error {
	switch {
	case isSeq2SeqTask(t) && m.Text2Text == nil:
		return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "model", Code: "task_not_supported",
			Message: fmt.Sprintf("model %q is not an encoder-decoder: /v1/%s needs Marian, T5 or BART", m.ID, t)}
	case !isSeq2SeqTask(t) && m.Text2Text != nil:
		return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "model", Code: "task_not_supported",
			Message: fmt.Sprintf("model %q is an encoder-decoder (%s): /v1/%s needs an encoder with the task's head", m.ID, strings.Join(m.Architectures, ", "), t)}
	}
	return nil
}
