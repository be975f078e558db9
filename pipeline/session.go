package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// Session is a conversation with a causal LM that keeps the model's cache
// between turns, so that each turn computes only its own tokens. With a
// chat template each turn is a user message and the reply the assistant's:
// the whole conversation is rendered with the template (as transformers'
// apply_chat_template) and the cache keeps the prefix it shares with the
// previous turns. Without one, each turn's text is appended to the
// conversation and the model continues it. Either way, when the
// conversation outgrows the model the oldest turns go (never the system
// message, nor the opening BOS). A Session is used by one goroutine at a
// time.
type Session struct {
	m    *auto.CausalLM
	tok  *tokenizer.Tokenizer
	opts generate.Options
	conv *generate.Session[auto.State]
	seed uint64

	// Chat mode (tmpl not nil): the messages so far, the system message
	// that opens them, and the tokenizer that encodes rendered prompts
	// (which carry their own special tokens) without adding any.
	tmpl     *chat.Template
	system   string
	msgs     []chat.Message
	plainTok *tokenizer.Tokenizer
	reused   int // prompt tokens of the last turn the cache already held
}

// SessionOptions configure NewSession.
type SessionOptions struct {
	// Generate are the sampling options, the seed (each turn uses the next
	// one, so a session is reproducible) and MaxNewTokens per turn (zero:
	// 128). Its stop tokens and decoder are the session's: EOS, BOS and
	// the template's end-of-turn token end a reply.
	Generate generate.Options
	// Template, when set, makes the session a chat. Nil: plain text
	// continuation.
	Template *chat.Template
	// System is the system message that opens a chat ("": none).
	System string
}

// NewSession starts a conversation with m, whose text tok encodes.
func NewSession(m *auto.CausalLM, tok *tokenizer.Tokenizer, opts SessionOptions) (*Session, error) {
	o := opts.Generate
	if o.MaxNewTokens <= 0 {
		o.MaxNewTokens = 128
	}
	o.Decoder = decoderOf(tok)
	o.StopTokens = slices.Clone(m.EOSTokenIDs)
	if bos := bosID(tok, m.BOSTokenID); bos >= 0 && !slices.Contains(o.StopTokens, bos) {
		// A model that starts a new document has finished this one
		// (llama2.c's stories end so).
		o.StopTokens = append(o.StopTokens, bos)
	}
	s := &Session{m: m, tok: tok, opts: o, conv: generate.NewSession[auto.State](m), seed: o.Seed}
	if opts.Template == nil {
		if opts.System != "" {
			return nil, fmt.Errorf("pipeline: a system message needs a chat template")
		}
		return s, nil
	}
	plain, err := untemplated(tok)
	if err != nil {
		return nil, err
	}
	s.tmpl, s.system, s.plainTok = opts.Template, opts.System, plain
	if eos, ok := s.tmpl.Special("eos_token"); ok {
		if id, ok := tok.TokenToID(eos); ok && !slices.Contains(s.opts.StopTokens, id) {
			s.opts.StopTokens = append(s.opts.StopTokens, id)
		}
	}
	s.Reset()
	return s, nil
}

// decoderOf returns what decodes tok's ids as the model's own tokenizer
// does: Llama vocabularies decode through their model, so that a skipped
// BOS still drops the following piece's leading space, as run.c and HF do.
func decoderOf(tok *tokenizer.Tokenizer) generate.Decoder {
	if sp, ok := tok.Model().(*sentencepiece.Model); ok {
		return sp
	}
	return tok
}

// Chat reports whether the session renders a chat template.
func (s *Session) Chat() bool { return s.tmpl != nil }

// Messages returns the chat so far (system message included).
func (s *Session) Messages() []chat.Message { return slices.Clone(s.msgs) }

// Tokens returns the conversation's tokens.
func (s *Session) Tokens() []int { return s.conv.Tokens() }

// Reset forgets the conversation (a chat keeps its system message).
func (s *Session) Reset() {
	s.conv.Reset()
	s.msgs = s.msgs[:0]
	if s.system != "" {
		s.msgs = append(s.msgs, chat.Message{Role: "system", Content: s.system})
	}
}

