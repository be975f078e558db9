package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Format is a labelled-data file format.
type Format uint8

const (
	// FormatAuto picks the format from the file extension (.tsv, .csv,
	// .jsonl/.ndjson/.json, optionally followed by .gz); unknown
	// extensions are an error.
	FormatAuto Format = iota
	// FormatTSV: tab-separated fields, one row per line, no quoting (the
	// GLUE layout).
	FormatTSV
	// FormatCSV: RFC 4180 comma-separated values with quoting.
	FormatCSV
	// FormatJSONL: one JSON object per line; columns are keys.
	FormatJSONL
)

// String returns the flag spelling of f.
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatTSV:
		return "tsv"
	case FormatCSV:
		return "csv"
	case FormatJSONL:
		return "jsonl"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// ParseFormat parses "auto", "tsv", "csv" or "jsonl".
func ParseFormat(s string) (Format, error) {
	for _, f := range []Format{FormatAuto, FormatTSV, FormatCSV, FormatJSONL} {
		if s == f.String() {
			return f, nil
		}
	}
	return 0, fmt.Errorf("data: unknown format %q (want auto, tsv, csv or jsonl)", s)
}

// HeaderMode says whether a TSV/CSV file starts with a header row.
type HeaderMode uint8

const (
	// HeaderAuto: a header is present exactly when some column is
	// selected by name (or left to its default name).
	HeaderAuto HeaderMode = iota
	// HeaderPresent: the first row names the columns.
	HeaderPresent
	// HeaderAbsent: every row is data; columns must be selected by index.
	HeaderAbsent
)

// LabeledOptions select the columns of a labelled file. A column is a
// name (looked up in the header row, or the key of a JSONL object) or a
// 0-based decimal index (TSV/CSV).
type LabeledOptions struct {
	// Format of the file; FormatAuto uses the extension.
	Format Format
	// TextColumn holds the text; "" means the first of "sentence",
	// "text", "sentence1" that exists (header/JSONL), or index 0.
	TextColumn string
	// PairColumn holds the second text of a pair task; "" means none.
	PairColumn string
	// LabelColumn holds the label; "" means "label" (header/JSONL) or
	// the last column.
	LabelColumn string
	// Header says whether TSV/CSV files have a header row.
	Header HeaderMode
	// Strict makes a malformed row an error; otherwise malformed rows are
	// skipped and counted in LabeledData.Skipped.
	Strict bool
	// MaxLineBytes bounds one line (TSV, JSONL); zero means
	// DefaultMaxLineBytes.
	MaxLineBytes int
}

// Example is one labelled example.
type Example struct {
	Text  string // the (first) text
	Pair  string // second text for pair tasks, else ""
	Label string // the label as written in the file
	Line  int    // 1-based line number in the file
}

// LabeledData is the content of one labelled file.
type LabeledData struct {
	Path     string    // the file read (the name given to ParseLabeled)
	Examples []Example // the examples kept, in file order
	// Skipped counts malformed rows that were skipped (never with
	// Strict); SkipReasons holds the first few reasons with line numbers.
	Skipped     int
	SkipReasons []string
}

// ErrMalformedRow is wrapped by errors about a bad row.
var ErrMalformedRow = errors.New("malformed row")

// ReadLabeled reads a labelled TSV, CSV or JSONL file (gzip if the name
// ends in .gz). An empty file, a file with no valid row, or a missing
// column are errors; malformed rows are errors with Strict and skipped
// and counted otherwise.
func ReadLabeled(path string, opts LabeledOptions) (*LabeledData, error) {
	if opts.Format == FormatAuto {
		name := strings.TrimSuffix(strings.ToLower(path), ".gz")
		switch {
		case strings.HasSuffix(name, ".tsv"):
			opts.Format = FormatTSV
		case strings.HasSuffix(name, ".csv"):
			opts.Format = FormatCSV
		case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"), strings.HasSuffix(name, ".json"):
			opts.Format = FormatJSONL
		default:
			return nil, fmt.Errorf("data: %s: cannot tell the format from the extension (want .tsv, .csv or .jsonl)", path)
		}
	}
	r, closeFile, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer closeFile()
	return ParseLabeled(r, path, opts)
}

