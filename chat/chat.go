// Package chat turns a conversation into the prompt text a chat model was
// trained on, with the model's own Hugging Face chat template: the Jinja
// program stored as "chat_template" in tokenizer_config.json (or in
// chat_template.jinja beside it), rendered as transformers'
// apply_chat_template does, with messages, add_generation_prompt and the
// tokenizer's special tokens (bos_token, eos_token, …) in scope.
//
//	tmpl, err := chat.Load("models/TinyLlama-1.1B-Chat")
//	prompt, err := tmpl.Render([]chat.Message{{Role: "user", Content: "Hi!"}}, true)
//	ids := tokenizer.Encode(prompt) // with the tokenizer's own template off: the prompt has its specials
//
// Templates are interpreted by github.com/ardanlabs/jinja, a pure-Go Jinja
// engine written for LLM chat templates (loops, conditionals, macros,
// namespace(), raise_exception, strftime_now, tojson).
package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ardanlabs/jinja"
)

// ConfigFile and TemplateFile are the files Load reads from a model folder.
const (
	ConfigFile   = "tokenizer_config.json"
	TemplateFile = "chat_template.jinja"
)

// maxFileSize bounds the files Load and ParseConfig read.
const maxFileSize = 16 << 20

// ErrNoTemplate is returned by Load and ParseConfig when the folder or
// configuration holds no chat template (a base model, not a chat model).
var ErrNoTemplate = errors.New("chat: no chat template")

// Message is one turn of a conversation.
type Message struct {
	// Role is "system", "user" or "assistant" (templates may know others,
	// such as "tool").
	Role string `json:"role"`
	// Content is the turn's text.
	Content string `json:"content"`
	// ToolCalls are the tool calls of an assistant turn (OpenAI's
	// tool_calls); nil for any other.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is the call a "tool" turn answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is the tool a "tool" turn reports on, or a participant's name.
	Name string `json:"name,omitempty"`
}

// ToolCall is a call of a function tool made by an assistant turn.
type ToolCall struct {
	ID string `json:"id,omitempty"`
	// Name is the function's.
	Name string `json:"name"`
	// Arguments is a JSON object, as text.
	Arguments string `json:"arguments"`
}

// RenderOptions are what a rendering passes to the template besides the
// messages. The zero value renders the conversation alone.
type RenderOptions struct {
	// AddGenerationPrompt ends the text with the opening of an assistant
	// turn, so that the model's continuation is its reply.
	AddGenerationPrompt bool
	// Tools are the tools the model may call, each a JSON Schema object as
	// OpenAI's API and transformers take them ({"type": "function",
	// "function": {"name", "description", "parameters"}}); the template
	// sees them as "tools". nil leaves tools undefined.
	Tools []json.RawMessage
}

// Template is a compiled chat template with the special tokens it is
// rendered with. It is immutable and safe for concurrent use.
type Template struct {
	src     string
	tmpl    *jinja.Template
	special map[string]string
}

// New compiles a chat template. special maps the names the template may
// use for special tokens (bos_token, eos_token, unk_token, pad_token, …) to
// their text; names it does not set are undefined in the template.
func New(src string, special map[string]string) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		return nil, ErrNoTemplate
	}
	t, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat: compiling the chat template: %w", err)
	}
	sp := make(map[string]string, len(special))
	for k, v := range special {
		sp[k] = v
	}
	return &Template{src: src, tmpl: t, special: sp}, nil
}

// Source returns the template's Jinja source.
func (t *Template) Source() string { return t.src }

// Special returns the text of a special token the template is rendered
// with (bos_token, eos_token, …) and whether it is set.
func (t *Template) Special(name string) (string, bool) {
	v, ok := t.special[name]
	return v, ok
}

// Render returns the prompt text of msgs. With addGenerationPrompt the
// text ends with the opening of an assistant turn, so that the model's
// continuation is its reply. An error the template raises itself (say, on
// roles out of order) is returned with its message.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	return t.RenderWith(msgs, RenderOptions{AddGenerationPrompt: addGenerationPrompt})
}

