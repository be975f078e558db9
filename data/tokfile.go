package data

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Packed token file constants (see the package documentation).
const (
	tokMagic      = "GLTOKENS"
	tokVersion    = 1
	tokHeaderSize = 80
)

// ErrBadTokenFile is wrapped by every error about a malformed packed token
// file.
var ErrBadTokenFile = errors.New("malformed packed token file")

// TokenWriter writes a packed token file. Tokens are streamed to disk;
// only the segment and document offsets (8 bytes each) stay in memory.
// The file appears at its path only when Close succeeds (written to a
// temporary file in the same folder, synced, then renamed), so a reader
// never sees a half-written file.
type TokenWriter struct {
	path      string
	f         *os.File
	w         *bufio.Writer
	width     int // bytes per token: 2 or 4
	vocabSize int
	key       [32]byte
	nTokens   int64
	segs      []int64 // segment start offsets in tokens
	docs      []int64 // document start offsets in segments
	buf       []byte
	err       error
}

// CreateTokenFile starts a packed token file at path for ids in
// [0, vocabSize). Ids are stored as uint16 when vocabSize ≤ 65536, else
// uint32. key is recorded in the header (zero for none).
func CreateTokenFile(path string, vocabSize int, key [32]byte) (*TokenWriter, error) {
	if vocabSize <= 0 || int64(vocabSize) > math.MaxUint32 {
		return nil, fmt.Errorf("data: token file %s: vocabulary size %d out of range", path, vocabSize)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("data: token file: %w", err)
	}
	w := &TokenWriter{path: path, f: f, w: bufio.NewWriterSize(f, 1<<20), width: 4, vocabSize: vocabSize, key: key}
	if vocabSize <= 1<<16 {
		w.width = 2
	}
	if _, err := w.w.Write(make([]byte, tokHeaderSize)); err != nil {
		w.Abort()
		return nil, fmt.Errorf("data: token file: %w", err)
	}
	return w, nil
}

// AppendSegment appends one segment (a sentence or line) of ids;
// newDoc starts a new document with it (the first segment always does).
// Empty segments are ignored.
func (w *TokenWriter) AppendSegment(ids []int, newDoc bool) error {
	if w.err != nil {
		return w.err
	}
	if len(ids) == 0 {
		return nil
	}
	if newDoc || len(w.docs) == 0 {
		w.docs = append(w.docs, int64(len(w.segs)))
	}
	w.segs = append(w.segs, w.nTokens)
	w.buf = w.buf[:0]
	for _, id := range ids {
		if id < 0 || id >= w.vocabSize {
			w.err = fmt.Errorf("data: token file: id %d out of range [0, %d)", id, w.vocabSize)
			return w.err
		}
		if w.width == 2 {
			w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(id))
		} else {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(id))
		}
	}
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("data: token file: %w", err)
		return w.err
	}
	w.nTokens += int64(len(ids))
	return nil
}

// Tokens returns the number of tokens written so far.
func (w *TokenWriter) Tokens() int64 { return w.nTokens }

// Close writes the offset tables and header, syncs, and renames the file
// into place. On error the temporary file is removed.
func (w *TokenWriter) Close() error {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	err := w.finish()
	if err != nil {
		w.Abort()
		return fmt.Errorf("data: token file %s: %w", w.path, err)
	}
	return nil
}