// openMaybeGzip opens path, decompressing it when its name ends in .gz;
// closeFile closes both.
func openMaybeGzip(path string) (r io.Reader, closeFile func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}

// ParseLabeled reads labelled data from r; name is used in messages.
// opts.Format must not be FormatAuto.
func ParseLabeled(r io.Reader, name string, opts LabeledOptions) (*LabeledData, error) {
	p := &labelParser{name: name, opts: opts, d: &LabeledData{Path: name}}
	var err error
	switch opts.Format {
	case FormatTSV:
		err = p.readTSV(r)
	case FormatCSV:
		err = p.readCSV(r)
	case FormatJSONL:
		err = p.readJSONL(r)
	default:
		err = fmt.Errorf("data: %s: format %v must be tsv, csv or jsonl", name, opts.Format)
	}
	if err != nil {
		return nil, err
	}
	if p.rows == 0 {
		return nil, fmt.Errorf("data: %s: empty file (no data rows)", name)
	}
	if len(p.d.Examples) == 0 {
		return nil, fmt.Errorf("data: %s: no valid rows (%d malformed; first: %s)", name, p.d.Skipped, p.d.SkipReasons[0])
	}
	return p.d, nil
}

type labelParser struct {
	name string
	opts LabeledOptions
	d    *LabeledData
	rows int // data rows seen, valid or not
	// column indices for TSV/CSV, resolved from the header or the options
	text, pair, label int
	resolved          bool
}

// bad records a malformed row: an error with Strict, else a skip.
func (p *labelParser) bad(line int, format string, args ...any) error {
	msg := fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, args...))
	if p.opts.Strict {
		return fmt.Errorf("data: %s: %w: %s", p.name, ErrMalformedRow, msg)
	}
	p.d.Skipped++
	if len(p.d.SkipReasons) < 5 {
		p.d.SkipReasons = append(p.d.SkipReasons, msg)
	}
	return nil
}

func (p *labelParser) hasHeader() bool {
	switch p.opts.Header {
	case HeaderPresent:
		return true
	case HeaderAbsent:
		return false
	}
	for _, c := range []string{p.opts.TextColumn, p.opts.PairColumn, p.opts.LabelColumn} {
		if c != "" && !isIndex(c) {
			return true
		}
	}
	// Defaults are names unless every given column is an index.
	return p.opts.TextColumn == "" || p.opts.LabelColumn == ""
}

func isIndex(s string) bool {
	_, err := strconv.ParseUint(s, 10, 31)
	return err == nil
}

// resolve fixes the column indices from the header (nil for none).
func (p *labelParser) resolve(header []string) error {
	find := func(col string, defaults []string, fallback int, what string) (int, error) {
		if col == "" {
			if header == nil {
				return fallback, nil
			}
			for _, d := range defaults {
				if i := slices.Index(header, d); i >= 0 {
					return i, nil
				}
			}
			return 0, fmt.Errorf("data: %s: no %s column (header %q; looked for %q)", p.name, what, header, defaults)
		}
		if header != nil {
			if i := slices.Index(header, col); i >= 0 {
				return i, nil
			}
		}
		if isIndex(col) {
			return strconv.Atoi(col)
		}
		return 0, fmt.Errorf("data: %s: no %s column %q (header %q)", p.name, what, col, header)
	}
	var err error
	if p.text, err = find(p.opts.TextColumn, []string{"sentence", "text", "sentence1"}, 0, "text"); err != nil {
		return err
	}
	if p.label, err = find(p.opts.LabelColumn, []string{"label"}, -1, "label"); err != nil {
		return err
	}
	p.pair = -1
	if p.opts.PairColumn != "" {
		if p.pair, err = find(p.opts.PairColumn, nil, 0, "pair"); err != nil {
			return err
		}
	}
	p.resolved = true
	return nil
}

// addRecord turns the fields of one row into an example.
func (p *labelParser) addRecord(line int, fields []string) error {
	p.rows++
	label := p.label
	if label < 0 {
		label = len(fields) - 1
	}
	need := max(p.text, p.pair, label) + 1
	if len(fields) < need || len(fields) < 2 {
		return p.bad(line, "%d fields, need at least %d", len(fields), max(need, 2))
	}
	ex := Example{Text: fields[p.text], Label: strings.TrimSpace(fields[label]), Line: line}
	if p.pair >= 0 {
		ex.Pair = fields[p.pair]
	}
	if strings.TrimSpace(ex.Text) == "" {
		return p.bad(line, "empty text")
	}
	if ex.Label == "" {
		return p.bad(line, "empty label")
	}
	p.d.Examples = append(p.d.Examples, ex)
	return nil
}

