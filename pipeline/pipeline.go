package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/glossa-ai/glossa/hub"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// Task names a pipeline by its Hugging Face task identifier.
type Task string

// The tasks Load knows.
const (
	FillMaskTask            Task = "fill-mask"
	TextClassificationTask  Task = "text-classification"
	TokenClassificationTask Task = "token-classification"
	QuestionAnsweringTask   Task = "question-answering"
	FeatureExtractionTask   Task = "feature-extraction"
	ZeroShotTask            Task = "zero-shot-classification"
	TextGenerationTask      Task = "text-generation"
)

// Tasks lists the tasks Load knows, in the order help texts show them.
var Tasks = []Task{FillMaskTask, TextClassificationTask, TokenClassificationTask, QuestionAnsweringTask,
	FeatureExtractionTask, ZeroShotTask, TextGenerationTask, TranslationTask, SummarizationTask, Text2TextTask}

// ParseTask maps a task name to a Task, accepting Hugging Face's aliases
// ("sentiment-analysis", "ner", "sentence-similarity", "embeddings").
func ParseTask(name string) (Task, error) {
	switch strings.ToLower(name) {
	case "sentiment-analysis":
		return TextClassificationTask, nil
	case "ner":
		return TokenClassificationTask, nil
	case "sentence-similarity", "embeddings", "sentence-embeddings":
		return FeatureExtractionTask, nil
	}
	for _, t := range Tasks {
		if string(t) == strings.ToLower(name) {
			return t, nil
		}
	}
	names := make([]string, len(Tasks))
	for i, t := range Tasks {
		names[i] = string(t)
	}
	return "", fmt.Errorf("pipeline: unknown task %q (want %s)", name, strings.Join(names, ", "))
}

// ErrInput is matched (errors.Is) by the errors of calls whose input or
// options are wrong, as opposed to failures of the model or the machine: a
// server answers them with 400.
var ErrInput = errors.New("invalid input")

