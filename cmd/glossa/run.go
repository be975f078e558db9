package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

const runUsage = `Usage: glossa run --model PATH|ORG/NAME[@REV] [--tokenizer PATH] [sampling flags] [--input FILE]

An interactive session with a causal LM: each line read is appended to the
conversation and the model's continuation streams back. The context keeps
the most recent tokens that fit the model's maximum length.

  /reset   forget the conversation
  /quit    end the session (so does end of input, Ctrl-D)
  Ctrl-C   stop the current generation; the session goes on

Flags:
`

// runRun implements "glossa run": a read-generate loop over one model.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	modelPath := fs.String("model", "", modelFlagHelp)
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: found beside the model)")
	sampling := addSamplingFlags(fs)
	maxNew := fs.Int("max-new-tokens", 128, "tokens to generate per turn at most")
	input := fs.String("input", "-", "read the turns from `FILE` (- is standard input)")
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

	m, err := loadCausalLM(ctx, *modelPath, stderr)
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

	fmt.Fprintf(stderr, "%s model, %d positions; /reset, /quit or Ctrl-D to end, Ctrl-C stops a reply.\n", m.Family, m.MaxLen())
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

func (s *session) reset() { s.conv.Reset() }

// turn appends line to the conversation and streams the model's reply to w.
// A cancelled turn keeps what was generated so far and returns ctx's error.
func (s *session) turn(ctx context.Context, line string, w io.Writer) error {
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
