package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// Model is one model the server serves: a batched language model with its
// tokenizer, or an encoder whose pipelines serve embeddings and the task
// routes, or both, with optional backends for the routes that need more
// than generation.
type Model struct {
	// ID names the model in requests ("model": ID) and in /v1/models.
	ID string
	// LM generates (chat completions, completions). Models that decode
	// their rows in one pass implement generate.BatchLM natively;
	// generate.PerRow adapts any other. nil for a model that does not
	// generate, such as an encoder: it then needs an Embedder or Tasks.
	LM generate.BatchLM
	// Tokenizer encodes prompts (adding its template's special tokens,
	// such as BOS, to completion prompts) and decodes token strings.
	Tokenizer *tokenizer.Tokenizer
	// Decoder decodes generated text; nil means Tokenizer. (Llama
	// vocabularies decode through their model so that a skipped BOS drops
	// the next piece's space, as in glossa generate.)
	Decoder generate.Decoder
	// ChatTemplate renders chat messages into a prompt that carries its
	// own special tokens. nil means the messages' contents joined by
	// newlines and encoded like a completion prompt: a base model simply
	// continues the conversation's text.
	ChatTemplate *chat.Template
	// StopTokens end a generation (EOS ids).
	StopTokens []int
	// Attention, when not nil, serves POST /v1/attention.
	Attention AttentionModel
	// Embedder, when not nil, serves POST /v1/embeddings.
	Embedder Embedder
	// Tasks, when not nil, serves the task routes (classify, fill-mask, …,
	// rerank; translation, summarization, text2text-generation).
	Tasks TaskModel
	// Text2Text, when not nil, is an encoder-decoder's text2text-generation
	// pipeline: it serves POST /v1/completions (the prompt as the source),
	// and Tasks serves its task routes (NewSeq2SeqModel).
	Text2Text *pipeline.Text2Text
	// MaxLen is the most tokens a sequence of a model without an LM may
	// have (/v1/models and /tokenize report it); a model with an LM has
	// its scheduler's context.
	MaxLen int
	// Architectures are config.json's architectures, for /v1/models and
	// the errors of routes the model cannot serve.
	Architectures []string
	// Created is reported by /v1/models; zero means when it was added.
	Created time.Time
	// Close, when not nil, is called when the server shuts down.
	Close func() error
}

// AttentionModel is a model that reports its attention: the playground's
// attention view draws it. Every *auto.CausalLM does (through the inference
// layer's probability hook).
type AttentionModel interface {
	// Attention runs ids through the model in one pass and returns the
	// softmax attention probabilities, [layers][heads][T·T] with T =
	// len(ids), row-major over (query, key); a query's masked (future) keys
	// are 0.
	Attention(ctx context.Context, ids []int) ([][][]float32, error)
}

// Embedder turns inputs into vectors (POST /v1/embeddings). An encoder
// loaded by LoadEncoder has one, over the pipeline package's feature
// extraction.
type Embedder interface {
	// Embed returns one vector per input — the texts, or, when ids is not
	// nil, the sequences of token ids, read as they are — and the number
	// of tokens the model read. Bad input is an *Error.
	Embed(ctx context.Context, texts []string, ids [][]int) (vecs [][]float32, tokens int, err error)
}

// Task names a task route.
type Task string

// The task routes, each at POST /v1/<task>.
const (
	TaskClassify            Task = "classify"
	TaskFillMask            Task = "fill-mask"
	TaskTokenClassification Task = "token-classification"
	TaskQuestionAnswering   Task = "question-answering"
	TaskZeroShot            Task = "zero-shot-classification"
	TaskRerank              Task = "rerank"
)

var tasks = []Task{TaskClassify, TaskFillMask, TaskTokenClassification, TaskQuestionAnswering, TaskZeroShot, TaskRerank,
	TaskTranslation, TaskSummarization, TaskText2Text}

// TaskModel serves the task routes. The server decodes nothing but the
// model id and hands the body to the backend, whose response value is sent
// as JSON; a backend returns an *Error for bad input. An encoder loaded by
// LoadEncoder has one, over the pipeline package's JSON calls.
type TaskModel interface {
	// Task runs task on the request body.
	Task(ctx context.Context, task Task, body json.RawMessage) (any, error)
}

// BatchOf returns the batched form of a loaded causal LM: the model itself
// when its family decodes rows natively (generate.BatchLM), otherwise the
// per-row adapter, which is correct for any model but runs one forward pass
// per row.
func BatchOf(m *auto.CausalLM) generate.BatchLM {
	if b, ok := m.LM.(generate.BatchLM); ok {
		return b
	}
	return generate.PerRow(m.LM)
}

// LoadOptions configure Load. The zero value is the default.
type LoadOptions struct {
	// ID names the model; "" means the file or folder name without its
	// extension.
	ID string
	// Tokenizer is the tokenizer's file or folder; "" means the one found
	// beside the model.
	Tokenizer string
	// ChatTemplate is a Jinja file to use as the chat template; "" means
	// the model's own (chat_template in tokenizer_config.json or
	// chat_template.jinja beside the tokenizer), if it has one.
	ChatTemplate string
	// Format stores the weights in float32 (packed, the zero value) or
	// bfloat16.
	Format infer.Format
}

