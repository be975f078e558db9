package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/glossa-ai/glossa/internal/atomicfile"
)

// Writer assembles a GGUF version 3 file: metadata in the order it is set,
// then the tensor descriptions and data in the order they are added, each
// tensor's data padded to the alignment. The zero Writer is ready to use.
//
//	var w gguf.Writer
//	w.Set("general.architecture", "llama")
//	w.AddTensor("token_embd.weight", []int{V, C}, gguf.Q8_0, emb)
//	err := w.Save("model.gguf")
type Writer struct {
	// Alignment of the tensor data in bytes, a power of two; zero means
	// DefaultAlignment (32). Another value is recorded as general.alignment,
	// unless the metadata already sets that key, which must then agree.
	Alignment int

	kvs     []kv
	kvIndex map[string]int
	tensors []pending
	names   map[string]bool
}

// pending is a tensor waiting to be written.
type pending struct {
	Tensor
	src []float32 // converted while writing, or
	raw []byte    // written as is
}

// Set sets the metadata value under key, replacing an earlier value (which
// keeps its position). v is a Value or a Go value that ValueOf accepts:
// uint32(5), float32(1e-5), "llama", []string{…}, []float32{…}, … Plain
// int and float are rejected because GGUF types are sized: llama.cpp reads
// counts as UINT32 and most floats as FLOAT32.
func (w *Writer) Set(key string, v any) error {
	val, err := ValueOf(v)
	if err != nil {
		return fmt.Errorf("gguf: set %q: %w", key, err)
	}
	if err := checkValue(val, 0); err != nil {
		return fmt.Errorf("gguf: set %q: %w", key, err)
	}
	if w.kvIndex == nil {
		w.kvIndex = map[string]int{}
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kvs[i].value = val
		return nil
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, kv{key, val})
	return nil
}

