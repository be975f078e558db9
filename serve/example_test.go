package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/serve"
	"github.com/glossa-ai/glossa/tokenizer"
)

// letters is a vocabulary of the letters a–z (ids 0–25).
type letters struct{}

func (letters) Tokenize(text string) []tokenizer.Token {
	var out []tokenizer.Token
	for i := range len(text) {
		if c := text[i]; c >= 'a' && c <= 'z' {
			out = append(out, tokenizer.Token{ID: int(c - 'a'), Text: text[i : i+1], Start: i, End: i + 1})
		}
	}
	return out
}

func (letters) Decode(ids []int, _ bool) (string, error) {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte('a' + id)
	}
	return string(b), nil
}

func (letters) TokenToID(t string) (int, bool) {
	return int(t[0] - 'a'), len(t) == 1 && t[0] >= 'a' && t[0] <= 'z'
}
func (letters) IDToToken(id int) (string, bool) { return string(rune('a' + id)), id >= 0 && id < 26 }
func (letters) VocabSize() int                  { return 26 }

// next is a toy model that always predicts the letter after the last one.
type next struct{}

func (next) VocabSize() int                            { return 26 }
func (next) MaxLen() int                               { return 64 }
func (next) NewState(batch, maxLen int) ([]int, error) { return make([]int, batch), nil }
func (next) Forward(last, ids []int, _ []bool) ([]float32, error) {
	last[0] = ids[len(ids)-1]
	logits := make([]float32, 26)
	logits[(last[0]+1)%26] = 10
	return logits, nil
}

// A server over any model: here a toy one through the per-row adapter,
// asked for a greedy completion over HTTP.
func Example() {
	tok, err := tokenizer.New(letters{}, tokenizer.Config{})
	if err != nil {
		panic(err)
	}
	s := serve.New(serve.Options{Parallel: 2})
	defer s.Close()
	if err := s.AddModel(&serve.Model{ID: "abc", LM: generate.PerRow[[]int](next{}), Tokenizer: tok}); err != nil {
		panic(err)
	}
	s.SetReady(true)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, ts.URL+"/v1/completions",
		strings.NewReader(`{"model": "abc", "prompt": "abc", "max_tokens": 5, "temperature": 0}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	i := strings.Index(string(b), `"text"`)
	fmt.Println(resp.StatusCode, string(b[i:i+14]))
	// Output:
	// 200 "text":"defgh"
}

// counts is a toy embedder: each text's number of a's and b's.
type counts struct{}

func (counts) Embed(_ context.Context, texts []string, _ [][]int) ([][]float32, int, error) {
	out := make([][]float32, len(texts))
	n := 0
	for i, t := range texts {
		out[i] = []float32{float32(strings.Count(t, "a")), float32(strings.Count(t, "b"))}
		n += len(t)
	}
	return out, n, nil
}

// A model that does not generate: an Embedder (an encoder folder gets one
// from serve.LoadEncoder, over the pipeline package) serves
// /v1/embeddings; chat on it is a 400 that says why.
func Example_embeddings() {
	tok, err := tokenizer.New(letters{}, tokenizer.Config{})
	if err != nil {
		panic(err)
	}
	s := serve.New(serve.Options{})
	defer s.Close()
	if err := s.AddModel(&serve.Model{ID: "counts", Tokenizer: tok, Embedder: counts{}, MaxLen: 64}); err != nil {
		panic(err)
	}
	s.SetReady(true)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	for _, c := range []struct{ route, body string }{
		{"/v1/embeddings", `{"model": "counts", "input": ["aab", "b"], "encoding_format": "float"}`},
		{"/v1/chat/completions", `{"model": "counts", "messages": [{"role": "user", "content": "hi"}]}`},
	} {
		resp, err := http.Post(ts.URL+c.route, "application/json", strings.NewReader(c.body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(b)))
	}
	// Output:
	// 200 {"data":[{"object":"embedding","index":0,"embedding":[2,1]},{"object":"embedding","index":1,"embedding":[0,1]}],"model":"counts","object":"list","usage":{"prompt_tokens":4,"total_tokens":4}}
	// 400 {"error":{"message":"model \"counts\" has no language model and does not generate: /v1/chat/completions needs a causal LM","type":"invalid_request_error","param":"model","code":"model_not_generative"}}
}

// Serving an encoder-decoder (a MarianMTModel, T5 or BART folder with its
// tokenizer, such as Helsinki-NLP/opus-mt-en-de or a folder glossa
// finetune --task seq2seq wrote): Hugging Face's translation route, and
// completions as text2text.
func ExampleLoadSeq2Seq() {
	m, err := serve.LoadSeq2Seq("opus-mt-en-de", serve.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := serve.New(serve.Options{Parallel: 2})
	defer s.Close()
	if err := s.AddModel(m); err != nil {
		fmt.Println(err)
		return
	}
	s.SetReady(true)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for route, body := range map[string]string{
		"/v1/translation": `{"model": "opus-mt-en-de", "inputs": "A man is eating.", "parameters": {"num_beams": 4}}`,
		"/v1/completions": `{"model": "opus-mt-en-de", "prompt": "A man is eating.", "temperature": 0, "num_beams": 1, "stream": true}`,
	} {
		resp, err := http.Post(ts.URL+route, "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(route, resp.StatusCode, string(b)) // [{"translation_text":"Ein Mann isst."}], then SSE chunks
	}
}
