package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on request fields.
const (
	// MaxStops is the most stop strings a request may give.
	MaxStops = 16
	// maxStopLen bounds one stop string (bytes).
	maxStopLen = 256
	// MaxChoices bounds n.
	MaxChoices = 16
	// MaxTopLogprobs bounds top_logprobs (and the completions logprobs).
	MaxTopLogprobs = 20
	// maxMessages bounds the messages of a chat request.
	maxMessages = 1024
	// maxPrompts bounds the prompts of one completions request.
	maxPrompts = 16
)

// samplingParams are the generation fields chat and completions requests
// share. Pointers tell an absent field from a zero.
type samplingParams struct {
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	TopK                *int               `json:"top_k"`              // extension (vLLM, llama.cpp)
	MinP                *float64           `json:"min_p"`              // extension
	RepetitionPenalty   *float64           `json:"repetition_penalty"` // extension
	PresencePenalty     *float64           `json:"presence_penalty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty"`
	Seed                *int64             `json:"seed"`
	Stop                stopList           `json:"stop"`
	N                   *int               `json:"n"`
	LogitBias           map[string]float64 `json:"logit_bias"`
	ResponseFormat      *responseFormat    `json:"response_format"`
	Stream              bool               `json:"stream"`
	StreamOptions       *streamOptions     `json:"stream_options"`
	User                string             `json:"user"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// responseFormat is {"type": "text" | "json_object" | "json_schema",
// "json_schema": {"name", "schema", "strict"}}.
type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	} `json:"json_schema"`
}

// stopList is OpenAI's stop: a string, an array of strings, or null.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return &fieldError{"stop", err.Error()}
		}
		*s = stopList{one}
		return nil
	case len(b) > 0 && b[0] == '[':
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return &fieldError{"stop", "want a string or an array of strings"}
		}
		*s = list
		return nil
	}
	return &fieldError{"stop", "want a string or an array of strings"}
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	samplingParams
	Logprobs          *bool           `json:"logprobs"`
	TopLogprobs       *int            `json:"top_logprobs"`
	Tools             []chatTool      `json:"tools"`
	ToolChoice        *toolChoice     `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	Functions         json.RawMessage `json:"functions"`
}

// chatMessage is one message; content is a string, null, or an array of
// content parts of which only text parts are supported.
type chatMessage struct {
	Role       string            `json:"role"`
	Content    messageText       `json:"content"`
	Name       string            `json:"name"`
	ToolCalls  []messageToolCall `json:"tool_calls"`
	ToolCallID string            `json:"tool_call_id"`
}

// messageText is a message's content flattened to text.
type messageText string

func (m *messageText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*m = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return &fieldError{"messages.content", err.Error()}
		}
		*m = messageText(s)
		return nil
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return &fieldError{"messages.content", "want a string or an array of {\"type\": \"text\", \"text\": ...} parts"}
		}
		var sb strings.Builder
		for _, p := range parts {
			if p.Type != "text" || p.Text == nil {
				return &fieldError{"messages.content", fmt.Sprintf("content part of type %q is not supported (only text)", p.Type)}
			}
			sb.WriteString(*p.Text)
		}
		*m = messageText(sb.String())
		return nil
	}
	return &fieldError{"messages.content", "want a string or an array of content parts"}
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model  string     `json:"model"`
	Prompt promptList `json:"prompt"`
	samplingParams
	Logprobs *int   `json:"logprobs"`
	Echo     bool   `json:"echo"`
	Suffix   string `json:"suffix"`
	BestOf   *int   `json:"best_of"`
}

// promptList is the completions prompt: a string, an array of strings, an
// array of token ids, or an array of arrays of token ids.
type promptList struct {
	texts []string
	ids   [][]int
	set   bool
}

func (p *promptList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	p.set = true
	const want = "want a string, an array of strings, an array of token ids or an array of such arrays"
	switch {
	case string(b) == "null":
		p.set = false
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return &fieldError{"prompt", err.Error()}
		}
		p.texts = []string{s}
		return nil
	case len(b) > 0 && b[0] == '[':
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return &fieldError{"prompt", want}
		}
		if len(raw) == 0 {
			return &fieldError{"prompt", "an empty array"}
		}
		switch c := bytes.TrimSpace(raw[0]); {
		case len(c) > 0 && c[0] == '"':
			if err := json.Unmarshal(b, &p.texts); err != nil {
				return &fieldError{"prompt", want}
			}
		case len(c) > 0 && c[0] == '[':
			if err := json.Unmarshal(b, &p.ids); err != nil {
				return &fieldError{"prompt", want}
			}
		default:
			var ids []int
			if err := json.Unmarshal(b, &ids); err != nil {
				return &fieldError{"prompt", want}
			}
			p.ids = [][]int{ids}
		}
		return nil
	}
	return &fieldError{"prompt", want}
}