// inputErr returns an error wrapping ErrInput.
func inputErr(format string, args ...any) error {
	return fmt.Errorf("pipeline: %w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// Options configure Load. The zero value (or nil) loads float32 weights,
// the tokenizer found beside the model, and runs 32 sequences per forward
// pass.
type Options struct {
	// Format stores the weight matrices: infer.F32 (zero) packed float32,
	// infer.BF16 bfloat16 (half the memory and bandwidth).
	Format infer.Format
	// Tokenizer is the tokenizer's file or folder. Zero: the model folder.
	Tokenizer string
	// BatchSize is how many sequences one forward pass takes. Zero: 32.
	BatchSize int
	// Hub says how a Hub reference is fetched (cache folder, token,
	// progress). Nil: the defaults and environment huggingface_hub reads.
	Hub *hub.Options
}

// Pipeline is what every task's pipeline does besides its typed Run: answer
// calls written as JSON objects with Hugging Face's argument and option
// names, as a command line or a server receives them. Each *FillMask,
// *TextClassification, … returned by Load implements it.
type Pipeline interface {
	// Task reports the pipeline's task.
	Task() Task
	// CallJSON runs calls, each a JSON object such as {"inputs": "…",
	// "top_k": 3}, options at its top level or under "options". Calls
	// that share options run in the same batched forward passes. There is
	// one Result per call: a value that marshals to what Hugging Face's
	// pipeline returns, or an error (ErrInput for a bad call, which fails
	// alone).
	CallJSON(ctx context.Context, calls ...json.RawMessage) []Result
}

// Result is the outcome of one JSON call.
type Result struct {
	Value any   // marshals to Hugging Face's result
	Err   error // nil on success
}

// Load returns the pipeline of task over the model modelRef: a local
// folder, or a Hub reference ORG/NAME[@REVISION] taken from the Hugging
// Face cache or downloaded into it. The model must have the head the task
// needs; the error otherwise names the head and the model's architectures.
func Load(ctx context.Context, task Task, modelRef string, opts *Options) (Pipeline, error) {
	switch task {
	case FillMaskTask:
		return LoadFillMask(ctx, modelRef, opts)
	case TextClassificationTask:
		return LoadTextClassification(ctx, modelRef, opts)
	case TokenClassificationTask:
		return LoadTokenClassification(ctx, modelRef, opts)
	case QuestionAnsweringTask:
		return LoadQuestionAnswering(ctx, modelRef, opts)
	case FeatureExtractionTask:
		return LoadFeatureExtraction(ctx, modelRef, opts)
	case ZeroShotTask:
		return LoadZeroShot(ctx, modelRef, opts)
	case TextGenerationTask:
		return LoadTextGeneration(ctx, modelRef, opts)
	case TranslationTask, SummarizationTask, Text2TextTask:
		return LoadText2Text(ctx, task, modelRef, opts)
	}
	_, err := ParseTask(string(task))
	return nil, err
}

// model is what every encoder pipeline shares: the encoder, its tokenizer,
// the special tokens the tasks look for, and a pool of workspaces, so that a
// pipeline is safe for concurrent use.
type model struct {
	enc     *bert.Encoder
	dir     string
	tok     *tokenizer.Tokenizer // encodes with the template, without truncation or padding
	trunc   *tokenizer.Tokenizer // truncates to maxLen
	maxLen  int                  // tokens a sequence may have: model_max_length, at most the encoder's positions
	batch   int
	special specials
	ws      *sync.Pool // *bert.Workspace, shared by the copies withMaxLen makes
}

// specials are the ids of the tokens pipelines look for; -1 when the
// vocabulary has none.
type specials struct {
	mask, cls, unk, pad int
	maskText            string
}

// loadModel resolves ref, loads its encoder and tokenizer, and checks that
// the encoder has the heads need (for task, named in the error).
func loadModel(ctx context.Context, task Task, ref string, opts *Options, need bert.Heads) (*model, error) {
	dir, err := resolve(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	return loadModelDir(task, dir, ref, opts, need)
}

// resolve turns a model reference into a local folder (hub.ResolveModel).
func resolve(ctx context.Context, ref string, opts *Options) (string, error) {
	var h *hub.Options
	if opts != nil {
		h = opts.Hub
	}
	dir, err := hub.ResolveModel(ctx, ref, h)
	if err != nil {
		return "", fmt.Errorf("pipeline: %w", err)
	}
	return dir, nil
}

// loadModelDir is loadModel for a local folder (ref names it in errors).
func loadModelDir(task Task, dir, ref string, opts *Options, need bert.Heads) (*model, error) {
	if opts == nil {
		opts = &Options{}
	}
	if opts.BatchSize < 0 {
		return nil, fmt.Errorf("pipeline: batch size %d < 0", opts.BatchSize)
	}
	e, err := auto.LoadEncoder(dir, &bert.EncoderOptions{Format: opts.Format})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if err := checkHeads(task, ref, e.Encoder, need); err != nil {
		return nil, err
	}
	tokPath := opts.Tokenizer
	if tokPath == "" {
		tokPath = e.TokenizerPath
	}
	if tokPath == "" {
		return nil, fmt.Errorf("pipeline: no tokenizer found in %s; name one (Options.Tokenizer)", dir)
	}
	tok, err := tokauto.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if tok.VocabSize() > e.Config.VocabSize {
		return nil, fmt.Errorf("pipeline: the tokenizer's vocabulary (%d) is larger than the model's (%d)", tok.VocabSize(), e.Config.VocabSize)
	}
	return newModel(e.Encoder, dir, tok, readTokenizerConfig(tokPath), opts.BatchSize)
}

// checkHeads reports whether enc has the heads need, the error naming the
// task, the missing head and the model's architectures.
func checkHeads(task Task, ref string, enc *bert.Encoder, need bert.Heads) error {
	if enc.Has(need) {
		return nil
	}
	arch := "config.json names no architectures"
	if a := enc.Config.Architectures; len(a) > 0 {
		arch = "its architectures are " + strings.Join(a, ", ")
	}
	return &noHeadError{fmt.Sprintf("pipeline: %s needs a model with the %v head (%s); %s has %v (%s)",
		task, need&^enc.Heads(), enc.HeadName(need&^enc.Heads()), ref, enc.Heads(), arch)}
}

// ErrNoHead is matched (errors.Is) by the error of loading a task's
// pipeline over a model that lacks the head the task needs.
var ErrNoHead = errors.New("pipeline: the model lacks the task's head")

type noHeadError struct{ msg string }

func (e *noHeadError) Error() string        { return e.msg }
func (e *noHeadError) Is(target error) bool { return target == ErrNoHead }

// newModel assembles a model from a loaded encoder and tokenizer.
func newModel(enc *bert.Encoder, dir string, tok *tokenizer.Tokenizer, tc tokenizerConfig, batch int) (*model, error) {
	// The tokenizer's own truncation and padding (tokenizer.json) are the
	// pipeline's business: start from none.
	tok, err := tok.WithOptions(tokenizer.Options{})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	m := &model{enc: enc, dir: dir, tok: tok, maxLen: enc.Config.MaxLen(), batch: batch, ws: new(sync.Pool)}
	if m.batch == 0 {
		m.batch = 32
	}
	if tc.ModelMaxLength != nil && *tc.ModelMaxLength >= 1 && *tc.ModelMaxLength < float64(m.maxLen) {
		m.maxLen = int(*tc.ModelMaxLength)
	}
	if m.trunc, err = m.truncating(m.maxLen); err != nil {
		return nil, err
	}
	m.special = findSpecials(tok, tc)
	return m, nil
}

// withMaxLen returns a copy of m (sharing its encoder, tokenizers and
// workspaces) whose inputs are truncated to n tokens, when n is shorter than
// m's; m itself otherwise.
func (m *model) withMaxLen(n int) (*model, error) {
	if n <= 0 || n >= m.maxLen {
		return m, nil
	}
	c := *m
	c.maxLen = n
	var err error
	if c.trunc, err = c.truncating(n); err != nil {
		return nil, err
	}
	return &c, nil
}

// truncating returns the tokenizer that truncates single texts to n tokens.
func (m *model) truncating(n int) (*tokenizer.Tokenizer, error) {
	t, err := m.tok.WithOptions(tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: n}})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return t, nil
}

// tokenizerConfig is the part of tokenizer_config.json pipelines read.
type tokenizerConfig struct {
	ModelMaxLength *float64        `json:"model_max_length"` // huge (1e30) when unset by the saver
	MaskToken      json.RawMessage `json:"mask_token"`
	ClsToken       json.RawMessage `json:"cls_token"`
	UnkToken       json.RawMessage `json:"unk_token"`
	PadToken       json.RawMessage `json:"pad_token"`
}

// readTokenizerConfig reads tokenizer_config.json beside the tokenizer at
// path; a missing or unreadable file gives the zero value (the tokenizer
// itself has loaded).
func readTokenizerConfig(path string) tokenizerConfig {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	var c tokenizerConfig
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err == nil && len(data) < 1<<22 {
		if json.Unmarshal(data, &c) != nil {
			return tokenizerConfig{}
		}
	}
	if c.ModelMaxLength != nil && (math.IsNaN(*c.ModelMaxLength) || math.IsInf(*c.ModelMaxLength, 0)) {
		c.ModelMaxLength = nil
	}
	return c
}

// tokenText reads a special token written as "[MASK]" or {"content": …}.
func tokenText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.Content
	}
	return ""
}