func (w *TokenWriter) finish() error {
	if pad := (w.nTokens * int64(w.width)) % 8; pad != 0 {
		if _, err := w.w.Write(make([]byte, 8-pad)); err != nil {
			return err
		}
	}
	var b [8]byte
	put := func(v int64) error {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		_, err := w.w.Write(b[:])
		return err
	}
	for _, s := range w.segs {
		if err := put(s); err != nil {
			return err
		}
	}
	if err := put(w.nTokens); err != nil {
		return err
	}
	for _, d := range w.docs {
		if err := put(d); err != nil {
			return err
		}
	}
	if err := put(int64(len(w.segs))); err != nil {
		return err
	}
	if err := w.w.Flush(); err != nil {
		return err
	}
	h := make([]byte, 0, tokHeaderSize)
	h = append(h, tokMagic...)
	h = binary.LittleEndian.AppendUint32(h, tokVersion)
	h = binary.LittleEndian.AppendUint32(h, uint32(w.width))
	h = binary.LittleEndian.AppendUint32(h, uint32(w.vocabSize))
	h = binary.LittleEndian.AppendUint32(h, 0)
	h = binary.LittleEndian.AppendUint64(h, uint64(w.nTokens))
	h = binary.LittleEndian.AppendUint64(h, uint64(len(w.segs)))
	h = binary.LittleEndian.AppendUint64(h, uint64(len(w.docs)))
	h = append(h, w.key[:]...)
	if _, err := w.f.WriteAt(h, 0); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(w.f.Name(), w.path); err != nil {
		return err
	}
	syncDir(filepath.Dir(w.path))
	return nil
}

// Abort discards the temporary file.
func (w *TokenWriter) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// syncDir fsyncs a folder so that a rename in it is durable; errors are
// ignored (some platforms cannot sync folders).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// TokenFile is an open packed token file. Opened with OpenTokenFile it is
// memory-mapped where the platform allows (read whole otherwise); it must
// be closed. It is read-only and safe for concurrent use.
type TokenFile struct {
	data      []byte
	unmap     func() error
	width     int
	vocabSize int
	n, s, d   int
	key       [32]byte
	tokens    []byte // n·width bytes
	segOffs   []byte // 8·(s+1)
	docOffs   []byte // 8·(d+1)
}

// OpenTokenFile opens and validates the packed token file at path.
func OpenTokenFile(path string) (*TokenFile, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: token file: %w", err)
	}
	f, err := ParseTokenFile(data)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	f.unmap = unmap
	return f, nil
}

// ParseTokenFile validates a packed token file held in memory; the result
// reads from data, which must not change.
func ParseTokenFile(data []byte) (*TokenFile, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("data: %w: %s", ErrBadTokenFile, fmt.Sprintf(format, args...))
	}
	if len(data) < tokHeaderSize {
		return nil, bad("%d bytes, shorter than the %d-byte header", len(data), tokHeaderSize)
	}
	if string(data[:8]) != tokMagic {
		return nil, bad("bad magic %q", data[:8])
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[8:]); v != tokVersion {
		return nil, bad("version %d, want %d", v, tokVersion)
	}
	f := &TokenFile{data: data, width: int(le.Uint32(data[12:])), vocabSize: int(le.Uint32(data[16:]))}
	if f.width != 2 && f.width != 4 {
		return nil, bad("dtype width %d, want 2 or 4", f.width)
	}
	if f.vocabSize == 0 || f.vocabSize > 1<<16 && f.width == 2 {
		return nil, bad("vocabulary size %d does not fit dtype width %d", f.vocabSize, f.width)
	}
	n, s, d := le.Uint64(data[24:]), le.Uint64(data[32:]), le.Uint64(data[40:])
	copy(f.key[:], data[48:80])
	// Check the declared sizes against the real length before using them.
	rest := uint64(len(data) - tokHeaderSize)
	if n > rest/uint64(f.width) || s >= rest/8 || d >= rest/8 {
		return nil, bad("counts (tokens %d, segments %d, documents %d) exceed the file size", n, s, d)
	}
	tokBytes := (n*uint64(f.width) + 7) &^ 7
	want := tokBytes + 8*(s+1) + 8*(d+1)
	if want != rest {
		return nil, bad("%d bytes after the header, want %d", rest, want)
	}
	f.n, f.s, f.d = int(n), int(s), int(d)
	f.tokens = data[tokHeaderSize : tokHeaderSize+n*uint64(f.width)]
	off := tokHeaderSize + tokBytes
	f.segOffs = data[off : off+8*(s+1)]
	f.docOffs = data[off+8*(s+1):]
	if err := checkOffsets(f.segOffs, n); err != nil {
		return nil, bad("segment offsets: %v", err)
	}
	if err := checkOffsets(f.docOffs, s); err != nil {
		return nil, bad("document offsets: %v", err)
	}
	if (s == 0) != (d == 0) || (n == 0) != (s == 0) {
		return nil, bad("inconsistent counts (tokens %d, segments %d, documents %d)", n, s, d)
	}
	for i := range f.n {
		if id := f.Token(i); id >= f.vocabSize {
			return nil, bad("token %d has id %d, vocabulary size %d", i, id, f.vocabSize)
		}
	}
	return f, nil
}