func (p promptList) count() int { return len(p.texts) + len(p.ids) }

// decodeBody decodes a request body into v with messages that name the
// field at fault.
func decodeBody(body []byte, v any) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "the request body is empty; want a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeChatRequest decodes and checks a chat completions body, without a
// model: everything that does not depend on which model serves it.
func decodeChatRequest(body []byte) (*chatRequest, *Error) {
	var r chatRequest
	if err := decodeBody(body, &r); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *chatRequest) check() *Error {
	if r.Model == "" {
		return badRequest("model", "model is required")
	}
	if len(r.Messages) == 0 {
		return badRequest("messages", "messages must be a non-empty array")
	}
	if len(r.Messages) > maxMessages {
		return badRequest("messages", "%d messages; at most %d are accepted", len(r.Messages), maxMessages)
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		case "":
			return badRequest(fmt.Sprintf("messages[%d].role", i), "messages[%d]: role is required", i)
		case "function":
			return badRequest(fmt.Sprintf("messages[%d].role", i), "messages[%d]: role function (the deprecated functions API) is not supported; use tools and role tool", i)
		default:
			return badRequest(fmt.Sprintf("messages[%d].role", i), "messages[%d]: unsupported role %q (want system, developer, user, assistant or tool)", i, m.Role)
		}
		if len(m.ToolCalls) > 0 && m.Role != "assistant" {
			return badRequest(fmt.Sprintf("messages[%d].tool_calls", i), "messages[%d]: only assistant messages carry tool_calls", i)
		}
		for k, c := range m.ToolCalls {
			param := fmt.Sprintf("messages[%d].tool_calls[%d]", i, k)
			if (c.Type != "" && c.Type != "function") || c.Function.Name == "" {
				return badRequest(param, "%s: want {\"type\": \"function\", \"function\": {\"name\", \"arguments\"}}", param)
			}
			if !utf8.ValidString(c.Function.Arguments) {
				return badRequest(param+".function.arguments", "%s: arguments are not valid UTF-8", param)
			}
		}
		if !utf8.ValidString(string(m.Content)) {
			return badRequest(fmt.Sprintf("messages[%d].content", i), "messages[%d]: content is not valid UTF-8", i)
		}
	}
	if err := r.checkTools(); err != nil {
		return err
	}
	if len(bytes.TrimSpace(r.Functions)) > 0 && string(bytes.TrimSpace(r.Functions)) != "null" {
		return badRequest("functions", "functions are not supported")
	}
	if r.TopLogprobs != nil {
		if *r.TopLogprobs < 0 || *r.TopLogprobs > MaxTopLogprobs {
			return badRequest("top_logprobs", "top_logprobs %d must be in [0, %d]", *r.TopLogprobs, MaxTopLogprobs)
		}
		if r.Logprobs == nil || !*r.Logprobs {
			return badRequest("top_logprobs", "top_logprobs needs logprobs: true")
		}
	}
	return r.samplingParams.check()
}

// decodeCompletionRequest decodes and checks a completions body.
func decodeCompletionRequest(body []byte) (*completionRequest, *Error) {
	var r completionRequest
	if err := decodeBody(body, &r); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *completionRequest) check() *Error {
	switch {
	case r.Model == "":
		return badRequest("model", "model is required")
	case !r.Prompt.set:
		return badRequest("prompt", "prompt is required")
	case r.Prompt.count() > maxPrompts:
		return badRequest("prompt", "%d prompts; at most %d are accepted", r.Prompt.count(), maxPrompts)
	case r.Echo:
		return badRequest("echo", "echo is not supported")
	case r.Suffix != "":
		return badRequest("suffix", "suffix is not supported")
	case r.Logprobs != nil && (*r.Logprobs < 0 || *r.Logprobs > MaxTopLogprobs):
		return badRequest("logprobs", "logprobs %d must be in [0, %d]", *r.Logprobs, MaxTopLogprobs)
	}
	for _, t := range r.Prompt.texts {
		if !utf8.ValidString(t) {
			return badRequest("prompt", "the prompt is not valid UTF-8")
		}
	}
	if r.BestOf != nil {
		n := 1
		if r.N != nil {
			n = *r.N
		}
		if *r.BestOf != n {
			return badRequest("best_of", "best_of is not supported (other than equal to n)")
		}
	}
	if r.Prompt.count()*r.choices() > MaxChoices {
		return badRequest("n", "%d prompts × %d choices are more than the %d sequences one request may ask for", r.Prompt.count(), r.choices(), MaxChoices)
	}
	return r.samplingParams.check()
}