// findSpecials looks the special tokens up: tokenizer_config.json's names
// first, then BERT's and RoBERTa's spellings.
func findSpecials(tok *tokenizer.Tokenizer, tc tokenizerConfig) specials {
	find := func(raw json.RawMessage, names ...string) (int, string) {
		if s := tokenText(raw); s != "" {
			names = append([]string{s}, names...)
		}
		for _, n := range names {
			if id, ok := tok.TokenToID(n); ok {
				return id, n
			}
		}
		return -1, ""
	}
	var s specials
	s.mask, s.maskText = find(tc.MaskToken, "[MASK]", "<mask>")
	s.cls, _ = find(tc.ClsToken, "[CLS]", "<s>")
	s.unk, _ = find(tc.UnkToken, "[UNK]", "<unk>")
	s.pad, _ = find(tc.PadToken, "[PAD]", "<pad>")
	return s
}

// workspace takes a workspace from the pool; put it back with release.
func (m *model) workspace() *bert.Workspace {
	if ws, ok := m.ws.Get().(*bert.Workspace); ok {
		return ws
	}
	return new(bert.Workspace)
}

func (m *model) release(ws *bert.Workspace) { m.ws.Put(ws) }

// batches runs step over encs in batches of m.batch sequences, each padded
// on the right into one bert.Input: step gets the batch's encodings and
// input, and a workspace holding the pass. The pad id is the model's
// pad_token_id, which RoBERTa's positions need.
func (m *model) batches(ctx context.Context, encs []*tokenizer.Encoding, step func(ws *bert.Workspace, in bert.Input, batch []*tokenizer.Encoding) error) error {
	ws := m.workspace()
	defer m.release(ws)
	var in bert.Input
	for lo := 0; lo < len(encs); lo += m.batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := encs[lo:min(lo+m.batch, len(encs))]
		in = pad(in, batch, m.enc.Config.PadTokenID)
		if err := step(ws, in, batch); err != nil {
			return err
		}
	}
	return nil
}

