package gguf

import (
	"encoding/binary"
	"fmt"
	"github.com/glossa-ai/glossa/internal/mmap"
	"math"
	"math/bits"
	"os"
	"slices"
	"sort"
)

// Format limits.
const (
	// DefaultAlignment is the alignment of tensor data when a file has no
	// general.alignment key.
	DefaultAlignment = 32
	// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
	MaxDims = 4
	// MaxNameLen is the longest tensor name, in bytes, that llama.cpp accepts
	// (GGML_MAX_NAME − 1). The Writer enforces it; the reader does not.
	MaxNameLen = 63
	// maxDepth bounds the nesting of arrays, so that a hostile file cannot
	// exhaust the stack.
	maxDepth = 16
)

// magic opens every GGUF file.
const magic = "GGUF"

// KeyAlignment is the metadata key holding the data alignment (UINT32, a
// power of two).
const KeyAlignment = "general.alignment"

// Tensor describes one tensor of a GGUF file.
type Tensor struct {
	Name string
	Type Type
	// Shape lists the dimensions outermost first (row-major, as safetensors
	// and PyTorch do): the reverse of GGUF's ne[], which lists them innermost
	// first. A matrix stored as ne = [in, out] (rows of in elements) has
	// Shape [out, in]. Empty for a tensor with no dimensions (one element).
	Shape []int
	// Offset is where the data begins, in bytes from the start of the data
	// section (as stored in the file; a multiple of the alignment).
	Offset int64
	// Size is the length of the data in bytes.
	Size int64
}

// Dims returns the dimensions in GGUF order, innermost first (ne[0] is the
// row length): Shape reversed.
func (t Tensor) Dims() []int {
	d := slices.Clone(t.Shape)
	slices.Reverse(d)
	return d
}

