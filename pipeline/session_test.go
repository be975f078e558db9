package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/auto"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

// A cancelled turn (Ctrl-C) keeps what it generated and the session goes
// on; the context never exceeds the model's length.
func TestSessionCancelAndFit(t *testing.T) {
	m, err := auto.LoadCausalLM(testenv.Shared(t, "models", "stories260K", "stories260K.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokauto.Load(testenv.Shared(t, "models", "stories260K", "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(m, tok, SessionOptions{Generate: generate.Options{MaxNewTokens: 400}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out strings.Builder
	if err := s.Turn(ctx, "Once upon a time", &out); err == nil {
		t.Errorf("cancelled turn: no error, wrote %q", out.String())
	}
	n := len(s.conv.Tokens())
	out.Reset()
	if err := s.Turn(context.Background(), "Lily", &out); err != nil || out.Len() == 0 {
		t.Fatalf("turn after a cancelled one: %v, %q", err, out.String())
	}
	if c := s.conv.Tokens(); len(c) <= n || len(c) > m.MaxLen() || c[0] != 1 {
		t.Errorf("context of %d tokens (was %d), first %d", len(c), n, c[0])
	}
	// The next turn computes only its own tokens: the cache holds the
	// conversation but (at most) the reply's last token.
	if c := s.conv.Tokens(); s.conv.Cached() < len(c)-1 {
		t.Errorf("cache holds %d of %d tokens", s.conv.Cached(), len(c))
	}
	for range 3 {
		if err := s.Turn(context.Background(), strings.Repeat("The sun was warm. ", 20), &out); err != nil {
			t.Fatal(err)
		}
		if c := s.conv.Tokens(); len(c) > m.MaxLen() || c[0] != 1 {
			t.Fatalf("context of %d tokens > %d, or lost its BOS", len(c), m.MaxLen())
		}
	}
	s.Reset()
	if c := s.conv.Tokens(); len(c) != 0 {
		t.Errorf("reset left %d tokens", len(c))
	}
}

// In chat mode each turn renders the conversation with the template, the
// cache keeps what the turns share, and a conversation that outgrows the
// model drops its oldest exchanges but never the system message.
func TestChatSession(t *testing.T) {
	m, err := auto.LoadCausalLM(testenv.Shared(t, "models", "stories260K", "stories260K.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tokPath := testenv.Shared(t, "models", "stories260K", "tok512.bin")
	tok, err := tokauto.Load(tokPath) // no tokenizer_config.json beside it
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "chat.jinja")
	const tmplSrc = `{{ bos_token }}{% for m in messages %}{% if m.role == 'assistant' %} {{ m.content }}{{ eos_token }}{% else %}{{ m.content }}{% endif %}{% endfor %}`
	if err := os.WriteFile(src, []byte(tmplSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := ChatTemplate(src, tokPath, m, tok)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(m, tok, SessionOptions{Template: tmpl, System: "Once upon a time", Generate: generate.Options{MaxNewTokens: 20}})
	if err != nil {
		t.Fatal(err)
	}
	encode := func(msgs []chat.Message) []int {
		t.Helper()
		text, err := tmpl.Render(msgs, true)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := s.plainTok.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		return enc.IDs
	}
	var out strings.Builder
	if err := s.Turn(context.Background(), " Lily went", &out); err != nil {
		t.Fatal(err)
	}
	first := encode(s.msgs[:2])
	// bos_token comes from the model's BOS id, in a spelling that encodes
	// back to it.
	if got := s.conv.Tokens(); first[0] != 1 || first[1] == 1 || !slices.Equal(got[:len(first)], first) {
		t.Fatalf("turn 1 tokens %v, want the rendered prompt %v (one BOS, id 1) first", got, first)
	}
	if len(s.msgs) != 3 || s.msgs[2].Role != "assistant" || s.msgs[2].Content != strings.TrimSpace(out.String()) {
		t.Fatalf("messages after turn 1: %q (reply %q)", s.msgs, out.String())
	}
	if err := s.Turn(context.Background(), " Then", &out); err != nil {
		t.Fatal(err)
	}
	second := encode(s.msgs[:4])
	if got := s.conv.Tokens(); !slices.Equal(got[:len(second)], second) {
		t.Fatalf("turn 2 tokens %v, want the rendered prompt %v first", got, second)
	}
	if s.reused < len(first) {
		t.Errorf("turn 2 reused %d cached tokens, fewer than turn 1's prompt (%d)", s.reused, len(first))
	}
	for range 8 {
		if err := s.Turn(context.Background(), strings.Repeat(" The sun was warm.", 15), &out); err != nil {
			t.Fatal(err)
		}
		if c := s.conv.Tokens(); len(c) > m.MaxLen() {
			t.Fatalf("context of %d tokens > %d", len(c), m.MaxLen())
		}
	}
	if s.msgs[0].Role != "system" || len(s.msgs) > 14 {
		t.Errorf("after a long conversation: %d messages, first %q", len(s.msgs), s.msgs[0].Role)
	}
	s.Reset()
	if len(s.msgs) != 1 || len(s.conv.Tokens()) != 0 {
		t.Errorf("reset left %d messages, %d tokens", len(s.msgs), len(s.conv.Tokens()))
	}
	// A message that cannot fit is an error, not a silent cut.
	if err := s.Turn(context.Background(), strings.Repeat(" The sun was warm.", 100), &out); err == nil {
		t.Error("a message longer than the model was accepted")
	}
}

// TestTextGeneration: prompts decode as one batch, each as it would alone;
// JSON calls give Hugging Face's [{"generated_text": …}]; a chat needs a
// template.
func TestTextGeneration(t *testing.T) {
	ctx := context.Background()
	p, err := LoadTextGeneration(ctx, testenv.Shared(t, "models", "stories260K", "stories260K.bin"),
		&Options{Tokenizer: testenv.Shared(t, "models", "stories260K", "tok512.bin")})
	if err != nil {
		t.Fatal(err)
	}
	prompts := []string{"Once upon a time", "Lily had a red ball. One day"}
	no := false
	opts := &TextGenerationOptions{MaxNewTokens: 24, ReturnFullText: &no}
	both, err := p.Run(ctx, prompts, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, pr := range prompts {
		alone, err := p.Run(ctx, []string{pr}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if alone[0] != both[i] || both[i].GeneratedText == "" {
			t.Errorf("prompt %d: batched %q, alone %q", i, both[i].GeneratedText, alone[0].GeneratedText)
		}
	}
	r := p.CallJSON(ctx, []byte(`{"inputs": "Once upon a time", "max_new_tokens": 24}`))[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := r.Value.([]GeneratedText); len(got) != 1 || got[0].GeneratedText != prompts[0]+both[0].GeneratedText {
		t.Errorf("JSON call: %+v, want the prompt and %q", r.Value, both[0].GeneratedText)
	}
	r = p.CallJSON(ctx, []byte(`{"inputs": [{"role": "user", "content": "hi"}]}`))[0]
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no chat template") {
		t.Errorf("a chat with a base model: %v", r.Err)
	}
	if r := p.CallJSON(ctx, []byte(`{"inputs": "x", "temperature": -1, "do_sample": true}`))[0]; r.Err == nil {
		t.Error("a negative temperature was accepted")
	}
}
