// Package serve is Glossa's HTTP server: an OpenAI-compatible API
// (chat completions, completions, models, embeddings) with continuous
// batching, plus tokenize/detokenize, task routes, an attention endpoint,
// Prometheus metrics and a web playground.
//
// A Server holds any number of Models, each with a scheduler
// (serve/scheduler) that owns the model's batch of slots: concurrent
// requests decode together, one batched step at a time, a new request joins
// at the next step and a finished or cancelled one (a client that
// disconnects) leaves at once. Past the slots and a bounded queue the server
// answers 503 with Retry-After. response_format json_object and json_schema
// are enforced by constrained decoding (serve/constrain). Streamed tool
// calls open with their index, id, type and name and then send their
// arguments as they are decoded.
//
//	s := serve.New(serve.Options{Parallel: 8})
//	m, err := serve.Load("stories260K.bin", serve.LoadOptions{Tokenizer: "tok512.bin"})
//	err = s.AddModel(m)
//	s.SetReady(true)
//	err = s.ListenAndServe(ctx, "127.0.0.1:8080") // until ctx ends, then a graceful shutdown
//
// Encoder models (LoadEncoder: BERT, DistilBERT, RoBERTa, XLM-RoBERTa and
// sentence-transformers folders, over the pipeline package) serve
// embeddings and the task routes beside the causal LMs, and
// encoder-decoders (LoadSeq2Seq: Marian, T5, BART) serve translation,
// summarization, text2text-generation and completions; Load tells them
// apart, so one server mixes them.
//
// Routes: GET /health (public; 503 until SetReady), GET /metrics, GET
// /v1/models, POST /v1/chat/completions and POST /v1/completions (causal
// LMs), POST /v1/embeddings (OpenAI's shape: strings or token arrays,
// float or base64, dimensions), the task routes POST /v1/classify,
// /v1/fill-mask, /v1/token-classification, /v1/question-answering and
// /v1/zero-shot-classification (Hugging Face's pipeline argument and
// result names) and POST /v1/rerank (Cohere's and Jina's shape) for
// encoders, POST /v1/translation, /v1/summarization and
// /v1/text2text-generation ({"inputs", "parameters"}, answered as
// [{"translation_text"}], …) and POST /v1/completions for
// encoder-decoders, POST /tokenize, POST /detokenize, POST /v1/attention, and the
// playground at /. A route the model cannot serve answers 400 naming what
// the model is. With API keys every route but /health and the
// playground's files needs "Authorization: Bearer KEY".
package serve

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/serve/constrain"
	"github.com/glossa-ai/glossa/serve/scheduler"
	"github.com/glossa-ai/glossa/tokenizer"
)

// Options configure a Server. The zero value is a valid configuration.
type Options struct {
	// Parallel is the number of slots (batch rows) per model: sequences
	// decoded together. 0 means 4.
	Parallel int
	// Queue is how many sequences per model may wait for a slot; past it
	// requests get 503 with Retry-After. 0 means 64; negative means none.
	Queue int
	// CtxSize is the positions of a slot, prompt included. 0 (or more than
	// the model's) means the model's maximum length.
	CtxSize int
	// PrefillBudget bounds the prompt tokens fed in one step over all slots,
	// so that a long prompt is prefilled in chunks between other requests'
	// tokens. 0 means 256.
	PrefillBudget int
	// APIKeys, when not empty, are the bearer tokens a request must carry
	// (Authorization: Bearer KEY); /health and the playground's files stay
	// public.
	APIKeys []string
	// CORSOrigin, when not empty, is sent as Access-Control-Allow-Origin
	// ("*" for any origin) and preflight requests are answered.
	CORSOrigin string
	// MaxBodyBytes bounds request bodies. 0 means 8 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds a request, generation included. 0 means 10
	// minutes.
	RequestTimeout time.Duration
	// FlushInterval, when positive, is the least time between two flushes
	// of a causal LM's stream (chat completions, completions): the chunks
	// of the steps in between go out together in one flush, one write and
	// one read of the socket and one wake-up of the request's goroutine
	// instead of one per step. The chat role chunk and the first token are
	// flushed at once, every later chunk (the end included) at most an
	// interval after the previous flush. 0 flushes after every step's
	// chunks.
	FlushInterval time.Duration
	// ShutdownTimeout is how long a graceful shutdown waits for requests in
	// flight before cancelling them. 0 means 30 seconds.
	ShutdownTimeout time.Duration
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// Server is an OpenAI-compatible HTTP server over a set of models. Its
// methods are safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	ready   atomic.Bool

	mu     sync.RWMutex
	models map[string]*served
	order  []string

	ctx    context.Context // the schedulers' lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup

	rngMu sync.Mutex
	rng   *rand.Rand

	handler http.Handler
}

// served is a model being served.
type served struct {
	m         *Model
	sched     *scheduler.Scheduler
	plain     *tokenizer.Tokenizer // no template: for rendered chat prompts
	dec       generate.Decoder
	vocab     *constrain.Vocab
	objIndex  *constrain.Index
	created   int64
	maxLen    int // tokens a sequence may have
	vocabSize int
	calls     *calls // bounds the Embedder's and Tasks' calls

	schemaMu sync.Mutex
	schemas  map[string]*constrain.Index // by schema text
}

