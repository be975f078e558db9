package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/internal/mmap"
	"io"
	"math"
	"math/bits"
	"os"
	"reflect"
	"slices"
	"sort"
	"unicode/utf8"
	"unsafe"
)

// MaxHeaderSize bounds the JSON header of a safetensors file, as in the
// reference implementation (100 MB).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key holding the string-to-string
// metadata.
const metadataKey = "__metadata__"

// Reader is a read-only collection of named tensors: a safetensors *File or
// a *Folder of shards. Implementations are safe for concurrent use until
// Close.
type Reader interface {
	// Names returns the tensor names in sorted order.
	Names() []string
	// Info describes the named tensor; ok is false if there is none.
	Info(name string) (info TensorInfo, ok bool)
	// Float32 returns a new slice holding the tensor converted to float32.
	Float32(name string) ([]float32, error)
	// Float32Into converts the tensor into dst, whose length must equal the
	// tensor's element count.
	Float32Into(dst []float32, name string) error
	// Bytes returns the tensor's raw little-endian bytes, read-only.
	Bytes(name string) ([]byte, error)
	// Metadata returns the string metadata of the checkpoint.
	Metadata() map[string]string
	// Close releases the underlying files; slices from Bytes and
	// Float32View become invalid.
	Close() error
}

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int // row-major dimensions; empty for a scalar
	// Begin and End are the tensor's byte offsets in the data buffer (after
	// the header), End exclusive.
	Begin, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NumBytes returns the size of the tensor's data in bytes.
func (t TensorInfo) NumBytes() int64 { return t.End - t.Begin }

// File is a parsed safetensors file. Its header has been fully validated, so
// every tensor's data lies within the file. A File is immutable and safe for
// concurrent use until Close.
type File struct {
	path    string
	buf     []byte // the data buffer after the header (memory-mapped when opened with Open)
	tensors []TensorInfo
	byName  map[string]int // index into tensors
	names   []string
	meta    map[string]string
	release func() error
	closed  bool
}

var _ Reader = (*File)(nil)

// Open memory-maps the safetensors file at path read-only (on Unix; other
// platforms read it into memory) and validates its header. The caller must
// Close the file, after which slices returned by Bytes and Float32View must
// no longer be used. The file must not be truncated or rewritten in place
// while it is open (reading a truncated mapping faults); Save replaces files
// by renaming, which is safe.
func Open(path string) (*File, error) {
	fail := func(err error) (*File, error) { return nil, &Error{File: path, Err: err} }
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer fd.Close() // a mapping outlives its descriptor
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fail(errorf("not a regular file"))
	}
	size := st.Size()
	if size > math.MaxInt {
		return fail(errorf("file of %d bytes exceeds the address space", size))
	}
	data, release, err := mmap.Map(fd, int(size))
	if err != nil {
		return fail(fmt.Errorf("map: %w", err))
	}
	f, err := parse(path, data)
	if err != nil {
		release()
		return nil, err
	}
	f.release = release
	return f, nil
}

// Parse validates data as a safetensors file held in memory. The File
// refers to data without copying it; data must not be modified while the
// File is in use. Close is a no-op apart from marking the File closed.
func Parse(data []byte) (*File, error) {
	return parse("", data)
}

