package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

const runUsage = `Usage: glossa run --model PATH|ORG/NAME[@REV] [--tokenizer PATH] [sampling flags] [--input FILE]

An interactive session with a causal LM. A chat model — one whose
tokenizer_config.json (or chat_template.jinja) holds a chat template — gets
each line as a user message and answers as the assistant: the conversation
is rendered with the model's own template, as transformers'
apply_chat_template does, and --system sets a system message. A base model
(or --chat-template none) continues the text: each line read is appended to
the conversation and the model's continuation streams back. Either way the
model's cache is kept between turns, and when the conversation outgrows the
model's maximum length the oldest turns are dropped.

  /reset   forget the conversation
  /quit    end the session (so does end of input, Ctrl-D)
  Ctrl-C   stop the current generation; the session goes on

Flags:
`

// runRun implements "glossa run": a read-generate loop over one model.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	modelPath := fs.String("model", "", modelFlagHelp)
	dtype := fs.String("dtype", "f32", dtypeFlagHelp)
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: found beside the model)")
	sampling := addSamplingFlags(fs)
	maxNew := fs.Int("max-new-tokens", 128, "tokens to generate per turn at most")
	input := fs.String("input", "-", "read the turns from `FILE` (- is standard input)")
	chatTmpl := fs.String("chat-template", "", "chat template: a Jinja `FILE`, or none for plain text continuation (default: the model's own, if it has one)")
	system := fs.String("system", "", "system message opening the conversation (chat models)")
	fs.Usage = func() {
		fmt.Fprint(stderr, runUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case *modelPath == "":
		return fmt.Errorf("%w: --model is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q (turns are read from --input)", errUsage, fs.Arg(0))
	case *maxNew <= 0:
		return fmt.Errorf("%w: --max-new-tokens must be positive", errUsage)
	}
	opts := sampling.options()
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	in := os.Stdin
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	// A terminal shows what is typed; input from a file or pipe is echoed
	// so that the transcript reads as a conversation.
	echo := true
	if st, err := in.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		echo = false
	}

	m, err := loadCausalLM(ctx, *modelPath, *dtype, stderr)
	if err != nil {
		return err
	}
	if *tokPath == "" {
		*tokPath = m.TokenizerPath
	}
	if *tokPath == "" {
		return fmt.Errorf("%w: no tokenizer found beside %s; pass --tokenizer", errUsage, *modelPath)
	}
	tok, err := tokauto.Load(*tokPath)
	if err != nil {
		return err
	}
	s := newSession(m, tok, generate.Options{SamplingOptions: opts, Seed: sampling.seed(fs), MaxNewTokens: *maxNew})
	tmpl, err := loadChatTemplate(*chatTmpl, *tokPath, m, tok)
	if err != nil {
		return err
	}
	if tmpl != nil {
		if err := s.setChat(tmpl, *system); err != nil {
			return err
		}
	} else if *system != "" {
		return fmt.Errorf("%w: --system needs a chat template, and this model has none (see --chat-template)", errUsage)
	}

	// SIGINT cancels the turn in progress; SIGTERM ends the session. The
	// session therefore outlives ctx's cancellation by an interrupt (main's
	// NotifyContext) and follows only these.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	// Lines are read on their own goroutine so that signals are seen while
	// the session waits for input.
	lines := make(chan string)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
		readErr <- sc.Err()
	}()

	mode := "text continuation"
	if tmpl != nil {
		mode = "chat"
	}
	fmt.Fprintf(stderr, "%s model, %d positions, %s; /reset, /quit or Ctrl-D to end, Ctrl-C stops a reply.\n", m.Family, m.MaxLen(), mode)
	for {
		fmt.Fprint(stdout, "> ")
		var line string
		select {
		case line = <-lines:
			if echo {
				fmt.Fprintln(stdout, line)
			}
		case err := <-readErr:
			fmt.Fprintln(stdout)
			return err
		case sig := <-sigs:
			if sig != os.Interrupt {
				fmt.Fprintln(stdout)
				return nil
			}
			fmt.Fprintln(stdout, "^C (/quit or Ctrl-D ends the session)")
			continue
		}
		switch strings.TrimSpace(line) {
		case "/quit", "/exit":
			return nil
		case "/reset":
			s.reset()
			fmt.Fprintln(stderr, "(conversation reset)")
			continue
		case "":
			continue
		}
		turn, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stopped := make(chan struct{})
		var terminate atomic.Bool
		go func() {
			select {
			case sig := <-sigs:
				terminate.Store(sig != os.Interrupt)
				cancel()
			case <-stopped:
			}
		}()
		err := s.turn(turn, line, stdout)
		close(stopped)
		cancel()
		fmt.Fprintln(stdout)
		switch {
		case errors.Is(err, context.Canceled):
			if terminate.Load() {
				return nil
			}
			fmt.Fprintln(stderr, "(stopped)")
		case err != nil:
			return err
		}
	}
}

