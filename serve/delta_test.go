package serve

import (
	"bytes"
	"encoding/json"
	"testing"
)

// jsonDelta is the event encoding/json gives for a text delta: what
// deltaEvents must reproduce byte for byte.
func jsonDelta(t testing.TB, chat bool, id string, created int64, model string, i int, text string) []byte {
	var v any
	if chat {
		v = chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, SystemFingerprint: fingerprint,
			Choices: []chunkChoice{{Index: i, Delta: chunkDelta{Content: &text}}}}
	} else {
		v = completion{ID: id, Object: "text_completion", Created: created, Model: model, SystemFingerprint: fingerprint,
			Choices: []completionChoice{{Index: i, Text: text}}}
	}
	var b bytes.Buffer
	b.WriteString("data: ")
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func TestDeltaEventsMatchJSON(t *testing.T) {
	texts := []string{"", " the", "a\"b\\c", "<tag> & co", "tab\there\nnew\rline\b\f", "\x00\x01\x1f\x7f",
		"héllo 世界 🙂", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "\xed\xa0\x80 surrogate", "é"[:1]}
	for _, chat := range []bool{false, true} {
		for _, model := range []string{"stories260K", `we"ird<model>`} {
			d := newDeltaEvents(chat, "cmpl-abc123", 1765000000, model)
			for i, text := range texts {
				want := jsonDelta(t, chat, "cmpl-abc123", 1765000000, model, i, text)
				if got := d.event(i, text); !bytes.Equal(got, want) {
					t.Errorf("chat %v, %q:\n got %s\nwant %s", chat, text, got, want)
				}
			}
		}
	}
}

// FuzzDeltaEvents checks the hand-written encoding against encoding/json
// on arbitrary text and names.
func FuzzDeltaEvents(f *testing.F) {
	f.Add(" once upon", "m", 0, false)
	f.Add("<\u2028\xff\"", "x&y", 3, true)
	f.Fuzz(func(t *testing.T, text, model string, i int, chat bool) {
		d := newDeltaEvents(chat, "chatcmpl-1", 7, model)
		want := jsonDelta(t, chat, "chatcmpl-1", 7, model, i, text)
		if got := d.event(i, text); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

// The fast path allocates nothing once its buffer has grown.
func TestDeltaEventsAllocs(t *testing.T) {
	d := newDeltaEvents(true, "chatcmpl-1", 7, "m")
	d.event(0, "warm up the buffer")
	if n := testing.AllocsPerRun(100, func() { d.event(3, " token") }); n != 0 {
		t.Fatalf("%v allocations per event", n)
	}
}