// pad lays batch out as one right-padded input [B, T], reusing in's
// storage.
func pad(in bert.Input, batch []*tokenizer.Encoding, padID int) bert.Input {
	T := 0
	for _, e := range batch {
		T = max(T, e.Len())
	}
	B := len(batch)
	in.B, in.T = B, T
	n := B * T
	if cap(in.IDs) < n {
		in.IDs, in.TypeIDs, in.Mask = make([]int, n), make([]int, n), make([]int, n)
	}
	in.IDs, in.TypeIDs, in.Mask = in.IDs[:n], in.TypeIDs[:n], in.Mask[:n]
	for b, e := range batch {
		row := b * T
		L := e.Len()
		copy(in.IDs[row:], e.IDs)
		copy(in.TypeIDs[row:], e.TypeIDs)
		for t := range T {
			in.Mask[row+t] = 0
			if t < L {
				in.Mask[row+t] = 1
			} else {
				in.IDs[row+t], in.TypeIDs[row+t] = padID, 0
			}
		}
	}
	return in
}

// encodeAll encodes texts (and pairs, when not nil) with tok, one
// encoding each; an over-long input fails with its position (idx[k] for
// input k when idx is not nil).
func encodeAll(tok *tokenizer.Tokenizer, texts, pairs []string, maxLen int, idx ...int) ([]*tokenizer.Encoding, error) {
	var encs []tokenizer.Encoding
	var err error
	if pairs != nil {
		encs, err = tok.EncodePairBatch(texts, pairs)
	} else {
		encs, err = tok.EncodeBatch(texts)
	}
	if err != nil {
		return nil, inputErr("%v", err)
	}
	out := make([]*tokenizer.Encoding, len(encs))
	for i := range encs {
		if n := encs[i].Len(); n > maxLen {
			at := i
			if idx != nil {
				at = idx[i]
			}
			return nil, inputErr("input %d is %d tokens, more than the model's %d (truncate it)", at, n, maxLen)
		}
		out[i] = &encs[i]
	}
	return out, nil
}
