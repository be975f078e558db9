package serve

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/serve/constrain"
)

const weatherTools = `[{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
	"parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "unit": {"enum": ["c", "f"]}},
	"required": ["city", "unit"], "additionalProperties": false}}},
	{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string", "maxLength": 8}}, "required": ["zone"]}}}]`

// argsSchema is get_weather's parameters, compiled, to validate arguments.
func argsSchema(t *testing.T, name string) *constrain.Schema {
	var tools []chatTool
	if err := json.Unmarshal([]byte(weatherTools), &tools); err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools {
		if tl.Function.Name == name {
			sc, err := constrain.CompileSchema(tl.Function.Parameters)
			if err != nil {
				t.Fatal(err)
			}
			return sc
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

// TestToolCallsRequired: with tool_choice required or a named function,
// the fake model's random text is constrained into a call whose arguments
// follow the tool's schema, answered as message.tool_calls with
// finish_reason tool_calls; streamed, as tool_calls deltas with index.
func TestToolCallsRequired(t *testing.T) {
	ts := newTestServer(t, Options{}, &fakeLM{maxLen: 1024})
	msgs := `"messages": [{"role": "user", "content": "weather?"}]`
	for _, choice := range []string{`"required"`, `{"type": "function", "function": {"name": "get_time"}}`} {
		for seed := range 4 {
			body := `{"model": "fake", ` + msgs + `, "tools": ` + weatherTools + `, "tool_choice": ` + choice + `, "max_tokens": 120, "seed": ` + string(rune('0'+seed)) + `}`
			code, b := post(t, ts.URL+"/v1/chat/completions", body)
			var out chatCompletion
			if err := json.Unmarshal(b, &out); err != nil || code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			c := out.Choices[0]
			if c.FinishReason != "tool_calls" || c.Message.Content != nil || len(c.Message.ToolCalls) != 1 {
				t.Fatalf("%s seed %d: %s", choice, seed, b)
			}
			call := c.Message.ToolCalls[0]
			if !strings.HasPrefix(call.ID, "call_") || call.Type != "function" || call.Index != nil {
				t.Errorf("call %+v", call)
			}
			if strings.Contains(choice, "get_time") && call.Function.Name != "get_time" {
				t.Errorf("named get_time, called %s", call.Function.Name)
			}
			if err := argsSchema(t, call.Function.Name).Validate([]byte(call.Function.Arguments)); err != nil {
				t.Errorf("%s(%s): %v", call.Function.Name, call.Function.Arguments, err)
			}
		}
	}

	// Streamed: the call of one of two tools, and a named one (the reply
	// is its arguments), open first and then send their arguments as they
	// are decoded.
	for _, choice := range []string{`"required"`, `{"type": "function", "function": {"name": "get_weather"}}`} {
		streamToolCalls(t, ts, `{"model": "fake", `+msgs+`, "tools": `+weatherTools+`, "tool_choice": `+choice+`, "max_tokens": 120, "seed": 5, "stream": true, "n": 2}`,
			strings.Contains(choice, "get_weather"))
	}
}

// streamToolCalls checks a streamed tool call of each of two choices:
// tool_calls deltas with index 0, the first with id, type and name, the
// arguments valid and in several deltas, and finish_reason tool_calls
// (named: the call is get_weather's).
func streamToolCalls(t *testing.T, ts *testServer, body string, named bool) {
	t.Helper()
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type call struct {
		id, name, args string
		deltas         int
	}
	calls := map[int]*call{}
	finished := map[int]string{}
	for _, e := range sseEvents(t, resp.Body) {
		var c chatChunk
		if string(e) == "[DONE]" {
			continue
		}
		if err := json.Unmarshal(e, &c); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil && *ch.Delta.Content != "" {
				t.Errorf("content %q in a required tool call", *ch.Delta.Content)
			}
			for _, d := range ch.Delta.ToolCalls {
				if d.Index == nil || *d.Index != 0 {
					t.Fatalf("delta without index 0: %s", e)
				}
				if calls[ch.Index] == nil {
					if d.ID == "" || d.Type != "function" || d.Function.Name == "" {
						t.Fatalf("first delta without id, type and name: %s", e)
					}
					calls[ch.Index] = &call{id: d.ID, name: d.Function.Name}
				}
				calls[ch.Index].args += d.Function.Arguments
				calls[ch.Index].deltas++
			}
			if ch.FinishReason != nil {
				finished[ch.Index] = *ch.FinishReason
			}
		}
	}
	for i := range 2 {
		c := calls[i]
		if c == nil || finished[i] != "tool_calls" {
			t.Fatalf("choice %d: call %v, finish %q", i, c, finished[i])
		}
		if err := argsSchema(t, c.name).Validate([]byte(c.args)); err != nil {
			t.Errorf("streamed %s(%s): %v", c.name, c.args, err)
		}
		if named && c.name != "get_weather" {
			t.Errorf("named get_weather, called %s(%s)", c.name, c.args)
		}
		// A call of one of the tools whose model writes "arguments" before
		// "name" (the fake model may) holds them until the name: two deltas.
		if c.deltas < 2 || named && c.deltas < 4 {
			t.Errorf("%s(%s) came in %d deltas, not as it was decoded", c.name, c.args, c.deltas)
		}
	}
}

// TestToolCallsAuto: with tools and no tool_choice, a reply that is not a
// call streams as content (the fake model writes letters), and a
// conversation holding a call and its result is accepted.
func TestToolCallsAuto(t *testing.T) {
	ts := newTestServer(t, Options{}, &fakeLM{maxLen: 1024})
	body := `{"model": "fake", "messages": [{"role": "user", "content": "weather?"},
		{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"c\"}"}}]},
		{"role": "tool", "tool_call_id": "call_1", "content": "sunny"}], "tools": ` + weatherTools + `, "max_tokens": 20, "seed": 1}`
	code, b := post(t, ts.URL+"/v1/chat/completions", body)
	var out chatCompletion
	if err := json.Unmarshal(b, &out); err != nil || code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	if c := out.Choices[0]; c.FinishReason == "tool_calls" || c.Message.Content == nil {
		t.Fatalf("%s", b)
	}
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(strings.Replace(body, `"seed": 1`, `"seed": 1, "stream": true`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text string
	for _, e := range sseEvents(t, resp.Body) {
		var c chatChunk
		if json.Unmarshal(e, &c) == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
			text += *c.Choices[0].Delta.Content
		}
	}
	if text != *out.Choices[0].Message.Content {
		t.Errorf("streamed %q, not streamed %q", text, *out.Choices[0].Message.Content)
	}
}

// TestToolPrompt: the chat template receives the tools and the calls; a
// template that ignores tools gets them in a system message.
func TestToolPrompt(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	withTools, err := chat.New(`{% if tools %}T:{% for t in tools %}{{ t.function.name }},{% endfor %}|{% endif %}`+
		`{% for m in messages %}{{ m.role }}:{{ m.content }}{% for c in m.tool_calls or [] %}{{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}{% if m.tool_call_id %}#{{ m.tool_call_id }}{% endif %}|{% endfor %}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := chat.New(`{% for m in messages %}{{ m.role }}:{{ m.content }}|{% endfor %}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var req chatRequest
	body := `{"model": "x", "messages": [{"role": "user", "content": "w?"},
		{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{\"zone\":\"UTC\"}"}}]},
		{"role": "tool", "tool_call_id": "c1", "content": "noon"}], "tools": ` + weatherTools + `}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	if err := req.check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tmpl *chat.Template
		want string
	}{
		{"template with tools", withTools, `T:get_weather,get_time,|user:w?|assistant:get_time{"zone": "UTC"}|tool:noon#c1|`},
		{"template without tools", plain, `system:You can call these tools`},
	} {
		m := *ts.s.models["fake"].m
		m.ID, m.ChatTemplate = tc.name, tc.tmpl
		if err := ts.s.AddModel(&m); err != nil {
			t.Fatal(err)
		}
		rt := ts.s.models[tc.name]
		ids, aerr := rt.chatPrompt(&req)
		if aerr != nil {
			t.Fatal(aerr)
		}
		text, _ := rt.dec.Decode(ids, true)
		if !strings.HasPrefix(text, tc.want) {
			t.Errorf("%s: %q, want it to start with %q", tc.name, text, tc.want)
		}
	}
}

func TestParseToolCalls(t *testing.T) {
	var tools []chatTool
	if err := json.Unmarshal([]byte(weatherTools), &tools); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		ok         bool
		names      []string
		args       []string
		content    string
	}{
		{"object", ` {"name": "get_time", "arguments": {"zone": "UTC"}}`, true, []string{"get_time"}, []string{`{"zone":"UTC"}`}, ""},
		{"parameters", `{"name": "get_time", "parameters": {"zone": "CET"}}`, true, []string{"get_time"}, []string{`{"zone":"CET"}`}, ""},
		{"string arguments", `{"name": "get_time", "arguments": "{\"zone\": \"X\"}"}`, true, []string{"get_time"}, []string{`{"zone":"X"}`}, ""},
		{"list", `[{"name": "get_time", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}]`, true,
			[]string{"get_time", "get_weather"}, []string{`{}`, `{"city":"Oslo","unit":"c"}`}, ""},
		{"hermes", "Let me look.\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n</tool_call>", true, []string{"get_time"}, []string{`{"zone":"UTC"}`}, "Let me look."},
		{"unknown tool", `{"name": "rm", "arguments": {}}`, false, nil, nil, ""},
		{"arguments not an object", `{"name": "get_time", "arguments": 5}`, false, nil, nil, ""},
		{"text", `It is sunny.`, false, nil, nil, ""},
		{"null arguments", `{"name": "get_time", "arguments": null}`, true, []string{"get_time"}, []string{`{}`}, ""},
		{"truncated", `{"name": "get_time", "argu`, false, nil, nil, ""},
	} {
		calls, content, ok := parseToolCalls(tc.text, tools)
		if ok != tc.ok || len(calls) != len(tc.names) || content != tc.content {
			t.Errorf("%s: %v %q %v", tc.name, calls, content, ok)
			continue
		}
		for i, c := range calls {
			if c.Name != tc.names[i] || c.Arguments != tc.args[i] {
				t.Errorf("%s: call %d is %s(%s), want %s(%s)", tc.name, i, c.Name, c.Arguments, tc.names[i], tc.args[i])
			}
		}
	}
	for _, tc := range []struct {
		prefix string
		may    bool
	}{{"", true}, {"  {", true}, {"<tool", true}, {"<tool_call>{", true}, {"It", false}, {"<b>", false}} {
		if got := mayBeToolCall(tc.prefix); got != tc.may {
			t.Errorf("mayBeToolCall(%q) = %v", tc.prefix, got)
		}
	}
}
