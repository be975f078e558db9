package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
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

// streamResult is what one streaming request measured.
type streamResult struct {
	ttft   time.Duration
	tokens int
	err    error
}

// stream sends one streaming completion of up to maxTokens (0: the
// context's limit) and reads it to the end (or disconnects after the first
// chunk when drop is set).
func stream(ctx context.Context, url, model string, seed, maxTokens int, drop bool) streamResult {
	limit := ""
	if maxTokens > 0 {
		limit = fmt.Sprintf(`"max_tokens": %d, `, maxTokens)
	}
	body := fmt.Sprintf(`{"model": %q, "prompt": "Once upon a time", %s"seed": %d, "temperature": 0.8,
		"stream": true, "stream_options": {"include_usage": true}}`, model, limit, seed)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/completions", strings.NewReader(body))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return streamResult{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return streamResult{err: fmt.Errorf("status %d", resp.StatusCode)}
	}
	var r streamResult
	sc := bufio.NewScanner(resp.Body)
	done := false
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			break
		}
		// The clients share the server's two cores: past the first token,
		// only the usage chunk is decoded, the others only checked.
		if r.ttft != 0 && !strings.Contains(data, `"usage"`) {
			if !json.Valid([]byte(data)) {
				return streamResult{err: fmt.Errorf("not JSON: %s", data)}
			}
			continue
		}
		var c completion
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return streamResult{err: fmt.Errorf("%s: %v", data, err)}
		}
		if len(c.Choices) > 0 && c.Choices[0].Text != "" && r.ttft == 0 {
			r.ttft = time.Since(start)
			if drop {
				return r
			}
		}
		if c.Usage != nil {
			r.tokens = c.Usage.CompletionTokens
		}
	}
	if err := sc.Err(); err != nil {
		return streamResult{err: err}
	}
	if !done {
		return streamResult{err: fmt.Errorf("no [DONE]")}
	}
	return r
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
// and in-process clients together).
type waveTime struct{ wall, cpu time.Duration }

func summarize(t *testing.T, name string, rs []streamResult, wt waveTime) float64 {
	t.Helper()
	tokens := 0
	var ttft []time.Duration
	for _, r := range rs {
		if r.err != nil {
			t.Fatalf("%s: %v", name, r.err)
		}
		tokens += r.tokens
		ttft = append(ttft, r.ttft)
	}
	slices.Sort(ttft)
	p := func(q float64) time.Duration { return ttft[min(len(ttft)-1, int(q*float64(len(ttft))))] }
	rate := float64(tokens) / wt.wall.Seconds()
	t.Logf("%s: %d requests, %d tokens in %v: %.0f tokens/s aggregate; %.1f µs CPU per token; TTFT p50 %v p99 %v", name, len(rs), tokens,
		wt.wall.Round(time.Millisecond), rate, float64(wt.cpu.Microseconds())/float64(max(tokens, 1)),
		p(0.5).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond))
	return rate
}

// TestLoad is the bounded load test: streaming clients on loopback against
// real models, zero errors, aggregate tokens/s at 1 and 8 streams, time to
// first token with 16 clients over 8 slots, disconnecting clients freeing
// their slots, and resident memory over 1,000 requests. It asserts no
// timings; the figures are logged (go test -v -run TestLoad ./serve).
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	t.Run("stories260K", func(t *testing.T) {
		s, url, id := stories(t, Options{Parallel: 8})
		loadRun(t, s, url, id, 256, 1000)
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
		model := &Model{ID: "gpt2-124m-random", LM: auto.Wrap(m).(generate.BatchLM), Tokenizer: tok}
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
	one, wall1 := wave(url, id, 1, 6, maxTokens)
	r1 := summarize(t, "1 stream", one, wall1)
	eight, wall8 := wave(url, id, 8, 3, maxTokens)
	r8 := summarize(t, "8 streams", eight, wall8)
	t.Logf("8 streams / 1 stream: %.2f×", r8/r1)
	sixteen, wall16 := wave(url, id, 16, 2, maxTokens)
	summarize(t, "16 clients on 8 slots", sixteen, wall16)

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
	return fmt.Sprintf("model %s, batch backend %T", id, s.models[id].m.LM)
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
	_, b, _ := do(t, http.MethodGet, ts.URL+"/metrics", "")
	mt := string(b)
	if !strings.Contains(mt, `glossa_sequences_finished_total{model="`+gm.ID+`",reason="cancelled"} 8`) {
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
