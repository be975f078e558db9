package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/seq2seqfixture"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/pipeline"
)

// The encoder-decoder fixtures of ../shared/fixtures, written as Hub-style
// folders with a Marian-layout tokenizer (seq2seqfixture.Folder). Their
// random weights make the texts meaningless; the tests check that a route
// gives exactly what the pipeline gives for the same options.
var seq2seqFixtures = []string{"marian-tiny", "t5-tiny", "bart-tiny"}

// seq2seqServer serves every encoder-decoder fixture (under its name)
// beside the fake causal LM and returns their folders.
func seq2seqServer(t *testing.T) (*testServer, map[string]string) {
	t.Helper()
	ts := newTestServer(t, Options{}, nil)
	dirs := map[string]string{}
	for _, f := range seq2seqFixtures {
		testenv.Shared(t, "fixtures", f) // fails under CI, skips elsewhere, when missing
		dir := t.TempDir()
		if err := seq2seqfixture.Folder(dir, f, nil); err != nil {
			t.Fatal(err)
		}
		if !IsSeq2Seq(dir) || IsEncoder(dir) {
			t.Fatalf("%s is not recognised as an encoder-decoder", f)
		}
		m, err := Load(dir, LoadOptions{ID: f})
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.s.AddModel(m); err != nil {
			t.Fatal(err)
		}
		dirs[f] = dir
	}
	return ts, dirs
}

var seq2seqSources = []string{
	"A man in an orange hat starring at something.",
	"Two dogs play in the snow.",
	"A little girl climbs into a wooden playhouse.",
}

