package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultMaxLineBytes is the line-length bound a zero Corpus.MaxLineBytes
// means: 1 MiB.
const DefaultMaxLineBytes = 1 << 20

// ErrLineTooLong is returned (wrapped, with file and line number) when a
// corpus line exceeds the length bound and long lines are not skipped.
var ErrLineTooLong = errors.New("line too long")

// DocMode says how corpus lines group into documents.
type DocMode uint8

const (
	// DocBlankLine: one or more blank lines end a document (the layout of
	// BERT's pretraining text: one sentence or paragraph per line,
	// documents separated by blank lines).
	DocBlankLine DocMode = iota
	// DocFile: every file is one document; blank lines are kept as lines.
	DocFile
	// DocLine: every non-blank line is one document.
	DocLine
)

// String returns the flag spelling of m.
func (m DocMode) String() string {
	switch m {
	case DocBlankLine:
		return "blank-line"
	case DocFile:
		return "file"
	case DocLine:
		return "line"
	}
	return fmt.Sprintf("DocMode(%d)", uint8(m))
}

// ParseDocMode parses "blank-line", "file" or "line".
func ParseDocMode(s string) (DocMode, error) {
	for _, m := range []DocMode{DocBlankLine, DocFile, DocLine} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("data: unknown document mode %q (want blank-line, file or line)", s)
}

// Corpus is a list of plain-text files read as one stream of lines. Files
// ending in .gz are decompressed on the fly. Nothing is loaded whole: lines
// are read through a buffer and handed to a callback one at a time.
type Corpus struct {
	// Files are the files in reading order.
	Files []string
	// MaxLineBytes bounds one line; zero means DefaultMaxLineBytes.
	MaxLineBytes int
	// SkipLongLines skips (and counts) lines longer than MaxLineBytes
	// instead of failing with ErrLineTooLong.
	SkipLongLines bool
}

// OpenCorpus resolves paths — files, folders (walked recursively, hidden
// entries skipped, files sorted by path) and glob patterns — into a Corpus.
// It is an error when a path matches nothing or no file is found at all.
func OpenCorpus(paths ...string) (*Corpus, error) {
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		var matches []string
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("data: corpus pattern %q: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("data: corpus pattern %q matches no file", p)
			}
			matches = m
		} else {
			matches = []string{p}
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("data: corpus: %w", err)
			}
			if !st.IsDir() {
				add(m)
				continue
			}
			var inDir []string
			err = filepath.WalkDir(m, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if path != m && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() {
					inDir = append(inDir, path)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("data: corpus folder %s: %w", m, err)
			}
			sort.Strings(inDir)
			for _, f := range inDir {
				add(f)
			}
		}
	}
	if len(files) == 0 {
		return nil, errors.New("data: corpus: no input files")
	}
	return &Corpus{Files: files}, nil
}

// Line is one line of a corpus, without its line terminator.
type Line struct {
	File string // the file it came from
	Num  int    // 1-based line number within File
	Text string // the line's content
}

// ScanStats counts what a scan saw.
type ScanStats struct {
	Files       int   // files read
	Lines       int64 // lines handed to the callback
	SkippedLong int64 // lines skipped for exceeding MaxLineBytes
	Bytes       int64 // uncompressed bytes read
}

// ScanLines calls fn for every line of every file, in order. Line endings
// (\n or \r\n) and a leading UTF-8 byte-order mark are removed. A non-nil
// error from fn stops the scan and is returned as is.
func (c *Corpus) ScanLines(ctx context.Context, fn func(Line) error) (ScanStats, error) {
	var st ScanStats
	for _, path := range c.Files {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if err := c.scanFile(ctx, path, &st, fn); err != nil {
			return st, err
		}
		st.Files++
	}
	return st, nil
}

