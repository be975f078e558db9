package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/tensor"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// loadModel serves a real model from the shared folder.
func loadModel(t testing.TB, opts Options, path string, lopts LoadOptions) (*Server, string, string) {
	t.Helper()
	m, err := Load(path, lopts)
	if err != nil {
		t.Fatal(err)
	}
	m.LM = &stepTimer{BatchLM: m.LM}
	s := New(opts)
	if err := s.AddModel(m); err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	return s, httptestServer(t, s).URL, m.ID
}

func stories(t testing.TB, opts Options) (*Server, string, string) {
	dir := testenv.Shared(t, "models", "stories260K")
	return loadModel(t, opts, dir+"/stories260K.bin", LoadOptions{Tokenizer: dir + "/tok512.bin"})
}

// TestStories serves the real stories260K model: greedy text equals
// llama2.c's, and a json_schema reply from a model never trained on JSON
// still parses and validates.
func TestStories(t *testing.T) {
	_, url, id := stories(t, Options{})
	code, b := post(t, url+"/v1/completions", `{"model": "`+id+`", "prompt": "Once upon a time", "max_tokens": 20, "temperature": 0}`)
	var c completion
	if json.Unmarshal(b, &c); code != 200 || !strings.HasPrefix(c.Choices[0].Text, ", there was a little girl named Lily.") {
		t.Fatalf("%d %s", code, b)
	}
	schema := `{"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"},
		"mood": {"enum": ["happy", "sad"]}}, "required": ["name", "age", "mood"]}`
	for seed := range 4 {
		code, b := post(t, url+"/v1/chat/completions", fmt.Sprintf(`{"model": "%s", "seed": %d, "max_tokens": 300,
			"messages": [{"role": "user", "content": "Tom was a boy"}],
			"response_format": {"type": "json_schema", "json_schema": {"name": "kid", "schema": %s}}}`, id, seed, schema))
		var r chatCompletion
		if json.Unmarshal(b, &r); code != 200 || r.Choices[0].FinishReason != "stop" {
			t.Fatalf("%d %s", code, b)
		}
		var v struct {
			Name string `json:"name"`
			Age  int    `json:"age"`
			Mood string `json:"mood"`
		}
		if err := json.Unmarshal([]byte(*r.Choices[0].Message.Content), &v); err != nil || (v.Mood != "happy" && v.Mood != "sad") {
			t.Fatalf("seed %d: %q: %v", seed, *r.Choices[0].Message.Content, err)
		}
		t.Logf("seed %d: %s", seed, *r.Choices[0].Message.Content)
	}
	// The attention of a real model: probabilities, causal.
	code, b = post(t, url+"/v1/attention", `{"model": "`+id+`", "prompt": "Lily saw a cat"}`)
	var a struct {
		Layers, Heads int
		Attention     [][][][]float32
	}
	if json.Unmarshal(b, &a); code != 200 || a.Layers == 0 || a.Heads == 0 {
		t.Fatalf("%d %.200s", code, b)
	}
	m := a.Attention[a.Layers-1][0]
	if m[0][1] != 0 || m[1][0] <= 0 {
		t.Fatalf("not causal: %v", m[:2])
	}
}

// streamResult is what one streaming request measured and received.
type streamResult struct {
	seed   int
	ttft   time.Duration
	chunks []byte // the data of every event before [DONE], one a line
	done   bool   // [DONE] came
	err    error  // a transport or status error

	// Set by verify.
	text   string
	tokens int
}

// completionBody is the body of the load test's completion requests: a
// story prompt sampled at temperature 0.8 with seed, up to maxTokens (0:
// the context's limit).
func completionBody(model string, seed, maxTokens int, stream bool) string {
	limit := ""
	if maxTokens > 0 {
		limit = fmt.Sprintf(`"max_tokens": %d, `, maxTokens)
	}
	streaming := ""
	if stream {
		streaming = `, "stream": true, "stream_options": {"include_usage": true}`
	}
	return fmt.Sprintf(`{"model": %q, "prompt": "Once upon a time", %s"seed": %d, "temperature": 0.8%s}`, model, limit, seed, streaming)
}