// generates reports whether the model has an LM; when not, the error
// names what it is, for a generation route.
func (rt *served) generates(route string) *Error {
	if rt.sched != nil {
		return nil
	}
	what := "has no language model"
	switch a := rt.m.Architectures; {
	case rt.m.Text2Text != nil:
		return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "model", Code: "model_not_generative",
			Message: fmt.Sprintf("model %q is an encoder-decoder (%s): %s needs a causal LM; it serves /v1/completions, /v1/translation, /v1/summarization and /v1/text2text-generation", rt.m.ID, strings.Join(a, ", "), route)}
	case len(a) > 0:
		what = "is an encoder (" + strings.Join(a, ", ") + ")"
	}
	return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "model", Code: "model_not_generative",
		Message: fmt.Sprintf("model %q %s and does not generate: %s needs a causal LM", rt.m.ID, what, route)}
}

// maxSchemas bounds the compiled schemas a model keeps.
const maxSchemas = 32

// New returns a server with no models; it reports not ready until
// SetReady(true).
func New(opts Options) *Server {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Minute
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	now := uint64(time.Now().UnixNano())
	s := &Server{opts: opts, log: log, metrics: newMetrics(), models: map[string]*served{},
		ctx: ctx, cancel: cancel, rng: rand.New(rand.NewPCG(now, now>>17^0x5851f42d4c957f2d))}
	s.handler = s.routes()
	return s
}

// AddModel starts serving m: it sizes the model's slots, precomputes the
// vocabulary's token bytes (for logprobs and constrained decoding) and
// starts its scheduler.
func (s *Server) AddModel(m *Model) error {
	switch {
	case m == nil || m.Tokenizer == nil:
		return errors.New("serve: a model needs a Tokenizer")
	case m.LM == nil && m.Embedder == nil && m.Tasks == nil:
		return errors.New("serve: a model needs an LM, an Embedder or Tasks")
	case m.ID == "":
		return errors.New("serve: a model needs an ID")
	}
	dec := m.Decoder
	if dec == nil {
		dec = m.Tokenizer
	}
	plain, err := plainTokenizer(m.Tokenizer)
	if err != nil {
		return fmt.Errorf("serve: %s: %w", m.ID, err)
	}
	created := m.Created
	if created.IsZero() {
		created = time.Now()
	}
	rt := &served{m: m, plain: plain, dec: dec, created: created.Unix(), schemas: map[string]*constrain.Index{},
		maxLen: m.MaxLen, vocabSize: m.Tokenizer.VocabSize(), calls: newCalls(s.opts.Parallel, s.opts.Queue)}
	if m.LM != nil {
		sched, err := scheduler.New(m.LM, scheduler.Options{Rows: s.opts.Parallel, Queue: s.opts.Queue, MaxLen: s.opts.CtxSize,
			PrefillBudget: s.opts.PrefillBudget, Decoder: dec, Logger: s.log.With("model", m.ID)})
		if err != nil {
			return fmt.Errorf("serve: %s: %w", m.ID, err)
		}
		rt.sched, rt.maxLen, rt.vocabSize = sched, sched.MaxLen(), m.LM.VocabSize()
	}
	rt.vocab = constrain.NewVocab(tokenPieces(m.Tokenizer, dec, rt.vocabSize))
	if m.LM != nil {
		rt.objIndex = constrain.NewIndex(constrain.AnyObject(), rt.vocab)
	}
	s.mu.Lock()
	if _, dup := s.models[m.ID]; dup {
		s.mu.Unlock()
		return fmt.Errorf("serve: a model named %q is already served", m.ID)
	}
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return errors.New("serve: the server is closed")
	}
	s.models[m.ID] = rt
	s.order = append(s.order, m.ID)
	s.wg.Add(1)
	s.mu.Unlock()
	s.metrics.addModel(rt)
	if rt.sched == nil {
		s.wg.Done()
		s.log.Info("model ready", "model", m.ID, "encoder", m.Architectures, "max_len", rt.maxLen, "vocab", rt.vocabSize)
		return nil
	}
	go func() {
		defer s.wg.Done()
		rt.sched.Run(s.ctx)
	}()
	s.log.Info("model ready", "model", m.ID, "slots", s.opts.Parallel, "ctx", rt.maxLen, "vocab", rt.vocabSize)
	return nil
}

// SetReady sets what /health reports: 200 when ready, 503 (loading) before.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the schedulers (ending every sequence in flight) and closes
// the models. The server cannot be used afterwards.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, id := range s.order {
		if c := s.models[id].m.Close; c != nil {
			errs = append(errs, c())
		}
	}
	s.order = nil
	return errors.Join(errs...)
}

// ListenAndServe listens on addr and serves until ctx ends (see Serve).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections, lets requests in flight finish for up to
// Options.ShutdownTimeout, cancels those still running, and closes the
// server (Close). It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "deadline", s.opts.ShutdownTimeout)
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("requests still running at the shutdown deadline were cancelled", "err", err)
		hs.Close()
	}
	<-errc
	return s.Close()
}

