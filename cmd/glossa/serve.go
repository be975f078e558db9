package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/infer"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/serve"
)

const serveUsage = `Usage: glossa serve --model [ID=]PATH|ORG/NAME[@REV] [--tokenizer PATH] [--model M2 ...]
         [--addr HOST:PORT] [--api-key KEY] [--parallel N] [--queue N] [--ctx-size N] [--cors ORIGIN]

Serves causal LMs over an OpenAI-compatible HTTP API with continuous batching:
POST /v1/chat/completions, /v1/completions, GET /v1/models, POST /tokenize,
/detokenize, /v1/attention, GET /health, /metrics, and a playground at /.
Encoder folders (BERT, DistilBERT, RoBERTa, XLM-R, sentence-transformers)
serve POST /v1/embeddings, the task routes their heads allow (/v1/classify,
/v1/fill-mask, /v1/token-classification, /v1/question-answering,
/v1/zero-shot-classification) and, for a cross-encoder, /v1/rerank.
Encoder-decoder folders (Marian, T5, BART, or one finetune --task seq2seq
wrote) serve POST /v1/translation, /v1/summarization,
/v1/text2text-generation (Hugging Face's inputs and parameters) and
/v1/completions (the prompt as the source).
Each --model is served under its ID (default: the file or folder name);
--tokenizer and --chat-template apply to the --model before them. The API
key may also come from $GLOSSA_API_KEY. SIGTERM or Ctrl-C stops accepting
requests and lets those in flight finish (--shutdown-timeout).

  glossa serve --model ../shared/models/stories260K/stories260K.bin --tokenizer ../shared/models/stories260K/tok512.bin
  curl localhost:8080/v1/completions -d '{"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 50}'
  glossa serve --model sentence-transformers/all-MiniLM-L6-v2 --model cross-encoder/ms-marco-MiniLM-L-6-v2
  glossa serve --model Helsinki-NLP/opus-mt-en-de
  curl localhost:8080/v1/translation -d '{"model": "Helsinki-NLP/opus-mt-en-de", "inputs": "A man is eating.", "parameters": {"num_beams": 4}}'

Flags:
`

// serveModel is one --model flag with the flags that follow it.
type serveModel struct {
	id, ref  string
	opts     serve.LoadOptions
	explicit bool // id given as ID=PATH
}