// loadClient is the load test clients' HTTP client: it keeps a connection
// per concurrent client for the next request (the default keeps two).
var loadClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

var (
	textKey   = []byte(`"text":"`)
	emptyText = []byte(`"text":""`)
	doneEvent = []byte("[DONE]")
)

// stream sends one streaming completion and reads it to the end (or
// disconnects after the first text when drop is set). It only keeps what
// it reads: the chunks are decoded and checked after the wave (verify), so
// that the in-process clients, which share the server's cores, cost little
// while the clock runs. The time to first token is when the first chunk
// with text arrives.
func stream(ctx context.Context, url, model string, seed, maxTokens int, drop bool) streamResult {
	r := streamResult{seed: seed}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/completions",
		strings.NewReader(completionBody(model, seed, maxTokens, true)))
	start := time.Now()
	resp, err := loadClient.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		r.err = fmt.Errorf("status %d", resp.StatusCode)
		return r
	}
	r.chunks = make([]byte, 0, 64<<10)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		if bytes.Equal(data, doneEvent) {
			r.done = true
			break
		}
		r.chunks = append(append(r.chunks, data...), '\n')
		if r.ttft == 0 && bytes.Contains(data, textKey) && !bytes.Contains(data, emptyText) {
			r.ttft = time.Since(start)
			if drop {
				return r
			}
		}
	}
	r.err = sc.Err()
	return r
}

// verify decodes and checks what each stream received, and sets its text
// and token count: a [DONE] at the end; every chunk a text_completion of
// one id and model; each choice chunk of index 0, text chunks (never
// empty) first, then one with the finish reason; last the usage, with no
// choices, counting at least one completion token per text chunk and at
// most maxTokens (when set).
func verify(t *testing.T, name, model string, maxTokens int, rs []streamResult) {
	t.Helper()
	for i := range rs {
		r := &rs[i]
		if err := r.verify(model, maxTokens); err != nil {
			t.Fatalf("%s, seed %d: %v", name, r.seed, err)
		}
	}
}

func (r *streamResult) verify(model string, maxTokens int) error {
	if r.err != nil {
		return r.err
	}
	if !r.done {
		return errors.New("no [DONE]")
	}
	var text strings.Builder
	var id string
	texts, finished := 0, false
	var u *usage
	for line := range bytes.Lines(r.chunks) {
		var c completion
		if err := json.Unmarshal(line, &c); err != nil {
			return fmt.Errorf("%s: %v", line, err)
		}
		if id == "" {
			id = c.ID
		}
		switch {
		case c.ID != id || id == "" || c.Object != "text_completion" || c.Model != model:
			return fmt.Errorf("chunk %s after id %q", line, id)
		case u != nil:
			return fmt.Errorf("chunk %s after the usage", line)
		case c.Usage != nil:
			if len(c.Choices) != 0 || !finished {
				return fmt.Errorf("usage chunk %s", line)
			}
			u = c.Usage
		case len(c.Choices) != 1 || c.Choices[0].Index != 0 || c.Choices[0].Logprobs != nil || finished:
			return fmt.Errorf("chunk %s", line)
		case c.Choices[0].FinishReason != nil:
			if c.Choices[0].Text != "" || (*c.Choices[0].FinishReason != "stop" && *c.Choices[0].FinishReason != "length") {
				return fmt.Errorf("final chunk %s", line)
			}
			finished = true
		case c.Choices[0].Text == "":
			return fmt.Errorf("empty text chunk %s", line)
		default:
			text.WriteString(c.Choices[0].Text)
			texts++
		}
	}
	switch {
	case u == nil:
		return errors.New("no usage chunk")
	case u.CompletionTokens < max(texts, 1) || (maxTokens > 0 && u.CompletionTokens > maxTokens) ||
		u.PromptTokens < 1 || u.TotalTokens != u.PromptTokens+u.CompletionTokens:
		return fmt.Errorf("usage %+v for %d text chunks", *u, texts)
	case texts == 0 || r.ttft == 0:
		return errors.New("no text")
	}
	r.text, r.tokens = text.String(), u.CompletionTokens
	return nil
}