// TestSeq2SeqTaskRoutes checks the three task routes on every fixture:
// the texts equal the pipeline's, loaded on its own, for greedy decoding,
// beam search (with length_penalty and no_repeat_ngram_size) and seeded
// sampling; options under "parameters" or at the top level; a single text
// and a list; Hugging Face's field names.
func TestSeq2SeqTaskRoutes(t *testing.T) {
	ts, dirs := seq2seqServer(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		params string
	}{
		// min_new_tokens keeps the random weights from ending at once.
		{"greedy", `{"max_new_tokens": 8, "min_new_tokens": 3, "num_beams": 1}`},
		{"beams", `{"max_new_tokens": 10, "min_new_tokens": 2, "num_beams": 3, "length_penalty": 0.6, "no_repeat_ngram_size": 2}`},
		{"sampling", `{"max_new_tokens": 6, "min_new_tokens": 2, "num_beams": 1, "do_sample": true, "top_k": 20, "temperature": 0.9, "seed": 7}`},
		{"min_length", `{"max_new_tokens": 6, "min_length": 5, "num_beams": 2}`},
		{"defaults", `{}`},
	}
	routes := []struct {
		task pipeline.Task
		key  string
	}{{pipeline.TranslationTask, "translation_text"}, {pipeline.SummarizationTask, "summary_text"}, {pipeline.Text2TextTask, "generated_text"}}
	for _, f := range seq2seqFixtures {
		for _, c := range cases {
			var opts pipeline.Text2TextOptions
			if err := json.Unmarshal([]byte(c.params), &opts); err != nil {
				t.Fatal(err)
			}
			for ri, r := range routes {
				p, err := pipeline.LoadText2Text(ctx, r.task, dirs[f], nil)
				if err != nil {
					t.Fatal(err)
				}
				want, err := p.Run(ctx, seq2seqSources, &opts)
				if err != nil {
					t.Fatal(err)
				}
				inputs, _ := json.Marshal(seq2seqSources)
				body := fmt.Sprintf(`{"model": %q, "inputs": %s, "parameters": %s}`, f, inputs, c.params)
				if ri == 1 && c.params != `{}` { // the pipeline's keyword arguments at the top level
					body = fmt.Sprintf(`{"model": %q, "inputs": %s, %s`, f, inputs, strings.TrimPrefix(c.params, "{"))
				}
				code, b := post(t, ts.URL+"/v1/"+string(r.task), body)
				if code != http.StatusOK {
					t.Fatalf("%s %s %s: %d %s", f, c.name, r.task, code, b)
				}
				var got []map[string]string
				if err := json.Unmarshal(b, &got); err != nil || len(got) != len(want) {
					t.Fatalf("%s %s %s: %s", f, c.name, r.task, b)
				}
				if c.name != "defaults" && want[0].Text == "" && want[1].Text == "" {
					t.Fatalf("%s %s: the pipeline gives empty texts: a test that cannot fail", f, c.name)
				}
				for i := range want {
					if g, ok := got[i][r.key]; !ok || g != want[i].Text {
						t.Errorf("%s %s %s: input %d: %q, the pipeline gives %q", f, c.name, r.task, i, g, want[i].Text)
					}
				}
			}
		}
		// num_return_sequences: a list per text (one text: its list), the
		// pipeline's texts in order.
		p, err := pipeline.LoadText2Text(ctx, pipeline.Text2TextTask, dirs[f], nil)
		if err != nil {
			t.Fatal(err)
		}
		nret := pipeline.Text2TextOptions{MaxNewTokens: 6, MinNewTokens: 2, NumBeams: 3, NumReturnSequences: 2}
		want, err := p.Run(ctx, seq2seqSources[:2], &nret)
		if err != nil || len(want) != 4 {
			t.Fatalf("%s num_return_sequences: %v %v", f, want, err)
		}
		code, b := post(t, ts.URL+"/v1/text2text-generation", fmt.Sprintf(`{"model": %q, "inputs": [%q, %q], "parameters": {"max_new_tokens": 6, "min_new_tokens": 2, "num_beams": 3, "num_return_sequences": 2}}`,
			f, seq2seqSources[0], seq2seqSources[1]))
		var lists [][]map[string]string
		if code != http.StatusOK || json.Unmarshal(b, &lists) != nil || len(lists) != 2 || len(lists[0]) != 2 {
			t.Fatalf("%s num_return_sequences: %d %s", f, code, b)
		}
		for i := range 4 {
			if g := lists[i/2][i%2]["generated_text"]; g != want[i].Text {
				t.Errorf("%s num_return_sequences: text %d of input %d %q, the pipeline gives %q", f, i%2, i/2, g, want[i].Text)
			}
		}
		code, b = post(t, ts.URL+"/v1/text2text-generation", fmt.Sprintf(`{"model": %q, "inputs": %q, "num_beams": 3, "num_return_sequences": 3}`, f, seqSourcesFirst))
		var three []map[string]string
		if code != http.StatusOK || json.Unmarshal(b, &three) != nil || len(three) != 3 {
			t.Fatalf("%s one text, num_return_sequences 3: %d %s", f, code, b)
		}
		// One text gives a list of one object, as Hugging Face.
		code, b = post(t, ts.URL+"/v1/translation", fmt.Sprintf(`{"model": %q, "inputs": %q}`, f, seqSourcesFirst))
		var one []map[string]string // the random weights may give an empty text
		if code != http.StatusOK || json.Unmarshal(b, &one) != nil || len(one) != 1 || len(one[0]) != 1 {
			t.Fatalf("%s one text: %d %s", f, code, b)
		}
	}
	// The metrics count the task calls' tokens.
	_, m, _ := do(t, http.MethodGet, ts.URL+"/metrics", "")
	for _, f := range seq2seqFixtures {
		for _, series := range []string{"glossa_generated_tokens_total", "glossa_prompt_tokens_total"} {
			if !bytes.Contains(m, []byte(series+`{model="`+f+`"}`)) || bytes.Contains(m, []byte(series+`{model="`+f+`"} 0`)) {
				t.Errorf("%s of %s not counted:\n%s", series, f, grep(string(m), f))
			}
		}
	}
}

const seqSourcesFirst = "A man in an orange hat starring at something."