func (p *labelParser) lineReader(r io.Reader) (*bufio.Reader, int) {
	maxLen := p.opts.MaxLineBytes
	if maxLen <= 0 {
		maxLen = DefaultMaxLineBytes
	}
	return bufio.NewReaderSize(r, min(64<<10, maxLen+2)), maxLen
}

func (p *labelParser) readTSV(r io.Reader) error {
	br, maxLen := p.lineReader(r)
	header := p.hasHeader()
	var buf []byte
	for num := 1; ; num++ {
		line, n, tooLong, err := readLine(br, buf[:0], maxLen)
		buf = line[:0]
		if err != nil && err != io.EOF {
			return fmt.Errorf("data: %s:%d: %w", p.name, num, err)
		}
		if n == 0 && err == io.EOF {
			return nil
		}
		if num == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		switch {
		case tooLong:
			p.rows++
			if e := p.bad(num, "longer than %d bytes", maxLen); e != nil {
				return e
			}
		case len(bytes.TrimSpace(line)) == 0:
			// blank lines are not rows
		case !p.resolved:
			var hdr []string
			if header {
				hdr = strings.Split(string(line), "\t")
				for i := range hdr {
					hdr[i] = strings.TrimSpace(hdr[i])
				}
			}
			if e := p.resolve(hdr); e != nil {
				return e
			}
			if !header {
				if e := p.addRecord(num, strings.Split(string(line), "\t")); e != nil {
					return e
				}
			}
		default:
			if e := p.addRecord(num, strings.Split(string(line), "\t")); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func (p *labelParser) readCSV(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header := p.hasHeader()
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				p.rows++
				if e := p.bad(pe.StartLine, "%v", pe.Err); e != nil {
					return e
				}
				continue
			}
			return fmt.Errorf("data: %s: %w", p.name, err)
		}
		if len(rec) == 0 || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		line, _ := cr.FieldPos(0)
		if !p.resolved {
			var hdr []string
			if header {
				hdr = make([]string, len(rec))
				for i, h := range rec {
					hdr[i] = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
				}
			}
			if e := p.resolve(hdr); e != nil {
				return e
			}
			if header {
				continue
			}
		}
		if e := p.addRecord(line, rec); e != nil {
			return e
		}
	}
}

