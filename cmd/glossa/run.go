package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/glossa-ai/glossa/chat"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/pipeline"
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
	dtype := fs.String("dtype", "", dtypeFlagHelp+" (default f32, or stored for a .gguf file)")
	cacheType := fs.String("cache-type", "", cacheTypeFlagHelp)
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

	m, tok, err := loadCausalLMTokenizer(ctx, *modelPath, *tokPath, *dtype, *cacheType, stderr)
	if err != nil {
		return err
	}
	var tmpl *chat.Template
	if *chatTmpl != "none" {
		if tmpl, err = pipeline.ChatTemplate(*chatTmpl, *tokPath, m, tok); err != nil {
			return err
		}
	}
	if tmpl == nil && *system != "" {
		return fmt.Errorf("%w: --system needs a chat template, and this model has none (see --chat-template)", errUsage)
	}
	s, err := pipeline.NewSession(m, tok, pipeline.SessionOptions{Template: tmpl, System: *system,
		Generate: generate.Options{SamplingOptions: opts, Seed: sampling.seed(fs), MaxNewTokens: *maxNew}})
	if err != nil {
		return err
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
			s.Reset()
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
		err := s.Turn(turn, line, stdout)
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
