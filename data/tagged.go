package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Tagged data: sentences whose words each carry a tag, as named-entity
// recognition and chunking use them. Two formats:
//
//   - CoNLL: one word per line, whitespace-separated columns whose first is
//     the word and last the tag (CoNLL-2003: "EU NNP B-NP B-ORG"), a blank
//     line between sentences, "-DOCSTART-" lines between documents. Every
//     word line has the same number of columns (at least two), as the
//     shared task's conlleval script requires.
//   - JSONL: one sentence per line, {"tokens": [...], "ner_tags": [...]}
//     as Hugging Face datasets export it; tags are strings, or integers
//     naming TaggedOptions.TagNames (a ClassLabel's names).

// TaggedFormat is the format of a tagged file.
type TaggedFormat uint8

// The tagged formats.
const (
	TaggedAuto  TaggedFormat = iota // by extension: .jsonl/.json/.ndjson is JSONL, anything else CoNLL
	TaggedCoNLL                     // CoNLL columns
	TaggedJSONL                     // JSON lines with tokens and tags
)

// ParseTaggedFormat parses "auto", "conll" or "jsonl".
func ParseTaggedFormat(s string) (TaggedFormat, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return TaggedAuto, nil
	case "conll":
		return TaggedCoNLL, nil
	case "jsonl", "json":
		return TaggedJSONL, nil
	}
	return 0, fmt.Errorf("data: tagged format %q: want auto, conll or jsonl", s)
}

// TaggedOptions configure ReadTagged and ParseTagged. The zero value reads
// CoNLL or JSONL by extension with Hugging Face's key names.
type TaggedOptions struct {
	Format TaggedFormat
	// WordsKey and TagsKey name the JSONL fields (zero: "tokens" and
	// "ner_tags").
	WordsKey, TagsKey string
	// TagNames names integer JSONL tags: tag i is TagNames[i]. Nil makes an
	// integer tag an error.
	TagNames []string
	// MaxLineBytes bounds one line (zero: DefaultMaxLineBytes); MaxWords
	// one sentence (zero: 10,000 words).
	MaxLineBytes, MaxWords int
}

// TaggedSentence is one sentence: its words and their tags (same length,
// at least one word).
type TaggedSentence struct {
	Words, Tags []string
	Line        int // 1-based line of its first word (CoNLL) or of its object (JSONL)
}

// TaggedData is the content of a tagged file.
type TaggedData struct {
	Path      string // the name given to ParseTagged
	Sentences []TaggedSentence
	Documents int // "-DOCSTART-" lines seen (CoNLL)
}