// checkOffsets checks a table of len/8 offsets: first 0, strictly
// increasing (no empty segment or document), last equal to total.
func checkOffsets(tab []byte, total uint64) error {
	k := len(tab) / 8
	first, last := binary.LittleEndian.Uint64(tab), binary.LittleEndian.Uint64(tab[len(tab)-8:])
	if first != 0 || last != total {
		return fmt.Errorf("first %d last %d, want 0 and %d", first, last, total)
	}
	prev := first
	for i := 1; i < k; i++ {
		v := binary.LittleEndian.Uint64(tab[8*i:])
		if v <= prev {
			return fmt.Errorf("entry %d (%d) not after entry %d (%d)", i, v, i-1, prev)
		}
		prev = v
	}
	return nil
}

// Close releases the mapping. The TokenFile must not be used afterwards.
func (f *TokenFile) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	f.data, f.tokens, f.segOffs, f.docOffs = nil, nil, nil, nil
	return err
}

// Len returns the number of tokens.
func (f *TokenFile) Len() int { return f.n }

// VocabSize returns the vocabulary size recorded in the header.
func (f *TokenFile) VocabSize() int { return f.vocabSize }

// NumSegments returns the number of segments (sentences or lines).
func (f *TokenFile) NumSegments() int { return f.s }

// NumDocs returns the number of documents.
func (f *TokenFile) NumDocs() int { return f.d }

// Key returns the cache key recorded in the header.
func (f *TokenFile) Key() [32]byte { return f.key }

// Token returns token i (0 ≤ i < Len()).
func (f *TokenFile) Token(i int) int {
	if f.width == 2 {
		return int(binary.LittleEndian.Uint16(f.tokens[2*i:]))
	}
	return int(binary.LittleEndian.Uint32(f.tokens[4*i:]))
}

// Read copies tokens [start, start+len(dst)) into dst.
func (f *TokenFile) Read(dst []int32, start int) {
	if f.width == 2 {
		b := f.tokens[2*start : 2*(start+len(dst))]
		for i := range dst {
			dst[i] = int32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return
	}
	b := f.tokens[4*start : 4*(start+len(dst))]
	for i := range dst {
		dst[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// Segment returns the token range [start, end) of segment i.
func (f *TokenFile) Segment(i int) (start, end int) {
	return int(binary.LittleEndian.Uint64(f.segOffs[8*i:])), int(binary.LittleEndian.Uint64(f.segOffs[8*i+8:]))
}

// Doc returns the segment range [first, end) of document i.
func (f *TokenFile) Doc(i int) (first, end int) {
	return int(binary.LittleEndian.Uint64(f.docOffs[8*i:])), int(binary.LittleEndian.Uint64(f.docOffs[8*i+8:]))
}

// Documents copies the file into memory as documents of segments of ids,
// the input CreateNSPInstances and PackSentences take.
func (f *TokenFile) Documents() [][][]int32 {
	all := make([]int32, f.n)
	f.Read(all, 0)
	docs := make([][][]int32, f.d)
	for i := range docs {
		a, b := f.Doc(i)
		segs := make([][]int32, 0, b-a)
		for s := a; s < b; s++ {
			lo, hi := f.Segment(s)
			segs = append(segs, all[lo:hi:hi])
		}
		docs[i] = segs
	}
	return docs
}
