package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/glossa-ai/glossa/tokenizer"
)

// MaxAttentionTokens bounds the prompt of POST /v1/attention: the answer
// holds layers × heads × T² probabilities.
const MaxAttentionTokens = 128

type modelObject struct {
	ID            string   `json:"id"`
	Object        string   `json:"object"`
	Created       int64    `json:"created"`
	OwnedBy       string   `json:"owned_by"`
	MaxModelLen   int      `json:"max_model_len"`
	Slots         int      `json:"slots"`
	ChatTmpl      bool     `json:"chat_template"`
	Attention     bool     `json:"attention"`
	Generates     bool     `json:"generates"`
	Embeddings    bool     `json:"embeddings"`
	Tasks         []Task   `json:"tasks,omitempty"`
	Architectures []string `json:"architectures,omitempty"`
}

func (rt *served) object() modelObject {
	o := modelObject{ID: rt.m.ID, Object: "model", Created: rt.created, OwnedBy: "glossa", MaxModelLen: rt.maxLen,
		ChatTmpl: rt.m.ChatTemplate != nil, Attention: rt.m.Attention != nil, Generates: rt.sched != nil,
		Embeddings: rt.m.Embedder != nil, Architectures: rt.m.Architectures}
	if rt.sched != nil {
		o.Slots = rt.sched.Stats().Rows
	}
	if rt.m.Text2Text != nil {
		o.Generates = true
		o.Tasks = []Task{TaskTranslation, TaskSummarization, TaskText2Text}
	}
	return o
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	s.mu.RLock()
	data := make([]modelObject, 0, len(s.order))
	for _, id := range s.order {
		data = append(data, s.models[id].object())
	}
	s.mu.RUnlock()
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) error {
	rt, err := s.lookup(r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rt.object())
}

// modelOnly is the part of a body that names the model.
type modelOnly struct {
	Model string `json:"model"`
}

// readModelRequest reads a body, decodes it into v and finds its model.
func (s *Server) readModelRequest(w http.ResponseWriter, r *http.Request, v any, model func() string) (*served, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(body, v); err != nil {
		return nil, err
	}
	if model() == "" {
		return nil, badRequest("model", "model is required")
	}
	rt, aerr := s.lookup(model())
	if aerr != nil {
		return nil, aerr
	}
	return rt, nil
}

// tokenize: {"model", "prompt" (or "content"), "add_special_tokens" (default
// true), "with_pieces"} → {"tokens", "count", "max_model_len", "pieces"}.
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Model      string  `json:"model"`
		Prompt     *string `json:"prompt"`
		Content    *string `json:"content"`
		AddSpecial *bool   `json:"add_special_tokens"`
		WithPieces bool    `json:"with_pieces"`
	}
	rt, err := s.readModelRequest(w, r, &req, func() string { return req.Model })
	if err != nil {
		return err
	}
	text := req.Prompt
	if text == nil {
		text = req.Content
	}
	if text == nil {
		return badRequest("prompt", "prompt (or content) is required")
	}
	tok := rt.m.Tokenizer
	if req.AddSpecial != nil && !*req.AddSpecial {
		tok = rt.plain
	}
	enc, terr := tok.Encode(*text)
	if terr != nil {
		return badRequest("prompt", "%v", terr)
	}
	out := map[string]any{"model": rt.m.ID, "tokens": enc.IDs, "count": len(enc.IDs), "max_model_len": rt.maxLen}
	if req.WithPieces {
		pieces := make([]string, len(enc.IDs))
		for i, id := range enc.IDs {
			pieces[i], _ = rt.tokenText(id)
		}
		out["pieces"] = pieces
	}
	return writeJSON(w, http.StatusOK, out)
}

// detokenize: {"model", "tokens"} → {"model", "prompt", "content"} (the
// text under both names, as vLLM and llama.cpp spell it).
func (s *Server) detokenize(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Model  string `json:"model"`
		Tokens []int  `json:"tokens"`
	}
	rt, err := s.readModelRequest(w, r, &req, func() string { return req.Model })
	if err != nil {
		return err
	}
	V := rt.vocabSize
	for _, id := range req.Tokens {
		if id < 0 || id >= V {
			return badRequest("tokens", "token id %d is outside the vocabulary of %d", id, V)
		}
	}
	text, derr := rt.dec.Decode(req.Tokens, true)
	if derr != nil {
		return badRequest("tokens", "%v", derr)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"model": rt.m.ID, "prompt": text, "content": text})
}

