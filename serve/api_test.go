package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/serve/constrain"
)

func do(t testing.TB, method, url, body string, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

func post(t testing.TB, url, body string, hdr ...string) (int, []byte) {
	t.Helper()
	code, b, _ := do(t, http.MethodPost, url, body, hdr...)
	return code, b
}

// apiError decodes an OpenAI error object, failing the test if the body is
// not one.
func apiError(t testing.TB, b []byte) errorObject {
	t.Helper()
	var e struct {
		Error *errorObject `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error object: %s", b)
	}
	return *e.Error
}

func TestChatCompletion(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	code, b := post(t, ts.URL+"/v1/chat/completions", `{"model": "fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 12, "seed": 3}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var out chatCompletion
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	c := out.Choices
	if out.Object != "chat.completion" || len(c) != 1 || c[0].Message.Role != "assistant" || c[0].Message.Content == nil || *c[0].Message.Content == "" ||
		(c[0].FinishReason != "stop" && c[0].FinishReason != "length") || !strings.HasPrefix(out.ID, "chatcmpl-") {
		t.Fatalf("response: %s", b)
	}
	// "<s>hi": 3 prompt tokens (BOS, h, i).
	if out.Usage.PromptTokens != 3 || out.Usage.CompletionTokens < 1 || out.Usage.CompletionTokens > 12 ||
		out.Usage.TotalTokens != out.Usage.PromptTokens+out.Usage.CompletionTokens {
		t.Fatalf("usage %+v", out.Usage)
	}
	// The same seed gives the same text; n gives distinct, indexed choices.
	_, b2 := post(t, ts.URL+"/v1/chat/completions", `{"model": "fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 12, "seed": 3, "n": 3}`)
	var out2 chatCompletion
	json.Unmarshal(b2, &out2)
	if len(out2.Choices) != 3 || *out2.Choices[0].Message.Content != *c[0].Message.Content || out2.Choices[2].Index != 2 {
		t.Fatalf("n=3 with the same seed: %s", b2)
	}
}

// sseEvents reads a stream's data payloads up to [DONE].
func sseEvents(t testing.TB, r io.Reader) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	done := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		if done {
			t.Fatalf("data after [DONE]: %s", data)
		}
		out = append(out, json.RawMessage(data))
	}
	if !done {
		t.Fatalf("the stream did not end with [DONE] (%d events)", len(out))
	}
	return out
}

func TestChatStream(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	body := `{"model": "fake", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "max_tokens": 20, "seed": 9, "n": 2,
		"stream": true, "stream_options": {"include_usage": true}, "logprobs": true, "top_logprobs": 2}`
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	events := sseEvents(t, resp.Body)
	texts := map[int]string{}
	roles := map[int]bool{}
	finished := map[int]string{}
	lps := map[int]int{}
	var u *usage
	for k, e := range events {
		var c chatChunk
		if err := json.Unmarshal(e, &c); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if c.Object != "chat.completion.chunk" {
			t.Fatalf("object %q", c.Object)
		}
		if c.Usage != nil {
			if k != len(events)-1 || len(c.Choices) != 0 {
				t.Fatalf("usage chunk not last or with choices: %s", e)
			}
			u = c.Usage
		}
		for _, ch := range c.Choices {
			if _, done := finished[ch.Index]; done {
				t.Fatalf("choice %d has a chunk after its finish_reason: %s", ch.Index, e)
			}
			if ch.Delta.Role != "" {
				if roles[ch.Index] || texts[ch.Index] != "" {
					t.Fatalf("role twice or late: %s", e)
				}
				roles[ch.Index] = true
			} else if !roles[ch.Index] {
				t.Fatalf("choice %d: content before the role chunk: %s", ch.Index, e)
			}
			if ch.Delta.Content != nil {
				texts[ch.Index] += *ch.Delta.Content
			}
			if ch.Logprobs != nil {
				for _, l := range ch.Logprobs.Content {
					if l.Logprob > 0 || len(l.TopLogprobs) != 2 || l.TopLogprobs[0].Logprob < l.TopLogprobs[1].Logprob {
						t.Fatalf("logprob entry %+v", l)
					}
				}
				lps[ch.Index] += len(ch.Logprobs.Content)
			}
			if ch.FinishReason != nil {
				finished[ch.Index] = *ch.FinishReason
			}
		}
	}
	if len(finished) != 2 || u == nil || u.PromptTokens == 0 || u.CompletionTokens < lps[0]+lps[1] {
		t.Fatalf("finished %v usage %+v logprobs %v", finished, u, lps)
	}
	// The stream's text equals the non-streamed answer with the same seed.
	_, b := post(t, ts.URL+"/v1/chat/completions", strings.Replace(strings.Replace(body, `"stream": true`, `"stream": false`, 1),
		`"stream_options": {"include_usage": true}, `, "", 1))
	var whole chatCompletion
	if err := json.Unmarshal(b, &whole); err != nil {
		t.Fatalf("%s", b)
	}
	for i := range 2 {
		if *whole.Choices[i].Message.Content != texts[i] || whole.Choices[i].FinishReason != finished[i] {
			t.Errorf("choice %d: streamed %q (%s), whole %q (%s)", i, texts[i], finished[i], *whole.Choices[i].Message.Content, whole.Choices[i].FinishReason)
		}
		if got := len(whole.Choices[i].Logprobs.Content); got != lps[i] {
			t.Errorf("choice %d: %d logprobs streamed, %d whole", i, lps[i], got)
		}
	}
}

func TestCompletions(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	code, b := post(t, ts.URL+"/v1/completions", `{"model": "fake", "prompt": ["once", "upon"], "n": 2, "max_tokens": 8, "logprobs": 3, "seed": 1, "stop": ["zz"]}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var out completion
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Object != "text_completion" || len(out.Choices) != 4 || out.Usage == nil || out.Usage.PromptTokens != 10 {
		t.Fatalf("%s", b)
	}
	for i, c := range out.Choices {
		lp := c.Logprobs
		if c.Index != i || c.FinishReason == nil || lp == nil || len(lp.Tokens) == 0 || len(lp.Tokens) != len(lp.TokenLogprobs) ||
			len(lp.TopLogprobs) != len(lp.Tokens) || len(lp.TextOffset) != len(lp.Tokens) || strings.Join(lp.Tokens, "") != c.Text && *c.FinishReason != "stop" {
			t.Fatalf("choice %d: %+v", i, c)
		}
		for _, top := range lp.TopLogprobs {
			if len(top) == 0 || len(top) > 3 {
				t.Fatalf("top logprobs %v", top)
			}
		}
	}
	// Token-id prompts work as well, streamed.
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"model": "fake", "prompt": [1, 104, 105], "max_tokens": 5, "stream": true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sseEvents(t, resp.Body)
	var last completion
	json.Unmarshal(events[len(events)-1], &last)
	if last.Choices[0].FinishReason == nil {
		t.Fatalf("last chunk %s", events[len(events)-1])
	}
}

func TestResponseFormat(t *testing.T) {
	ts := newTestServer(t, Options{Parallel: 4}, nil)
	schema := `{"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]}, "n": {"type": "integer"},
		"ok": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 4}, "maxItems": 2}},
		"required": ["color", "n", "ok"], "additionalProperties": false}`
	sc, err := constrain.CompileSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	for seed := range 6 {
		body := fmt.Sprintf(`{"model": "fake", "messages": [{"role": "user", "content": "json please"}], "max_tokens": 240, "seed": %d, "temperature": 0.8,
			"response_format": {"type": "json_schema", "json_schema": {"name": "thing", "schema": %s, "strict": true}}}`, seed, schema)
		code, b := post(t, ts.URL+"/v1/chat/completions", body)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		var out chatCompletion
		json.Unmarshal(b, &out)
		text := *out.Choices[0].Message.Content
		if out.Choices[0].FinishReason != "stop" {
			t.Fatalf("seed %d: finish %s after %q", seed, out.Choices[0].FinishReason, text)
		}
		if err := sc.Validate([]byte(text)); err != nil {
			t.Fatalf("seed %d: %q: %v", seed, text, err)
		}
	}
	for seed := range 3 {
		body := fmt.Sprintf(`{"model": "fake", "prompt": "json", "max_tokens": 120, "seed": %d, "response_format": {"type": "json_object"}}`, seed)
		code, b := post(t, ts.URL+"/v1/completions", body)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		var out completion
		json.Unmarshal(b, &out)
		text := out.Choices[0].Text
		if *out.Choices[0].FinishReason == "stop" && !json.Valid([]byte(text)) {
			t.Fatalf("json_object gave %q", text)
		}
		if !strings.HasPrefix(strings.TrimSpace(text), "{") {
			t.Fatalf("json_object gave %q", text)
		}
	}
}

// TestBadInput sends each kind of bad request and checks for a 4xx OpenAI
// error object, never a 500, a panic or a hang.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t, Options{MaxBodyBytes: 1 << 20}, nil)
	chat := ts.URL + "/v1/chat/completions"
	msgs := `"messages": [{"role": "user", "content": "hi"}]`
	manyStops := `"stop": [` + strings.Repeat(`"x",`, 9999) + `"x"]`
	for _, tc := range []struct {
		name, url, body string
		code            int
		param           string
	}{
		{"malformed JSON", chat, `{"model": "fake", "messages": [`, 400, ""},
		{"not JSON", chat, `hello`, 400, ""},
		{"empty body", chat, ``, 400, ""},
		{"array body", chat, `[1, 2]`, 400, ""},
		{"wrong type model", chat, `{"model": 5, ` + msgs + `}`, 400, "model"},
		{"wrong type max_tokens", chat, `{"model": "fake", ` + msgs + `, "max_tokens": "ten"}`, 400, "max_tokens"},
		{"fractional max_tokens", chat, `{"model": "fake", ` + msgs + `, "max_tokens": 1.5}`, 400, "max_tokens"},
		{"wrong type temperature", chat, `{"model": "fake", ` + msgs + `, "temperature": "hot"}`, 400, "temperature"},
		{"wrong type messages", chat, `{"model": "fake", "messages": "hi"}`, 400, "messages"},
		{"wrong type content", chat, `{"model": "fake", "messages": [{"role": "user", "content": 5}]}`, 400, "messages.content"},
		{"image content", chat, `{"model": "fake", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}`, 400, "messages.content"},
		{"wrong type stop", chat, `{"model": "fake", ` + msgs + `, "stop": 5}`, 400, "stop"},
		{"missing model", chat, `{` + msgs + `}`, 400, "model"},
		{"unknown model", chat, `{"model": "gpt-9", ` + msgs + `}`, 404, "model"},
		{"negative max_tokens", chat, `{"model": "fake", ` + msgs + `, "max_tokens": -1}`, 400, "max_tokens"},
		{"zero max_tokens", chat, `{"model": "fake", ` + msgs + `, "max_completion_tokens": 0}`, 400, "max_completion_tokens"},
		{"huge max_tokens", chat, `{"model": "fake", ` + msgs + `, "max_tokens": 1000000000}`, 400, "max_tokens"},
		{"overflowing max_tokens", chat, `{"model": "fake", ` + msgs + `, "max_tokens": 1e30}`, 400, "max_tokens"},
		{"10,000 stop strings", chat, `{"model": "fake", ` + msgs + `, ` + manyStops + `}`, 400, "stop"},
		{"empty stop", chat, `{"model": "fake", ` + msgs + `, "stop": [""]}`, 400, "stop"},
		{"invalid JSON schema", chat, `{"model": "fake", ` + msgs + `, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "strin"}}}}`,
			400, "response_format.json_schema.schema"},
		{"unsupported schema keyword", chat, `{"model": "fake", ` + msgs + `, "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "string", "pattern": "a+"}}}}`,
			400, "response_format.json_schema.schema"},
		{"schema missing", chat, `{"model": "fake", ` + msgs + `, "response_format": {"type": "json_schema"}}`, 400, "response_format.json_schema.schema"},
		{"bad response_format type", chat, `{"model": "fake", ` + msgs + `, "response_format": {"type": "yaml"}}`, 400, "response_format.type"},
		{"empty messages", chat, `{"model": "fake", "messages": []}`, 400, "messages"},
		{"no messages", chat, `{"model": "fake"}`, 400, "messages"},
		{"unsupported role", chat, `{"model": "fake", "messages": [{"role": "wizard", "content": "hi"}]}`, 400, "messages[0].role"},
		{"function role", chat, `{"model": "fake", "messages": [{"role": "function", "content": "hi"}]}`, 400, "messages[0].role"},
		{"temperature out of range", chat, `{"model": "fake", ` + msgs + `, "temperature": 5}`, 400, "temperature"},
		{"top_p out of range", chat, `{"model": "fake", ` + msgs + `, "top_p": -0.5}`, 400, "top_p"},
		{"n too big", chat, `{"model": "fake", ` + msgs + `, "n": 1000}`, 400, "n"},
		{"top_logprobs without logprobs", chat, `{"model": "fake", ` + msgs + `, "top_logprobs": 3}`, 400, "top_logprobs"},
		{"top_logprobs too many", chat, `{"model": "fake", ` + msgs + `, "logprobs": true, "top_logprobs": 50}`, 400, "top_logprobs"},
		{"logit_bias key", chat, `{"model": "fake", ` + msgs + `, "logit_bias": {"abc": 1}}`, 400, "logit_bias"},
		{"logit_bias id", chat, `{"model": "fake", ` + msgs + `, "logit_bias": {"99999": 1}}`, 400, "logit_bias"},
		{"tools without a function", chat, `{"model": "fake", ` + msgs + `, "tools": [{"type": "function"}]}`, 400, "tools[0].function"},
		{"tool_choice unknown function", chat, `{"model": "fake", ` + msgs + `, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}}`, 400, "tool_choice"},
		{"tool_choice without tools", chat, `{"model": "fake", ` + msgs + `, "tool_choice": "required"}`, 400, "tool_choice"},
		{"tool name", chat, `{"model": "fake", ` + msgs + `, "tools": [{"type": "function", "function": {"name": "a b"}}]}`, 400, "tools[0].function.name"},
		{"tool calls on a user message", chat, `{"model": "fake", "messages": [{"role": "user", "content": "a", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}`, 400, "messages[0].tool_calls"},
		{"tool schema", chat, `{"model": "fake", ` + msgs + `, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}}}], "tool_choice": "required"}`, 400, "tools"},
		{"stream_options without stream", chat, `{"model": "fake", ` + msgs + `, "stream_options": {"include_usage": true}}`, 400, "stream_options"},
		{"prompt beyond the context", chat, `{"model": "fake2", "messages": [{"role": "user", "content": "` + strings.Repeat("a", 100) + `"}]}`, 400, "messages"},
		{"completion no prompt", ts.URL + "/v1/completions", `{"model": "fake"}`, 400, "prompt"},
		{"completion bad prompt", ts.URL + "/v1/completions", `{"model": "fake", "prompt": {"a": 1}}`, 400, "prompt"},
		{"completion prompt ids out of range", ts.URL + "/v1/completions", `{"model": "fake", "prompt": [1, 5000]}`, 400, "prompt"},
		{"completion echo", ts.URL + "/v1/completions", `{"model": "fake", "prompt": "a", "echo": true}`, 400, "echo"},
		{"completion logprobs", ts.URL + "/v1/completions", `{"model": "fake", "prompt": "a", "logprobs": 99}`, 400, "logprobs"},
		{"completion huge max_tokens", ts.URL + "/v1/completions", `{"model": "fake", "prompt": "a", "max_tokens": 100000}`, 400, "max_tokens"},
		{"tokenize no prompt", ts.URL + "/tokenize", `{"model": "fake"}`, 400, "prompt"},
		{"detokenize bad id", ts.URL + "/detokenize", `{"model": "fake", "tokens": [-1]}`, 400, "tokens"},
		{"attention too long", ts.URL + "/v1/attention", `{"model": "fake", "prompt": "` + strings.Repeat("a", 200) + `"}`, 400, "prompt"},
		{"attention unsupported", ts.URL + "/v1/attention", `{"model": "fake2", "prompt": "a"}`, 501, ""},
		{"embeddings unsupported", ts.URL + "/v1/embeddings", `{"model": "fake2", "input": "a"}`, 400, "model"},
		{"embeddings bad input", ts.URL + "/v1/embeddings", `{"model": "fake", "input": 5}`, 400, "input"},
		{"task unsupported", ts.URL + "/v1/classify", `{"model": "fake", "text": "a"}`, 400, "model"},
		{"rerank unknown model", ts.URL + "/v1/rerank", `{"model": "nope"}`, 404, "model"},
		{"unknown route", ts.URL + "/v1/nothing", ``, 404, ""},
	} {
		code, b := post(t, tc.url, tc.body)
		if tc.name == "unknown route" {
			code, b, _ = do(t, http.MethodGet, tc.url, "")
		}
		if code != tc.code {
			t.Errorf("%s: status %d, want %d: %s", tc.name, code, tc.code, b)
			continue
		}
		e := apiError(t, b)
		got := ""
		if e.Param != nil {
			got = *e.Param
		}
		if tc.param != "" && got != tc.param {
			t.Errorf("%s: param %q, want %q (%s)", tc.name, got, tc.param, e.Message)
		}
	}
	// The context limit is named.
	_, b := post(t, chat, `{"model": "fake", `+msgs+`, "max_tokens": 100000}`)
	if e := apiError(t, b); !strings.Contains(e.Message, "256") {
		t.Errorf("the huge max_tokens error does not name the context of 256: %s", e.Message)
	}
	// Wrong method.
	code, b, h := do(t, http.MethodGet, chat, "")
	if code != 405 || h.Get("Allow") != "POST" {
		t.Errorf("GET %s: %d %s", chat, code, h)
	}
	apiError(t, b)
}

