package serve

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/tokenizer"
)

// byteModel is a tokenizer vocabulary of bytes: id b+3 is byte b; ids 0, 1,
// 2 are <unk>, <s> and </s>, added as special tokens.
type byteModel struct{}

func (byteModel) Tokenize(text string) []tokenizer.Token {
	out := make([]tokenizer.Token, len(text))
	for i := range len(text) {
		out[i] = tokenizer.Token{ID: int(text[i]) + 3, Text: text[i : i+1], Start: i, End: i + 1}
	}
	return out
}

func (byteModel) Decode(ids []int, _ bool) (string, error) {
	var sb strings.Builder
	for _, id := range ids {
		if id < 3 || id > 258 {
			return "", fmt.Errorf("byteModel: id %d", id)
		}
		sb.WriteByte(byte(id - 3))
	}
	return sb.String(), nil
}

func (byteModel) TokenToID(t string) (int, bool) {
	if len(t) != 1 {
		return 0, false
	}
	return int(t[0]) + 3, true
}

func (byteModel) IDToToken(id int) (string, bool) {
	if id < 3 || id > 258 {
		return "", false
	}
	return string([]byte{byte(id - 3)}), true
}

func (byteModel) VocabSize() int { return 259 }

func byteTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.New(byteModel{}, tokenizer.Config{
		AddedTokens: []tokenizer.AddedToken{{Content: "<unk>", ID: 0, Special: true}, {Content: "<s>", ID: 1, Special: true},
			{Content: "</s>", ID: 2, Special: true}},
		Template: tokenizer.BOSTemplate("<s>", 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fakeLM is a BatchLM over the byte vocabulary whose logits are a
// pseudo-random function of a row's history, leaning towards lower-case
// letters and spaces, with an end of text (id 2) that grows likelier with
// length. It can slow its steps down or hold them at a gate, and it reports
// attention (a causal uniform pattern) and embeddings.
type fakeLM struct {
	maxLen int
	delay  time.Duration

	mu    sync.Mutex
	gate  chan struct{} // when not nil, each step waits for a value
	steps int
}

const fakeV = 259

func (m *fakeLM) VocabSize() int { return fakeV }
func (m *fakeLM) MaxLen() int    { return m.maxLen }

func (m *fakeLM) NewBatch(rows, maxLen int) (generate.BatchState, error) {
	return &fakeState{m: m, hist: make([][]int, rows)}, nil
}

type fakeState struct {
	m      *fakeLM
	hist   [][]int
	logits []float32
}

func (s *fakeState) Rows() int     { return len(s.hist) }
func (s *fakeState) Len(r int) int { return len(s.hist[r]) }
func (s *fakeState) Clear(r int)   { s.hist[r] = nil }

func (s *fakeState) Truncate(r, n int) error {
	s.hist[r] = s.hist[r][:n]
	return nil
}

func (m *fakeLM) setGate(g chan struct{}) {
	m.mu.Lock()
	m.gate = g
	m.mu.Unlock()
}

func (s *fakeState) Step(rows []int, tokens [][]int) ([]float32, error) {
	m := s.m
	m.mu.Lock()
	m.steps++
	g := m.gate
	m.mu.Unlock()
	if g != nil {
		<-g
	}
	time.Sleep(m.delay)
	if err := generate.CheckStep(rows, tokens, len(s.hist), m.maxLen, fakeV, s.Len); err != nil {
		return nil, err
	}
	s.logits = s.logits[:0]
	for i, r := range rows {
		s.hist[r] = append(s.hist[r], tokens[i]...)
		s.logits = append(s.logits, fakeLogits(s.hist[r])...)
	}
	return s.logits, nil
}

func fakeLogits(hist []int) []float32 {
	h := uint64(1469598103934665603)
	for _, id := range hist {
		h = (h ^ uint64(id+1)) * 1099511628211
	}
	out := make([]float32, fakeV)
	for v := range out {
		x := (h ^ uint64(v)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
		x ^= x >> 31
		l := float32(x%4000)/1000 - 2
		c := v - 3
		switch {
		case v < 3:
			l = -30
		case c >= 'a' && c <= 'z', c == ' ':
			l += 3
		case c < 0x20 || c >= 0x7f:
			l -= 4
		}
		out[v] = l
	}
	out[2] = -9 + 0.25*float32(len(hist)) // end of text, likelier as the text grows
	return out
}

// Attention reports a causal uniform pattern that differs by head.
func (m *fakeLM) Attention(ctx context.Context, ids []int) ([][][]float32, error) {
	T := len(ids)
	out := make([][][]float32, 2)
	for l := range out {
		out[l] = make([][]float32, 3)
		for h := range out[l] {
			a := make([]float32, T*T)
			for q := range T {
				for k := 0; k <= q; k++ {
					a[q*T+k] = 1 / float32(q+1)
				}
				if h == 1 {
					clear(a[q*T : q*T+q])
					a[q*T+q] = 1
				}
			}
			out[l][h] = a
		}
	}
	return out, nil
}

// Embed returns each input's length and first byte (or id), and counts
// bytes as tokens.
func (m *fakeLM) Embed(ctx context.Context, in []string, ids [][]int) ([][]float32, int, error) {
	for _, seq := range ids {
		in = append(in, string(rune(seq[0])))
	}
	out := make([][]float32, len(in))
	n := 0
	for i, s := range in {
		f := float32(0)
		if s != "" {
			f = float32(s[0])
		}
		out[i] = []float32{float32(len(s)), f}
		n += len(s)
	}
	return out, n, nil
}

// testServer runs a server with one fake model "fake" (and "fake2") behind
// httptest on loopback.
type testServer struct {
	*httptest.Server
	s  *Server
	lm *fakeLM
}

func newTestServer(t testing.TB, opts Options, lm *fakeLM) *testServer {
	t.Helper()
	if lm == nil {
		lm = &fakeLM{maxLen: 256}
	}
	s := New(opts)
	tok := byteTokenizer(t)
	m := &Model{ID: "fake", LM: lm, Tokenizer: tok, StopTokens: []int{2}, Attention: lm, Embedder: lm}
	if err := s.AddModel(m); err != nil {
		t.Fatal(err)
	}
	if err := s.AddModel(&Model{ID: "fake2", LM: &fakeLM{maxLen: 64}, Tokenizer: tok, StopTokens: []int{2}}); err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	return &testServer{Server: httptestServer(t, s), s: s, lm: lm}
}

// httptestServer serves s on loopback until the test ends.
func httptestServer(t testing.TB, s *Server) *httptest.Server {
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return ts
}