// session is the state of a "glossa run" conversation: the token sequence
// and the model's cache of it, so that each turn computes only its own
// tokens.
type session struct {
	m    *auto.CausalLM
	tok  *tokenizer.Tokenizer
	dec  generate.Decoder
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

func newSession(m *auto.CausalLM, tok *tokenizer.Tokenizer, opts generate.Options) *session {
	var dec generate.Decoder = tok
	if sp, ok := tok.Model().(*sentencepiece.Model); ok {
		dec = sp // as in generate: a skipped BOS drops the next piece's space
	}
	opts.Decoder = dec
	opts.StopTokens = slices.Clone(m.EOSTokenIDs)
	if bos := bosID(tok, m.BOSTokenID); bos >= 0 && !slices.Contains(opts.StopTokens, bos) {
		// A model that starts a new document has finished this one
		// (llama2.c's stories end so).
		opts.StopTokens = append(opts.StopTokens, bos)
	}
	return &session{m: m, tok: tok, dec: dec, opts: opts, conv: generate.NewSession[auto.State](m), seed: opts.Seed}
}

func (s *session) reset() {
	s.conv.Reset()
	s.msgs = s.msgs[:0]
	if s.system != "" {
		s.msgs = append(s.msgs, chat.Message{Role: "system", Content: s.system})
	}
}

// setChat switches the session to chat mode with tmpl, opening with a
// system message if system is not empty. The template's end-of-turn token,
// when the vocabulary has it, also stops a reply.
func (s *session) setChat(tmpl *chat.Template, system string) error {
	plain, err := untemplated(s.tok)
	if err != nil {
		return err
	}
	s.tmpl, s.system, s.plainTok = tmpl, system, plain
	if eos, ok := tmpl.Special("eos_token"); ok {
		if id, ok := s.tok.TokenToID(eos); ok && !slices.Contains(s.opts.StopTokens, id) {
			s.opts.StopTokens = append(s.opts.StopTokens, id)
		}
	}
	s.reset()
	return nil
}

// loadChatTemplate finds the template of a "glossa run" session: flag is
// "none" (no template), a Jinja file, or "" for the template beside the
// tokenizer, if any. Special tokens the template may name come from the
// tokenizer_config.json beside the tokenizer, or from the model's BOS and
// EOS ids.
func loadChatTemplate(flag, tokPath string, m *auto.CausalLM, tok *tokenizer.Tokenizer) (*chat.Template, error) {
	if flag == "none" {
		return nil, nil
	}
	dir := tokPath
	if st, err := os.Stat(tokPath); err == nil && !st.IsDir() {
		dir = filepath.Dir(tokPath)
	}
	own, err := chat.Load(dir)
	switch {
	case flag == "" && errors.Is(err, chat.ErrNoTemplate):
		return nil, nil
	case flag == "" || (err != nil && !errors.Is(err, chat.ErrNoTemplate)):
		return own, err
	}
	src, err := os.ReadFile(flag)
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
		if t, ok := tokenText(tok, bosID(tok, m.BOSTokenID)); ok {
			special["bos_token"] = t
		}
	}
	if _, ok := special["eos_token"]; !ok && len(m.EOSTokenIDs) > 0 {
		if t, ok := tokenText(tok, m.EOSTokenIDs[0]); ok {
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

// tokenText returns a text that encodes to exactly the token id: the
// token's text trimmed of white space if that does (templates expect
// "<s>"), else its text as it is (llama2.c's vocabulary spells BOS
// "\n<s>\n" and matches only that).
func tokenText(tok *tokenizer.Tokenizer, id int) (string, bool) {
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

// turn appends line to the conversation and streams the model's reply to w.
// A cancelled turn keeps what was generated so far and returns ctx's error.
func (s *session) turn(ctx context.Context, line string, w io.Writer) error {
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
	s.seed++ // each turn samples differently, reproducibly from --seed
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

// chatTurn is turn in chat mode: line is the user's message; the whole
// conversation is rendered with the template and encoded, the model's cache
// is kept for the tokens it shares with the previous turns, and the reply
// becomes the assistant's message.
func (s *session) chatTurn(ctx context.Context, line string, w io.Writer) error {
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
			return fmt.Errorf("the message is %d tokens with the template, more than the %d this model leaves for a prompt", len(ids), budget)
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
// --max-new-tokens when that is less — keeping an opening BOS. It returns
// what is kept, the length of the kept lead (1 with a BOS, else 0) and
// whether anything was cut.
func (s *session) fit(seq []int, bos int) (kept []int, lead int, cut bool) {
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