// checkValue rejects arrays nested deeper than readers accept.
func checkValue(v Value, depth int) error {
	if v.typ != TypeArray {
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("arrays nested more than %d deep", maxDepth)
	}
	if a, ok := v.arr.([]Value); ok {
		for _, e := range a {
			if err := checkValue(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// AddTensor adds a tensor whose float32 values data (row-major, shape
// outermost first as in Tensor.Shape) are stored as type t: F32, F16,
// BF16, Q8_0, Q4_0 or Q6_K (see Encode). data is read when the file is written and
// must not change before then. The row length (the last dimension) must be
// a multiple of t's block size, the name unique and at most MaxNameLen
// bytes, and there may be at most MaxDims dimensions.
func (w *Writer) AddTensor(name string, shape []int, t Type, data []float32) error {
	if !t.CanEncode() {
		return fmt.Errorf("gguf: add tensor %q: cannot encode float32 as %v", name, t)
	}
	tt, err := w.describe(name, shape, t)
	if err != nil {
		return err
	}
	if tt.NumElements() != int64(len(data)) {
		return fmt.Errorf("gguf: add tensor %q: shape %v has %d elements, data has %d", name, shape, tt.NumElements(), len(data))
	}
	w.add(pending{Tensor: tt, src: data})
	return nil
}

// AddRawTensor adds a tensor whose data raw is already in ggml's layout for
// type t (any type ggml defines, e.g. bytes from File.Bytes). raw is read
// when the file is written and must not change before then; its length must
// be the storage size of shape.
func (w *Writer) AddRawTensor(name string, shape []int, t Type, raw []byte) error {
	tt, err := w.describe(name, shape, t)
	if err != nil {
		return err
	}
	if int64(len(raw)) != tt.Size {
		return fmt.Errorf("gguf: add tensor %q: %d bytes, %v %v takes %d", name, len(raw), t, shape, tt.Size)
	}
	w.add(pending{Tensor: tt, raw: raw})
	return nil
}

// describe validates a new tensor and computes its size.
func (w *Writer) describe(name string, shape []int, t Type) (Tensor, error) {
	fail := func(format string, args ...any) (Tensor, error) {
		return Tensor{}, fmt.Errorf("gguf: add tensor %q: %s", name, fmt.Sprintf(format, args...))
	}
	switch {
	case len(name) > MaxNameLen:
		return fail("name of %d bytes is longer than %d", len(name), MaxNameLen)
	case w.names[name]:
		return fail("duplicate tensor name")
	case !t.Known():
		return fail("unknown tensor type %d", uint32(t))
	case len(shape) > MaxDims:
		return fail("%d dimensions, at most %d are allowed", len(shape), MaxDims)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return fail("negative dimension in shape %v", shape)
		}
		if d != 0 && n > (1<<62)/int64(d) {
			return fail("shape %v overflows the element count", shape)
		}
		n *= int64(d)
	}
	if len(shape) > 0 && shape[len(shape)-1]%t.BlockSize() != 0 {
		return fail("row length %d is not a multiple of the %v block size %d", shape[len(shape)-1], t, t.BlockSize())
	}
	size, err := t.Bytes(n)
	if err != nil {
		return fail("%v", err)
	}
	return Tensor{Name: name, Type: t, Shape: slices.Clone(shape), Size: size}, nil
}

func (w *Writer) add(p pending) {
	if w.names == nil {
		w.names = map[string]bool{}
	}
	w.names[p.Name] = true
	w.tensors = append(w.tensors, p)
}

// alignment resolves the data alignment and whether general.alignment must
// be written.
func (w *Writer) alignment() (align int, record bool, err error) {
	align = w.Alignment
	if i, ok := w.kvIndex[KeyAlignment]; ok {
		v := w.kvs[i].value
		a, _ := v.Uint()
		if v.typ != TypeUint32 || a == 0 || a&(a-1) != 0 {
			return 0, false, fmt.Errorf("gguf: %s must be a UINT32 power of two, got %v %v", KeyAlignment, v.typ, v)
		}
		if align != 0 && uint64(align) != a {
			return 0, false, fmt.Errorf("gguf: Writer.Alignment %d disagrees with %s %d", align, KeyAlignment, a)
		}
		return int(a), false, nil
	}
	if align == 0 {
		align = DefaultAlignment
	}
	if align < 0 || align&(align-1) != 0 || align > 1<<31 {
		return 0, false, fmt.Errorf("gguf: Writer.Alignment %d is not a power of two", align)
	}
	return align, align != DefaultAlignment, nil
}

// WriteTo writes the file to dst and returns the number of bytes written.
// Tensors given as float32 are converted on the way, a few thousand values
// at a time.
func (w *Writer) WriteTo(dst io.Writer) (int64, error) {
	align, record, err := w.alignment()
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: dst}
	bw := bufio.NewWriterSize(cw, 1<<16)
	e := &encoder{w: bw}
	kvs := w.kvs
	if record {
		kvs = append(slices.Clip(kvs), kv{KeyAlignment, Value{typ: TypeUint32, bits: uint64(align)}})
	}
	e.bytes([]byte(magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(kvs)))
	for _, p := range kvs {
		e.str(p.key)
		e.u32(uint32(p.value.typ))
		e.value(p.value)
	}
	var offset int64
	for i := range w.tensors {
		t := &w.tensors[i].Tensor
		t.Offset = offset
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for j := len(t.Shape) - 1; j >= 0; j-- { // ne[] is innermost first
			e.u64(uint64(t.Shape[j]))
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(t.Offset))
		offset += pad(t.Size, align)
	}
	e.zeros(int(pad(e.n, align) - e.n))
	var s scratch
	var buf []byte
	for i := range w.tensors {
		p := &w.tensors[i]
		if p.raw != nil || p.Size == 0 {
			e.bytes(p.raw)
		} else {
			// Convert in row-aligned chunks of at most chunk elements.
			step := chunk
			for start := 0; start < len(p.src); start += step {
				x := p.src[start:min(start+step, len(p.src))]
				n, _ := p.Type.Bytes(int64(len(x))) // whole blocks: chunk and the row length are multiples of the block size
				if cap(buf) < int(n) {
					buf = make([]byte, n)
				}
				s.encode(buf[:n], x, p.Type)
				e.bytes(buf[:n])
			}
		}
		e.zeros(int(pad(p.Size, align) - p.Size))
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	return cw.n, e.err
}

// Save writes the file to path atomically (a temporary file in the same
// folder, synced, then renamed over path), so path holds either its old
// content or the complete new file.
func (w *Writer) Save(path string) error {
	err := atomicfile.Write(path, func(dst io.Writer) error {
		_, err := w.WriteTo(dst)
		return err
	})
	if err != nil {
		return fmt.Errorf("gguf: save: %w", err)
	}
	return nil
}

// countingWriter counts the bytes passed to w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian header fields, remembering the first error
// and counting the header bytes.
type encoder struct {
	w       *bufio.Writer
	n       int64
	err     error
	scratch [8]byte
}

func (e *encoder) bytes(b []byte) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(b)
	e.n += int64(len(b))
}

func (e *encoder) zeros(n int) {
	var z [64]byte
	for n > 0 {
		k := min(n, len(z))
		e.bytes(z[:k])
		n -= k
	}
}

func (e *encoder) u8(x uint8) { e.scratch[0] = x; e.bytes(e.scratch[:1]) }
func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.scratch[:], x)
	e.bytes(e.scratch[:2])
}
func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.scratch[:], x)
	e.bytes(e.scratch[:4])
}
func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.scratch[:], x)
	e.bytes(e.scratch[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
		e.n += int64(len(s))
	}
}

// value writes a value's payload (its type has been written).
func (e *encoder) value(v Value) {
	switch v.typ {
	case TypeString:
		e.str(v.str)
		return
	case TypeArray:
		e.u32(uint32(v.elem))
		e.u64(uint64(v.Len()))
		if a, ok := v.arr.([]Value); ok {
			for _, x := range a { // arrays of arrays: each element is an array without a type tag
				e.value(x)
			}
			return
		}
		for i := range v.Len() {
			e.value(v.Index(i))
		}
		return
	}
	switch v.typ.size() {
	case 1:
		e.u8(uint8(v.bits))
	case 2:
		e.u16(uint16(v.bits))
	case 4:
		e.u32(uint32(v.bits))
	case 8:
		e.u64(v.bits)
	}
}
