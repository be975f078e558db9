package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/serve/constrain"
)

// Tool calls (tools, tool_choice on chat completions). The tools are
// rendered through the model's chat template, which receives them as
// transformers' apply_chat_template passes them; a template that does not
// read them (or no template) gets them in a system message that asks for a
// JSON object {"name": …, "arguments": {…}}. The reply is parsed for calls:
// Hermes/Qwen's <tool_call>{…}</tool_call> blocks, or the whole reply as one
// such object or a list of them ("parameters" is read as "arguments", as
// Llama 3.1 writes it). With tool_choice "required" or a named function the
// reply is constrained (serve/constrain) to a call of an allowed tool whose
// arguments follow its parameters schema, so it always parses.

// MaxTools bounds the tools of one request (OpenAI's limit).
const MaxTools = 128

// chatTool is one entry of tools.
type chatTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	} `json:"function"`
}

// toolChoice is "none", "auto", "required" or {"type": "function",
// "function": {"name": …}} (Name set).
type toolChoice struct {
	Mode string // none, auto, required, or "function" for a named one
	Name string
}

func (c *toolChoice) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &c.Mode); err != nil {
			return &fieldError{"tool_choice", err.Error()}
		}
		switch c.Mode {
		case "none", "auto", "required":
			return nil
		}
		return &fieldError{"tool_choice", fmt.Sprintf("%q is not none, auto, required or a {\"type\": \"function\", ...} object", c.Mode)}
	}
	var o struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Type != "function" || o.Function.Name == "" {
		return &fieldError{"tool_choice", `want "none", "auto", "required" or {"type": "function", "function": {"name": ...}}`}
	}
	c.Mode, c.Name = "function", o.Function.Name
	return nil
}

// messageToolCall is a tool call of an assistant message, in requests and
// answers.
type messageToolCall struct {
	Index    *int   `json:"index,omitempty"` // stream deltas only
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

var toolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkTools validates tools and tool_choice.
func (r *chatRequest) checkTools() *Error {
	if len(r.Tools) > MaxTools {
		return badRequest("tools", "%d tools; at most %d are accepted", len(r.Tools), MaxTools)
	}
	seen := map[string]bool{}
	for i, t := range r.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		switch {
		case t.Type != "function":
			return badRequest(param+".type", "%s: type %q is not supported (only function)", param, t.Type)
		case t.Function == nil:
			return badRequest(param+".function", "%s: function is required", param)
		case !toolName.MatchString(t.Function.Name):
			return badRequest(param+".function.name", "%s: function name %q must be 1 to 64 letters, digits, _ or -", param, t.Function.Name)
		case seen[t.Function.Name]:
			return badRequest(param+".function.name", "%s: a second function named %q", param, t.Function.Name)
		}
		seen[t.Function.Name] = true
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && p[0] != '{' && string(p) != "null" {
			return badRequest(param+".function.parameters", "%s: parameters must be a JSON Schema object", param)
		}
	}
	if c := r.ToolChoice; c != nil {
		switch {
		case c.Mode != "none" && len(r.Tools) == 0:
			return badRequest("tool_choice", "tool_choice %q needs tools", c.Mode)
		case c.Mode == "function" && !seen[c.Name]:
			return badRequest("tool_choice", "tool_choice names the function %q, which is not among the tools", c.Name)
		}
		if (c.Mode == "required" || c.Mode == "function") && r.ResponseFormat != nil && r.ResponseFormat.Type != "text" {
			return badRequest("tool_choice", "tool_choice %q and response_format %q cannot both constrain the reply", c.Mode, r.ResponseFormat.Type)
		}
	}
	return nil
}

// toolsMode returns how the request uses its tools: "" (no tools or
// tool_choice none: plain text), "auto" (the reply may be calls),
// "required" or "function" (the reply is a call).
func (r *chatRequest) toolsMode() string {
	if len(r.Tools) == 0 {
		return ""
	}
	if r.ToolChoice == nil {
		return "auto"
	}
	if r.ToolChoice.Mode == "none" {
		return ""
	}
	return r.ToolChoice.Mode
}

// toolsJSON returns the tools as the template receives them.
func (r *chatRequest) toolsJSON() []json.RawMessage {
	out := make([]json.RawMessage, len(r.Tools))
	for i, t := range r.Tools {
		fn := map[string]any{"name": t.Function.Name}
		if t.Function.Description != "" {
			fn["description"] = t.Function.Description
		}
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && string(p) != "null" {
			fn["parameters"] = json.RawMessage(p)
		}
		out[i], _ = json.Marshal(map[string]any{"type": "function", "function": fn})
	}
	return out
}

// directTool returns the tool whose call the reply must be when only one
// can be (a named function, or "required" with one tool): the reply is
// then the arguments alone, constrained to that tool's parameters and
// streamed as they come, as vLLM does for a named function. "" otherwise.
func (r *chatRequest) directTool() string {
	switch r.toolsMode() {
	case "function":
		return r.ToolChoice.Name
	case "required":
		if len(r.Tools) == 1 {
			return r.Tools[0].Function.Name
		}
	}
	return ""
}

