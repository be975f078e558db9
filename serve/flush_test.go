package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// flushRecorder records a response and counts its flushes, signalling each
// on flushed.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes int
	flushed chan struct{}
}

func (r *flushRecorder) Flush() {
	r.ResponseRecorder.Flush()
	r.flushes++
	select {
	case r.flushed <- struct{}{}:
	default:
	}
}

// TestFlushInterval streams the same greedy completion and chat
// completion with and without a flush interval, letting the model's steps
// through one at a time: the texts are the same; without an interval each
// step's chunk is flushed (the next step waits for it); with an interval
// much longer than the generation the chat's role chunk and the first
// token are flushed at once (the next step waits for them), the rest and
// the end an interval later, then [DONE].
func TestFlushInterval(t *testing.T) {
	const tokens = 12
	completion := `{"model": "fake", "prompt": "abc", "max_tokens": 12, "temperature": 0, "stream": true}`
	chat := `{"model": "fake", "messages": [{"role": "user", "content": "abc"}], "max_tokens": 12, "temperature": 0, "stream": true}`
	want := map[string]string{}
	for _, c := range []struct {
		route, body        string
		interval           time.Duration
		lockstep           bool // wait for a flush after every step, not only the first
		before             int  // flushes before the first step (the role chunk)
		minFlush, maxFlush int
	}{
		{"/v1/completions", completion, 0, true, 0, tokens, tokens + 1},
		{"/v1/completions", completion, 300 * time.Millisecond, false, 0, 3, 4},
		{"/v1/chat/completions", chat, 0, true, 1, tokens + 1, tokens + 2},
		{"/v1/chat/completions", chat, 300 * time.Millisecond, false, 1, 4, 5},
	} {
		name := fmt.Sprintf("%s, interval %v", c.route, c.interval)
		lm := &fakeLM{maxLen: 256}
		ts := newTestServer(t, Options{FlushInterval: c.interval}, lm)
		gate := make(chan struct{})
		lm.setGate(gate)
		defer close(gate) // lets the steps of a failed test through
		rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{}, 1)}
		req := httptest.NewRequest(http.MethodPost, c.route, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		done := make(chan struct{})
		go func() {
			ts.s.Handler().ServeHTTP(rec, req)
			close(done)
		}()
		flushed := func(what string) {
			select {
			case <-rec.flushed:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: %s was not flushed", name, what)
			}
		}
		for range c.before {
			flushed("the role chunk")
		}
	steps:
		for step := 0; ; step++ {
			select {
			case gate <- struct{}{}:
			case <-done:
				break steps
			}
			if step == 0 || c.lockstep {
				flushed(fmt.Sprintf("step %d's chunk", step))
			}
		}
		var text strings.Builder
		n := 0
		for _, e := range sseEvents(t, bytes.NewReader(rec.Body.Bytes())) {
			var ch struct {
				Choices []struct {
					Text  string
					Delta struct{ Content *string }
				}
			}
			if err := json.Unmarshal(e, &ch); err != nil || len(ch.Choices) != 1 {
				t.Fatalf("%s: chunk %s", name, e)
			}
			piece := ch.Choices[0].Text
			if p := ch.Choices[0].Delta.Content; p != nil {
				piece = *p
			}
			if piece != "" {
				text.WriteString(piece)
				n++
			}
		}
		if want[c.route] == "" {
			want[c.route] = text.String()
		}
		if rec.Code != 200 || n != tokens || text.String() != want[c.route] {
			t.Fatalf("%s: %d, %d text chunks %q, want %d %q", name, rec.Code, n, text.String(), tokens, want[c.route])
		}
		t.Logf("%s: %d flushes", name, rec.flushes)
		if rec.flushes < c.minFlush || rec.flushes > c.maxFlush {
			t.Errorf("%s: %d flushes for %d tokens, want %d to %d", name, rec.flushes, tokens, c.minFlush, c.maxFlush)
		}
	}
}
