package serve

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

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
		`{"model": "m", "messages": [{"role": "user", "content": "w"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "tool_choice": {"type": "function", "function": {"name": "f"}}}`,
		`{"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c", "content": "x"}], "tool_choice": "auto", "parallel_tool_calls": false}`,
		`{"tools": [{"type": "code"}], "tool_choice": 5}`,
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

// FuzzDecodeEmbeddingRequest is FuzzDecodeChatRequest for embeddings.
func FuzzDecodeEmbeddingRequest(f *testing.F) {
	for _, s := range []string{
		`{"model": "m", "input": "hello"}`,
		`{"model": "m", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 8}`,
		`{"model": "m", "input": [1, 2, 3], "encoding_format": "float"}`,
		`{"model": "m", "input": [[1], [2, 3]], "user": "u"}`,
		`{"model": "m", "input": [[]]}`, `{"model": "m", "input": [""]}`, `{"input": null}`, `{"model": "m", "input": [1, "a"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeEmbeddingRequest(body)
		if (r == nil) == (err == nil) {
			t.Fatalf("request %v and error %v", r, err)
		}
		if err != nil && (err.Status != 400 || err.Message == "") {
			t.Fatalf("error %+v", err)
		}
	})
}

// FuzzDecodeRerankRequest is FuzzDecodeChatRequest for rerank.
func FuzzDecodeRerankRequest(f *testing.F) {
	for _, s := range []string{
		`{"model": "m", "query": "q", "documents": ["a", {"text": "b"}], "top_n": 1, "return_documents": true}`,
		`{"model": "m", "query": "", "documents": [{"text": null}]}`,
		`{"model": "m", "documents": ["a"]}`, `{"query": "q", "documents": [], "top_n": -1}`, `{"query": 5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRerankRequest(body)
		if (r == nil) == (err == nil) {
			t.Fatalf("request %v and error %v", r, err)
		}
		if err != nil && (err.Status != 400 || err.Message == "") {
			t.Fatalf("error %+v", err)
		}
	})
}

// FuzzEncoderTasks runs arbitrary bodies through the task routes of a
// real encoder (the pipeline package's JSON calls): a result or a 4xx
// error, never a panic or a 500.
func FuzzEncoderTasks(f *testing.F) {
	backends := map[string]*encoderBackend{}
	for _, name := range []string{"distilbert-tiny-cls", "distilbert-tiny-qa", "roberta-tiny-cls"} {
		m, err := LoadEncoder(testenv.Shared(f, "fixtures", name), LoadOptions{Tokenizer: testenv.IDTokenizer(f, name == "roberta-tiny-cls")})
		if err != nil {
			f.Fatal(err)
		}
		backends[name] = m.Tasks.(*encoderBackend)
	}
	for _, s := range []string{
		`{"inputs": "w5 w6", "top_k": 2, "function_to_apply": "sigmoid"}`,
		`{"inputs": [{"text": "w5", "text_pair": "w6"}], "truncation": true, "max_length": 4}`,
		`{"question": "w5", "context": "w6 w7 w8", "doc_stride": 1, "max_seq_len": 8, "max_answer_len": 2}`,
		`{"sequences": ["w5"], "candidate_labels": "w1, w2", "hypothesis_template": "w3 {}"}`,
		`{"query": "w5", "documents": ["w6", {"text": "w7"}], "top_n": 1}`,
		`{"inputs": "w5 [MASK]", "targets": ["w1"]}`, `{"options": {"top_k": -5}, "inputs": ""}`, `null`, `[]`,
	} {
		for _, t := range tasks {
			f.Add(string(t), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, task string, body []byte) {
		if !slices.Contains(tasks, Task(task)) || !json.Valid(body) {
			return // the route decodes the body before a backend sees it
		}
		for _, b := range backends {
			v, err := b.Task(context.Background(), Task(task), body)
			var e *Error
			switch {
			case err == nil && v == nil:
				t.Fatal("no result and no error")
			case err != nil && (!errors.As(err, &e) || e.Status >= 500 || e.Message == ""):
				t.Fatalf("%s %s: %v", task, body, err)
			}
		}
	})
}

// FuzzParseToolCalls parses arbitrary replies: calls of known tools with
// object arguments, or not a call; never a panic.
func FuzzParseToolCalls(f *testing.F) {
	for _, s := range []string{`{"name": "f", "arguments": {"a": 1}}`, `[{"name": "f", "parameters": {}}]`,
		"<tool_call>{\"name\": \"f\", \"arguments\": \"{}\"}</tool_call>", `{"name": "g"}`, `text`, `<tool_call>`} {
		f.Add(s)
	}
	tools := []chatTool{{Type: "function"}}
	tools[0].Function = &struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	}{Name: "f"}
	f.Fuzz(func(t *testing.T, text string) {
		calls, _, ok := parseToolCalls(text, tools)
		if ok != (len(calls) > 0) {
			t.Fatalf("ok %v with %d calls", ok, len(calls))
		}
		for _, c := range calls {
			var obj map[string]any
			if c.Name != "f" || json.Unmarshal([]byte(c.Arguments), &obj) != nil || obj == nil {
				t.Fatalf("call %+v", c)
			}
		}
	})
}
