package serve

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/chat"
)

// streamed feeds text to a toolStream in pieces of n bytes and returns the
// calls its deltas add up to, and whether the deltas came in order (a
// call opened once, before its arguments, indices counting up).
func streamed(t *testing.T, p *toolStream, text string, n int) (names, args []string) {
	t.Helper()
	for i := 0; i < len(text); i += n {
		for _, d := range p.feed(text[i:min(i+n, len(text))]) {
			switch {
			case d.Open && d.Index == len(names):
				names, args = append(names, d.Name), append(args, "")
			case !d.Open && d.Index == len(names)-1:
				args[d.Index] += d.Args
			default:
				t.Fatalf("%q by %d: delta %+v out of order after %d calls", text, n, d, len(names))
			}
		}
	}
	return names, args
}

// TestToolStream checks that streaming a reply gives the calls
// parseToolCalls reads from the whole reply, however the text is split:
// the same names, and arguments whose fragments add up to the same
// compacted JSON.
func TestToolStream(t *testing.T) {
	var tools []chatTool
	if err := json.Unmarshal([]byte(weatherTools), &tools); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		` {"name": "get_time", "arguments": {"zone": "UTC"}}`,
		`{"name": "get_time", "parameters": {"zone": "CET"}}`,
		`{"name": "get_time", "arguments": "{\"zone\": \"X\"}"}`,
		`{"name": "get_time", "arguments": null}`,
		`{"name": "get_time"}`,
		`{"arguments": {"zone": "A B"}, "name": "get_time"}`,
		`{"id": 7, "name": "get_time", "extra": [1, {"a": "}"}], "arguments": {"zone": "x\"}{ \\"}}`,
		"{\"name\":\"get_weather\",\n  \"arguments\": {\n    \"city\": \"Le Mans\",\n    \"unit\": \"c\", \"n\": [1, 2.5e3, true, null]\n  }\n}",
		`[{"name": "get_time", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}]`,
		"<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n</tool_call>\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}</tool_call>",
	} {
		want, _, ok := parseToolCalls(text, tools)
		if !ok {
			t.Fatalf("parseToolCalls refuses %q", text)
		}
		for _, n := range []int{1, 2, 3, 7, len(text)} {
			p := newToolStream(tools, 0)
			names, args := streamed(t, p, text, n)
			if p.failed || !p.opened() || len(names) != len(want) {
				t.Fatalf("%q by %d: %v %v (failed %v), want %v", text, n, names, args, p.failed, want)
			}
			for i, c := range want {
				if names[i] != c.Name || args[i] != c.Arguments {
					t.Errorf("%q by %d: call %d is %s(%s), want %s(%s)", text, n, i, names[i], args[i], c.Name, c.Arguments)
				}
			}
		}
	}
	// Name first, the arguments go out as they come: one fragment per
	// piece of text.
	p := newToolStream(tools, 0)
	text := `{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}`
	frags := 0
	for i := range len(text) {
		for _, d := range p.feed(text[i : i+1]) {
			if !d.Open {
				frags++
			}
		}
	}
	if frags < 20 {
		t.Errorf("%q by bytes: %d argument fragments", text, frags)
	}
	// Replies that are not calls fail before a call opens; one cut short
	// keeps what it streamed; parallel_tool_calls false keeps the first.
	for _, tc := range []struct {
		text   string
		limit  int
		opened bool
		calls  int
	}{
		{"It is sunny.", 0, false, 0},
		{`{"name": "rm", "arguments": {}}`, 0, false, 0},
		{`{"name": 5}`, 0, false, 0},
		{`{"arguments": {"zone": "A"}}`, 0, false, 0},
		{`<b>bold</b>`, 0, false, 0},
		{`{"name": "get_time", "arguments": {"zo`, 0, true, 1},
		{`[{"name": "get_time", "arguments": {}}, {"name": "get_weather", "arguments": {}}]`, 1, true, 1},
	} {
		p := newToolStream(tools, tc.limit)
		names, _ := streamed(t, p, tc.text, 3)
		if p.opened() != tc.opened || len(names) != tc.calls {
			t.Errorf("%q: opened %v with %d calls, want %v with %d", tc.text, p.opened(), len(names), tc.opened, tc.calls)
		}
	}
}

// FuzzToolStream checks that the streaming reader never panics, sends
// deltas in order however the text is split, and agrees with
// parseToolCalls on the bare-object and list formats it completes.
func FuzzToolStream(f *testing.F) {
	f.Add(`{"name": "get_time", "arguments": {"zone": "UTC"}}`, 3)
	f.Add(`[{"name": "get_time", "arguments": "{}"}, {"name": "get_weather", "arguments": {"city": "a\"b"}}]`, 1)
	f.Add("<tool_call>{\"name\": \"get_time\"}</tool_call>", 5)
	f.Add(`{"arguments": [1, {"x": "}"}], "name": "get_time"}`, 2)
	var tools []chatTool
	if err := json.Unmarshal([]byte(weatherTools), &tools); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, n int) {
		n = 1 + (n&0xff)%16
		p := newToolStream(tools, 0)
		names, args := streamed(t, p, text, n)
		if !p.done || p.failed || (len(text) > 0 && text[0] == '<') {
			return
		}
		lower := strings.ToLower(text)
		if strings.Count(lower, "name")+strings.Count(lower, "arguments")+strings.Count(lower, "parameters") > 2*len(names) {
			return // a key given twice: encoding/json keeps the last, the stream the first
		}
		want, _, ok := parseToolCalls(text, tools)
		if ok && fmt.Sprint(names) == fmt.Sprint(callNames(want)) {
			for i, c := range want {
				if args[i] != c.Arguments {
					t.Fatalf("%q: streamed %s(%s), parsed %s(%s)", text, names[i], args[i], c.Name, c.Arguments)
				}
			}
		}
	})
}

func callNames(calls []chat.ToolCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Name
	}
	return out
}
