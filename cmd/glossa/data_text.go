package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

const dataTextUsage = `Usage: glossa data text [column flags] [--out FILE] FILE...

Writes the text column of labelled TSV, CSV or JSONL files as a plain-text
corpus, one text per line (a pair column, when chosen, on the next line of
the same document), so that labelled data can feed pretraining without its
labels. Files are separated by a blank line (the end of a document for
"glossa pretrain"); --doc-lines N also closes a document every N lines.

Example (SST-2's training sentences as an unlabelled corpus):
  glossa data text --dedupe --min-words 4 --out runs/corpus/sst2.txt ../shared/data/sst2/train.tsv`

// runDataText implements "glossa data text".
func runDataText(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data text", stderr)
	var lf labeledFlags
	lf.register(fs)
	out := fs.String("out", "", "output file, written atomically (default: standard output)")
	dedupe := fs.Bool("dedupe", false, "write each distinct text once")
	minWords := fs.Int("min-words", 0, "skip texts with fewer space-separated words")
	docLines := fs.Int("doc-lines", 0, "close a document (blank line) every N lines (0: one document per file)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, dataTextUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: data text needs at least one labelled file", errUsage)
	}
	if *docLines < 0 || *minWords < 0 {
		return fmt.Errorf("%w: --doc-lines and --min-words must not be negative", errUsage)
	}
	opts, err := lf.options()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		seen := map[string]bool{}
		var kept, dropped int
		for i, path := range fs.Args() {
			if err := ctx.Err(); err != nil {
				return err
			}
			d, err := readLabeled(path, opts, logger)
			if err != nil {
				return err
			}
			if i > 0 {
				bw.WriteByte('\n')
			}
			inDoc := 0
			for _, ex := range d.Examples {
				text := oneLine(ex.Text)
				if len(strings.Fields(text)) < *minWords || (*dedupe && seen[text+"\x00"+ex.Pair]) {
					dropped++
					continue
				}
				if *dedupe {
					seen[text+"\x00"+ex.Pair] = true
				}
				if *docLines > 0 && inDoc == *docLines {
					bw.WriteByte('\n')
					inDoc = 0
				}
				bw.WriteString(text)
				bw.WriteByte('\n')
				if ex.Pair != "" {
					bw.WriteString(oneLine(ex.Pair))
					bw.WriteByte('\n')
				}
				inDoc++
				kept++
			}
		}
		if kept == 0 {
			return fmt.Errorf("data text: no text left (%d dropped by --dedupe/--min-words)", dropped)
		}
		logger.Info("data text", "texts", kept, "dropped", dropped)
		return bw.Flush()
	}
	if *out == "" {
		return write(stdout)
	}
	return writeFileAtomic(*out, write)
}

// oneLine trims s and turns its line breaks into spaces, so that one text
// stays one corpus line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return s
}