func (c *Corpus) scanFile(ctx context.Context, path string, st *ScanStats, fn func(Line) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: corpus: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("data: corpus %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	maxLen := c.MaxLineBytes
	if maxLen <= 0 {
		maxLen = DefaultMaxLineBytes
	}
	br := bufio.NewReaderSize(r, min(64<<10, maxLen+2))
	var buf []byte
	for num := 1; ; num++ {
		if num&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, n, tooLong, err := readLine(br, buf[:0], maxLen)
		buf = line[:0]
		st.Bytes += n
		if err != nil && err != io.EOF {
			return fmt.Errorf("data: corpus %s:%d: %w", path, num, err)
		}
		if n == 0 && err == io.EOF {
			return nil
		}
		if tooLong {
			if !c.SkipLongLines {
				return fmt.Errorf("data: corpus %s:%d: %w (over %d bytes; raise the limit or skip long lines)", path, num, ErrLineTooLong, maxLen)
			}
			st.SkippedLong++
		} else {
			if num == 1 {
				line = bytes.TrimPrefix(line, []byte("\uFEFF"))
			}
			st.Lines++
			if ferr := fn(Line{File: path, Num: num, Text: string(line)}); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine appends the next line (without terminator) to dst. n counts the
// bytes consumed, terminator included. A line longer than maxLen is read to
// its end and dropped, with tooLong set. err is io.EOF at the end of input
// (possibly with a final unterminated line).
func readLine(br *bufio.Reader, dst []byte, maxLen int) (line []byte, n int64, tooLong bool, err error) {
	for {
		chunk, e := br.ReadSlice('\n')
		n += int64(len(chunk))
		if !tooLong {
			if len(dst)+len(chunk) > maxLen+2 { // +2: room for "\r\n"
				tooLong = true
				dst = dst[:0]
			} else {
				dst = append(dst, chunk...)
			}
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if e != nil && e != io.EOF {
			return dst, n, tooLong, e
		}
		dst = bytes.TrimSuffix(dst, []byte("\n"))
		dst = bytes.TrimSuffix(dst, []byte("\r"))
		if !tooLong && len(dst) > maxLen {
			tooLong = true
			dst = dst[:0]
		}
		return dst, n, tooLong, e
	}
}

// Document is a run of lines that form one document.
type Document struct {
	File  string   // file of the first line
	Line  int      // line number of the first line
	Lines []string // the lines; with DocFile, blank lines are kept as ""
}

// ScanDocuments groups the corpus lines into documents as mode says and
// calls fn for each non-empty document. A DocFile document holds a whole
// file in memory; the other modes hold one document at a time.
func (c *Corpus) ScanDocuments(ctx context.Context, mode DocMode, fn func(Document) error) (ScanStats, error) {
	var cur Document
	flush := func() error {
		if len(cur.Lines) == 0 {
			return nil
		}
		d := cur
		cur = Document{}
		return fn(d)
	}
	st, err := c.ScanLines(ctx, func(l Line) error {
		blank := isBlank(l.Text)
		if len(cur.Lines) > 0 && cur.File != l.File {
			if err := flush(); err != nil {
				return err
			}
		}
		switch mode {
		case DocBlankLine:
			if blank {
				return flush()
			}
		case DocLine:
			if blank {
				return nil
			}
			if err := flush(); err != nil {
				return err
			}
		}
		if len(cur.Lines) == 0 {
			if mode == DocFile && blank {
				// Leading blank lines of a file carry nothing.
				return nil
			}
			cur.File, cur.Line = l.File, l.Num
		}
		cur.Lines = append(cur.Lines, l.Text)
		return nil
	})
	if err != nil {
		return st, err
	}
	return st, flush()
}

// Fingerprint hashes the corpus identity: every file's path, size and
// modification time, in order. It changes when a file is edited, added or
// removed, without reading the contents.
func (c *Corpus) Fingerprint() ([32]byte, error) {
	h := sha256.New()
	var b [8]byte
	for _, p := range c.Files {
		st, err := os.Stat(p)
		if err != nil {
			return [32]byte{}, fmt.Errorf("data: corpus: %w", err)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		io.WriteString(h, abs)
		h.Write([]byte{0})
		binary.LittleEndian.PutUint64(b[:], uint64(st.Size()))
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], uint64(st.ModTime().UnixNano()))
		h.Write(b[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}