// directCall reads a direct tool's reply: the arguments object.
func directCall(name, text string) (chat.ToolCall, bool) {
	var obj map[string]any
	if json.Unmarshal([]byte(text), &obj) != nil || obj == nil {
		return chat.ToolCall{}, false
	}
	var compact bytes.Buffer
	json.Compact(&compact, []byte(text))
	return chat.ToolCall{Name: name, Arguments: compact.String()}, true
}

// toolsSystemPrompt describes the tools for a template that does not read
// them (or for no template).
func toolsSystemPrompt(tools []json.RawMessage, mode, name string) string {
	var b strings.Builder
	b.WriteString("You can call these tools (JSON Schema):\n")
	for _, t := range tools {
		b.Write(t)
		b.WriteByte('\n')
	}
	switch {
	case name != "":
		fmt.Fprintf(&b, "Call %s: reply with only its arguments, a JSON object.", name)
		return b.String()
	case mode == "required":
		b.WriteString("Call one of them: reply")
	default:
		b.WriteString("To call one, reply")
	}
	b.WriteString(` with only a JSON object {"name": <tool name>, "arguments": <arguments object>}.`)
	return b.String()
}

// toolCallSchema is the JSON Schema of the reply: a direct tool's
// parameters, else a call of one of the tools, {"name": const,
// "arguments": the tool's parameters}, as anyOf over them.
func (r *chatRequest) toolCallSchema() json.RawMessage {
	direct := r.directTool()
	var alts []json.RawMessage
	for _, t := range r.Tools {
		params := json.RawMessage(`{"type": "object"}`)
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && string(p) != "null" {
			params = p
		}
		if direct != "" {
			if t.Function.Name == direct {
				return params
			}
			continue
		}
		name, _ := json.Marshal(t.Function.Name)
		alts = append(alts, json.RawMessage(fmt.Sprintf(`{"type": "object", "properties": {"name": {"const": %s}, "arguments": %s}, "required": ["name", "arguments"], "additionalProperties": false}`, name, params)))
	}
	if len(alts) == 1 {
		return alts[0]
	}
	all, _ := json.Marshal(map[string]any{"anyOf": alts})
	return all
}

// toolIndex compiles the constraint of a required or named tool call.
func (rt *served) toolIndex(r *chatRequest) (*constrain.Index, *Error) {
	return rt.schemaIndex(r.toolCallSchema(), "tools")
}

// toolCallBlock matches Hermes/Qwen's tool call blocks.
var toolCallBlock = regexp.MustCompile(`(?s)<tool_call>\s*(.*?)\s*</tool_call>`)

// parseToolCalls reads the calls of a reply: <tool_call> blocks, or the
// whole reply as one call object or a list of them. content is the text
// before the first block (empty for a bare object). Calls of tools that
// were not offered do not count: the reply is then text.
func parseToolCalls(text string, tools []chatTool) (calls []chat.ToolCall, content string, ok bool) {
	known := map[string]bool{}
	for _, t := range tools {
		known[t.Function.Name] = true
	}
	one := func(raw []byte) (chat.ToolCall, bool) {
		var c struct {
			Name       string          `json:"name"`
			Arguments  json.RawMessage `json:"arguments"`
			Parameters json.RawMessage `json:"parameters"`
		}
		if json.Unmarshal(raw, &c) != nil || !known[c.Name] {
			return chat.ToolCall{}, false
		}
		args := c.Arguments
		if args == nil {
			args = c.Parameters
		}
		args = bytes.TrimSpace(args)
		var s string
		if json.Unmarshal(args, &s) == nil { // arguments given as a JSON string
			args = []byte(s)
		}
		var obj map[string]any
		if len(args) == 0 || string(args) == "null" {
			args = []byte("{}")
		} else if json.Unmarshal(args, &obj) != nil || obj == nil {
			return chat.ToolCall{}, false
		}
		var compact bytes.Buffer
		json.Compact(&compact, args)
		return chat.ToolCall{Name: c.Name, Arguments: compact.String()}, true
	}
	if blocks := toolCallBlock.FindAllStringSubmatchIndex(text, -1); blocks != nil {
		for _, m := range blocks {
			c, ok := one([]byte(text[m[2]:m[3]]))
			if !ok {
				return nil, "", false
			}
			calls = append(calls, c)
		}
		return calls, strings.TrimSpace(text[:blocks[0][0]]), true
	}
	trimmed := bytes.TrimSpace([]byte(text))
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(trimmed, &list) != nil || len(list) == 0 {
			return nil, "", false
		}
		for _, raw := range list {
			c, ok := one(raw)
			if !ok {
				return nil, "", false
			}
			calls = append(calls, c)
		}
		return calls, "", true
	}
	if c, ok := one(trimmed); ok {
		return []chat.ToolCall{c}, "", true
	}
	return nil, "", false
}

// mayBeToolCall reports whether a reply that starts with prefix could
// still turn out to be a tool call (so a stream holds it back).
func mayBeToolCall(prefix string) bool {
	p := strings.TrimLeft(prefix, " \t\r\n")
	const block = "<tool_call>"
	switch {
	case p == "":
		return true
	case p[0] == '{' || p[0] == '[':
		return true
	case len(p) < len(block):
		return strings.HasPrefix(block, p)
	}
	return strings.HasPrefix(p, block)
}