// lookup returns the runtime serving id.
func (s *Server) lookup(id string) (*served, *Error) {
	s.mu.RLock()
	rt := s.models[id]
	ids := slices.Clone(s.order)
	s.mu.RUnlock()
	if rt != nil {
		return rt, nil
	}
	if !s.ready.Load() {
		return nil, &Error{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "loading",
			Message: fmt.Sprintf("model %q is not loaded (the server is still loading models)", id)}
	}
	e := notFound("model_not_found", "the model %q does not exist; this server serves %q", id, ids)
	e.Param = "model"
	e.Type = "invalid_request_error"
	return nil, e
}

// newID returns a fresh response id with prefix.
func (s *Server) newID(prefix string) string {
	var b [12]byte
	s.rngMu.Lock()
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	s.rngMu.Unlock()
	return prefix + hex.EncodeToString(b[:])
}

// randomSeed draws a sampling seed for a request that gave none.
func (s *Server) randomSeed() uint64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Uint64()
}

// handlerFunc is a route's handler; an error it returns is sent as an
// OpenAI error object (unless the response has started).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route wraps a handler with the method check, authentication, CORS,
// metrics and logging.
func (s *Server) route(name, method string, public bool, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic in handler", "route", name, "panic", p)
				if !rec.wrote {
					writeError(rec, serverError("internal error"))
				}
			}
			s.metrics.requests.WithLabelValues(name, strconv.Itoa(rec.status)).Inc()
			s.metrics.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
			lvl := slog.LevelInfo
			if name == "health" || name == "metrics" || name == "playground" {
				lvl = slog.LevelDebug
			}
			s.log.Log(r.Context(), lvl, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
		}()
		if s.cors(rec, r) {
			return
		}
		if method != "" && r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			rec.Header().Set("Allow", method)
			writeError(rec, &Error{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error",
				Message: fmt.Sprintf("%s %s is not allowed; use %s", r.Method, r.URL.Path, method)})
			return
		}
		if !public && !s.authorized(r) {
			writeError(rec, &Error{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
				Message: "missing or incorrect API key: send Authorization: Bearer KEY"})
			return
		}
		if err := h(rec, r); err != nil {
			if rec.wrote {
				s.log.Warn("error after the response started", "route", name, "err", err)
				return
			}
			writeError(rec, err)
		}
	})
}

// cors adds the CORS headers and answers preflight requests (reporting
// true).
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.CORSOrigin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", s.opts.CORSOrigin)
	if s.opts.CORSOrigin != "*" {
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

func (s *Server) authorized(r *http.Request) bool {
	if len(s.opts.APIKeys) == 0 {
		return true
	}
	got := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(got) <= len(prefix) || got[:len(prefix)] != prefix {
		return false
	}
	got = got[len(prefix):]
	ok := false
	for _, k := range s.opts.APIKeys {
		if subtle.ConstantTimeCompare([]byte(got), []byte(k)) == 1 {
			ok = true
		}
	}
	return ok
}

// readBody reads a request body of at most Options.MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
			Message: fmt.Sprintf("the request body is larger than %d bytes", s.opts.MaxBodyBytes)}
	case err != nil:
		return nil, badRequest("", "reading the request body: %v", err)
	}
	return body, nil
}

// recorder remembers the status and whether the response started; it
// passes flushes through (http.ResponseController unwraps it).
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// routes builds the server's mux.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/health", s.route("health", http.MethodGet, true, s.health))
	mux.Handle("/metrics", s.route("metrics", http.MethodGet, false, func(w http.ResponseWriter, r *http.Request) error {
		s.metrics.handler().ServeHTTP(w, r)
		return nil
	}))
	mux.Handle("/v1/models", s.route("models", http.MethodGet, false, s.listModels))
	mux.Handle("/v1/models/{id...}", s.route("models", http.MethodGet, false, s.getModel))
	mux.Handle("/v1/chat/completions", s.route("chat_completions", http.MethodPost, false, s.chatCompletions))
	mux.Handle("/v1/completions", s.route("completions", http.MethodPost, false, s.completions))
	mux.Handle("/v1/embeddings", s.route("embeddings", http.MethodPost, false, s.embeddings))
	mux.Handle("/v1/attention", s.route("attention", http.MethodPost, false, s.attention))
	mux.Handle("/tokenize", s.route("tokenize", http.MethodPost, false, s.tokenize))
	mux.Handle("/detokenize", s.route("detokenize", http.MethodPost, false, s.detokenize))
	for _, t := range tasks {
		mux.Handle("/v1/"+string(t), s.route(string(t), http.MethodPost, false, s.task(t)))
	}
	mux.Handle("/", s.route("playground", http.MethodGet, true, s.playground))
	return mux
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err := io.WriteString(w, `{"status":"loading"}`+"\n")
		return err
	}
	s.mu.RLock()
	ids := slices.Clone(s.order)
	s.mu.RUnlock()
	return writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "models": ids})
}
