package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/pipeline"
)

// The encoder fixtures of ../shared/fixtures, served with the id
// tokenizer (testenv.IDTokenizer): a text of words "w<id>" encodes to
// those ids.
var encoderFixtures = []struct {
	name    string
	roberta bool
}{
	{"minilm-sentence-tiny", false},   // sentence-transformers: embeddings
	{"distilbert-tiny-cls", false},    // 2 labels: classify, rerank
	{"distilbert-tiny-qa", false},     // question-answering
	{"distilbert-tiny-tokcls", false}, // token-classification
	{"roberta-tiny-cls", true},        // NLI labels: zero-shot
	{"roberta-tiny-mlm", true},        // fill-mask
}

// encoderServer serves every encoder fixture (under its folder name) next
// to the fake causal LM "fake", and returns, per fixture, its folder and
// tokenizer for loading the same pipelines directly.
func encoderServer(t *testing.T) (*testServer, map[string][2]string) {
	t.Helper()
	ts := newTestServer(t, Options{}, nil)
	paths := map[string][2]string{}
	for _, f := range encoderFixtures {
		dir := testenv.Shared(t, "fixtures", f.name)
		tok := testenv.IDTokenizer(t, f.roberta)
		if !IsEncoder(dir) {
			t.Fatalf("%s is not recognised as an encoder", dir)
		}
		m, err := Load(dir, LoadOptions{Tokenizer: tok})
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.s.AddModel(m); err != nil {
			t.Fatal(err)
		}
		paths[f.name] = [2]string{dir, tok}
	}
	return ts, paths
}

