package serve

import (
	"bytes"
	"encoding/json"
	"strings"
)

// toolStream reads a reply that may be tool calls while it is decoded, so
// that a stream sends each call as OpenAI does: a delta that opens it
// (index, and the name once it is known) and then its arguments in
// fragments as the model writes them. It reads the formats parseToolCalls
// reads — a call object {"name": …, "arguments": {…}} ("parameters" too),
// a list of them, or Hermes/Qwen's <tool_call>…</tool_call> blocks — one
// byte at a time, resuming where the last piece ended.
//
// The arguments are sent compacted (whitespace outside strings dropped),
// so that the fragments of a call add up to the arguments the non-streamed
// answer gives. Arguments written as a JSON string, or before the name,
// are held until they are complete. A call opens only once its name is
// one of the tools; a reply that turns out to be something else before a
// call opened is failed (the caller then treats it as text), while one
// that goes wrong after a call opened just ends the calls there (what
// follows the last complete call is dropped).
type toolStream struct {
	known map[string]bool
	limit int // most calls (1 with parallel_tool_calls false); 0: no limit

	st     tsState
	mode   byte // '{' one object, '[' a list, '<' tool_call blocks
	lit    int  // bytes of a tag matched so far
	key    []byte
	keyEsc bool
	val    jsonValue // the value being read

	calls  int // calls opened or being read (the current call is calls−1)
	name   []byte
	named  bool   // the current call's name is known and opened
	args   []byte // arguments held until the call opens (or, raw, until complete)
	hasArg bool
	rawArg bool // the arguments are not an object: decoded when complete
	out    []toolDelta
	any    bool // a call was opened
	failed bool
	done   bool
}

// toolDelta is one piece of a streamed call: Open (with Name) starts call
// Index, Args appends to its arguments.
type toolDelta struct {
	Index int
	Open  bool
	Name  string
	Args  string
}

type tsState int

const (
	tsStart      tsState = iota // before the reply's first byte
	tsTag                       // matching "<tool_call>"
	tsBlock                     // after "<tool_call>": the call object
	tsCloseTag                  // after a block's object: up to "</tool_call>"
	tsBetween                   // after "</tool_call>": another block or the end
	tsListElem                  // in a list: the next call object
	tsListSep                   // in a list: after a call object
	tsKey                       // before a key of the call object, or its end
	tsKeyStr                    // in a key
	tsColon                     // after a key
	tsValueStart                // before a value
	tsInValue                   // in a value
	tsAfterValue                // after a value
)

// jsonValue tracks one JSON value being read: its nesting, whether it is in
// a string, and what happens to its bytes.
type jsonValue struct {
	role   byte // 'n' the name, 'a' streamed arguments, 'r' raw arguments, 's' skipped
	depth  int
	str    bool
	esc    bool
	scalar bool // a number, true, false or null: ends at a delimiter
	raw    []byte
}

func newToolStream(tools []chatTool, limit int) *toolStream {
	known := map[string]bool{}
	for _, t := range tools {
		if t.Function != nil {
			known[t.Function.Name] = true
		}
	}
	return &toolStream{known: known, limit: limit}
}

// opened reports whether a call has been sent: the reply is calls.
func (p *toolStream) opened() bool { return p.any }

// feed reads the next piece of the reply and returns the deltas it
// completes.
func (p *toolStream) feed(piece string) []toolDelta {
	p.out = p.out[:0]
	for i := 0; i < len(piece) && !p.failed && !p.done; i++ {
		p.byte(piece[i])
	}
	p.flushArgs()
	return p.out
}

// fail stops the reading: before a call opened the reply is not calls.
func (p *toolStream) fail() { p.failed = true }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

const (
	openTag  = "<tool_call>"
	closeTag = "</tool_call>"
)

func (p *toolStream) byte(c byte) {
	switch p.st {
	case tsStart:
		switch {
		case isSpace(c):
		case c == '{':
			p.mode = '{'
			p.beginCall()
		case c == '[':
			p.mode, p.st = '[', tsListElem
		case c == '<':
			p.mode, p.st, p.lit = '<', tsTag, 1
		default:
			p.fail()
		}
	case tsTag:
		if c != openTag[p.lit] {
			p.fail()
			return
		}
		if p.lit++; p.lit == len(openTag) {
			p.st = tsBlock
		}
	case tsBlock:
		switch {
		case isSpace(c):
		case c == '{':
			p.beginCall()
		default:
			p.fail()
		}
	case tsCloseTag:
		switch {
		case p.lit > 0 && c == closeTag[p.lit]:
			if p.lit++; p.lit == len(closeTag) {
				p.st = tsBetween
			}
		case c == '<':
			p.lit = 1
		case isSpace(c) && p.lit == 0:
		default:
			p.fail() // only whitespace may follow a block's object
		}
	case tsBetween:
		switch {
		case isSpace(c):
		case c == '<':
			p.st, p.lit = tsTag, 1
		default:
			p.done = true // text after the blocks is not part of the calls
		}
	case tsListElem:
		switch {
		case isSpace(c):
		case c == '{':
			p.beginCall()
		default:
			p.fail()
		}
	case tsListSep:
		switch {
		case isSpace(c):
		case c == ',':
			p.st = tsListElem
		case c == ']':
			p.done = true
		default:
			p.fail()
		}
	case tsKey:
		switch {
		case isSpace(c):
		case c == '"':
			p.st, p.key, p.keyEsc = tsKeyStr, p.key[:0], false
		case c == '}':
			p.endCall()
		default:
			p.fail()
		}
	case tsKeyStr:
		switch {
		case p.keyEsc:
			p.key, p.keyEsc = append(p.key, c), false
		case c == '\\':
			p.key, p.keyEsc = append(p.key, c), true
		case c == '"':
			p.st = tsColon
		default:
			p.key = append(p.key, c)
		}
	case tsColon:
		switch {
		case isSpace(c):
		case c == ':':
			p.st = tsValueStart
		default:
			p.fail()
		}
	case tsValueStart:
		if isSpace(c) {
			return
		}
		p.startValue(c)
	case tsInValue:
		p.valueByte(c)
	case tsAfterValue:
		switch {
		case isSpace(c):
		case c == ',':
			p.st = tsKey
		case c == '}':
			p.endCall()
		default:
			p.fail()
		}
	}
}

