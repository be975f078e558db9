package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/pipeline"
)

// IsEncoder reports whether path is an encoder folder (BERT, DistilBERT,
// RoBERTa or XLM-RoBERTa in config.json, or a sentence-transformers
// layout), which Load serves through LoadEncoder rather than as a causal
// LM.
func IsEncoder(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return false
	}
	if _, err := os.Stat(filepath.Join(path, "modules.json")); err == nil {
		return true
	}
	cfg, err := auto.SniffConfig(path)
	if err != nil {
		return false
	}
	switch cfg.Family() {
	case auto.BERT, auto.DistilBERT, auto.RoBERTa, auto.XLMRoBERTa:
		return true
	}
	return false
}

// LoadEncoder loads an encoder folder for the routes that do not generate:
// POST /v1/embeddings (feature extraction, with a sentence-transformers
// folder's pooling and normalisation), the task routes its heads serve
// (classify, fill-mask, token-classification, question-answering,
// zero-shot-classification) and, for a sequence classifier, POST
// /v1/rerank. The encoder's weights are loaded once for all of them
// (pipeline.LoadEncoders). opts.ChatTemplate does not apply.
func LoadEncoder(path string, opts LoadOptions) (*Model, error) {
	p, err := pipeline.LoadEncoders(context.Background(), path, &pipeline.Options{Format: opts.Format, Tokenizer: opts.Tokenizer})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return NewEncoderModel(modelID(path, opts.ID), p), nil
}

// NewEncoderModel returns the Model that serves an encoder's pipelines
// under id (see LoadEncoder).
func NewEncoderModel(id string, p *pipeline.Encoders) *Model {
	b := &encoderBackend{p: p}
	return &Model{ID: id, Tokenizer: p.Tokenizer(), Embedder: b, Tasks: b, MaxLen: p.MaxLen(), Architectures: p.Architectures()}
}

// modelID is the ID a model loaded from path gets: id, else the file or
// folder name without its extension.
func modelID(path, id string) string {
	if id != "" {
		return id
	}
	return strings.TrimSuffix(filepath.Base(filepath.Clean(path)), filepath.Ext(path))
}

// encoderBackend serves an encoder's pipelines: it is the Model's Embedder
// and TaskModel.
type encoderBackend struct {
	p *pipeline.Encoders
}

// pipelineTasks maps the task routes to the pipelines that serve them.
var pipelineTasks = map[Task]pipeline.Task{
	TaskClassify:            pipeline.TextClassificationTask,
	TaskFillMask:            pipeline.FillMaskTask,
	TaskTokenClassification: pipeline.TokenClassificationTask,
	TaskQuestionAnswering:   pipeline.QuestionAnsweringTask,
	TaskZeroShot:            pipeline.ZeroShotTask,
}

// Embed runs feature extraction with the model's embedding defaults.
func (b *encoderBackend) Embed(ctx context.Context, texts []string, ids [][]int) ([][]float32, int, error) {
	fe := b.p.FeatureExtraction()
	var fs []pipeline.Features
	var err error
	if ids != nil {
		fs, err = fe.RunIDs(ctx, ids, fe.EmbeddingOptions())
	} else {
		fs, err = fe.Run(ctx, texts, fe.EmbeddingOptions())
	}
	if err != nil {
		return nil, 0, pipelineError(err, "input")
	}
	vecs := make([][]float32, len(fs))
	tokens := 0
	for i, f := range fs {
		vecs[i] = f.Data
		tokens += f.Tokens
	}
	return vecs, tokens, nil
}

// Task runs a task route: the body, without its "model", is one call of
// the pipeline's JSON face (Hugging Face's argument and option names);
// rerank is served by the sequence classifier.
func (b *encoderBackend) Task(ctx context.Context, t Task, body json.RawMessage) (any, error) {
	if t == TaskRerank {
		return b.rerank(ctx, body)
	}
	pt, ok := pipelineTasks[t]
	if !ok {
		return nil, notFound("unknown_task", "there is no task route %q", t)
	}
	p, err := b.p.Pipeline(pt)
	if err != nil {
		return nil, pipelineError(err, "model")
	}
	call, aerr := withoutModel(body)
	if aerr != nil {
		return nil, aerr
	}
	res := p.CallJSON(ctx, call)
	if res[0].Err != nil {
		return nil, pipelineError(res[0].Err, "")
	}
	return res[0].Value, nil
}

// withoutModel returns the body of a task request with its "model" key
// removed: what is left is the pipeline's call.
func withoutModel(body json.RawMessage) (json.RawMessage, *Error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, decodeError(err)
	}
	if fields == nil {
		return nil, badRequest("", "the request body must be a JSON object, not null")
	}
	delete(fields, "model")
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, serverError("%v", err)
	}
	return out, nil
}

// pipelineError maps a pipeline's error to an API error: a bad call or a
// task the model lacks is the client's 400 (naming param), a cancelled or
// expired request its own status, anything else a 500.
func pipelineError(err error, param string) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, pipeline.ErrNoHead):
		return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "model", Code: "task_not_supported",
			Message: strings.TrimPrefix(err.Error(), "pipeline: ")}
	case errors.Is(err, pipeline.ErrInput):
		return badRequest(param, "%s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "pipeline: "), pipeline.ErrInput.Error()+": "))
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Type: "server_error", Code: "timeout", Message: "the request's deadline passed"}
	case errors.Is(err, context.Canceled):
		return &Error{Status: 499, Type: "invalid_request_error", Code: "cancelled", Message: "the request was cancelled"}
	}
	return serverError("%v", err)
}