// direct loads the pipeline of task over a fixture, as glossa pipeline
// would.
func direct(t *testing.T, paths map[string][2]string, task pipeline.Task, name string) pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Load(context.Background(), task, paths[name][0], &pipeline.Options{Tokenizer: paths[name][1]})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEncoderEmbeddings(t *testing.T) {
	ts, paths := encoderServer(t)
	fe := direct(t, paths, pipeline.FeatureExtractionTask, "minilm-sentence-tiny").(*pipeline.FeatureExtraction)
	texts := []string{"w5 w17 w300 w42", "w999", "w1 w2 w3 w4 w5 w6 w7 w8 w9"}
	want, err := fe.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		Object string `json:"object"`
		Model  string `json:"model"`
		Data   []struct {
			Object    string          `json:"object"`
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}
	floats := func(t *testing.T, raw json.RawMessage, format string) []float32 {
		if format != "base64" {
			var v []float32
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		var s string
		json.Unmarshal(raw, &s)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b)%4 != 0 {
			t.Fatalf("base64 %q: %v", s, err)
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v
	}
	embed := func(texts ...string) [][]float32 {
		v, err := fe.Embed(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	input, _ := json.Marshal(texts)
	for _, tc := range []struct {
		name, body, format string
		want               [][]float32
		tokens             int
	}{
		{"strings", `{"model": "minilm-sentence-tiny", "input": ` + string(input) + `}`, "", want, 4 + 1 + 9 + 3*2},
		{"base64", `{"model": "minilm-sentence-tiny", "input": ` + string(input) + `, "encoding_format": "base64"}`, "base64", want, 20},
		{"one string", `{"model": "minilm-sentence-tiny", "input": "w999", "encoding_format": "float"}`, "", embed("w999"), 3},
		{"token ids", `{"model": "minilm-sentence-tiny", "input": [101, 999, 102]}`, "", embed("w999"), 3},
		{"token arrays", `{"model": "minilm-sentence-tiny", "input": [[101, 999, 102], [101, 5, 17, 300, 42, 102]]}`, "", embed("w999", texts[0]), 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := post(t, ts.URL+"/v1/embeddings", tc.body)
			var a answer
			if err := json.Unmarshal(b, &a); err != nil || code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			if a.Object != "list" || a.Model != "minilm-sentence-tiny" || len(a.Data) != len(tc.want) {
				t.Fatalf("%s", b)
			}
			if a.Usage.PromptTokens != tc.tokens || a.Usage.TotalTokens != tc.tokens {
				t.Errorf("usage %+v, want %d tokens", a.Usage, tc.tokens)
			}
			for i, d := range a.Data {
				if d.Index != i || d.Object != "embedding" {
					t.Errorf("data[%d]: index %d object %q", i, d.Index, d.Object)
				}
				if got := floats(t, d.Embedding, tc.format); !slices.Equal(got, tc.want[i]) {
					t.Errorf("data[%d] differs from the pipeline's embedding:\n got %v\nwant %v", i, got, tc.want[i])
				}
			}
		})
	}

	// dimensions shortens a unit vector and scales it back to unit length.
	code, b := post(t, ts.URL+"/v1/embeddings", `{"model": "minilm-sentence-tiny", "input": "w999", "dimensions": 8}`)
	var a answer
	if json.Unmarshal(b, &a); code != 200 || len(a.Data) != 1 {
		t.Fatalf("%d %s", code, b)
	}
	short := floats(t, a.Data[0].Embedding, "")
	var n, scale float64
	for i, v := range short {
		n += float64(v) * float64(v)
		if i == 0 {
			scale = float64(v) / float64(embed("w999")[0][0])
		} else if r := float64(v) / float64(embed("w999")[0][i]); math.Abs(r-scale) > 1e-5*scale {
			t.Errorf("dimension %d scaled by %v, dimension 0 by %v", i, r, scale)
		}
	}
	if len(short) != 8 || math.Abs(n-1) > 1e-5 {
		t.Errorf("dimensions 8: %d values of norm² %v", len(short), n)
	}

	for _, tc := range []struct{ name, body, param, msg string }{
		{"dimensions too many", `{"model": "minilm-sentence-tiny", "input": "w1", "dimensions": 100000}`, "dimensions", "more than the model's"},
		{"dimensions zero", `{"model": "minilm-sentence-tiny", "input": "w1", "dimensions": 0}`, "dimensions", "at least 1"},
		{"format", `{"model": "minilm-sentence-tiny", "input": "w1", "encoding_format": "int8"}`, "encoding_format", "int8"},
		{"empty string", `{"model": "minilm-sentence-tiny", "input": ["w1", ""]}`, "input", "input[1] is empty"},
		{"empty array", `{"model": "minilm-sentence-tiny", "input": []}`, "input", "empty array"},
		{"no input", `{"model": "minilm-sentence-tiny"}`, "input", "non-empty"},
		{"token id", `{"model": "minilm-sentence-tiny", "input": [[101, 1000]]}`, "input", "outside the vocabulary"},
		{"too many tokens", `{"model": "minilm-sentence-tiny", "input": [` + strings.Repeat("5, ", 40) + `5]}`, "input", "more than the model's 32"},
		{"not an encoder", `{"model": "fake2", "input": "w1"}`, "model", "needs an encoder"},
		{"too many inputs", `{"model": "minilm-sentence-tiny", "input": [` + strings.Repeat(`"w1", `, MaxEmbeddingInputs) + `"w1"]}`, "input", "at most 2048"},
	} {
		code, b := post(t, ts.URL+"/v1/embeddings", tc.body)
		e := apiError(t, b)
		if code != 400 || e.Param == nil || *e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %d %s, want 400 on %s saying %q", tc.name, code, b, tc.param, tc.msg)
		}
	}
}

// TestEncoderTasks: each task route answers what the pipeline's JSON call
// answers for the same body, byte for byte.
func TestEncoderTasks(t *testing.T) {
	ts, paths := encoderServer(t)
	for _, tc := range []struct {
		route, model string
		task         pipeline.Task
		call         string
	}{
		{"classify", "distilbert-tiny-cls", pipeline.TextClassificationTask, `{"inputs": ["w5 w6 w7", "w9"]}`},
		{"classify", "distilbert-tiny-cls", pipeline.TextClassificationTask, `{"inputs": {"text": "w5", "text_pair": "w6 w7"}, "top_k": null}`},
		{"fill-mask", "roberta-tiny-mlm", pipeline.FillMaskTask, `{"inputs": "w5 <mask> w7", "top_k": 3}`},
		{"token-classification", "distilbert-tiny-tokcls", pipeline.TokenClassificationTask, `{"inputs": "w5 w6 w7 w8", "aggregation_strategy": "simple"}`},
		{"question-answering", "distilbert-tiny-qa", pipeline.QuestionAnsweringTask, `{"question": "w5 w6", "context": "w10 w11 w12 w13 w14 w15", "top_k": 2}`},
		{"zero-shot-classification", "roberta-tiny-cls", pipeline.ZeroShotTask, `{"sequences": "w5 w6 w7", "candidate_labels": ["w10", "w11", "w12"], "multi_label": true}`},
	} {
		t.Run(tc.route, func(t *testing.T) {
			res := direct(t, paths, tc.task, tc.model).CallJSON(context.Background(), json.RawMessage(tc.call))
			if res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			want, _ := json.Marshal(res[0].Value)
			body := `{"model": "` + tc.model + `", ` + tc.call[1:]
			code, got := post(t, ts.URL+"/v1/"+tc.route, body)
			if code != 200 || !bytes.Equal(bytes.TrimSpace(got), want) {
				t.Fatalf("%d\n got %s\nwant %s", code, got, want)
			}
		})
	}

	for _, tc := range []struct {
		name, route, body string
		code              int
		param, msg        string
	}{
		{"missing head", "fill-mask", `{"model": "distilbert-tiny-cls", "inputs": "w5 [MASK]"}`, 400, "model", "DistilBertForSequenceClassification"},
		{"missing head qa", "question-answering", `{"model": "roberta-tiny-mlm", "question": "w5", "context": "w6"}`, 400, "model", "QuestionAnswering head"},
		{"no entailment label", "zero-shot-classification", `{"model": "distilbert-tiny-cls", "sequences": "w5", "candidate_labels": ["a"]}`, 400, "model", "entailment"},
		{"bad option", "classify", `{"model": "distilbert-tiny-cls", "inputs": "w5", "top_q": 1}`, 400, "", "unknown option"},
		{"no inputs", "classify", `{"model": "distilbert-tiny-cls"}`, 400, "", "inputs"},
		{"no mask", "fill-mask", `{"model": "roberta-tiny-mlm", "inputs": "w5 w6"}`, 400, "", "mask"},
		{"not a task model", "classify", `{"model": "fake", "inputs": "a"}`, 400, "model", "needs an encoder"},
		{"chat on an encoder", "chat/completions", `{"model": "distilbert-tiny-cls", "messages": [{"role": "user", "content": "hi"}]}`, 400, "model", "is an encoder (DistilBertForSequenceClassification)"},
		{"completion on an encoder", "completions", `{"model": "minilm-sentence-tiny", "prompt": "hi"}`, 400, "model", "does not generate"},
		{"attention on an encoder", "attention", `{"model": "minilm-sentence-tiny", "prompt": "hi"}`, 400, "model", "does not generate"},
	} {
		code, b := post(t, ts.URL+"/v1/"+tc.route, tc.body)
		e := apiError(t, b)
		param := ""
		if e.Param != nil {
			param = *e.Param
		}
		if code != tc.code || param != tc.param || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %d %s, want %d on %q saying %q", tc.name, code, b, tc.code, tc.param, tc.msg)
		}
	}

	// /v1/models tells encoders from generators; /tokenize and
	// /detokenize work on both.
	_, b, _ := do(t, http.MethodGet, ts.URL+"/v1/models/distilbert-tiny-cls", "")
	var mo modelObject
	if json.Unmarshal(b, &mo); mo.Generates || !mo.Embeddings || mo.MaxModelLen != 64 || !slices.Equal(mo.Architectures, []string{"DistilBertForSequenceClassification"}) {
		t.Errorf("model object %s", b)
	}
	code, b := post(t, ts.URL+"/tokenize", `{"model": "distilbert-tiny-cls", "prompt": "w5 w17", "with_pieces": true}`)
	var tk struct {
		Tokens []int    `json:"tokens"`
		Pieces []string `json:"pieces"`
	}
	if json.Unmarshal(b, &tk); code != 200 || !slices.Equal(tk.Tokens, []int{101, 5, 17, 102}) {
		t.Fatalf("tokenize: %d %s", code, b)
	}
	code, b = post(t, ts.URL+"/detokenize", `{"model": "distilbert-tiny-cls", "tokens": [5, 17]}`)
	if code != 200 || !strings.Contains(string(b), `"content":"w5 w17"`) {
		t.Fatalf("detokenize: %d %s", code, b)
	}
}

