package serve

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/pipeline"
)

// MaxRerankDocuments bounds the documents of one POST /v1/rerank request
// (Cohere's limit).
const MaxRerankDocuments = 1000

// rerankRequest is the body of POST /v1/rerank, as Cohere, Jina and
// llama.cpp's server take it.
type rerankRequest struct {
	Model           string           `json:"model"`
	Query           *string          `json:"query"`
	Documents       []rerankDocument `json:"documents"`
	TopN            *int             `json:"top_n"`
	ReturnDocuments bool             `json:"return_documents"`
}

// rerankDocument is a document: a string or {"text": …}.
type rerankDocument struct {
	Text string `json:"text"`
}

func (d *rerankDocument) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.Text)
	}
	var o struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Text == nil {
		return &fieldError{"documents", `a document is a string or {"text": string}`}
	}
	d.Text = *o.Text
	return nil
}

// rerankResult is one scored document.
type rerankResult struct {
	Index          int             `json:"index"`
	RelevanceScore float64         `json:"relevance_score"`
	Document       *rerankDocument `json:"document,omitempty"`
}

// decodeRerankRequest decodes and checks a rerank body.
func decodeRerankRequest(body []byte) (*rerankRequest, *Error) {
	var r rerankRequest
	if err := decodeBody(body, &r); err != nil {
		return nil, err
	}
	switch {
	case r.Query == nil:
		return nil, badRequest("query", "query is required")
	case !utf8.ValidString(*r.Query):
		return nil, badRequest("query", "query is not valid UTF-8")
	case len(r.Documents) == 0:
		return nil, badRequest("documents", "documents must be a non-empty array")
	case len(r.Documents) > MaxRerankDocuments:
		return nil, badRequest("documents", "%d documents; at most %d are accepted", len(r.Documents), MaxRerankDocuments)
	case r.TopN != nil && *r.TopN < 1:
		return nil, badRequest("top_n", "top_n %d must be at least 1", *r.TopN)
	}
	for i, d := range r.Documents {
		if !utf8.ValidString(d.Text) {
			return nil, badRequest("documents", "documents[%d] is not valid UTF-8", i)
		}
	}
	return &r, nil
}

// rerank scores each (query, document) pair with the sequence classifier
// (a cross-encoder), truncating long pairs to the model's length, and
// returns the documents best first. A classifier with one output scores
// its sigmoid (sentence-transformers' CrossEncoder default); with several,
// the softmax probability of the last class (the positive class of a
// binary relevance model).
func (b *encoderBackend) rerank(ctx context.Context, body json.RawMessage) (any, error) {
	req, aerr := decodeRerankRequest(body)
	if aerr != nil {
		return nil, aerr
	}
	tc := b.p.TextClassification()
	if tc == nil {
		_, err := b.p.Pipeline(pipeline.TextClassificationTask)
		return nil, pipelineError(err, "model")
	}
	pairs := make([]pipeline.TextInput, len(req.Documents))
	queries, docs := make([]string, len(pairs)), make([]string, len(pairs))
	for i, d := range req.Documents {
		pairs[i] = pipeline.TextInput{Text: *req.Query, TextPair: d.Text, Pair: true}
		queries[i], docs[i] = *req.Query, d.Text
	}
	scores, err := tc.Run(ctx, pairs, &pipeline.TextClassificationOptions{TopK: pipeline.AllLabels, Truncation: true})
	if err != nil {
		return nil, pipelineError(err, "documents")
	}
	labels := tc.Labels()
	relevant := labels[len(labels)-1]
	results := make([]rerankResult, len(scores))
	for i, s := range scores {
		results[i].Index = i
		for _, c := range s {
			if c.Label == relevant {
				results[i].RelevanceScore = c.Score
				break
			}
		}
		if req.ReturnDocuments {
			results[i].Document = &req.Documents[i]
		}
	}
	slices.SortStableFunc(results, func(a, b rerankResult) int { return cmp.Compare(b.RelevanceScore, a.RelevanceScore) })
	if req.TopN != nil && *req.TopN < len(results) {
		results = results[:*req.TopN]
	}
	tokens := 0
	if encs, err := b.p.Tokenizer().EncodePairBatch(queries, docs); err == nil {
		for _, e := range encs {
			tokens += min(e.Len(), b.p.MaxLen())
		}
	}
	return map[string]any{"object": "list", "model": req.Model, "results": results,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}}, nil
}