// TestHugeBody streams 100 MB at the server, which must stop reading and
// answer 413 without buffering it.
func TestHugeBody(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	body := io.MultiReader(strings.NewReader(`{"model": "fake", "messages": [{"role": "user", "content": "`),
		io.LimitReader(repeatReader('a'), 100<<20), strings.NewReader(`"}]}`))
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The server may close the connection while the client still
		// writes; what matters is that it did not read 100 MB. Go's client
		// usually still reads the 413.
		t.Logf("client: %v", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	apiError(t, b)
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestAuthAndHealth(t *testing.T) {
	s := New(Options{APIKeys: []string{"sekret"}})
	ts := newTestServerFrom(t, s)
	code, b, _ := do(t, http.MethodGet, ts.URL+"/health", "")
	if code != 503 || !strings.Contains(string(b), "loading") {
		t.Fatalf("health while loading: %d %s", code, b)
	}
	s.SetReady(true)
	if code, b, _ = do(t, http.MethodGet, ts.URL+"/health", ""); code != 200 {
		t.Fatalf("health: %d %s", code, b)
	}
	if code, b, _ = do(t, http.MethodGet, ts.URL+"/", ""); code != 200 || !bytes.Contains(b, []byte("<html")) {
		t.Fatalf("playground: %d", code)
	}
	for _, key := range []string{"", "Bearer wrong", "sekret", "Bearer "} {
		code, b, _ := do(t, http.MethodGet, ts.URL+"/v1/models", "", "Authorization", key)
		if code != 401 {
			t.Fatalf("key %q: %d", key, code)
		}
		if e := apiError(t, b); e.Code == nil || *e.Code != "invalid_api_key" {
			t.Fatalf("401 body %s", b)
		}
	}
	code, b, _ = do(t, http.MethodGet, ts.URL+"/v1/models", "", "Authorization", "Bearer sekret")
	var list struct {
		Data []modelObject `json:"data"`
	}
	if json.Unmarshal(b, &list); code != 200 || len(list.Data) != 1 || list.Data[0].ID != "fake" || list.Data[0].MaxModelLen != 256 {
		t.Fatalf("models: %d %s", code, b)
	}
	if code, _, _ = do(t, http.MethodGet, ts.URL+"/metrics", "", "Authorization", "Bearer sekret"); code != 200 {
		t.Fatalf("metrics with the key: %d", code)
	}
	if code, _, _ = do(t, http.MethodGet, ts.URL+"/metrics", ""); code != 401 {
		t.Fatalf("metrics without the key: %d", code)
	}
}

// newTestServerFrom serves s with one fake model, not yet ready.
func newTestServerFrom(t testing.TB, s *Server) *testServer {
	t.Helper()
	lm := &fakeLM{maxLen: 256}
	if err := s.AddModel(&Model{ID: "fake", LM: lm, Tokenizer: byteTokenizer(t), StopTokens: []int{2}}); err != nil {
		t.Fatal(err)
	}
	ts := httptestServer(t, s)
	return &testServer{Server: ts, s: s, lm: lm}
}

func TestCORS(t *testing.T) {
	ts := newTestServer(t, Options{CORSOrigin: "https://example.org"}, nil)
	code, _, h := do(t, http.MethodOptions, ts.URL+"/v1/chat/completions", "", "Origin", "https://example.org", "Access-Control-Request-Method", "POST")
	if code != 204 || h.Get("Access-Control-Allow-Origin") != "https://example.org" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", code, h)
	}
	_, _, h = do(t, http.MethodGet, ts.URL+"/v1/models", "", "Origin", "https://example.org")
	if h.Get("Access-Control-Allow-Origin") != "https://example.org" {
		t.Fatalf("no CORS header: %v", h)
	}
}

// TestBusy fills the only slot (no queue) and checks the 503 with
// Retry-After.
func TestBusy(t *testing.T) {
	lm := &fakeLM{maxLen: 256}
	ts := newTestServer(t, Options{Parallel: 1, Queue: -1}, lm)
	gate := make(chan struct{})
	lm.setGate(gate)
	done := make(chan int)
	go func() {
		code, _ := post(t, ts.URL+"/v1/completions", `{"model": "fake", "prompt": "a", "max_tokens": 3}`)
		done <- code
	}()
	waitFor(t, func() bool { return ts.s.models["fake"].sched.Stats().Active == 1 })
	code, b, h := do(t, http.MethodPost, ts.URL+"/v1/completions", `{"model": "fake", "prompt": "b", "max_tokens": 3}`)
	if code != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("second request: %d %v %s", code, h, b)
	}
	if e := apiError(t, b); e.Code == nil || *e.Code != "server_busy" {
		t.Fatalf("%s", b)
	}
	lm.setGate(nil)
	close(gate)
	if code := <-done; code != 200 {
		t.Fatalf("first request: %d", code)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestDisconnectFreesSlot drops a streaming client mid-generation and checks
// that its slot is free again and the metrics count a cancellation.
func TestDisconnectFreesSlot(t *testing.T) {
	lm := &fakeLM{maxLen: 100000, delay: time.Millisecond}
	ts := newTestServer(t, Options{Parallel: 2}, lm)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/completions",
		strings.NewReader(`{"model": "fake", "prompt": "a", "stream": true, "logit_bias": {"2": -100}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the first chunk
		t.Fatal(err)
	}
	sched := ts.s.models["fake"].sched
	if sched.Stats().Active != 1 {
		t.Fatalf("stats %+v", sched.Stats())
	}
	before := lm.stepsTaken()
	cancel()
	resp.Body.Close()
	waitFor(t, func() bool { return sched.Stats().Active == 0 })
	if steps := lm.stepsTaken() - before; steps > 50 {
		t.Logf("the slot was freed %d steps after the disconnect (connection teardown included)", steps)
	}
	_, m, _ := do(t, http.MethodGet, ts.URL+"/metrics", "")
	if !strings.Contains(string(m), `glossa_sequences_finished_total{model="fake",reason="cancelled"} 1`) {
		t.Fatalf("metrics do not show the cancellation:\n%s", grep(string(m), "glossa_sequences_finished"))
	}
	if !strings.Contains(string(m), `glossa_slots_active{model="fake"} 0`) {
		t.Fatalf("metrics: %s", grep(string(m), "glossa_slots"))
	}
}

func (m *fakeLM) stepsTaken() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.steps
}

func grep(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	post(t, ts.URL+"/v1/completions", `{"model": "fake", "prompt": "abc", "max_tokens": 4}`)
	_, b, _ := do(t, http.MethodGet, ts.URL+"/metrics", "")
	m := string(b)
	for _, want := range []string{`glossa_prompt_tokens_total{model="fake"} 4`, `glossa_generated_tokens_total{model="fake"}`,
		`glossa_time_to_first_token_seconds_count{model="fake"} 1`, `glossa_queue_depth{model="fake"} 0`, `glossa_slots{model="fake"} 4`,
		`glossa_http_requests_total{code="200",route="completions"} 1`, "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestTokenizeRoundTrip(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	code, b := post(t, ts.URL+"/tokenize", `{"model": "fake", "prompt": "héllo", "with_pieces": true}`)
	var tk struct {
		Tokens []int    `json:"tokens"`
		Count  int      `json:"count"`
		Pieces []string `json:"pieces"`
	}
	if json.Unmarshal(b, &tk); code != 200 || tk.Count != 7 || tk.Tokens[0] != 1 || len(tk.Pieces) != 7 {
		t.Fatalf("%d %s", code, b)
	}
	ids, _ := json.Marshal(tk.Tokens)
	code, b = post(t, ts.URL+"/detokenize", `{"model": "fake", "tokens": `+string(ids)+`}`)
	var dt struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(b, &dt); code != 200 || dt.Content != "héllo" {
		t.Fatalf("%d %s", code, b)
	}
}

func TestEmbeddingsAndAttention(t *testing.T) {
	ts := newTestServer(t, Options{}, nil)
	code, b := post(t, ts.URL+"/v1/embeddings", `{"model": "fake", "input": ["ab", "c"]}`)
	var e struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &e); code != 200 || len(e.Data) != 2 || e.Data[1].Embedding[0] != 1 {
		t.Fatalf("%d %s", code, b)
	}
	code, b = post(t, ts.URL+"/v1/attention", `{"model": "fake", "prompt": "abc"}`)
	var a struct {
		Tokens []struct {
			ID   int    `json:"id"`
			Text string `json:"text"`
		} `json:"tokens"`
		Layers, Heads int
		Attention     [][][][]float32 `json:"attention"`
	}
	if err := json.Unmarshal(b, &a); err != nil || code != 200 {
		t.Fatalf("%d %s %v", code, b, err)
	}
	if len(a.Tokens) != 4 || a.Layers != 2 || a.Heads != 3 || len(a.Attention[1][2]) != 4 || a.Tokens[1].Text != "a" {
		t.Fatalf("%s", b)
	}
	for q, row := range a.Attention[0][0] {
		var sum float64
		for _, p := range row {
			sum += float64(p)
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Fatalf("row %d sums to %v", q, sum)
		}
	}
}

// TestGracefulShutdown cancels Serve's context while a request streams: the
// request finishes, new connections are refused, Serve returns.
func TestGracefulShutdown(t *testing.T) {
	lm := &fakeLM{maxLen: 256, delay: 2 * time.Millisecond}
	s := New(Options{ShutdownTimeout: 20 * time.Second})
	if err := s.AddModel(&Model{ID: "fake", LM: lm, Tokenizer: byteTokenizer(t), StopTokens: []int{2}}); err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"model": "fake", "prompt": "a", "max_tokens": 60, "stream": true, "logit_bias": {"2": -100}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM
	events := sseEvents(t, br)
	var last completion
	json.Unmarshal(events[len(events)-1], &last)
	if len(last.Choices) == 0 || last.Choices[0].FinishReason == nil || *last.Choices[0].FinishReason != "length" {
		t.Fatalf("the in-flight request did not finish: %s", events[len(events)-1])
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("the server still accepts connections")
	}
}