func TestRerank(t *testing.T) {
	ts, paths := encoderServer(t)
	tc := direct(t, paths, pipeline.TextClassificationTask, "distilbert-tiny-cls").(*pipeline.TextClassification)
	docs := []string{"w10 w11 w12", "w400", "w7 w8 w9 w10 w11", "w33 w34"}
	query := "w5 w6"
	pairs := make([]pipeline.TextInput, len(docs))
	for i, d := range docs {
		pairs[i] = pipeline.TextInput{Text: query, TextPair: d, Pair: true}
	}
	scores, err := tc.Run(context.Background(), pairs, &pipeline.TextClassificationOptions{TopK: pipeline.AllLabels, Truncation: true})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(docs)) // POSITIVE, the last class
	for i, s := range scores {
		for _, c := range s {
			if c.Label == "POSITIVE" {
				want[i] = c.Score
			}
		}
	}
	order := []int{0, 1, 2, 3}
	slices.SortStableFunc(order, func(a, b int) int { return -cmpFloat(want[a], want[b]) })

	type answer struct {
		Model   string `json:"model"`
		Results []struct {
			Index          int             `json:"index"`
			RelevanceScore float64         `json:"relevance_score"`
			Document       *rerankDocument `json:"document"`
		} `json:"results"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	body := `{"model": "distilbert-tiny-cls", "query": "w5 w6", "documents": ["w10 w11 w12", {"text": "w400"}, "w7 w8 w9 w10 w11", "w33 w34"]`
	for _, c := range []struct {
		extra string
		n     int
		docs  bool
	}{{"", 4, false}, {`, "top_n": 2, "return_documents": true`, 2, true}, {`, "top_n": 10`, 4, false}} {
		code, b := post(t, ts.URL+"/v1/rerank", body+c.extra+"}")
		var a answer
		if err := json.Unmarshal(b, &a); err != nil || code != 200 || len(a.Results) != c.n {
			t.Fatalf("%s: %d %s", c.extra, code, b)
		}
		if a.Usage.PromptTokens != 4*(3+2)+3+1+5+2 { // [CLS] query [SEP] doc [SEP]
			t.Errorf("%s: prompt_tokens %d", c.extra, a.Usage.PromptTokens)
		}
		for k, r := range a.Results {
			if r.Index != order[k] || r.RelevanceScore != want[r.Index] {
				t.Errorf("%s: result %d is document %d scored %v, want document %d scored %v", c.extra, k, r.Index, r.RelevanceScore, order[k], want[order[k]])
			}
			if (r.Document != nil) != c.docs || (c.docs && r.Document.Text != docs[r.Index]) {
				t.Errorf("%s: result %d document %v", c.extra, k, r.Document)
			}
		}
	}

	for _, tc := range []struct{ name, body, param, msg string }{
		{"no query", `{"model": "distilbert-tiny-cls", "documents": ["a"]}`, "query", "required"},
		{"no documents", `{"model": "distilbert-tiny-cls", "query": "a", "documents": []}`, "documents", "non-empty"},
		{"bad document", `{"model": "distilbert-tiny-cls", "query": "a", "documents": [5]}`, "documents", "string or"},
		{"top_n", `{"model": "distilbert-tiny-cls", "query": "a", "documents": ["b"], "top_n": 0}`, "top_n", "at least 1"},
		{"not a classifier", `{"model": "minilm-sentence-tiny", "query": "a", "documents": ["b"]}`, "model", "SequenceClassification head"},
	} {
		code, b := post(t, ts.URL+"/v1/rerank", tc.body)
		e := apiError(t, b)
		if code != 400 || e.Param == nil || *e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %d %s, want 400 on %s saying %q", tc.name, code, b, tc.param, tc.msg)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// gatedEmbedder holds every call until its gate is closed.
type gatedEmbedder struct {
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedEmbedder) Embed(ctx context.Context, texts []string, ids [][]int) ([][]float32, int, error) {
	g.entered <- struct{}{}
	<-g.gate
	return [][]float32{{1}}, 1, nil
}

// TestEncoderBusy: embedding and task calls are bounded like generation —
// Parallel at once, Queue waiting, then 503 with Retry-After.
func TestEncoderBusy(t *testing.T) {
	s := New(Options{Parallel: 1, Queue: -1})
	g := &gatedEmbedder{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	if err := s.AddModel(&Model{ID: "e", Tokenizer: byteTokenizer(t), Embedder: g, MaxLen: 8}); err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	ts := httptestServer(t, s)
	first := make(chan int)
	go func() {
		code, _ := post(t, ts.URL+"/v1/embeddings", `{"model": "e", "input": "a"}`)
		first <- code
	}()
	<-g.entered
	code, b, h := do(t, http.MethodPost, ts.URL+"/v1/embeddings", `{"model": "e", "input": "b"}`)
	if e := apiError(t, b); code != 503 || h.Get("Retry-After") == "" || e.Code == nil || *e.Code != "server_busy" {
		t.Errorf("second call while the first runs: %d %s", code, b)
	}
	close(g.gate)
	if code := <-first; code != 200 {
		t.Errorf("first call: %d", code)
	}
	if code, b := post(t, ts.URL+"/v1/embeddings", `{"model": "e", "input": "c"}`); code != 200 {
		t.Errorf("a call after the first ended: %d %s", code, b)
	}
}