// NumElements returns the product of the shape (1 for no dimensions).
func (t Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// kv is one metadata pair.
type kv struct {
	key   string
	value Value
}

// File is a parsed GGUF file. Its header has been fully validated: every
// tensor's data lies inside the file, aligned, without overlapping another
// tensor. A File is immutable and safe for concurrent use until Close.
type File struct {
	path      string
	data      []byte // the whole file (memory-mapped when opened with Open)
	version   uint32
	alignment int
	dataStart int64 // offset of the data section in the file
	kvs       []kv
	kvIndex   map[string]int
	tensors   []Tensor // in file order
	byName    map[string]int
	names     []string // sorted
	release   func() error
	closed    bool
}

// Open memory-maps the GGUF file at path read-only (on Unix; other
// platforms read it into memory) and validates its header. The caller must
// Close the file, after which slices returned by Bytes, Float32View and the
// block accessors must no longer be used. The file must not be truncated or
// rewritten in place while it is open; Writer.Save replaces files by
// renaming, which is safe.
func Open(path string) (*File, error) {
	fail := func(err error) (*File, error) { return nil, &Error{File: path, Err: err} }
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close() // a mapping outlives its descriptor
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fail(formatf("not a regular file"))
	}
	size := st.Size()
	if size > math.MaxInt {
		return fail(formatf("file of %d bytes exceeds the address space", size))
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

// Parse validates data as a GGUF file held in memory. The File refers to
// data without copying tensor data; data must not be modified while the
// File is in use. Close only marks the File closed. Every count and length
// in the header is checked against len(data) before anything is allocated
// for it, so memory use is bounded by a small multiple of len(data).
func Parse(data []byte) (*File, error) {
	return parse("", data)
}

// decoder reads the little-endian header fields of a GGUF file.
type decoder struct {
	data []byte
	pos  int
}

// left returns the number of unread bytes.
func (d *decoder) left() int { return len(d.data) - d.pos }

// take returns the next n bytes, or an error naming what was being read.
func (d *decoder) take(n int, what string) ([]byte, error) {
	if n < 0 || n > d.left() {
		return nil, formatf("truncated file: %s needs %d bytes at offset %d, the file has %d bytes", what, n, d.pos, len(d.data))
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// str reads a gguf_string: a uint64 length and the bytes, which are copied.
func (d *decoder) str(what string) (string, error) {
	at := d.pos
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(d.left()) {
		return "", formatf("%s: string length %d at offset %d exceeds the %d bytes left in the file (%d bytes)", what, n, at, d.left(), len(d.data))
	}
	b, _ := d.take(int(n), what)
	return string(b), nil
}

// count reads an element count and checks that count elements of at least
// minSize bytes each fit in the rest of the file.
func (d *decoder) count(what string, minSize int) (int, error) {
	at := d.pos
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(d.left()/minSize) {
		return 0, formatf("%s %d at offset %d: %d items of at least %d bytes cannot fit in the %d bytes left in the file", what, n, at, n, minSize, d.left())
	}
	return int(n), nil
}

// value reads a value of type t; depth counts enclosing arrays.
func (d *decoder) value(t ValueType, depth int) (Value, error) {
	switch t {
	case TypeString:
		s, err := d.str("string value")
		return Value{typ: TypeString, str: s}, err
	case TypeArray:
		return d.array(depth + 1)
	}
	size := t.size()
	if size == 0 {
		return Value{}, formatf("unknown value type %d at offset %d", uint32(t), d.pos-4)
	}
	b, err := d.take(size, t.String()+" value")
	if err != nil {
		return Value{}, err
	}
	return scalar(t, b, d.pos-size)
}

// scalar decodes a fixed-size value from b; at is its offset, for errors.
func scalar(t ValueType, b []byte, at int) (Value, error) {
	v := Value{typ: t}
	switch t {
	case TypeUint8:
		v.bits = uint64(b[0])
	case TypeInt8:
		v.bits = uint64(int64(int8(b[0])))
	case TypeUint16:
		v.bits = uint64(binary.LittleEndian.Uint16(b))
	case TypeInt16:
		v.bits = uint64(int64(int16(binary.LittleEndian.Uint16(b))))
	case TypeUint32:
		v.bits = uint64(binary.LittleEndian.Uint32(b))
	case TypeInt32:
		v.bits = uint64(int64(int32(binary.LittleEndian.Uint32(b))))
	case TypeFloat32:
		v.bits = uint64(binary.LittleEndian.Uint32(b))
	case TypeBool:
		if b[0] > 1 {
			return Value{}, formatf("BOOL value %d at offset %d is neither 0 nor 1", b[0], at)
		}
		v.bits = uint64(b[0])
	case TypeUint64, TypeInt64:
		v.bits = binary.LittleEndian.Uint64(b)
	case TypeFloat64:
		v.bits = binary.LittleEndian.Uint64(b)
	}
	return v, nil
}

// array reads an array's element type, count and elements.
func (d *decoder) array(depth int) (Value, error) {
	at := d.pos
	if depth > maxDepth {
		return Value{}, formatf("arrays nested more than %d deep at offset %d", maxDepth, at)
	}
	et, err := d.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Valid() {
		return Value{}, formatf("unknown array element type %d at offset %d", et, at)
	}
	n, err := d.count("array length", elem.minSize())
	if err != nil {
		return Value{}, err
	}
	switch elem {
	case TypeString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = d.str("array string"); err != nil {
				return Value{}, err
			}
		}
		return arrayOf(elem, a), nil
	case TypeArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = d.array(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return arrayOf(elem, a), nil
	}
	size := elem.size()
	start := d.pos
	b, _ := d.take(n*size, "array") // count checked that it fits
	le := binary.LittleEndian
	switch elem {
	case TypeUint8:
		return arrayOf(elem, slices.Clone(b)), nil
	case TypeInt8:
		return arrayOf(elem, decodeAll(b, 1, func(p []byte) int8 { return int8(p[0]) })), nil
	case TypeUint16:
		return arrayOf(elem, decodeAll(b, 2, le.Uint16)), nil
	case TypeInt16:
		return arrayOf(elem, decodeAll(b, 2, func(p []byte) int16 { return int16(le.Uint16(p)) })), nil
	case TypeUint32:
		return arrayOf(elem, decodeAll(b, 4, le.Uint32)), nil
	case TypeInt32:
		return arrayOf(elem, decodeAll(b, 4, func(p []byte) int32 { return int32(le.Uint32(p)) })), nil
	case TypeFloat32:
		return arrayOf(elem, decodeAll(b, 4, func(p []byte) float32 { return math.Float32frombits(le.Uint32(p)) })), nil
	case TypeBool:
		for i, x := range b {
			if x > 1 {
				return Value{}, formatf("BOOL value %d at offset %d is neither 0 nor 1", x, start+i)
			}
		}
		return arrayOf(elem, decodeAll(b, 1, func(p []byte) bool { return p[0] != 0 })), nil
	case TypeUint64:
		return arrayOf(elem, decodeAll(b, 8, le.Uint64)), nil
	case TypeInt64:
		return arrayOf(elem, decodeAll(b, 8, func(p []byte) int64 { return int64(le.Uint64(p)) })), nil
	default: // TypeFloat64
		return arrayOf(elem, decodeAll(b, 8, func(p []byte) float64 { return math.Float64frombits(le.Uint64(p)) })), nil
	}
}

// decodeAll decodes consecutive size-byte elements of b.
func decodeAll[T any](b []byte, size int, dec func([]byte) T) []T {
	out := make([]T, len(b)/size)
	for i := range out {
		out[i] = dec(b[i*size:])
	}
	return out
}

// parse validates the header of data and builds the File.
func parse(path string, data []byte) (*File, error) {
	fail := func(err error) (*File, error) { return nil, &Error{File: path, Err: err} }
	failTensor := func(name string, err error) (*File, error) { return nil, &Error{File: path, Tensor: name, Err: err} }
	d := &decoder{data: data}
	if len(data) < 4 || string(data[:4]) != magic {
		n := min(len(data), 4)
		return fail(formatf("not a GGUF file: magic %q, want %q", data[:n], magic))
	}
	d.pos = 4
	version, err := d.u32("version")
	if err != nil {
		return fail(err)
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		return fail(formatf("GGUF version 1 is not supported (only 2 and 3)"))
	case bits.ReverseBytes32(version) == 2 || bits.ReverseBytes32(version) == 3:
		return fail(formatf("big-endian GGUF files are not supported"))
	default:
		return fail(formatf("unsupported GGUF version %d (only 2 and 3)", version))
	}
	const minTensorInfo = 8 + 4 + 4 + 8 // empty name, n_dims, type, offset
	const minKV = 8 + 4 + 1             // empty key, type, one-byte value
	nTensors, err := d.count("tensor count", minTensorInfo)
	if err != nil {
		return fail(err)
	}
	nKV, err := d.count("metadata count", minKV)
	if err != nil {
		return fail(err)
	}
	if uint64(nTensors)*minTensorInfo+uint64(nKV)*minKV > uint64(d.left()) {
		return fail(formatf("%d tensors and %d metadata pairs cannot fit in the %d bytes after the header", nTensors, nKV, d.left()))
	}

	f := &File{path: path, data: data, version: version, alignment: DefaultAlignment,
		kvs: make([]kv, 0, nKV), kvIndex: make(map[string]int, nKV)}
	for range nKV {
		key, err := d.str("metadata key")
		if err != nil {
			return fail(err)
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, &Error{File: path, Key: key, Err: formatf("duplicate metadata key")}
		}
		at := d.pos
		t, err := d.u32("value type")
		if err != nil {
			return nil, &Error{File: path, Key: key, Err: err}
		}
		if !ValueType(t).Valid() {
			return nil, &Error{File: path, Key: key, Err: formatf("unknown value type %d at offset %d", t, at)}
		}
		v, err := d.value(ValueType(t), 0)
		if err != nil {
			return nil, &Error{File: path, Key: key, Err: err}
		}
		f.kvIndex[key] = len(f.kvs)
		f.kvs = append(f.kvs, kv{key, v})
	}
	if i, ok := f.kvIndex[KeyAlignment]; ok {
		v := f.kvs[i].value
		a, _ := v.Uint()
		switch {
		case v.typ != TypeUint32:
			return nil, &Error{File: path, Key: KeyAlignment, Err: formatf("type %v, want UINT32", v.typ)}
		case a == 0 || a&(a-1) != 0:
			return nil, &Error{File: path, Key: KeyAlignment, Err: formatf("%d is not a power of two", a)}
		}
		f.alignment = int(a)
	}

	f.tensors = make([]Tensor, 0, nTensors)
	f.byName = make(map[string]int, nTensors)
	for range nTensors {
		t, err := d.tensorInfo()
		if err != nil {
			return failTensor(t.Name, err)
		}
		if _, dup := f.byName[t.Name]; dup {
			return failTensor(t.Name, formatf("duplicate tensor name"))
		}
		f.byName[t.Name] = len(f.tensors)
		f.tensors = append(f.tensors, t)
	}

	// The data section starts at the next multiple of the alignment.
	start := pad(int64(d.pos), f.alignment)
	f.dataStart = start
	avail := int64(len(data)) - start // may be negative when there is no data section
	for i := range f.tensors {
		t := &f.tensors[i]
		if t.Offset%int64(f.alignment) != 0 {
			return failTensor(t.Name, formatf("data offset %d is not a multiple of the alignment %d", t.Offset, f.alignment))
		}
		if t.Size > 0 && (t.Offset > avail || t.Size > avail-t.Offset) {
			return failTensor(t.Name, formatf("tensor data [%d, %d) past end of file: the data section holds %d bytes from offset %d (file of %d bytes)",
				t.Offset, t.Offset+t.Size, max(avail, 0), start, len(data)))
		}
	}
	if err := checkOverlap(f.tensors); err != nil {
		return fail(err)
	}
	f.names = make([]string, len(f.tensors))
	for i := range f.tensors {
		f.names[i] = f.tensors[i].Name
	}
	sort.Strings(f.names)
	return f, nil
}

// pad rounds n up to a multiple of align.
func pad(n int64, align int) int64 {
	a := int64(align)
	return (n + a - 1) / a * a
}

// tensorInfo reads one tensor description: name, n_dims, ne[], type,
// offset. On error the returned Tensor carries the name if it was read.
func (d *decoder) tensorInfo() (Tensor, error) {
	var t Tensor
	var err error
	if t.Name, err = d.str("tensor name"); err != nil {
		return t, err
	}
	nd, err := d.u32("tensor dimension count")
	if err != nil {
		return t, err
	}
	if nd > MaxDims {
		return t, formatf("%d dimensions, at most %d are allowed", nd, MaxDims)
	}
	var ne [MaxDims]uint64
	numel := uint64(1)
	overflow := false
	for i := range int(nd) {
		if ne[i], err = d.u64("tensor dimension"); err != nil {
			return t, err
		}
		hi, lo := bits.Mul64(numel, ne[i])
		overflow = overflow || hi != 0 || lo > math.MaxInt64 || ne[i] > math.MaxInt64
		numel = lo
	}
	if overflow || numel > math.MaxInt {
		return t, formatf("dimensions %v overflow the element count", ne[:nd])
	}
	tt, err := d.u32("tensor type")
	if err != nil {
		return t, err
	}
	t.Type = Type(tt)
	if !t.Type.Known() {
		return t, formatf("unknown tensor type %d", tt)
	}
	off, err := d.u64("tensor data offset")
	if err != nil {
		return t, err
	}
	if off > math.MaxInt64 {
		return t, formatf("data offset %d overflows", off)
	}
	t.Offset = int64(off)
	if bs := uint64(t.Type.BlockSize()); nd > 0 && ne[0]%bs != 0 {
		return t, formatf("row length ne[0] = %d is not a multiple of the %v block size %d", ne[0], t.Type, bs)
	}
	if t.Size, err = t.Type.Bytes(int64(numel)); err != nil {
		return t, formatf("dimensions %v: %v", ne[:nd], err)
	}
	t.Shape = make([]int, nd)
	for i := range int(nd) {
		t.Shape[int(nd)-1-i] = int(ne[i])
	}
	return t, nil
}

// checkOverlap verifies that no two tensors' data overlap.
func checkOverlap(ts []Tensor) error {
	order := make([]int, 0, len(ts))
	for i := range ts {
		if ts[i].Size > 0 {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(a, b int) bool { return ts[order[a]].Offset < ts[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		prev, t := &ts[order[k-1]], &ts[order[k]]
		if t.Offset < prev.Offset+prev.Size {
			return formatf("tensor %q: data [%d, %d) overlaps tensor %q at [%d, %d)",
				t.Name, t.Offset, t.Offset+t.Size, prev.Name, prev.Offset, prev.Offset+prev.Size)
		}
	}
	return nil
}
