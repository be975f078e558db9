package text2text

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/glossa-ai/glossa/data"
)

// Example is one evaluation example: a source and its references.
type Example struct {
	Source string
	Refs   []string
	Line   int // 1-based line (row) of the source in its file
}

// ReadOptions select the fields of a structured (JSONL, CSV, TSV) file.
type ReadOptions struct {
	// SourceField names the source column: a JSONL key, a CSV/TSV header
	// name, or a 0-based column index. "": "source".
	SourceField string
	// RefFields name the reference columns, one per reference (DialogSum's
	// test set has summary1, summary2, summary3). Empty: {"target"}.
	RefFields []string
	// Header says whether CSV/TSV files have a header row (zero: when some
	// field is a name).
	Header data.HeaderMode
}

// maxLine bounds one line of a plain-text file.
const maxLine = 1 << 20

// ReadExamples reads evaluation data from spec, which is either
//
//   - one structured file, .jsonl (.json, .ndjson), .csv or .tsv, optionally
//     .gz, whose rows give the source and reference fields of opts; or
//   - SRC:REF[:REF2…], plain-text files with one segment per line, aligned
//     line by line (sacreBLEU's layout; .gz is read as gzip). Every line is
//     an example, so the files must have the same number of lines.
//
// A missing field, an empty source or an empty reference is an error with
// its line number. opts may be nil.
func ReadExamples(spec string, opts *ReadOptions) ([]Example, error) {
	if opts == nil {
		opts = &ReadOptions{}
	}
	if st, err := os.Stat(spec); err == nil && !st.IsDir() {
		return readStructured(spec, opts)
	}
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		_, err := os.Stat(spec)
		return nil, fmt.Errorf("text2text: %w (want a .jsonl/.csv/.tsv file or SRC:REF text files)", err)
	}
	var cols [][]string
	for _, p := range parts {
		lines, err := ReadLines(p)
		if err != nil {
			return nil, err
		}
		if len(cols) > 0 && len(lines) != len(cols[0]) {
			return nil, fmt.Errorf("text2text: %s has %d lines, %s %d", p, len(lines), parts[0], len(cols[0]))
		}
		cols = append(cols, lines)
	}
	if len(cols[0]) == 0 {
		return nil, fmt.Errorf("text2text: %s is empty", parts[0])
	}
	out := make([]Example, len(cols[0]))
	for i := range out {
		out[i] = Example{Source: cols[0][i], Line: i + 1}
		if strings.TrimSpace(out[i].Source) == "" {
			return nil, fmt.Errorf("text2text: %s:%d: empty source", parts[0], i+1)
		}
		for k, c := range cols[1:] {
			if strings.TrimSpace(c[i]) == "" {
				return nil, fmt.Errorf("text2text: %s:%d: empty reference", parts[k+1], i+1)
			}
			out[i].Refs = append(out[i].Refs, c[i])
		}
	}
	return out, nil
}

// ReadLines reads a text file (gzip when named .gz) as lines without their
// "\n" or "\r\n", empty lines included.
func ReadLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("text2text: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("text2text: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("text2text: %s:%d: a line longer than %d bytes", path, len(lines)+1, maxLine)
		}
		return nil, fmt.Errorf("text2text: %s: %w", path, err)
	}
	return lines, nil
}

// readStructured reads one JSONL/CSV/TSV file, once per reference field
// (strictly, so that rows stay aligned).
func readStructured(path string, opts *ReadOptions) ([]Example, error) {
	src := opts.SourceField
	if src == "" {
		src = "source"
	}
	refs := opts.RefFields
	if len(refs) == 0 {
		refs = []string{"target"}
	}
	var out []Example
	for k, ref := range refs {
		d, err := data.ReadLabeled(path, data.LabeledOptions{TextColumn: src, LabelColumn: ref, Header: opts.Header, Strict: true})
		if err != nil {
			return nil, fmt.Errorf("text2text: %w", err)
		}
		if k == 0 {
			out = make([]Example, len(d.Examples))
			for i, e := range d.Examples {
				out[i] = Example{Source: e.Text, Line: e.Line}
			}
		}
		for i, e := range d.Examples {
			out[i].Refs = append(out[i].Refs, e.Label)
		}
	}
	return out, nil
}