// Tags returns the distinct tags of the sentences, sorted (Hugging Face's
// run_ner label order for string tags).
func (d *TaggedData) Tags() []string {
	set := map[string]bool{}
	for _, s := range d.Sentences {
		for _, t := range s.Tags {
			set[t] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Words returns the number of words in the sentences.
func (d *TaggedData) Words() int {
	n := 0
	for _, s := range d.Sentences {
		n += len(s.Words)
	}
	return n
}

// ReadTagged reads a tagged file (gzip when the name ends in .gz). A
// malformed line is an error naming the file and line; so is a file
// without a sentence.
func ReadTagged(path string, opts *TaggedOptions) (*TaggedData, error) {
	o := TaggedOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Format == TaggedAuto {
		o.Format = TaggedCoNLL
		name := strings.TrimSuffix(strings.ToLower(path), ".gz")
		if strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".ndjson") {
			o.Format = TaggedJSONL
		}
	}
	r, closeFile, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer closeFile()
	return ParseTagged(r, path, &o)
}

// ParseTagged reads tagged data from r; name is used in messages.
// opts.Format TaggedAuto means CoNLL.
func ParseTagged(r io.Reader, name string, opts *TaggedOptions) (*TaggedData, error) {
	o := TaggedOptions{}
	if opts != nil {
		o = *opts
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxWords <= 0 {
		o.MaxWords = 10_000
	}
	if o.WordsKey == "" {
		o.WordsKey = "tokens"
	}
	if o.TagsKey == "" {
		o.TagsKey = "ner_tags"
	}
	p := &taggedParser{name: name, opts: o, d: &TaggedData{Path: name}}
	br := newLineReader(r, o.MaxLineBytes)
	var err error
	if o.Format == TaggedJSONL {
		err = p.readJSONL(br)
	} else {
		err = p.readCoNLL(br)
	}
	if err != nil {
		return nil, err
	}
	if len(p.d.Sentences) == 0 {
		return nil, fmt.Errorf("data: %s: no sentence", name)
	}
	return p.d, nil
}

type taggedParser struct {
	name string
	opts TaggedOptions
	d    *TaggedData
}

func (p *taggedParser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("data: %s:%d: %s", p.name, line, fmt.Sprintf(format, args...))
}

// lines calls fn with each line (terminator and a first-line BOM removed) and its
// 1-based number.
func (p *taggedParser) lines(br *lineReader, fn func(num int, line []byte) error) error {
	for num := 1; ; num++ {
		line, n, tooLong, err := br.next()
		if err != nil && err != io.EOF {
			return p.errorf(num, "%v", err)
		}
		if n == 0 && err == io.EOF {
			return nil
		}
		if tooLong {
			return p.errorf(num, "line longer than %d bytes", p.opts.MaxLineBytes)
		}
		if num == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		if e := fn(num, line); e != nil {
			return e
		}
		if err == io.EOF {
			return nil
		}
	}
}

func (p *taggedParser) readCoNLL(br *lineReader) error {
	var cur TaggedSentence
	columns := 0
	flush := func() {
		if len(cur.Words) > 0 {
			p.d.Sentences = append(p.d.Sentences, cur)
		}
		cur = TaggedSentence{}
	}
	err := p.lines(br, func(num int, line []byte) error {
		fields := strings.Fields(string(line))
		switch {
		case len(fields) == 0:
			flush()
			return nil
		case fields[0] == "-DOCSTART-":
			flush()
			p.d.Documents++
			return nil
		case len(fields) < 2:
			return p.errorf(num, "%q has %d column, want a word and a tag (CoNLL: word ... tag, a blank line between sentences)", line, len(fields))
		case columns == 0:
			columns = len(fields)
		case len(fields) != columns:
			return p.errorf(num, "%d columns where the file's first word line has %d", len(fields), columns)
		}
		if len(cur.Words) == p.opts.MaxWords {
			return p.errorf(num, "sentence of more than %d words (no blank line between sentences?)", p.opts.MaxWords)
		}
		if len(cur.Words) == 0 {
			cur.Line = num
		}
		cur.Words = append(cur.Words, fields[0])
		cur.Tags = append(cur.Tags, fields[len(fields)-1])
		return nil
	})
	flush()
	return err
}

func (p *taggedParser) readJSONL(br *lineReader) error {
	return p.lines(br, func(num int, line []byte) error {
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			return p.errorf(num, "invalid JSON: %v", err)
		}
		rawWords, ok := obj[p.opts.WordsKey]
		if !ok {
			return p.errorf(num, "no %q field", p.opts.WordsKey)
		}
		rawTags, ok := obj[p.opts.TagsKey]
		if !ok {
			return p.errorf(num, "no %q field", p.opts.TagsKey)
		}
		var words []string
		if err := json.Unmarshal(rawWords, &words); err != nil {
			return p.errorf(num, "%q must be a list of strings: %v", p.opts.WordsKey, err)
		}
		tags, err := p.jsonTags(rawTags)
		if err != nil {
			return p.errorf(num, "%q: %v", p.opts.TagsKey, err)
		}
		switch {
		case len(words) != len(tags):
			return p.errorf(num, "%d words but %d tags", len(words), len(tags))
		case len(words) == 0:
			return nil // an empty sentence: nothing to learn or score
		case len(words) > p.opts.MaxWords:
			return p.errorf(num, "sentence of %d words, more than %d", len(words), p.opts.MaxWords)
		}
		for i, w := range words {
			if strings.TrimSpace(w) == "" {
				return p.errorf(num, "word %d is empty or blank", i)
			}
		}
		p.d.Sentences = append(p.d.Sentences, TaggedSentence{Words: words, Tags: tags, Line: num})
		return nil
	})
}

// jsonTags decodes a list of string tags, or of integers naming TagNames.
func (p *taggedParser) jsonTags(raw json.RawMessage) ([]string, error) {
	var tags []string
	if err := json.Unmarshal(raw, &tags); err == nil {
		for i, t := range tags {
			if t == "" || strings.ContainsAny(t, " \t\n\r") {
				return nil, fmt.Errorf("tag %d (%q) is empty or has white space", i, t)
			}
		}
		return tags, nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, fmt.Errorf("must be a list of strings or of integers")
	}
	if p.opts.TagNames == nil {
		return nil, fmt.Errorf("integer tags need their names (TagNames; glossa: --tag-names)")
	}
	tags = make([]string, len(ids))
	for i, id := range ids {
		if id < 0 || id >= len(p.opts.TagNames) {
			return nil, fmt.Errorf("tag %d is %d, outside the %d tag names", i, id, len(p.opts.TagNames))
		}
		tags[i] = p.opts.TagNames[id]
	}
	return tags, nil
}

// lineReader reads bounded lines, reusing one buffer.
type lineReader struct {
	br     *bufio.Reader
	buf    []byte
	maxLen int
}

func newLineReader(r io.Reader, maxLen int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, min(64<<10, maxLen+2)), maxLen: maxLen}
}

// next returns the next line (valid until the following call); see readLine.
func (l *lineReader) next() (line []byte, n int64, tooLong bool, err error) {
	line, n, tooLong, err = readLine(l.br, l.buf[:0], l.maxLen)
	l.buf = line[:0]
	return line, n, tooLong, err
}

// ToIOB2 rewrites IOB1 tags (CoNLL-2003's original files: I- throughout an
// entity, B- only between two adjacent entities of one type) as IOB2 in
// place: an I-X that does not continue an X entity becomes B-X. IOB2 tags
// are unchanged, so it is safe on either. Tags that are not O, B-… or I-…
// are left alone.
func (d *TaggedData) ToIOB2() {
	for _, s := range d.Sentences {
		prev := "O"
		for i, t := range s.Tags {
			if typ, ok := strings.CutPrefix(t, "I-"); ok && prev != "B-"+typ && prev != "I-"+typ {
				s.Tags[i] = "B-" + typ
			}
			prev = s.Tags[i]
		}
	}
}