// sameAsUnstreamed checks that each stream gave the text and token count
// of the same request sent without streaming. The requests must have run
// alone, as must these: the model's rows give the same logits alone and
// batched only up to rounding, which may tip a sampled token.
func sameAsUnstreamed(t *testing.T, url, model string, maxTokens int, rs []streamResult) {
	t.Helper()
	for _, r := range rs {
		code, b := post(t, url+"/v1/completions", completionBody(model, r.seed, maxTokens, false))
		var c completion
		if err := json.Unmarshal(b, &c); err != nil || code != 200 || len(c.Choices) != 1 || c.Usage == nil {
			t.Fatalf("seed %d: %d %s", r.seed, code, b)
		}
		if c.Choices[0].Text != r.text || c.Usage.CompletionTokens != r.tokens {
			t.Fatalf("seed %d: streamed %d tokens %q, unstreamed %d tokens %q", r.seed, r.tokens, r.text,
				c.Usage.CompletionTokens, c.Choices[0].Text)
		}
	}
}

// wave runs clients concurrent streaming clients, each sending requests
// requests one after the other, and returns the results and the wall time.
func wave(url, model string, clients, requests, maxTokens int) ([]streamResult, waveTime) {
	var mu sync.Mutex
	var out []streamResult
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for c := range clients {
		wg.Go(func() {
			for i := range requests {
				r := stream(context.Background(), url, model, c*1000+i, maxTokens, false)
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, waveTime{wall: time.Since(start), cpu: cpuTime() - cpu0}
}

// waveTime is how long a wave took, on the clock and in CPU time (server
// and in-process clients together), and the model steps it ran.
type waveTime struct {
	wall, cpu time.Duration
	steps     stepStats
}

// stepTimer is a BatchLM whose states time their steps, to tell how busy
// the scheduler keeps the model and how many rows a step has.
type stepTimer struct {
	generate.BatchLM
	steps, rows, busy atomic.Int64 // busy: nanoseconds in Step
}

// stepStats counts model steps, their rows and their wall time.
type stepStats struct {
	steps, rows int64
	busy        time.Duration
}

func (s stepStats) sub(o stepStats) stepStats {
	return stepStats{s.steps - o.steps, s.rows - o.rows, s.busy - o.busy}
}

// stats returns the counts so far (zero for a nil timer).
func (m *stepTimer) stats() stepStats {
	if m == nil {
		return stepStats{}
	}
	return stepStats{m.steps.Load(), m.rows.Load(), time.Duration(m.busy.Load())}
}

func (m *stepTimer) NewBatch(rows, maxLen int) (generate.BatchState, error) {
	st, err := m.BatchLM.NewBatch(rows, maxLen)
	if err != nil {
		return nil, err
	}
	return &timedState{BatchState: st, m: m}, nil
}

type timedState struct {
	generate.BatchState
	m *stepTimer
}

func (s *timedState) Step(rows []int, tokens [][]int) ([]float32, error) {
	start := time.Now()
	logits, err := s.BatchState.Step(rows, tokens)
	s.m.busy.Add(int64(time.Since(start)))
	s.m.steps.Add(1)
	s.m.rows.Add(int64(len(rows)))
	return logits, err
}

// summarize logs a verified wave's figures and returns its aggregate
// tokens/s.
func summarize(t *testing.T, name string, rs []streamResult, wt waveTime) float64 {
	t.Helper()
	tokens := 0
	var ttft []time.Duration
	for _, r := range rs {
		tokens += r.tokens
		ttft = append(ttft, r.ttft)
	}
	slices.Sort(ttft)
	p := func(q float64) time.Duration { return ttft[min(len(ttft)-1, int(q*float64(len(ttft))))] }
	rate := float64(tokens) / wt.wall.Seconds()
	steps := ""
	if st := wt.steps; st.steps > 0 {
		steps = fmt.Sprintf("; %.1f rows a step, model steps %.0f%% of the time", float64(st.rows)/float64(st.steps),
			100*st.busy.Seconds()/wt.wall.Seconds())
	}
	t.Logf("%s: %d requests, %d tokens in %v: %.0f tokens/s aggregate; %.1f µs CPU per token; TTFT p50 %v p99 %v%s", name, len(rs), tokens,
		wt.wall.Round(time.Millisecond), rate, float64(wt.cpu.Microseconds())/float64(max(tokens, 1)),
		p(0.5).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond), steps)
	return rate
}

// TestLoad is the bounded load test: streaming clients on loopback against
// real models, zero errors, aggregate tokens/s at 1 and 8 streams, time to
// first token with 16 clients over 8 slots, disconnecting clients freeing
// their slots, and resident memory over 1,000 requests; stories260K runs
// again with a 2 ms flush interval (Options.FlushInterval). It asserts no
// timings; the figures are logged (go test -v -run TestLoad ./serve).
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	t.Run("stories260K", func(t *testing.T) {
		s, url, id := stories(t, Options{Parallel: 8})
		loadRun(t, s, url, id, 256, 1000)
	})
	t.Run("stories260K-flush2ms", func(t *testing.T) {
		// The same with each stream's chunks flushed at most every 2 ms.
		s, url, id := stories(t, Options{Parallel: 8, FlushInterval: 2 * time.Millisecond})
		loadRun(t, s, url, id, 256, 0)
	})
	t.Run("gpt2-shaped", func(t *testing.T) {
		dir := testenv.Shared(t, "models", "hf-tiny-gpt2")
		tok := testenv.Shared(t, "tokenizers", "gpt2")
		s, url, id := loadModel(t, Options{Parallel: 8, CtxSize: 256}, dir, LoadOptions{Tokenizer: tok})
		loadRun(t, s, url, id, 64, 0)
	})
	t.Run("gpt2-124M-shaped", func(t *testing.T) {
		// GPT-2 124M's shape with random weights: a model whose forward
		// pass, not the serving around it, is the cost of a step.
		m, err := gpt2.NewRandomInference(gpt2.Small124M(), tensor.NewRNG(0), nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokauto.Load(testenv.Shared(t, "tokenizers", "gpt2"))
		if err != nil {
			t.Fatal(err)
		}
		model := &Model{ID: "gpt2-124m-random", LM: &stepTimer{BatchLM: auto.Wrap(m).(generate.BatchLM)}, Tokenizer: tok}
		s := New(Options{Parallel: 8, CtxSize: 128})
		if err := s.AddModel(model); err != nil {
			t.Fatal(err)
		}
		s.SetReady(true)
		loadRun(t, s, httptestServer(t, s).URL, model.ID, 32, 0)
	})
}

func loadRun(t *testing.T, s *Server, url, id string, maxTokens, memRequests int) {
	t.Logf("GOMAXPROCS %d, %s", runtime.GOMAXPROCS(0), backendName(s, id))
	timer, _ := s.models[id].m.LM.(*stepTimer)
	run := func(name string, clients, requests int, check func([]streamResult)) float64 {
		before := timer.stats()
		rs, wt := wave(url, id, clients, requests, maxTokens)
		wt.steps = timer.stats().sub(before)
		verify(t, name, id, maxTokens, rs)
		if check != nil {
			check(rs)
		}
		return summarize(t, name, rs, wt)
	}
	r1 := run("1 stream", 1, 6, func(rs []streamResult) { sameAsUnstreamed(t, url, id, maxTokens, rs[:3]) })
	r8 := run("8 streams", 8, 3, nil)
	t.Logf("8 streams / 1 stream: %.2f×", r8/r1)
	run("16 clients on 8 slots", 16, 2, nil)

	disconnects(t, s.models[id].m, s.opts)

	if memRequests == 0 {
		return
	}
	// Resident memory stays flat over many requests.
	var rss []int
	var wg2 sync.WaitGroup
	per := memRequests / 8
	for round := range 2 {
		for c := range 8 {
			wg2.Go(func() {
				for i := range per / 2 {
					code, b := post(t, url+"/v1/completions", fmt.Sprintf(`{"model": %q, "prompt": "Tom had a", "max_tokens": 8, "seed": %d}`, id, c*10000+round*1000+i))
					if code != 200 {
						t.Errorf("%d %s", code, b)
						return
					}
				}
			})
		}
		wg2.Wait()
		runtime.GC()
		debug.FreeOSMemory()
		rss = append(rss, residentBytes())
	}
	t.Logf("resident memory after %d and %d more requests: %.1f MiB, %.1f MiB", memRequests/2, memRequests/2,
		float64(rss[0])/(1<<20), float64(rss[1])/(1<<20))
	if rss[0] > 0 && rss[1]-rss[0] > 64<<20 {
		t.Errorf("resident memory grew by %.0f MiB over %d requests", float64(rss[1]-rss[0])/(1<<20), memRequests/2)
	}
}

func backendName(s *Server, id string) string {
	lm := s.models[id].m.LM
	if t, ok := lm.(*stepTimer); ok {
		lm = t.BatchLM
	}
	return fmt.Sprintf("model %s, batch backend %T", id, lm)
}

// residentBytes reads the process's resident set size (Linux), 0 if
// unknown.
func residentBytes() int {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.Atoi(string(f[1]))
	return pages * os.Getpagesize()
}

// disconnects checks that 8 streaming clients that disconnect after their
// first token are cancelled and free their slots, on a server of its own
// over m whose model steps are held at a gate: a step runs only once every
// sequence that has been given a token has had its disconnect noticed (its
// request's context ended), so each is cancelled at the step after, however
// slowly a loaded machine lets the server read the closed connections. (A
// token whose text is held back, half a character, cannot make its client
// disconnect: after waiting a while the gate lets one step through.)
func disconnects(t *testing.T, m *Model, opts Options) {
	g := &gatedLM{BatchLM: m.LM, steps: make(chan struct{})}
	gm := *m
	gm.LM, gm.Close = g, nil
	s := New(opts)
	if err := s.AddModel(&gm); err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	var gone atomic.Int64 // streaming requests whose context has ended
	h := s.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			stop := context.AfterFunc(r.Context(), func() { gone.Add(1) })
			defer stop()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	done := make(chan struct{})
	var granter sync.WaitGroup
	granter.Go(func() {
		for {
			for wait := time.Now(); gone.Load() < g.started.Load() && time.Since(wait) < 2*time.Second; {
				time.Sleep(100 * time.Microsecond)
			}
			select {
			case g.steps <- struct{}{}:
			case <-done:
				return
			}
		}
	})
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			if r := stream(context.Background(), ts.URL, gm.ID, c, 0, true); r.err != nil {
				t.Error(r.err)
			}
		})
	}
	wg.Wait()
	rt := s.models[gm.ID]
	waitFor(t, func() bool { st := rt.sched.Stats(); return st.Active == 0 && st.Waiting == 0 })
	close(done)
	granter.Wait()
	// A handler counts its sequence's end when it reads the final event,
	// which may be after the scheduler has freed the row.
	cancelled := `glossa_sequences_finished_total{model="` + gm.ID + `",reason="cancelled"} 8`
	var mt string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		_, b, _ := do(t, http.MethodGet, ts.URL+"/metrics", "")
		if mt = string(b); strings.Contains(mt, cancelled) || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(mt, cancelled) {
		t.Errorf("the metrics do not count 8 cancelled sequences:\n%s", grep(mt, "finished_total"))
	}
	if !strings.Contains(mt, `glossa_slots_active{model="`+gm.ID+`"} 0`) {
		t.Errorf("slots still active:\n%s", grep(mt, "glossa_slots_active"))
	}
	t.Logf("after 8 disconnects: %s", strings.ReplaceAll(grep(mt, "glossa_slots_active"), "\n", "; "))
}