func (p *labelParser) readJSONL(r io.Reader) error {
	br, maxLen := p.lineReader(r)
	textKey, labelKey := p.opts.TextColumn, p.opts.LabelColumn
	if labelKey == "" {
		labelKey = "label"
	}
	var buf []byte
	for num := 1; ; num++ {
		line, n, tooLong, err := readLine(br, buf[:0], maxLen)
		buf = line[:0]
		if err != nil && err != io.EOF {
			return fmt.Errorf("data: %s:%d: %w", p.name, num, err)
		}
		if n == 0 && err == io.EOF {
			return nil
		}
		if num == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		if tooLong {
			p.rows++
			if e := p.bad(num, "longer than %d bytes", maxLen); e != nil {
				return e
			}
		} else if len(bytes.TrimSpace(line)) > 0 {
			p.rows++
			if e := p.jsonRow(num, line, textKey, labelKey); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func (p *labelParser) jsonRow(num int, line []byte, textKey, labelKey string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return p.bad(num, "invalid JSON: %v", err)
	}
	if textKey == "" {
		for _, k := range []string{"sentence", "text", "sentence1"} {
			if _, ok := obj[k]; ok {
				textKey = k
				break
			}
		}
		if textKey == "" {
			return p.bad(num, "no text key (looked for sentence, text, sentence1)")
		}
	}
	get := func(key string) (string, error) {
		raw, ok := obj[key]
		if !ok {
			return "", fmt.Errorf("missing key %q", key)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, nil
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' || raw[0] == 't' || raw[0] == 'f') {
			return string(raw), nil // number or boolean, kept as written
		}
		return "", fmt.Errorf("key %q is not a string, number or boolean", key)
	}
	ex := Example{Line: num}
	var err error
	if ex.Text, err = get(textKey); err != nil {
		return p.bad(num, "%v", err)
	}
	if ex.Label, err = get(labelKey); err != nil {
		return p.bad(num, "%v", err)
	}
	if p.opts.PairColumn != "" {
		if ex.Pair, err = get(p.opts.PairColumn); err != nil {
			return p.bad(num, "%v", err)
		}
	}
	ex.Label = strings.TrimSpace(ex.Label)
	if strings.TrimSpace(ex.Text) == "" {
		return p.bad(num, "empty text")
	}
	if ex.Label == "" {
		return p.bad(num, "empty label")
	}
	p.d.Examples = append(p.d.Examples, ex)
	return nil
}

// LabelMap maps label strings to class ids 0..N-1 and back.
type LabelMap struct {
	labels []string
	ids    map[string]int
}

// NewLabelMap builds the map from the labels of examples (the training
// split): labels sorted numerically when all are integers ("0" < "1" <
// "10"), else lexically, so the mapping is stable across runs.
func NewLabelMap(examples []Example) (*LabelMap, error) {
	set := map[string]bool{}
	for _, e := range examples {
		set[e.Label] = true
	}
	labels := make([]string, 0, len(set))
	numeric := true
	for l := range set {
		labels = append(labels, l)
		if _, err := strconv.ParseInt(l, 10, 64); err != nil {
			numeric = false
		}
	}
	if numeric {
		sort.Slice(labels, func(i, j int) bool {
			a, _ := strconv.ParseInt(labels[i], 10, 64)
			b, _ := strconv.ParseInt(labels[j], 10, 64)
			return a < b
		})
	} else {
		sort.Strings(labels)
	}
	return LabelMapOf(labels)
}

// LabelMapOf builds the map with label i ↦ id i (e.g. from a saved
// model's id2label). Empty or duplicate labels are an error; fewer than
// two labels is an error too.
func LabelMapOf(labels []string) (*LabelMap, error) {
	if len(labels) < 2 {
		return nil, fmt.Errorf("data: need at least 2 distinct labels, have %q", labels)
	}
	m := &LabelMap{labels: slices.Clone(labels), ids: make(map[string]int, len(labels))}
	for i, l := range labels {
		if l == "" {
			return nil, fmt.Errorf("data: label %d is empty", i)
		}
		if _, dup := m.ids[l]; dup {
			return nil, fmt.Errorf("data: duplicate label %q", l)
		}
		m.ids[l] = i
	}
	return m, nil
}

// Len returns the number of classes.
func (m *LabelMap) Len() int { return len(m.labels) }

// Labels returns the labels in id order (id2label).
func (m *LabelMap) Labels() []string { return slices.Clone(m.labels) }

// ID returns the id of label.
func (m *LabelMap) ID(label string) (int, bool) {
	id, ok := m.ids[label]
	return id, ok
}

// Label returns the label of id, or "" when out of range.
func (m *LabelMap) Label(id int) string {
	if id < 0 || id >= len(m.labels) {
		return ""
	}
	return m.labels[id]
}

// IDs maps the labels of d to ids. A label not in the map is an error
// naming the file and line (e.g. a dev label unseen in training).
func (m *LabelMap) IDs(d *LabeledData) ([]int, error) {
	out := make([]int, len(d.Examples))
	for i, e := range d.Examples {
		id, ok := m.ids[e.Label]
		if !ok {
			return nil, fmt.Errorf("data: %s:%d: unknown label %q (known: %q)", d.Path, e.Line, e.Label, m.labels)
		}
		out[i] = id
	}
	return out, nil
}

// ID2Label returns the Hugging Face config form {"0": label0, ...}.
func (m *LabelMap) ID2Label() map[string]string {
	out := make(map[string]string, len(m.labels))
	for i, l := range m.labels {
		out[strconv.Itoa(i)] = l
	}
	return out
}

// Label2ID returns the Hugging Face config form {label0: 0, ...}.
func (m *LabelMap) Label2ID() map[string]int {
	out := make(map[string]int, len(m.labels))
	for i, l := range m.labels {
		out[l] = i
	}
	return out
}
