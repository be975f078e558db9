package serve

import "testing"

// FuzzDecodeChatRequest decodes arbitrary bodies: a request or a 400, never
// a panic.
func FuzzDecodeChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model": "m", "messages": [{"role": "user", "content": "hi"}]}`,
		`{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}], "stop": ["x", "y"], "n": 2,
			"max_tokens": 5, "temperature": 0.5, "logprobs": true, "top_logprobs": 2, "stream": true, "stream_options": {"include_usage": true}}`,
		`{"model": "m", "messages": [], "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}}`,
		`{"model": "m", "messages": [{"role": "tool"}], "logit_bias": {"5": 1}, "seed": -1}`,
		`[`, `null`, `{"stop": 5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeChatRequest(body)
		if (r == nil) == (err == nil) {
			t.Fatalf("request %v and error %v", r, err)
		}
		if err != nil && (err.Status != 400 || err.Message == "") {
			t.Fatalf("error %+v", err)
		}
	})
}

// FuzzDecodeCompletionRequest is FuzzDecodeChatRequest for completions.
func FuzzDecodeCompletionRequest(f *testing.F) {
	for _, s := range []string{
		`{"model": "m", "prompt": "once"}`,
		`{"model": "m", "prompt": ["a", "b"], "n": 2, "logprobs": 3, "stop": "x"}`,
		`{"model": "m", "prompt": [1, 2, 3], "best_of": 1}`,
		`{"model": "m", "prompt": [[1], [2, 3]], "echo": false, "suffix": ""}`,
		`{"model": "m", "prompt": []}`, `{"prompt": {}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeCompletionRequest(body)
		if (r == nil) == (err == nil) {
			t.Fatalf("request %v and error %v", r, err)
		}
		if err != nil && (err.Status != 400 || err.Message == "") {
			t.Fatalf("error %+v", err)
		}
	})
}