// Load loads a model from a local path, ready for Server.AddModel: an
// encoder folder (IsEncoder) through LoadEncoder, an encoder-decoder
// (IsSeq2Seq: Marian, T5, BART) through LoadSeq2Seq, anything else as a
// causal LM (a Hugging Face folder, a llama2.c .bin or GGUF file) with its
// tokenizer and chat template.
func Load(path string, opts LoadOptions) (*Model, error) {
	if IsEncoder(path) {
		return LoadEncoder(path, opts)
	}
	if IsSeq2Seq(path) {
		return LoadSeq2Seq(path, opts)
	}
	m, err := auto.LoadCausalLM(path, &auto.LoadOptions{Format: opts.Format})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	tokPath := opts.Tokenizer
	if tokPath == "" {
		tokPath = m.TokenizerPath
	}
	if tokPath == "" {
		return nil, fmt.Errorf("serve: no tokenizer found beside %s; name one", path)
	}
	tok, err := tokauto.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	model := &Model{ID: modelID(path, opts.ID), LM: BatchOf(m), Tokenizer: tok}
	if sp, ok := tok.Model().(*sentencepiece.Model); ok {
		model.Decoder = sp
	}
	model.StopTokens = slices.Clone(m.EOSTokenIDs)
	if bos := bosID(tok, m.BOSTokenID); bos >= 0 && !slices.Contains(model.StopTokens, bos) {
		// A model that starts a new document has finished this one
		// (llama2.c's stories end so), as in glossa run.
		model.StopTokens = append(model.StopTokens, bos)
	}
	if model.ChatTemplate, err = loadTemplate(opts.ChatTemplate, tokPath); err != nil {
		return nil, err
	}
	if t := model.ChatTemplate; t != nil {
		if eos, ok := t.Special("eos_token"); ok {
			if id, ok := tok.TokenToID(eos); ok && !slices.Contains(model.StopTokens, id) {
				model.StopTokens = append(model.StopTokens, id)
			}
		}
	}
	model.Attention = m
	if c, ok := m.Model.(interface{ Close() error }); ok {
		model.Close = c.Close
	}
	return model, nil
}

// loadTemplate returns the chat template: file when set, else the one beside
// the tokenizer, else nil.
func loadTemplate(file, tokPath string) (*chat.Template, error) {
	dir := tokPath
	if st, err := os.Stat(tokPath); err == nil && !st.IsDir() {
		dir = filepath.Dir(tokPath)
	}
	own, err := chat.Load(dir)
	if err != nil && !errors.Is(err, chat.ErrNoTemplate) {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if file == "" {
		return own, nil
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("serve: chat template: %w", err)
	}
	special := map[string]string{}
	if own != nil {
		for _, name := range []string{"bos_token", "eos_token", "unk_token", "pad_token"} {
			if v, ok := own.Special(name); ok {
				special[name] = v
			}
		}
	}
	t, err := chat.New(string(src), special)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return t, nil
}

// bosID returns the tokenizer's <s>, else the model's BOS (-1 if none).
func bosID(tok *tokenizer.Tokenizer, modelBOS int) int {
	if id, ok := tok.TokenToID("<s>"); ok {
		return id
	}
	return modelBOS
}

// tokenPieces returns the bytes each token id appends to a text, for
// constrained decoding and logprobs: the difference between decoding a
// reference token followed by the id and the reference alone, so that a
// SentencePiece piece keeps its leading space; a byte-fallback piece is its
// byte. Special tokens get nil.
func tokenPieces(tok *tokenizer.Tokenizer, dec generate.Decoder, V int) [][]byte {
	pieces := make([][]byte, V)
	plain, err := plainTokenizer(tok)
	ref, refText := -1, ""
	if err == nil {
		if enc, err := plain.Encode("a"); err == nil && len(enc.IDs) > 0 {
			ref = enc.IDs[len(enc.IDs)-1]
			if refText, err = dec.Decode([]int{ref}, true); err != nil {
				ref = -1
			}
		}
	}
	n := min(V, tok.VocabSize())
	for id := range n {
		if tok.IsSpecial(id) {
			continue
		}
		if t, ok := tok.IDToToken(id); ok {
			if b, ok := byteFallback(t); ok {
				pieces[id] = []byte{b}
				continue
			}
		}
		var s string
		if ref >= 0 {
			if full, err := dec.Decode([]int{ref, id}, true); err == nil && strings.HasPrefix(full, refText) {
				s = full[len(refText):]
			}
		}
		if s == "" {
			s, _ = dec.Decode([]int{id}, true)
		}
		if s != "" {
			pieces[id] = []byte(s)
		}
	}
	return pieces
}

// byteFallback parses a byte-fallback piece "<0xXX>".
func byteFallback(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(t[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// plainTokenizer returns tok without its template's special tokens, for
// texts that carry their own (a rendered chat prompt).
func plainTokenizer(tok *tokenizer.Tokenizer) (*tokenizer.Tokenizer, error) {
	o := tok.Options()
	o.SkipTemplate = true
	return tok.WithOptions(o)
}
