package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/internal/testenv"
)

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--tokenizer", "x", "--model", "y"},
		{"serve", "--model", "m", "--parallel", "0"},
		{"serve", "--model", "m", "extra"},
	} {
		if code, _, errOut := glossa(t, args...); code != 2 {
			t.Errorf("%q: exit %d (%s), want 2", args, code, errOut)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCommand runs glossa serve on a random loopback port with two
// models (one named by ID=PATH), asks both, and stops it as SIGTERM would.
func TestServeCommand(t *testing.T) {
	dir := testenv.Shared(t, "models", "stories260K")
	bin, tok := filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin")
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--api-key", "k", "--parallel", "2",
			"--model", bin, "--tokenizer", tok, "--model", "second=" + bin, "--tokenizer", tok}, &out, &errOut)
	}()
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "ready:") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not ready: %s %s", out.String(), errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	url = regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(out.String())[1]
	for _, model := range []string{"stories260K", "second"} {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/completions",
			strings.NewReader(`{"model": "`+model+`", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}`))
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var c struct {
			Choices []struct{ Text string }
		}
		if json.Unmarshal(b, &c); resp.StatusCode != 200 || !strings.HasPrefix(c.Choices[0].Text, ", there was") {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("glossa serve did not stop")
	}
}
