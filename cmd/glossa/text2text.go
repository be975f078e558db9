package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/text2text"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
)

const text2textUsage = `Usage: glossa %[1]s --model PATH|ORG/NAME[@REV] [--tokenizer PATH] [--num-beams N]
         [--max-new-tokens N] [--min-new-tokens N] [--batch-size N] [--task-params NAME]
         [--prefix STR] [--dtype f32|bf16] [--input FILE] [--jsonl [--field KEY]] [TEXT...]

%[2]s with an encoder-decoder model (Marian, T5, BART) from a Hugging Face
folder or the Hub. Each TEXT is one source; without TEXT, --input (standard input) is
read to its end, one source per line (an empty line gives an empty output line), or one
JSON object per line with --jsonl (the source under --field; the object comes back with
%[3]q). Each result is printed on one line as soon as its batch is done, the first
of each batch streaming as it is decoded. Decoding follows the model's
generation_config.json and config.json's task_specific_params entry (%[4]s),
overridden by the flags. A source longer than the encoder's positions is truncated with
a warning on stderr (--truncate=false: an error).`

// runTranslate implements "glossa translate".
func runTranslate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runText2Text(ctx, "translate", args, stdout, stderr)
}

// runSummarize implements "glossa summarize".
func runSummarize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runText2Text(ctx, "summarize", args, stdout, stderr)
}

// text2textFlags are the model and decoding flags of translate, summarize
// and eval.
type text2textFlags struct {
	model, tokenizer, dtype, task, prefix   *string
	beams, maxNew, minNew, batch, maxSource *int
	truncate                                *bool
}

func addText2TextFlags(fs *flag.FlagSet) *text2textFlags {
	return &text2textFlags{
		model:     fs.String("model", "", "encoder-decoder model: a Hugging Face folder or ORG/NAME[@REVISION] on the Hub (required)"),
		tokenizer: fs.String("tokenizer", "", "tokenizer file or folder (default: the model folder's)"),
		dtype:     fs.String("dtype", "f32", dtypeFlagHelp),
		task:      fs.String("task-params", "", "config.json task_specific_params `NAME` to apply (prefix and decoding defaults)"),
		prefix:    fs.String("prefix", "", "text put before every source (default: the task's, e.g. T5's \"summarize: \")"),
		beams:     fs.Int("num-beams", 0, "beam search with this many beams; 1 is greedy (default: the model's)"),
		maxNew:    fs.Int("max-new-tokens", 0, "tokens to generate at most per text (default: the model's max_length)"),
		minNew:    fs.Int("min-new-tokens", 0, "tokens to generate at least per text before it may end (default: the model's)"),
		batch:     fs.Int("batch-size", 8, "texts encoded and decoded together"),
		maxSource: fs.Int("max-source-tokens", 0, "longest source in tokens, specials included (default: the encoder's positions)"),
		truncate:  fs.Bool("truncate", true, "truncate longer sources with a warning; false: fail"),
	}
}

func (f *text2textFlags) check() error {
	switch {
	case *f.model == "":
		return fmt.Errorf("%w: --model is required", errUsage)
	case *f.beams < 0 || *f.maxNew < 0 || *f.minNew < 0 || *f.maxSource < 0:
		return fmt.Errorf("%w: --num-beams, --min/max-new-tokens and --max-source-tokens must not be negative", errUsage)
	case *f.batch <= 0:
		return fmt.Errorf("%w: --batch-size must be positive", errUsage)
	}
	return nil
}