// Turn adds line to the conversation and streams the model's reply to w.
// A cancelled turn keeps what was generated so far and returns ctx's error.
func (s *Session) Turn(ctx context.Context, line string, w io.Writer) error {
	if s.tmpl != nil {
		return s.chatTurn(ctx, line, w)
	}
	enc, err := s.tok.Encode(line)
	if err != nil {
		return err
	}
	ids := enc.IDs
	bos := bosID(s.tok, s.m.BOSTokenID)
	ctxIDs := s.conv.Tokens()
	if len(ctxIDs) > 0 && len(ids) > 0 && ids[0] == bos {
		ids = ids[1:] // one BOS opens the conversation
	}
	if len(ctxIDs)+len(ids) == 0 {
		return nil
	}
	if kept, lead, cut := s.fit(append(ctxIDs, ids...), bos); cut {
		// The new tokens are the tail of what is kept.
		n := min(len(ids), len(kept)-lead)
		s.conv.SetTokens(kept[:len(kept)-n])
		ids = kept[len(kept)-n:]
	}
	opts := s.opts
	opts.MaxNewTokens = min(opts.MaxNewTokens, s.m.MaxLen()-len(s.conv.Tokens())-len(ids))
	opts.Seed = s.seed
	s.seed++ // each turn samples differently, reproducibly from the seed
	var werr error
	opts.OnText = func(_ int, piece string) {
		if werr == nil {
			_, werr = io.WriteString(w, piece)
		}
	}
	seq, err := s.conv.Generate(ctx, ids, opts)
	if out := seq.Tokens; seq.Reason == generate.FinishStop && len(out) > 0 && slices.Contains(opts.StopTokens, out[len(out)-1]) {
		// The next turn continues the conversation, not after an end of
		// text: drop the stop token (the cache never held it).
		all := s.conv.Tokens()
		s.conv.SetTokens(all[:len(all)-1])
	}
	if werr != nil {
		return werr
	}
	return err
}

// chatTurn is Turn in chat mode: line is the user's message; the whole
// conversation is rendered with the template and encoded, the model's cache
// is kept for the tokens it shares with the previous turns, and the reply
// becomes the assistant's message.
func (s *Session) chatTurn(ctx context.Context, line string, w io.Writer) error {
	msgs := append(slices.Clone(s.msgs), chat.Message{Role: "user", Content: line})
	L := s.m.MaxLen()
	budget := L - min(s.opts.MaxNewTokens, L/2)
	var ids []int
	for {
		prompt, err := s.tmpl.Render(msgs, true)
		if err != nil {
			return err
		}
		enc, err := s.plainTok.Encode(prompt)
		if err != nil {
			return err
		}
		ids = enc.IDs
		if len(ids) <= budget {
			break
		}
		// Drop the oldest turn after any system message.
		first := 0
		if len(msgs) > 0 && msgs[0].Role == "system" {
			first = 1
		}
		if len(msgs)-first <= 1 {
			return fmt.Errorf("pipeline: the message is %d tokens with the template, more than the %d this model leaves for a prompt", len(ids), budget)
		}
		drop := 1
		if len(msgs)-first > 2 && msgs[first].Role == "user" && msgs[first+1].Role == "assistant" {
			drop = 2 // a whole exchange, so that roles still alternate
		}
		msgs = append(msgs[:first], msgs[first+drop:]...)
	}
	// The cache keeps the longest prefix the new prompt shares with it.
	prev := s.conv.Tokens()
	p := 0
	for p < min(len(prev), len(ids)) && prev[p] == ids[p] {
		p++
	}
	s.conv.SetTokens(ids[:p])
	s.reused = s.conv.Cached()

	opts := s.opts
	opts.MaxNewTokens = min(opts.MaxNewTokens, L-len(ids))
	opts.Seed = s.seed
	s.seed++
	var reply strings.Builder
	var werr error
	opts.OnText = func(_ int, piece string) {
		reply.WriteString(piece)
		if werr == nil {
			_, werr = io.WriteString(w, piece)
		}
	}
	_, err := s.conv.Generate(ctx, ids[p:], opts)
	s.msgs = append(msgs, chat.Message{Role: "assistant", Content: strings.TrimSpace(reply.String())})
	if werr != nil {
		return werr
	}
	return err
}