func (p *samplingParams) choices() int {
	if p.N == nil {
		return 1
	}
	return *p.N
}

// check validates the model-independent ranges, as OpenAI documents them.
func (p *samplingParams) check() *Error {
	inRange := func(name string, v *float64, lo, hi float64) *Error {
		if v != nil && (math.IsNaN(*v) || *v < lo || *v > hi) {
			return badRequest(name, "%s %v must be in [%v, %v]", name, *v, lo, hi)
		}
		return nil
	}
	for _, c := range []struct {
		name   string
		v      *float64
		lo, hi float64
	}{
		{"temperature", p.Temperature, 0, 2},
		{"top_p", p.TopP, 0, 1},
		{"min_p", p.MinP, 0, 1},
		{"presence_penalty", p.PresencePenalty, -2, 2},
		{"frequency_penalty", p.FrequencyPenalty, -2, 2},
		{"repetition_penalty", p.RepetitionPenalty, 0, 10},
	} {
		if err := inRange(c.name, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	if p.TopK != nil && *p.TopK < 0 {
		return badRequest("top_k", "top_k %d must not be negative", *p.TopK)
	}
	for _, c := range []struct {
		name string
		v    *int
	}{{"max_tokens", p.MaxTokens}, {"max_completion_tokens", p.MaxCompletionTokens}} {
		if c.v != nil && *c.v < 1 {
			return badRequest(c.name, "%s %d must be at least 1", c.name, *c.v)
		}
	}
	if p.N != nil && (*p.N < 1 || *p.N > MaxChoices) {
		return badRequest("n", "n %d must be in [1, %d]", *p.N, MaxChoices)
	}
	if len(p.Stop) > MaxStops {
		return badRequest("stop", "%d stop sequences; at most %d are accepted", len(p.Stop), MaxStops)
	}
	for _, s := range p.Stop {
		if s == "" {
			return badRequest("stop", "stop sequences must not be empty")
		}
		if len(s) > maxStopLen {
			return badRequest("stop", "a stop sequence of %d bytes; at most %d", len(s), maxStopLen)
		}
	}
	for k, v := range p.LogitBias {
		if _, err := strconv.Atoi(k); err != nil {
			return badRequest("logit_bias", "logit_bias key %q is not a token id", k)
		}
		if math.IsNaN(v) || v < -100 || v > 100 {
			return badRequest("logit_bias", "logit_bias %v for token %s must be in [-100, 100]", v, k)
		}
	}
	if p.StreamOptions != nil && !p.Stream {
		return badRequest("stream_options", "stream_options needs stream: true")
	}
	if f := p.ResponseFormat; f != nil {
		switch f.Type {
		case "text", "json_object":
		case "json_schema":
			if f.JSONSchema == nil || len(bytes.TrimSpace(f.JSONSchema.Schema)) == 0 {
				return badRequest("response_format.json_schema.schema", "response_format json_schema needs json_schema.schema")
			}
		default:
			return badRequest("response_format.type", "response_format type %q is not one of text, json_object, json_schema", f.Type)
		}
	}
	return nil
}

// maxTokens returns the requested budget (0: none given).
func (p *samplingParams) maxTokens() int {
	switch {
	case p.MaxCompletionTokens != nil:
		return *p.MaxCompletionTokens
	case p.MaxTokens != nil:
		return *p.MaxTokens
	}
	return 0
}

// maxTokensParam names the field that gave maxTokens.
func (p *samplingParams) maxTokensParam() string {
	if p.MaxCompletionTokens != nil {
		return "max_completion_tokens"
	}
	return "max_tokens"
}