// task returns the handler of a task route.
func (s *Server) task(t Task) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := s.readBody(w, r)
		if err != nil {
			return err
		}
		var req modelOnly
		if err := decodeBody(body, &req); err != nil {
			return err
		}
		if req.Model == "" {
			return badRequest("model", "model is required")
		}
		rt, aerr := s.lookup(req.Model)
		if aerr != nil {
			return aerr
		}
		if rt.m.Tasks == nil {
			if isSeq2SeqTask(t) {
				return badRequest("model", "model %q serves no task routes (/v1/%s needs an encoder-decoder: Marian, T5 or BART)", rt.m.ID, t)
			}
			return badRequest("model", "model %q serves no task routes (/v1/%s needs an encoder: BERT, DistilBERT, RoBERTa or XLM-RoBERTa with the task's head)", rt.m.ID, t)
		}
		if aerr := seq2seqRoute(rt.m, t); aerr != nil {
			return aerr
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		if aerr := s.acquireCall(ctx, rt); aerr != nil {
			return aerr
		}
		var out any
		var terr error
		if tc, ok := rt.m.Tasks.(tokenCounter); ok {
			var source, generated int
			out, source, generated, terr = tc.run(ctx, t, body)
			s.metrics.promptTok.WithLabelValues(rt.m.ID).Add(float64(source))
			s.metrics.outTok.WithLabelValues(rt.m.ID).Add(float64(generated))
		} else {
			out, terr = rt.m.Tasks.Task(ctx, t, body)
		}
		rt.calls.release()
		if terr != nil {
			return terr
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// attention: {"model", "prompt"} → {"tokens": [{"id", "text"}], "layers",
// "heads", "attention": [layers][heads][T][T]}.
func (s *Server) attention(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Model  string `json:"model"`
		Prompt string `json:"prompt"`
	}
	rt, err := s.readModelRequest(w, r, &req, func() string { return req.Model })
	if err != nil {
		return err
	}
	if e := rt.generates("/v1/attention"); e != nil {
		return e
	}
	if rt.m.Attention == nil {
		return notImplemented("model %q does not report its attention (its backend has no AttentionModel hook; llama-family models do)", rt.m.ID)
	}
	enc, terr := rt.m.Tokenizer.Encode(req.Prompt)
	if terr != nil {
		return badRequest("prompt", "%v", terr)
	}
	T := len(enc.IDs)
	switch {
	case T == 0:
		return badRequest("prompt", "the prompt encodes to no tokens")
	case T > MaxAttentionTokens:
		return badRequest("prompt", "the prompt is %d tokens; the attention view takes at most %d", T, MaxAttentionTokens)
	case T > rt.maxLen:
		return badRequest("prompt", "the prompt is %d tokens; the model's context is %d", T, rt.maxLen)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	att, aerr := rt.m.Attention.Attention(ctx, enc.IDs)
	if aerr != nil {
		return serverError("attention: %v", aerr)
	}
	return writeAttention(w, rt, enc, att)
}

// writeAttention writes the attention answer by hand: millions of
// probabilities, four significant digits each.
func writeAttention(w http.ResponseWriter, rt *served, enc tokenizer.Encoding, att [][][]float32) error {
	T := len(enc.IDs)
	heads := 0
	if len(att) > 0 {
		heads = len(att[0])
	}
	var b bytes.Buffer
	b.WriteString(`{"object":"attention","model":`)
	mid, _ := json.Marshal(rt.m.ID)
	b.Write(mid)
	b.WriteString(`,"tokens":[`)
	for i, id := range enc.IDs {
		if i > 0 {
			b.WriteByte(',')
		}
		text, _ := rt.tokenText(id)
		tj, _ := json.Marshal(text)
		fmt.Fprintf(&b, `{"id":%d,"text":%s}`, id, tj)
	}
	fmt.Fprintf(&b, `],"layers":%d,"heads":%d,"attention":[`, len(att), heads)
	var num []byte
	for l, layer := range att {
		if l > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for h, m := range layer {
			if len(m) != T*T {
				return serverError("attention: layer %d head %d has %d probabilities, want %d", l, h, len(m), T*T)
			}
			if h > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			for q := range T {
				if q > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('[')
				for k := range T {
					if k > 0 {
						b.WriteByte(',')
					}
					v := m[q*T+k]
					if v != v || v < 0 || v > 1 {
						v = 0 // not a probability: drawn blank
					}
					num = strconv.AppendFloat(num[:0], float64(v), 'g', 4, 32)
					b.Write(num)
				}
				b.WriteByte(']')
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
	}
	b.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(b.Bytes())
	return err
}