// beginCall starts reading a call object.
func (p *toolStream) beginCall() {
	p.calls++
	p.st = tsKey
	p.name, p.named, p.args, p.hasArg, p.rawArg = p.name[:0], false, p.args[:0], false, false
}

// startValue starts the value of the current key with its first byte c.
func (p *toolStream) startValue(c byte) {
	role := byte('s')
	switch key := p.keyName(); {
	case strings.EqualFold(key, "name"):
		if !p.named {
			role = 'n'
		}
	case strings.EqualFold(key, "arguments"), strings.EqualFold(key, "parameters"):
		if !p.hasArg {
			p.hasArg = true
			role = 'a'
			if c != '{' {
				role, p.rawArg = 'r', true
			}
		}
	}
	p.val = jsonValue{role: role}
	p.st = tsInValue
	switch c {
	case '{', '[':
		p.val.depth = 1
	case '"':
		p.val.str = true
	default:
		p.val.scalar = true
	}
	if role == 'n' && c != '"' {
		p.fail() // a name is a string
		return
	}
	p.keep(c)
}

// keyName is the current key, unescaped. Keys match as encoding/json
// matches them, ignoring case.
func (p *toolStream) keyName() string {
	if bytes.IndexByte(p.key, '\\') < 0 {
		return string(p.key)
	}
	var k string
	if json.Unmarshal(append(append([]byte{'"'}, p.key...), '"'), &k) != nil {
		return ""
	}
	return k
}

// keep routes one byte of the current value.
func (p *toolStream) keep(c byte) {
	switch p.val.role {
	case 'a':
		p.args = append(p.args, c)
	case 'n', 'r':
		p.val.raw = append(p.val.raw, c)
	}
}

// valueByte reads one byte inside the current value.
func (p *toolStream) valueByte(c byte) {
	v := &p.val
	switch {
	case v.scalar:
		if isSpace(c) || c == ',' || c == '}' || c == ']' {
			p.endValue()
			p.byte(c) // the delimiter belongs to the object
			return
		}
		p.keep(c)
		return
	case v.str:
		p.keep(c)
		switch {
		case v.esc:
			v.esc = false
		case c == '\\':
			v.esc = true
		case c == '"':
			v.str = false
			if v.depth == 0 {
				p.endValue()
			}
		}
		return
	}
	switch {
	case isSpace(c):
		if v.role != 'a' {
			p.keep(c)
		}
		return // the streamed arguments are compacted
	case c == '"':
		v.str = true
	case c == '{' || c == '[':
		v.depth++
	case c == '}' || c == ']':
		v.depth--
	}
	p.keep(c)
	if v.depth == 0 {
		p.endValue()
	}
}

// endValue finishes the current value.
func (p *toolStream) endValue() {
	p.st = tsAfterValue
	switch p.val.role {
	case 'n':
		var name string
		if json.Unmarshal(p.val.raw, &name) != nil || !p.known[name] {
			p.fail()
			return
		}
		p.name = append(p.name[:0], name...)
		p.named, p.any = true, true
		p.out = append(p.out, toolDelta{Index: p.calls - 1, Open: true, Name: name})
	case 'r':
		args, ok := rawArguments(p.val.raw)
		if !ok {
			p.fail()
			return
		}
		p.args = append(p.args[:0], args...)
	}
}

// rawArguments reads arguments given as a JSON string (or null) as
// parseToolCalls does: the object they hold, compacted.
func rawArguments(raw []byte) ([]byte, bool) {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = []byte(s)
	}
	if len(raw) == 0 || string(raw) == "null" {
		return []byte("{}"), true
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, false
	}
	var compact bytes.Buffer
	json.Compact(&compact, raw)
	return compact.Bytes(), true
}

// flushArgs sends the arguments read so far once the call is open (raw
// arguments only when complete).
func (p *toolStream) flushArgs() {
	if !p.named || len(p.args) == 0 || (p.rawArg && p.st == tsInValue && p.val.role == 'r') {
		return
	}
	p.out = append(p.out, toolDelta{Index: p.calls - 1, Args: string(p.args)})
	p.args = p.args[:0]
}

// endCall finishes a call object: it is a call of a known tool, with
// arguments ("{}" when it has none).
func (p *toolStream) endCall() {
	if !p.named {
		p.fail()
		return
	}
	if !p.hasArg {
		p.args = append(p.args[:0], "{}"...)
	}
	p.flushArgs()
	if p.limit > 0 && p.calls >= p.limit {
		p.done = true
		return
	}
	switch p.mode {
	case '{':
		p.done = true
	case '[':
		p.st = tsListSep
	case '<':
		p.st, p.lit = tsCloseTag, 0
	}
}