// gatedLM holds every step of its states until a value arrives on steps,
// and counts the sequences started (rows stepped from empty).
type gatedLM struct {
	generate.BatchLM
	steps   chan struct{}
	started atomic.Int64
}

func (g *gatedLM) NewBatch(rows, maxLen int) (generate.BatchState, error) {
	st, err := g.BatchLM.NewBatch(rows, maxLen)
	if err != nil {
		return nil, err
	}
	return &gatedState{BatchState: st, g: g}, nil
}

type gatedState struct {
	generate.BatchState
	g *gatedLM
}

func (s *gatedState) Step(rows []int, tokens [][]int) ([]float32, error) {
	<-s.g.steps
	for _, r := range rows {
		if s.Len(r) == 0 {
			s.g.started.Add(1)
		}
	}
	return s.BatchState.Step(rows, tokens)
}

// TestStreamVerify checks the load test's own check: a stream that lacks
// or garbles any part fails it.
func TestStreamVerify(t *testing.T) {
	head := `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","system_fingerprint":"f","choices":[`
	text := func(s string) string {
		return head + `{"text":"` + s + `","index":0,"logprobs":null,"finish_reason":null}]}`
	}
	final := head + `{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}`
	use := func(c int) string {
		return fmt.Sprintf(`{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","system_fingerprint":"f","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":%d,"total_tokens":%d}}`, c, 5+c)
	}
	good := []string{text("Once"), text(" there"), final, use(3)}
	for _, c := range []struct {
		name   string
		chunks []string
		done   bool
		ok     bool
	}{
		{"complete", good, true, true},
		{"no [DONE]", good, false, false},
		{"no text", []string{final, use(1)}, true, false},
		{"no finish reason", []string{text("Once"), use(1)}, true, false},
		{"no usage", []string{text("Once"), final}, true, false},
		{"text after the finish", []string{text("Once"), final, text("x"), use(2)}, true, false},
		{"empty text", []string{text("Once"), text(""), final, use(2)}, true, false},
		{"fewer tokens than texts", []string{text("Once"), text(" there"), final, use(1)}, true, false},
		{"more tokens than the limit", []string{text("Once"), final, use(9)}, true, false},
		{"another choice", []string{strings.Replace(text("Once"), `"index":0`, `"index":1`, 1), final, use(1)}, true, false},
		{"another id", []string{strings.Replace(text("Once"), "cmpl-1", "cmpl-2", 1), final, use(1)}, true, false},
		{"another model", []string{text("Once"), strings.Replace(final, `"m"`, `"n"`, 1), use(1)}, true, false},
		{"not JSON", []string{text("Once")[1:], final, use(1)}, true, false},
	} {
		r := streamResult{done: c.done, ttft: time.Millisecond, chunks: []byte(strings.Join(c.chunks, "\n") + "\n")}
		err := r.verify("m", 4)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.ok && (r.text != "Once there" || r.tokens != 3) {
			t.Errorf("%s: text %q, %d tokens", c.name, r.text, r.tokens)
		}
	}
}