// load loads the model and its tokenizer.
func (f *text2textFlags) load(ctx context.Context, stderr io.Writer) (*text2text.Model, error) {
	format, err := infer.ParseFormat(*f.dtype)
	if err != nil {
		return nil, fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	dir, err := resolveModel(ctx, *f.model, stderr)
	if err != nil {
		return nil, err
	}
	sm, err := auto.LoadSeq2Seq(dir, &auto.LoadOptions{Format: format})
	if err != nil {
		return nil, err
	}
	tokPath := *f.tokenizer
	if tokPath == "" {
		tokPath = sm.TokenizerPath
	}
	if tokPath == "" {
		return nil, fmt.Errorf("%w: no tokenizer files beside %s; pass --tokenizer", errUsage, *f.model)
	}
	tok, err := tokauto.Load(tokPath)
	if err != nil {
		return nil, err
	}
	return text2text.New(sm.Model, tok)
}

// options returns the library options for verb (translate, summarize):
// the task_specific_params entry the flags or the model select.
func (f *text2textFlags) options(m *text2text.Model, verb string) (*text2text.Options, error) {
	o := &text2text.Options{Task: *f.task, Prefix: *f.prefix, NumBeams: *f.beams, MaxNewTokens: *f.maxNew, MinNewTokens: *f.minNew,
		BatchSize: *f.batch, MaxSourceTokens: *f.maxSource, Truncate: *f.truncate}
	if o.Task != "" || o.Prefix != "" {
		return o, nil
	}
	var matches []string
	for _, name := range m.TaskNames() {
		if verb == "summarize" && name == "summarization" || verb == "translate" && strings.HasPrefix(name, "translation") {
			matches = append(matches, name)
		}
	}
	switch {
	case len(matches) == 1:
		o.Task = matches[0]
	case len(matches) > 1:
		return nil, fmt.Errorf("%w: the model has several translation tasks (%s); choose one with --task-params, or give --prefix",
			errUsage, strings.Join(matches, ", "))
	}
	return o, nil
}

func runText2Text(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(verb, stderr)
	tf := addText2TextFlags(fs)
	input := fs.String("input", "-", "read sources from this `FILE` when no TEXT is given (-: standard input)")
	jsonl := fs.Bool("jsonl", false, "read JSON objects from --input, one per line, and write them back with the result")
	field := fs.String("field", "text", "the source's `KEY` in --jsonl objects")
	stats := fs.Bool("stats", false, "print the decoding speed to stderr")
	what, key, task := "Translates text", "translation_text", "translation_* when there is exactly one"
	if verb == "summarize" {
		what, key, task = "Summarizes text", "summary_text", "summarization"
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, text2textUsage+"\n\nFlags:\n", verb, what, key, task)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if err := tf.check(); err != nil {
		return err
	}
	if *jsonl && fs.NArg() > 0 {
		return fmt.Errorf("%w: --jsonl reads --input; give no TEXT", errUsage)
	}
	var in inputs
	var err error
	var r io.Reader = os.Stdin
	if fs.NArg() == 0 && *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	switch {
	case fs.NArg() > 0:
		for i, s := range fs.Args() {
			if strings.TrimSpace(s) == "" {
				return fmt.Errorf("%w: TEXT %d is empty", errUsage, i+1)
			}
			in.add(s, nil)
		}
	case *jsonl:
		err = in.readJSONL(r, *field)
	default:
		err = in.readLines(r)
	}
	if err != nil {
		return err
	}
	m, err := tf.load(ctx, stderr)
	if err != nil {
		return err
	}
	opts, err := tf.options(m, verb)
	if err != nil {
		return err
	}
	if len(in.sources) == 0 {
		return in.flush(stdout, key, len(in.lines))
	}
	p := &resultPrinter{in: &in, w: stdout, key: key, jsonl: *jsonl}
	opts.OnText = p.text
	opts.OnResult = func(i int, r text2text.Result) {
		if r.Truncated > 0 {
			fmt.Fprintf(stderr, "glossa %s: warning: text %d has %d tokens; truncated to %d (--max-source-tokens, --truncate)\n",
				verb, in.pos[i]+1, r.SourceTokens+r.Truncated, r.SourceTokens)
		}
		p.result(i, r)
	}
	start := time.Now()
	res, err := m.Generate(ctx, in.sources, opts)
	if err != nil {
		return err
	}
	if p.err != nil {
		return p.err
	}
	if err := in.flush(stdout, key, len(in.lines)); err != nil {
		return err
	}
	if *stats {
		n := 0
		for _, r := range res {
			n += len(r.Tokens)
		}
		el := time.Since(start)
		fmt.Fprintf(stderr, "%d texts, %d tokens in %v: %.1f tokens/s\n", len(res), n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	}
	return nil
}

// inputs are the lines (or JSON objects) read, and the non-empty sources
// among them.
type inputs struct {
	lines   []string                     // every input line (TEXT arguments: the sources)
	objs    []map[string]json.RawMessage // --jsonl: the objects, by line
	sources []string
	pos     []int // line of each source
	printed int   // lines written so far
}

func (in *inputs) add(line string, obj map[string]json.RawMessage) {
	if strings.TrimSpace(line) != "" {
		in.sources = append(in.sources, line)
		in.pos = append(in.pos, len(in.lines))
	}
	in.lines = append(in.lines, line)
	if obj != nil {
		in.objs = append(in.objs, obj)
	}
}

func (in *inputs) readLines(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		in.add(strings.TrimSuffix(sc.Text(), "\r"), nil)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("input: %w", err)
	}
	return nil
}

func (in *inputs) readJSONL(r io.Reader, field string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return fmt.Errorf("input line %d: %w", n, err)
		}
		var text string
		raw, ok := obj[field]
		if !ok {
			return fmt.Errorf("input line %d: no %q key (--field)", n, field)
		}
		if err := json.Unmarshal(raw, &text); err != nil {
			return fmt.Errorf("input line %d: %q is not a string", n, field)
		}
		if strings.TrimSpace(text) == "" {
			return fmt.Errorf("input line %d: empty %q", n, field)
		}
		in.add(text, obj)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if len(in.lines) == 0 {
		return errors.New("input: no JSON objects")
	}
	return nil
}