// runServe implements "glossa serve": flags, model loading and the server's
// lifetime; the serving itself is package serve.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var models []*serveModel
	fs.Func("model", "model to serve: [ID=]PATH or ORG/NAME[@REV] (repeatable; "+modelFlagHelp+")", func(v string) error {
		m := &serveModel{ref: v}
		if id, path, ok := strings.Cut(v, "="); ok && id != "" && !strings.ContainsAny(id, "/\\") {
			m.id, m.ref, m.explicit = id, path, true
		}
		models = append(models, m)
		return nil
	})
	after := func(name string, set func(*serveModel, string)) func(string) error {
		return func(v string) error {
			if len(models) == 0 {
				return fmt.Errorf("--%s must follow the --model it applies to", name)
			}
			set(models[len(models)-1], v)
			return nil
		}
	}
	fs.Func("tokenizer", "tokenizer file or folder of the --model before it (default: found beside the model)",
		after("tokenizer", func(m *serveModel, v string) { m.opts.Tokenizer = v }))
	fs.Func("chat-template", "Jinja chat template `FILE` of the --model before it (default: the model's own, if any)",
		after("chat-template", func(m *serveModel, v string) { m.opts.ChatTemplate = v }))
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0: any free port)")
	apiKey := fs.String("api-key", "", "require Authorization: Bearer `KEY` (default: $GLOSSA_API_KEY; none when both are empty)")
	parallel := fs.Int("parallel", 4, "slots per model: requests decoded together (an encoder: calls run at once)")
	queue := fs.Int("queue", 64, "requests per model that may wait for a slot; beyond, 503 (0: none)")
	ctxSize := fs.Int("ctx-size", 0, "positions per slot, prompt included (0: the model's maximum)")
	cors := fs.String("cors", "", "allow cross-origin requests from `ORIGIN` (* for any)")
	timeout := fs.Duration("timeout", 10*time.Minute, "per-request deadline")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long SIGTERM waits for requests in flight")
	flushEvery := fs.Duration("flush-interval", 0, "least time between two flushes of a stream; the tokens in between go out together (0: every step's)")
	maxBody := fs.Int64("max-body", 8<<20, "largest request body in bytes")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	dtype := fs.String("dtype", "", dtypeFlagHelp+" (default f32, or stored for a .gguf file)")
	verbose := fs.Bool("v", false, "log every request at debug level too")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case len(models) == 0:
		return fmt.Errorf("%w: --model is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case *parallel <= 0:
		return fmt.Errorf("%w: --parallel must be positive", errUsage)
	case *queue < 0 || *ctxSize < 0 || *maxBody <= 0 || *flushEvery < 0:
		return fmt.Errorf("%w: --queue, --ctx-size, --max-body and --flush-interval must not be negative", errUsage)
	case *logFormat != "text" && *logFormat != "json":
		return fmt.Errorf("%w: --log-format is text or json", errUsage)
	}
	format, err := infer.ParseFormat(*dtype)
	if err != nil {
		return fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	for _, m := range models {
		m.opts.Format = format
		if *dtype == "" && strings.EqualFold(filepath.Ext(m.ref), ".gguf") {
			m.opts.Format = infer.Stored // a quantized file runs in its own types
		}
	}
	key := *apiKey
	if key == "" {
		key = os.Getenv("GLOSSA_API_KEY")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	opts := serve.Options{Parallel: *parallel, Queue: *queue, CtxSize: *ctxSize, CORSOrigin: *cors, MaxBodyBytes: *maxBody,
		RequestTimeout: *timeout, ShutdownTimeout: *shutdown, FlushInterval: *flushEvery, Logger: log}
	if *queue == 0 {
		opts.Queue = -1
	}
	if key != "" {
		opts.APIKeys = []string{key}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := serve.New(opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }() // /health answers 503 while the models load
	fmt.Fprintf(stdout, "glossa serve: listening on http://%s\n", ln.Addr())

	loadErr := loadServeModels(ctx, s, models, stderr)
	if loadErr == nil {
		s.SetReady(true)
		ids := make([]string, len(models))
		for i, m := range models {
			ids[i] = m.id
		}
		fmt.Fprintf(stdout, "glossa serve: ready: %s (%d slots per model%s)\n", strings.Join(ids, ", "), *parallel,
			map[bool]string{true: ", API key required", false: ""}[key != ""])
	} else {
		cancel()
	}
	err = <-served
	return errors.Join(loadErr, err)
}

// loadServeModels resolves and loads each model and adds it to s.
func loadServeModels(ctx context.Context, s *serve.Server, models []*serveModel, stderr io.Writer) error {
	seen := map[string]bool{}
	for _, sm := range models {
		path, err := resolveModel(ctx, sm.ref, stderr)
		if err != nil {
			return err
		}
		opts := sm.opts
		if sm.explicit {
			opts.ID = sm.id
		} else if !isLocal(sm.ref) {
			opts.ID = sm.ref // a Hub reference names itself
		}
		m, err := serve.Load(path, opts)
		if err != nil {
			return err
		}
		sm.id = m.ID
		if seen[m.ID] {
			return fmt.Errorf("%w: two models named %q; name them with --model ID=PATH", errUsage, m.ID)
		}
		seen[m.ID] = true
		if err := s.AddModel(m); err != nil {
			return err
		}
	}
	return nil
}

func isLocal(ref string) bool {
	_, err := os.Stat(ref)
	return err == nil
}