// headerEntry is one tensor of the JSON header; pointers tell missing fields
// from zero values.
type headerEntry struct {
	DType   *string  `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets *[]int64 `json:"data_offsets"`
}

// parse validates the header of data and builds the File.
func parse(path string, data []byte) (*File, error) {
	fail := func(tensor string, err error) (*File, error) {
		return nil, &Error{File: path, Tensor: tensor, Err: err}
	}
	if len(data) < 8 {
		return fail("", errorf("file of %d bytes is shorter than the 8-byte header length", len(data)))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return fail("", errorf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize))
	}
	if n > uint64(len(data)-8) {
		return fail("", errorf("header length %d exceeds the %d bytes after the length field", n, len(data)-8))
	}
	header := data[8 : 8+n]
	buf := data[8+n:]
	if !utf8.Valid(header) {
		return fail("", errorf("header is not valid UTF-8"))
	}

	f := &File{path: path, buf: buf, byName: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fail("", errorf("header is not a JSON object"))
	}
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("", jsonError(err))
		}
		name, ok := tok.(string) // the decoder only yields strings as keys
		if !ok {
			return fail("", errorf("header JSON: unexpected token %v", tok))
		}
		if name == metadataKey {
			if seenMeta {
				return fail("", errorf("duplicate %s", metadataKey))
			}
			seenMeta = true
			if err := dec.Decode(&f.meta); err != nil {
				return fail("", errorf("%s must map strings to strings (%v)", metadataKey, jsonError(err)))
			}
			continue
		}
		if _, dup := f.byName[name]; dup {
			return fail(name, errorf("duplicate tensor name"))
		}
		var e headerEntry
		if err := dec.Decode(&e); err != nil {
			return fail(name, jsonError(err))
		}
		info, err := checkEntry(name, &e, int64(len(buf)))
		if err != nil {
			return fail(name, err)
		}
		f.byName[name] = len(f.tensors)
		f.tensors = append(f.tensors, info)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail("", jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("", errorf("trailing data after the header object"))
	}
	if err := checkCoverage(f.tensors, int64(len(buf))); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	f.names = make([]string, len(f.tensors))
	for i := range f.tensors {
		f.names[i] = f.tensors[i].Name
	}
	sort.Strings(f.names)
	return f, nil
}

// jsonError turns a JSON decoding error into a format error.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errorf("header JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		want := describeType(te.Type)
		if te.Field != "" {
			return errorf("%s: got JSON %s, want %s", te.Field, te.Value, want)
		}
		return errorf("got JSON %s, want %s", te.Value, want)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errorf("header JSON is truncated")
	}
	return errorf("header JSON: %v", err)
}

// describeType names the JSON a Go type expects, for error messages.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a " + t.Kind().String() + " number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	}
	return t.String()
}

// checkEntry validates one header entry against a buffer of bufLen bytes.
func checkEntry(name string, e *headerEntry, bufLen int64) (TensorInfo, error) {
	switch {
	case e.DType == nil:
		return TensorInfo{}, errorf("missing dtype")
	case e.Shape == nil:
		return TensorInfo{}, errorf("missing shape")
	case e.Offsets == nil:
		return TensorInfo{}, errorf("missing data_offsets")
	}
	dt, err := ParseDType(*e.DType)
	if err != nil {
		return TensorInfo{}, err
	}
	offs := *e.Offsets
	if len(offs) != 2 {
		return TensorInfo{}, errorf("data_offsets has %d elements, want 2", len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin {
		return TensorInfo{}, errorf("invalid data_offsets [%d,%d]", begin, end)
	}
	if end > bufLen {
		return TensorInfo{}, errorf("data_offsets [%d,%d] past end of buffer (%d bytes)", begin, end, bufLen)
	}
	shape := make([]int, len(*e.Shape))
	numel := uint64(1)
	overflow := false
	for i, d := range *e.Shape {
		if d < 0 {
			return TensorInfo{}, errorf("negative dimension in shape %v", *e.Shape)
		}
		hi, lo := bits.Mul64(numel, uint64(d))
		overflow = overflow || hi != 0 || lo > math.MaxInt64
		numel = lo
		shape[i] = int(d)
	}
	if overflow {
		return TensorInfo{}, errorf("shape %v overflows the element count", *e.Shape)
	}
	hi, nbytes := bits.Mul64(numel, uint64(dt.Size()))
	if hi != 0 || nbytes != uint64(end-begin) {
		return TensorInfo{}, errorf("shape %v of %s needs %d·%d bytes, data_offsets [%d,%d] span %d",
			*e.Shape, dt, numel, dt.Size(), begin, end, end-begin)
	}
	return TensorInfo{Name: name, DType: dt, Shape: shape, Begin: begin, End: end}, nil
}

// checkCoverage verifies that the tensors tile [0, bufLen) exactly.
func checkCoverage(ts []TensorInfo, bufLen int64) error {
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		ta, tb := &ts[order[a]], &ts[order[b]]
		if ta.Begin != tb.Begin {
			return ta.Begin < tb.Begin
		}
		return ta.End < tb.End
	})
	var pos int64
	prev := ""
	for _, i := range order {
		t := &ts[i]
		switch {
		case t.Begin < pos:
			return errorf("tensor %q: data_offsets [%d,%d] overlap tensor %q, which ends at %d", t.Name, t.Begin, t.End, prev, pos)
		case t.Begin > pos:
			return errorf("tensor %q: data_offsets [%d,%d] leave a hole of %d bytes at %d", t.Name, t.Begin, t.End, t.Begin-pos, pos)
		}
		pos, prev = t.End, t.Name
	}
	if pos != bufLen {
		return errorf("tensors cover %d of the %d buffer bytes", pos, bufLen)
	}
	return nil
}

// Path returns the path the file was opened from ("" for Parse).
func (f *File) Path() string { return f.path }

// Names returns the tensor names in sorted order. The caller may modify the
// returned slice.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.tensors) }

// Info describes the named tensor; ok is false if the file has no such
// tensor. The returned Shape is a copy.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := f.tensors[i]
	t.Shape = slices.Clone(t.Shape)
	return t, true
}

// Metadata returns a copy of the header's __metadata__ map (nil if absent).
func (f *File) Metadata() map[string]string {
	if f.meta == nil {
		return nil
	}
	m := make(map[string]string, len(f.meta))
	for k, v := range f.meta {
		m[k] = v
	}
	return m
}

// lookup returns the tensor and its bytes.
func (f *File) lookup(name string) (*TensorInfo, []byte, error) {
	if f.closed {
		return nil, nil, &Error{File: f.path, Tensor: name, Err: ErrClosed}
	}
	i, ok := f.byName[name]
	if !ok {
		return nil, nil, &Error{File: f.path, Tensor: name, Err: ErrMissingTensor}
	}
	t := &f.tensors[i]
	return t, f.buf[t.Begin:t.End:t.End], nil
}

// Bytes returns the raw little-endian bytes of the named tensor. The slice
// aliases the file's memory: it is read-only (writing to a memory-mapped
// file faults) and valid until Close.
func (f *File) Bytes(name string) ([]byte, error) {
	_, b, err := f.lookup(name)
	return b, err
}

// Float32 returns a new slice holding the named tensor as float32, widening
// F16, BF16 and the 8-bit floats exactly and rounding F64 to nearest. Other
// dtypes fail with an error matching ErrDType.
func (f *File) Float32(name string) ([]float32, error) {
	t, b, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if !t.DType.IsFloat() {
		return nil, &Error{File: f.path, Tensor: name, Err: sentinelf(ErrDType, "dtype %s is not a floating-point type", t.DType)}
	}
	dst := make([]float32, len(b)/t.DType.Size())
	toFloat32(dst, b, t.DType)
	return dst, nil
}

// Float32Into converts the named tensor into dst as Float32 does; len(dst)
// must equal the tensor's element count. It does not allocate.
func (f *File) Float32Into(dst []float32, name string) error {
	t, b, err := f.lookup(name)
	if err != nil {
		return err
	}
	if !t.DType.IsFloat() {
		return &Error{File: f.path, Tensor: name, Err: sentinelf(ErrDType, "dtype %s is not a floating-point type", t.DType)}
	}
	if n := len(b) / t.DType.Size(); len(dst) != n {
		return &Error{File: f.path, Tensor: name, Err: fmt.Errorf("destination has %d elements, tensor %v has %d", len(dst), t.Shape, n)}
	}
	toFloat32(dst, b, t.DType)
	return nil
}

// Float32View returns the named F32 tensor's data without copying, when the
// host is little-endian and the data is 4-byte aligned (always the case for
// files padded as Save and Hugging Face write them). ok is false otherwise,
// or if the tensor is missing or not F32; use Float32 then. The view aliases
// the file's memory: it is read-only (writing to a memory-mapped file
// faults) and valid until Close.
func (f *File) Float32View(name string) (view []float32, ok bool) {
	t, b, err := f.lookup(name)
	if err != nil || t.DType != F32 || !littleEndian() || !aligned(b, 4) {
		return nil, false
	}
	if len(b) == 0 {
		return []float32{}, true
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), true
}

// Close releases the file's memory mapping. Later reads fail with an error
// matching ErrClosed; Close is idempotent.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.buf = nil
	if f.release != nil {
		if err := f.release(); err != nil {
			return &Error{File: f.path, Err: fmt.Errorf("unmap: %w", err)}
		}
	}
	return nil
}