// fit cuts the oldest tokens of seq so that it leaves room for a reply
// within the model's maximum length — at least half of it, or the whole
// MaxNewTokens when that is less — keeping an opening BOS. It returns what
// is kept, the length of the kept lead (1 with a BOS, else 0) and whether
// anything was cut.
func (s *Session) fit(seq []int, bos int) (kept []int, lead int, cut bool) {
	L := s.m.MaxLen()
	keep := L - min(s.opts.MaxNewTokens, L/2)
	if bos >= 0 && len(seq) > 0 && seq[0] == bos {
		lead = 1
	}
	if len(seq) <= keep {
		return seq, lead, false
	}
	drop := len(seq) - keep
	return append(seq[:lead], seq[lead+drop:]...), lead, true
}

// ChatTemplate returns the chat template of a conversation with m: the Jinja
// file path when it is not empty, else the template beside the tokenizer at
// tokPath (tokenizer_config.json's chat_template or chat_template.jinja),
// or nil when it has none. Special tokens the template names come from the
// tokenizer_config.json beside the tokenizer, or from the model's BOS and
// EOS ids.
func ChatTemplate(path, tokPath string, m *auto.CausalLM, tok *tokenizer.Tokenizer) (*chat.Template, error) {
	dir := tokPath
	if st, err := os.Stat(tokPath); err == nil && !st.IsDir() {
		dir = filepath.Dir(tokPath)
	}
	own, err := chat.Load(dir)
	switch {
	case path == "" && errors.Is(err, chat.ErrNoTemplate):
		return nil, nil
	case path == "" || (err != nil && !errors.Is(err, chat.ErrNoTemplate)):
		return own, err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	special := map[string]string{}
	for _, name := range []string{"bos_token", "eos_token", "unk_token", "pad_token"} {
		if own != nil {
			if v, ok := own.Special(name); ok {
				special[name] = v
			}
		}
	}
	if _, ok := special["bos_token"]; !ok {
		if t, ok := tokenSpelling(tok, bosID(tok, m.BOSTokenID)); ok {
			special["bos_token"] = t
		}
	}
	if _, ok := special["eos_token"]; !ok && len(m.EOSTokenIDs) > 0 {
		if t, ok := tokenSpelling(tok, m.EOSTokenIDs[0]); ok {
			special["eos_token"] = t
		}
	}
	return chat.New(string(src), special)
}

// untemplated returns tok encoding without its template's special tokens,
// for texts that carry their own (a rendered chat prompt), as Hugging Face's
// add_special_tokens=False.
func untemplated(tok *tokenizer.Tokenizer) (*tokenizer.Tokenizer, error) {
	opts := tok.Options()
	opts.SkipTemplate = true
	return tok.WithOptions(opts)
}

// tokenSpelling returns a text that encodes to exactly the token id: the
// token's text trimmed of white space if that does (templates expect
// "<s>"), else its text as it is (llama2.c's vocabulary spells BOS
// "\n<s>\n" and matches only that).
func tokenSpelling(tok *tokenizer.Tokenizer, id int) (string, bool) {
	t, ok := tok.IDToToken(id)
	if !ok {
		return "", false
	}
	plain, err := untemplated(tok)
	if err != nil {
		return "", false
	}
	for _, text := range []string{strings.TrimSpace(t), t} {
		if enc, err := plain.Encode(text); err == nil && len(enc.IDs) == 1 && enc.IDs[0] == id {
			return text, true
		}
	}
	return "", false
}

// bosID returns the beginning-of-sequence id: the tokenizer's <s>, else the
// model's (-1 when neither has one).
func bosID(tok *tokenizer.Tokenizer, modelBOS int) int {
	if tok != nil {
		if id, ok := tok.TokenToID("<s>"); ok {
			return id
		}
	}
	return modelBOS
}
