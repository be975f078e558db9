package serve

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"unicode/utf8"
)

// MaxEmbeddingInputs bounds the inputs of one POST /v1/embeddings request
// (OpenAI's limit).
const MaxEmbeddingInputs = 2048

// embeddingRequest is the body of POST /v1/embeddings.
type embeddingRequest struct {
	Model          string         `json:"model"`
	Input          embeddingInput `json:"input"`
	EncodingFormat string         `json:"encoding_format"`
	Dimensions     *int           `json:"dimensions"`
	User           string         `json:"user"`
}

// embeddingInput is OpenAI's input: a string, an array of strings, an
// array of token ids, or an array of arrays of token ids.
type embeddingInput struct {
	texts []string
	ids   [][]int
}

func (e *embeddingInput) UnmarshalJSON(b []byte) error {
	var p promptList // the same four shapes as the completions prompt
	if err := p.UnmarshalJSON(b); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return &fieldError{"input", fe.msg}
		}
		return err
	}
	e.texts, e.ids = p.texts, p.ids
	return nil
}

func (e embeddingInput) count() int { return len(e.texts) + len(e.ids) }

// decodeEmbeddingRequest decodes and checks an embeddings body.
func decodeEmbeddingRequest(body []byte) (*embeddingRequest, *Error) {
	var r embeddingRequest
	if err := decodeBody(body, &r); err != nil {
		return nil, err
	}
	n := r.Input.count()
	switch {
	case r.Model == "":
		return nil, badRequest("model", "model is required")
	case n == 0:
		return nil, badRequest("input", "input must be a non-empty string, array of strings or array of token arrays")
	case n > MaxEmbeddingInputs:
		return nil, badRequest("input", "%d inputs; at most %d are accepted", n, MaxEmbeddingInputs)
	case r.EncodingFormat != "" && r.EncodingFormat != "float" && r.EncodingFormat != "base64":
		return nil, badRequest("encoding_format", "encoding_format %q is not float or base64", r.EncodingFormat)
	case r.Dimensions != nil && *r.Dimensions < 1:
		return nil, badRequest("dimensions", "dimensions %d must be at least 1", *r.Dimensions)
	}
	for i, t := range r.Input.texts {
		switch {
		case t == "":
			return nil, badRequest("input", "input[%d] is empty", i)
		case !utf8.ValidString(t):
			return nil, badRequest("input", "input[%d] is not valid UTF-8", i)
		}
	}
	for i, ids := range r.Input.ids {
		if len(ids) == 0 {
			return nil, badRequest("input", "input[%d] has no tokens", i)
		}
	}
	return &r, nil
}

// embedding is one vector of the answer: float numbers, or base64 of their
// little-endian float32 bytes.
type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// embeddings serves POST /v1/embeddings: every input in one call of the
// model's Embedder (batched forward passes), vectors truncated to
// dimensions when asked (and scaled back to unit length when they had it,
// as OpenAI shortens its embeddings).
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, aerr := decodeEmbeddingRequest(body)
	if aerr != nil {
		return aerr
	}
	rt, aerr := s.lookup(req.Model)
	if aerr != nil {
		return aerr
	}
	if rt.m.Embedder == nil {
		return badRequest("model", "model %q has no embeddings: /v1/embeddings needs an encoder (BERT, DistilBERT, RoBERTa, XLM-RoBERTa or a sentence-transformers folder)", rt.m.ID)
	}
	for i, ids := range req.Input.ids {
		for _, id := range ids {
			if id < 0 || id >= rt.vocabSize {
				return badRequest("input", "input[%d]: token id %d is outside the vocabulary of %d", i, id, rt.vocabSize)
			}
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	if aerr := s.acquireCall(ctx, rt); aerr != nil {
		return aerr
	}
	vecs, tokens, eerr := rt.m.Embedder.Embed(ctx, req.Input.texts, req.Input.ids)
	rt.calls.release()
	if eerr != nil {
		return pipelineError(eerr, "input")
	}
	if req.Dimensions != nil {
		dim := len(vecs[0])
		if *req.Dimensions > dim {
			return badRequest("dimensions", "dimensions %d is more than the model's %d", *req.Dimensions, dim)
		}
		for i, v := range vecs {
			vecs[i] = shorten(v, *req.Dimensions)
		}
	}
	s.metrics.promptTok.WithLabelValues(rt.m.ID).Add(float64(tokens))
	data := make([]embedding, len(vecs))
	for i, v := range vecs {
		data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			data[i].Embedding = base64Floats(v)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": rt.m.ID,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}

// shorten returns v's first d values, scaled to unit length when v has
// unit length (a normalised embedding stays normalised).
func shorten(v []float32, d int) []float32 {
	norm := func(x []float32) float64 {
		var s float64
		for _, f := range x {
			s += float64(f) * float64(f)
		}
		return math.Sqrt(s)
	}
	out := append([]float32(nil), v[:d]...)
	if n := norm(v); math.Abs(n-1) < 1e-3 {
		if m := norm(out); m > 0 {
			for i := range out {
				out[i] = float32(float64(out[i]) / m)
			}
		}
	}
	return out
}

// base64Floats encodes v as OpenAI's base64 embeddings: the float32 values
// little-endian, as numpy's frombuffer(…, "float32") reads them.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