// flush writes the empty lines before line upto (exclusive).
func (in *inputs) flush(w io.Writer, key string, upto int) error {
	for ; in.printed < upto; in.printed++ {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	return nil
}

// resultPrinter prints results in input order as they arrive, streaming
// the text of the source it is about to print.
type resultPrinter struct {
	in       *inputs
	w        io.Writer
	key      string
	jsonl    bool
	next     int    // the source to print next
	streamed string // what was streamed of it
	started  bool
	err      error
}

func (p *resultPrinter) write(s string) {
	if p.err == nil {
		_, p.err = io.WriteString(p.w, s)
	}
}

// collapseSpace keeps a result on its line: whitespace runs as one space,
// none at the ends.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func (p *resultPrinter) text(i int, piece string) {
	if p.jsonl || i != p.next || p.err != nil {
		return
	}
	if !p.started {
		if p.err = p.in.flush(p.w, p.key, p.in.pos[i]); p.err != nil {
			return
		}
		p.started = true
	}
	// Whitespace as collapseSpace leaves it, across pieces.
	var b strings.Builder
	space := p.streamed == "" || strings.HasSuffix(p.streamed, " ")
	for _, r := range piece {
		if unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		b.WriteRune(r)
		space = false
	}
	p.streamed += b.String()
	p.write(b.String())
}

func (p *resultPrinter) result(i int, r text2text.Result) {
	if p.err != nil {
		return
	}
	if p.err = p.in.flush(p.w, p.key, p.in.pos[i]); p.err != nil {
		return
	}
	text := collapseSpace(r.Text)
	streamed := strings.TrimRight(p.streamed, " ")
	switch {
	case p.jsonl:
		obj := p.in.objs[p.in.pos[i]]
		b, _ := json.Marshal(r.Text)
		obj[p.key] = b
		out, err := json.Marshal(obj)
		if err != nil {
			p.err = err
			return
		}
		p.write(string(out) + "\n")
	case p.started && strings.HasPrefix(text, streamed):
		p.write(text[len(streamed):] + "\n")
	case p.started: // not expected: the pieces add up to the text
		p.write("\n" + text + "\n")
	default:
		p.write(text + "\n")
	}
	p.in.printed = p.in.pos[i] + 1
	p.next, p.streamed, p.started = i+1, "", false
}