// TestSeq2SeqCompletions checks /v1/completions on an encoder-decoder:
// the text equals the text2text-generation pipeline's (greedy and beam),
// a stream's deltas add up to it and end with finish_reason and [DONE],
// and beam search refuses to stream.
func TestSeq2SeqCompletions(t *testing.T) {
	ts, dirs := seq2seqServer(t)
	ctx := context.Background()
	for _, f := range seq2seqFixtures {
		p, err := pipeline.LoadText2Text(ctx, pipeline.Text2TextTask, dirs[f], nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, beams := range []int{1, 3} {
			want, err := p.Run(ctx, seq2seqSources[:2], &pipeline.Text2TextOptions{MaxNewTokens: 9, MinNewTokens: 4, NumBeams: beams})
			if err != nil {
				t.Fatal(err)
			}
			if want[0].Text == "" || want[1].Text == "" {
				t.Fatalf("%s: the pipeline gives empty texts: a test that cannot fail", f)
			}
			prompts, _ := json.Marshal(seq2seqSources[:2])
			body := fmt.Sprintf(`{"model": %q, "prompt": %s, "max_tokens": 9, "min_new_tokens": 4, "num_beams": %d}`, f, prompts, beams)
			code, b := post(t, ts.URL+"/v1/completions", body)
			var out completion
			if code != http.StatusOK || json.Unmarshal(b, &out) != nil || len(out.Choices) != 2 {
				t.Fatalf("%s beams %d: %d %s", f, beams, code, b)
			}
			for i, c := range out.Choices {
				if c.Text != want[i].Text || c.Index != i || c.FinishReason == nil {
					t.Errorf("%s beams %d: choice %d %q (%v), the pipeline gives %q", f, beams, i, c.Text, c.FinishReason, want[i].Text)
				}
			}
			if out.Object != "text_completion" || out.Usage == nil || out.Usage.PromptTokens == 0 || out.Usage.CompletionTokens == 0 {
				t.Errorf("%s: the answer's shape: %s", f, b)
			}
			if beams > 1 {
				code, b := post(t, ts.URL+"/v1/completions", strings.TrimSuffix(body, "}")+`, "stream": true}`)
				if e := apiError(t, b); code != http.StatusBadRequest || deref(e.Param) != "stream" {
					t.Errorf("%s: stream with beams: %d %s", f, code, b)
				}
				continue
			}
			resp, err := http.Post(ts.URL+"/v1/completions", "application/json",
				strings.NewReader(strings.TrimSuffix(body, "}")+`, "stream": true, "stream_options": {"include_usage": true}}`))
			if err != nil {
				t.Fatal(err)
			}
			events := sseEvents(t, resp.Body)
			resp.Body.Close()
			texts := make([]string, 2)
			finished := 0
			var u *usage
			for _, ev := range events {
				var c completion
				if err := json.Unmarshal(ev, &c); err != nil {
					t.Fatalf("%s: %s", f, ev)
				}
				if c.Usage != nil {
					u = c.Usage
				}
				for _, ch := range c.Choices {
					texts[ch.Index] += ch.Text
					if ch.FinishReason != nil {
						finished++
					}
				}
			}
			for i := range texts {
				if texts[i] != want[i].Text {
					t.Errorf("%s stream: choice %d %q, the pipeline gives %q", f, i, texts[i], want[i].Text)
				}
			}
			if finished != 2 || u == nil || u.CompletionTokens != out.Usage.CompletionTokens {
				t.Errorf("%s stream: %d finish reasons, usage %+v (non-streamed %+v)", f, finished, u, out.Usage)
			}
		}
	}
	// Without num_beams, a plain request keeps marian-tiny's 4 beams and a
	// stream (or a sampling field) decodes one sequence: greedy here.
	p, err := pipeline.LoadText2Text(ctx, pipeline.Text2TextTask, dirs["marian-tiny"], nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		extra string
		beams int
	}{{``, 0}, {`, "temperature": 0`, 1}, {`, "stream": true`, 1}} {
		want, err := p.Run(ctx, seq2seqSources[:1], &pipeline.Text2TextOptions{MaxNewTokens: 7, MinNewTokens: 3, NumBeams: c.beams})
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"model": "marian-tiny", "prompt": %q, "max_tokens": 7, "min_new_tokens": 3%s}`, seqSourcesFirst, c.extra)
		code, b := post(t, ts.URL+"/v1/completions", body)
		text := ""
		if strings.Contains(c.extra, "stream") {
			for _, ev := range sseEvents(t, bytes.NewReader(b)) {
				var ch completion
				json.Unmarshal(ev, &ch)
				for _, x := range ch.Choices {
					text += x.Text
				}
			}
		} else {
			var out completion
			json.Unmarshal(b, &out)
			if len(out.Choices) == 1 {
				text = out.Choices[0].Text
			}
		}
		if code != http.StatusOK || text != want[0].Text {
			t.Errorf("marian-tiny%s: %d %q, the pipeline with num_beams %d gives %q", c.extra, code, text, c.beams, want[0].Text)
		}
	}

	// /v1/models names the tasks; chat is refused with a reason.
	code, b, _ := do(t, http.MethodGet, ts.URL+"/v1/models/marian-tiny", "")
	var o modelObject
	if code != http.StatusOK || json.Unmarshal(b, &o) != nil || len(o.Tasks) != 3 || !o.Generates || o.MaxModelLen == 0 {
		t.Fatalf("/v1/models: %d %s", code, b) // max_model_len: the encoder's positions
	}
	code, b = post(t, ts.URL+"/v1/chat/completions", `{"model": "t5-tiny", "messages": [{"role": "user", "content": "hi"}]}`)
	if e := apiError(t, b); code != http.StatusBadRequest || !strings.Contains(e.Message, "encoder-decoder") {
		t.Fatalf("chat on a seq2seq model: %d %s", code, b)
	}
	_, m, _ := do(t, http.MethodGet, ts.URL+"/metrics", "")
	if !bytes.Contains(m, []byte(`glossa_generated_tokens_total{model="t5-tiny"}`)) ||
		!bytes.Contains(m, []byte(`glossa_http_requests_total{code="200",route="completions"}`)) {
		t.Errorf("the metrics do not count encoder-decoder calls:\n%s", grep(string(m), "t5-tiny"))
	}
}

// TestSeq2SeqBadInput checks that every bad request is a 4xx OpenAI error
// object naming the field.
func TestSeq2SeqBadInput(t *testing.T) {
	ts, _ := seq2seqServer(t)
	long := strings.Repeat("Two dogs play in the snow. ", 200)
	cases := []struct {
		route, body, param string
		status             int
	}{
		{"translation", `{"model": "marian-tiny"}`, "inputs", 400},
		{"translation", `{"model": "marian-tiny", "inputs": ""}`, "inputs", 400},
		{"translation", `{"model": "marian-tiny", "inputs": []}`, "inputs", 400},
		{"translation", `{"model": "marian-tiny", "inputs": ["ok", "  "]}`, "inputs", 400},
		{"translation", `{"model": "marian-tiny", "inputs": 5}`, "inputs", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "num_beams": 17}`, "num_beams", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "num_beams": -1}`, "num_beams", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "num_beams": "4"}`, "num_beams", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "parameters": {"max_new_tokens": 100000}}`, "max_new_tokens", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "parameters": 3}`, "parameters", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "parameters": {"num_beams": 2}, "num_beams": 2}`, "num_beams", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "beams": 2}`, "beams", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "num_return_sequences": 17}`, "num_return_sequences", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "num_return_sequences": 3, "num_beams": 2}`, "num_return_sequences", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "num_return_sequences": 2, "num_beams": 1}`, "", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "do_sample": true, "temperature": 0}`, "temperature", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x", "src_lang": "en"}`, "", 400},
		{"summarization", fmt.Sprintf(`{"model": "bart-tiny", "inputs": %q}`, long), "inputs", 400},
		{"translation", `{"inputs": "x"}`, "model", 400},
		{"translation", `{"model": "nope", "inputs": "x"}`, "model", 404},
		{"translation", `{"model": "fake", "inputs": "x"}`, "model", 400},
		{"classify", `{"model": "t5-tiny", "inputs": "x"}`, "model", 400},
		{"translation", `[1, 2]`, "", 400},
		{"translation", `{"model": "marian-tiny", "inputs": "x"`, "", 400},
		{"completions", `{"model": "t5-tiny", "prompt": ""}`, "prompt", 400},
		{"completions", `{"model": "t5-tiny", "prompt": [1, 2, 3]}`, "prompt", 400},
		{"completions", `{"model": "t5-tiny", "prompt": "x", "max_tokens": 100000}`, "max_tokens", 400},
		{"completions", `{"model": "t5-tiny", "prompt": "x", "num_beams": 0}`, "num_beams", 400},
		{"completions", `{"model": "t5-tiny", "prompt": "x", "logprobs": 2}`, "logprobs", 400},
		{"completions", `{"model": "t5-tiny", "prompt": "x", "num_beams": 2, "stream": true}`, "stream", 400},
		{"completions", fmt.Sprintf(`{"model": "bart-tiny", "prompt": %q}`, long), "prompt", 400},
	}
	for _, c := range cases {
		code, b := post(t, ts.URL+"/v1/"+c.route, c.body)
		if code != c.status {
			t.Errorf("%s %.80s: %d %s, want %d", c.route, c.body, code, b, c.status)
			continue
		}
		if e := apiError(t, b); deref(e.Param) != c.param {
			t.Errorf("%s %.80s: param %q, want %q (%s)", c.route, c.body, deref(e.Param), c.param, e.Message)
		}
	}
	// truncation: true cuts the source instead.
	code, b := post(t, ts.URL+"/v1/summarization", fmt.Sprintf(`{"model": "bart-tiny", "inputs": %q, "truncation": true, "max_new_tokens": 3}`, long))
	if code != http.StatusOK {
		t.Errorf("truncation: %d %s", code, b)
	}
}