// TestLoadProfile writes a CPU profile of one wave of 64 streaming
// stories260K requests for 1 and 8 concurrent streams, each with and
// without a 2 ms flush interval, into the folder $GLOSSA_LOAD_PROFILE
// (skipped when it is not set), and logs the waves' figures:
//
//	GLOSSA_LOAD_PROFILE=/tmp/prof go test -v -run TestLoadProfile ./serve
//	go tool pprof -top -cum /tmp/prof/streams8-flush0s.prof
func TestLoadProfile(t *testing.T) {
	dir := os.Getenv("GLOSSA_LOAD_PROFILE")
	if dir == "" {
		t.Skip("GLOSSA_LOAD_PROFILE is not set")
	}
	for _, flush := range []time.Duration{0, 2 * time.Millisecond} {
		for _, clients := range []int{1, 8} {
			s, url, id := stories(t, Options{Parallel: 8, FlushInterval: flush})
			timer := s.models[id].m.LM.(*stepTimer)
			wave(url, id, clients, 2, 256) // warm up
			name := fmt.Sprintf("streams%d-flush%v", clients, flush)
			f, err := os.Create(filepath.Join(dir, name+".prof"))
			if err != nil {
				t.Fatal(err)
			}
			before := timer.stats()
			if err := pprof.StartCPUProfile(f); err != nil {
				t.Fatal(err)
			}
			rs, wt := wave(url, id, clients, 64/clients, 256)
			pprof.StopCPUProfile()
			wt.steps = timer.stats().sub(before)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			verify(t, name, id, 256, rs)
			summarize(t, name, rs, wt)
		}
	}
}
