package serve

import (
	"strconv"
	"unicode/utf8"
)

// deltaEvents writes the most frequent event of a stream, a choice's text
// delta with no log-probabilities, without going through encoding/json: the
// chunk is a head fixed for the request (id, object, created, model,
// fingerprint), the choice's index and text, and a fixed tail. The bytes are
// those json.Encoder writes for the same chunk struct (completion or
// chatChunk), HTML escaping included; TestDeltaEventsMatchJSON and
// FuzzDeltaEvents check it. A stream of a small model writes thousands of
// these a second, where reflection and the chunk's allocations showed in
// the profile.
type deltaEvents struct {
	chat bool   // chat.completion.chunk (else text_completion)
	head []byte // `data: {"id":…,"choices":[{`
	buf  []byte
}

func newDeltaEvents(chat bool, id string, created int64, model string) *deltaEvents {
	object := "text_completion"
	if chat {
		object = "chat.completion.chunk"
	}
	h := []byte(`data: {"id":`)
	h = appendJSONString(h, id)
	h = append(h, `,"object":`...)
	h = appendJSONString(h, object)
	h = append(h, `,"created":`...)
	h = strconv.AppendInt(h, created, 10)
	h = append(h, `,"model":`...)
	h = appendJSONString(h, model)
	h = append(h, `,"system_fingerprint":`...)
	h = appendJSONString(h, fingerprint)
	h = append(h, `,"choices":[{`...)
	return &deltaEvents{chat: chat, head: h}
}

// event returns the "data:" event (blank line included) of choice i's text
// delta; the slice is reused by the next call.
func (d *deltaEvents) event(i int, text string) []byte {
	b := append(d.buf[:0], d.head...)
	if d.chat {
		b = append(b, `"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"delta":{"content":`...)
		b = appendJSONString(b, text)
		b = append(b, `},"logprobs":null,"finish_reason":null}]}`...)
	} else {
		b = append(b, `"text":`...)
		b = appendJSONString(b, text)
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"logprobs":null,"finish_reason":null}]}`...)
	}
	b = append(b, "\n\n"...)
	d.buf = b
	return b
}

// appendJSONString appends s as a JSON string the way encoding/json does
// with HTML escaping (its default): ", \ and control characters escaped
// (\b \f \n \r \t by name), <, > and & as \u003c …, invalid UTF-8 as
// \ufffd, and U+2028 / U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