// FuzzText2TextRequest checks that the task routes' decoder never panics
// and refuses what it cannot read with a 400.
func FuzzText2TextRequest(f *testing.F) {
	for _, s := range []string{
		`{"model": "m", "inputs": "Hello.", "parameters": {"num_beams": 4, "max_new_tokens": 20}}`,
		`{"model": "m", "inputs": ["a", "b"], "do_sample": true, "top_p": 0.9, "temperature": 0.7, "seed": 3}`,
		`{"model": "m", "inputs": "x", "src_lang": "en", "tgt_lang": "de", "truncation": true}`,
		`{"inputs": null}`, `{"inputs": [1]}`, `{"inputs": "x", "parameters": null}`, `null`, `[]`, `"x"`, ``,
		`{"inputs": "x", "num_return_sequences": 1, "length_penalty": 1e309}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeText2TextRequest(body)
		if err != nil {
			if err.Status != http.StatusBadRequest || err.Message == "" {
				t.Fatalf("%q: %+v", body, err)
			}
			return
		}
		if len(r.Inputs) == 0 || len(r.Inputs) > MaxInputs || r.Options.NumBeams > MaxBeams || r.Options.NumBeams < 0 {
			t.Fatalf("%q decoded to %+v", body, r)
		}
	})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestSeq2SeqBusy checks that encoder-decoder calls go through the
// model's bounded calls: with the one call slot taken and no queue, the
// task route and completions answer 503 with Retry-After (counted as
// rejected), a client that disconnects while queued leaves the queue, and
// calls run again once the slot is free.
func TestSeq2SeqBusy(t *testing.T) {
	testenv.Shared(t, "fixtures", "bart-tiny")
	dir := t.TempDir()
	if err := seq2seqfixture.Folder(dir, "bart-tiny", nil); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir, LoadOptions{ID: "bart"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Parallel: 1, Queue: -1})
	if err := s.AddModel(m); err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	ts := httptestServer(t, s)
	rt, _ := s.lookup("bart")
	if aerr := rt.calls.acquire(context.Background(), "bart"); aerr != nil {
		t.Fatal(aerr)
	}
	bodies := map[string]string{
		"translation": `{"model": "bart", "inputs": "Two dogs play in the snow.", "max_new_tokens": 4}`,
		"completions": `{"model": "bart", "prompt": "Two dogs play in the snow.", "max_tokens": 4, "num_beams": 1, "stream": true}`,
	}
	for route, body := range bodies {
		code, b, h := do(t, http.MethodPost, ts.URL+"/v1/"+route, body)
		if e := apiError(t, b); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || deref(e.Code) != "server_busy" {
			t.Errorf("%s with the slot taken: %d %s %v", route, code, b, h)
		}
	}
	// A client that gives up while waiting for the slot leaves the queue.
	s.opts.Queue, rt.calls.queue = 4, 4
	cctx, cancelClient := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(cctx, http.MethodPost, ts.URL+"/v1/completions", strings.NewReader(bodies["completions"]))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, func() bool { return rt.calls.waiting.Load() == 1 })
	cancelClient()
	if err := <-done; err == nil {
		t.Error("the cancelled request got an answer")
	}
	waitFor(t, func() bool { return rt.calls.waiting.Load() == 0 })
	rt.calls.release()
	for route, body := range bodies {
		if code, b := post(t, ts.URL+"/v1/"+route, body); code != http.StatusOK {
			t.Errorf("%s once free: %d %s", route, code, b)
		}
	}
	_, metrics, _ := do(t, http.MethodGet, ts.URL+"/metrics", "")
	if !bytes.Contains(metrics, []byte(`glossa_requests_rejected_total{model="bart"} 2`)) {
		t.Errorf("rejections not counted:\n%s", grep(string(metrics), "rejected"))
	}
}
