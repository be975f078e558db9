package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/auto"
)

// maxJSONLLine bounds one input line of "glossa tokenize --jsonl".
const maxJSONLLine = 8 << 20

// jsonlBatch is how many JSONL inputs are encoded together (in parallel).
const jsonlBatch = 256

// runTokenize implements "glossa tokenize".
func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", stderr)
	path := fs.String("tokenizer", "", "tokenizer folder or file (tokenizer.json, vocab.txt, encoder.json, tokenizer.model, tokenizer.bin, model.gguf)")
	pair := fs.String("pair", "", "second text of a pair (BERT's sentence B)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	jsonl := fs.Bool("jsonl", false, `read {"text": ..., "text_pair": ...} lines on stdin, write one {"ids","tokens","offsets"} line each`)
	showTokens := fs.Bool("tokens", false, "print the tokens")
	showOffsets := fs.Bool("offsets", false, "print the byte offsets [start, end) of each token")
	special := fs.Bool("special", false, "turn special-token text in the input (<|endoftext|>, [MASK]) into special tokens instead of plain text")
	noTemplate := fs.Bool("no-template", false, "leave out the template's special tokens ([CLS], [SEP], <s>)")
	input := fs.String("input", "-", "with --jsonl: the file to read (-: stdin)")
	maxLen := fs.Int("max-length", 0, "truncate to this many tokens, specials included (0: no limit)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa tokenize --tokenizer PATH [--pair TEXT] [--json] [--tokens] [--offsets] [--special] TEXT")
		fmt.Fprintln(stderr, "       glossa tokenize --tokenizer PATH --jsonl [--input FILE] < inputs.jsonl")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	pairSet := false
	fs.Visit(func(f *flag.Flag) { pairSet = pairSet || f.Name == "pair" })
	switch {
	case *path == "":
		return fmt.Errorf("%w: --tokenizer is required", errUsage)
	case *jsonl && fs.NArg() > 0:
		return fmt.Errorf("%w: --jsonl reads stdin and takes no TEXT", errUsage)
	case !*jsonl && fs.NArg() != 1:
		return fmt.Errorf("%w: want exactly one TEXT argument (quote it), got %d", errUsage, fs.NArg())
	case *maxLen < 0:
		return fmt.Errorf("%w: --max-length must not be negative", errUsage)
	}
	tok, err := auto.Load(*path)
	if err != nil {
		return err
	}
	opts := tok.Options()
	opts.SpecialAsText = !*special
	opts.SkipTemplate = *noTemplate
	if *maxLen > 0 {
		opts.Truncation.MaxLength = *maxLen
	}
	if tok, err = tok.WithOptions(opts); err != nil {
		return err
	}
	if *jsonl {
		if *input == "-" {
			return tokenizeJSONL(ctx, tok, os.Stdin, "stdin", stdout)
		}
		f, err := os.Open(*input)
		if err != nil {
			return err
		}
		defer f.Close()
		return tokenizeJSONL(ctx, tok, f, *input, stdout)
	}
	var enc tokenizer.Encoding
	if pairSet {
		enc, err = tok.EncodePair(fs.Arg(0), *pair)
	} else {
		enc, err = tok.Encode(fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			IDs     []int    `json:"ids"`
			TypeIDs []int    `json:"type_ids,omitempty"`
			Tokens  []string `json:"tokens,omitempty"`
			Offsets [][2]int `json:"offsets,omitempty"`
		}{IDs: enc.IDs}
		if pairSet {
			out.TypeIDs = enc.TypeIDs
		}
		if *showTokens {
			out.Tokens = enc.Tokens
		}
		if *showOffsets {
			out.Offsets = enc.Offsets
		}
		je := json.NewEncoder(stdout)
		je.SetEscapeHTML(false)
		return je.Encode(out)
	}
	if !*showTokens && !*showOffsets {
		ids := make([]string, len(enc.IDs))
		for i, id := range enc.IDs {
			ids[i] = strconv.Itoa(id)
		}
		_, err := fmt.Fprintln(stdout, strings.Join(ids, " "))
		return err
	}
	// One token per line: id, token, offsets.
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	for i, id := range enc.IDs {
		fmt.Fprintf(tw, "%d", id)
		if *showTokens {
			fmt.Fprintf(tw, "\t%q", enc.Tokens[i])
		}
		if *showOffsets {
			fmt.Fprintf(tw, "\t%d:%d", enc.Offsets[i][0], enc.Offsets[i][1])
		}
		if pairSet {
			fmt.Fprintf(tw, "\ttype=%d", enc.TypeIDs[i])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// jsonlInput is one line of --jsonl input; a text_pair that is present
// (even "") makes the line a pair.
type jsonlInput struct {
	Text     *string `json:"text"`
	TextPair *string `json:"text_pair"`
}

// tokenizeJSONL encodes JSON lines from r in batches, writing results in
// input order. Blank lines are skipped.
func tokenizeJSONL(ctx context.Context, tok *tokenizer.Tokenizer, r io.Reader, name string, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	bw := bufio.NewWriter(w)
	var texts, pairs []string
	var isPair []bool
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Singles and pairs are encoded as two parallel batches and
		// written back in input order.
		var st, pt, pp []string
		for i := range texts {
			if isPair[i] {
				pt, pp = append(pt, texts[i]), append(pp, pairs[i])
			} else {
				st = append(st, texts[i])
			}
		}
		singles, err := tok.EncodeBatch(st)
		if err != nil {
			return err
		}
		paired, err := tok.EncodePairBatch(pt, pp)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for i := range texts {
			var e tokenizer.Encoding
			if isPair[i] {
				e, paired = paired[0], paired[1:]
			} else {
				e, singles = singles[0], singles[1:]
			}
			if err := enc.Encode(struct {
				IDs     []int    `json:"ids"`
				Tokens  []string `json:"tokens"`
				Offsets [][2]int `json:"offsets"`
			}{e.IDs, e.Tokens, e.Offsets}); err != nil {
				return err
			}
		}
		texts, pairs, isPair = texts[:0], pairs[:0], isPair[:0]
		return nil
	}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var in jsonlInput
		if err := json.Unmarshal(b, &in); err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		if in.Text == nil {
			return fmt.Errorf("%s line %d: no \"text\" field", name, line)
		}
		texts = append(texts, *in.Text)
		isPair = append(isPair, in.TextPair != nil)
		p := ""
		if in.TextPair != nil {
			p = *in.TextPair
		}
		pairs = append(pairs, p)
		if len(texts) == jsonlBatch {
			if err := flush(); err != nil {
				return fmt.Errorf("%s before line %d: %w", name, line+1, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s line %d: longer than %d bytes", name, line+1, maxJSONLLine)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// progress draws one progress bar per training stage on stderr.
type progress struct {
	w     io.Writer
	quiet bool
	stage string
	bar   *progressbar.ProgressBar
}

func newProgress(w io.Writer, quiet bool) *progress { return &progress{w: w, quiet: quiet} }

func (p *progress) update(stage string, done, total int64) {
	if p.quiet {
		return
	}
	if stage != p.stage || p.bar == nil {
		p.finish()
		p.stage = stage
		desc := map[string]string{"count": "counting words", "merge": "merging pairs"}[stage]
		if desc == "" {
			desc = stage
		}
		if total <= 0 {
			total = -1 // unknown: a spinner
		}
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(desc),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100_000_000),
			progressbar.OptionShowCount(), progressbar.OptionSetRenderBlankState(true),
		}
		if stage == "count" {
			opts = append(opts, progressbar.OptionShowBytes(true))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
	}
	if total > 0 && p.bar.GetMax64() != total {
		p.bar.ChangeMax64(total)
	}
	p.bar.Set64(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}

// writeFileAtomic writes path through a temporary file in the same folder
// and a rename, so readers never see a partial file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, write)
}

// flagError marks a flag parsing error as a usage error (exit status 2).
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}