// RenderWith is Render with tools. A message's tool calls reach the
// template as transformers passes them: {"type": "function", "function":
// {"name", "arguments"}}, the arguments decoded into an object when they
// are a JSON object (templates write them with tojson) and left as text
// otherwise.
func (t *Template) RenderWith(msgs []Message, opts RenderOptions) (string, error) {
	list := make([]any, len(msgs))
	for i, m := range msgs {
		msg := map[string]any{"role": m.Role, "content": m.Content}
		if len(m.ToolCalls) > 0 {
			calls := make([]any, len(m.ToolCalls))
			for k, c := range m.ToolCalls {
				var args any = c.Arguments
				var obj map[string]any
				if json.Unmarshal([]byte(c.Arguments), &obj) == nil && obj != nil {
					args = obj
				}
				call := map[string]any{"type": "function", "function": map[string]any{"name": c.Name, "arguments": args}}
				if c.ID != "" {
					call["id"] = c.ID
				}
				calls[k] = call
			}
			msg["tool_calls"] = calls
		}
		if m.ToolCallID != "" {
			msg["tool_call_id"] = m.ToolCallID
		}
		if m.Name != "" {
			msg["name"] = m.Name
		}
		list[i] = msg
	}
	data := map[string]any{"messages": list, "add_generation_prompt": opts.AddGenerationPrompt}
	if opts.Tools != nil {
		tools := make([]any, 0, len(opts.Tools))
		for _, raw := range opts.Tools {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return "", fmt.Errorf("chat: a tool is not JSON: %w", err)
			}
			tools = append(tools, v)
		}
		data["tools"] = tools
	}
	for k, v := range t.special {
		data[k] = v
	}
	out, err := t.tmpl.Render(data)
	if err != nil {
		return "", fmt.Errorf("chat: rendering the chat template: %w", err)
	}
	return out, nil
}

// TakesTools reports whether the template reads the tools variable (a
// template that does not would drop them silently).
func (t *Template) TakesTools() bool { return strings.Contains(t.src, "tools") }

// Load reads the chat template of a model folder: chat_template.jinja if
// present, else the "chat_template" of tokenizer_config.json (when it is a
// list of named templates, the one named "default"), with the special
// tokens of tokenizer_config.json. A folder without a template gives
// ErrNoTemplate.
func Load(dir string) (*Template, error) {
	cfg, err := readLimited(filepath.Join(dir, ConfigFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	src, err := readLimited(filepath.Join(dir, TemplateFile))
	switch {
	case err == nil:
		special := map[string]string{}
		if cfg != nil {
			if _, special, err = parseConfig(cfg); err != nil {
				return nil, err
			}
		}
		return New(string(src), special)
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	case cfg == nil:
		return nil, ErrNoTemplate
	}
	return ParseConfig(cfg)
}

// ParseConfig reads the chat template and the special tokens from the
// bytes of a tokenizer_config.json.
func ParseConfig(b []byte) (*Template, error) {
	src, special, err := parseConfig(b)
	if err != nil {
		return nil, err
	}
	return New(src, special)
}

// specialNames are the tokenizer_config.json keys passed to templates.
var specialNames = []string{"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"}

func parseConfig(b []byte) (src string, special map[string]string, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return "", nil, fmt.Errorf("chat: %s: %w", ConfigFile, err)
	}
	special = map[string]string{}
	for _, name := range specialNames {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			continue
		}
		s, err := tokenText(v)
		if err != nil {
			return "", nil, fmt.Errorf("chat: %s: %s: %w", ConfigFile, name, err)
		}
		special[name] = s
	}
	if v, ok := raw["chat_template"]; ok && string(v) != "null" {
		if src, err = templateSource(v); err != nil {
			return "", nil, fmt.Errorf("chat: %s: chat_template: %w", ConfigFile, err)
		}
	}
	return src, special, nil
}

// tokenText reads a special token written as a string or as an added-token
// object {"content": "<s>", …}.
func tokenText(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(v, &obj); err != nil || obj.Content == nil {
		return "", fmt.Errorf("want a string or an object with \"content\"")
	}
	return *obj.Content, nil
}

// templateSource reads chat_template written as a string or as a list of
// {"name", "template"} objects, of which it takes "default".
func templateSource(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(v, &named); err != nil {
		return "", fmt.Errorf("want a string or a list of {name, template}")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", fmt.Errorf("no template named \"default\" among %d", len(named))
}

// readLimited reads a file of at most maxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("chat: %s is larger than %d MiB", path, maxFileSize>>20)
	}
	return b, nil
}
