package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
)

// rawFile assembles GGUF bytes field by field, so tests can build files the
// Writer refuses to write.
type rawFile struct{ b []byte }

func ggufHeader(version uint32, nTensors, nKV uint64) *rawFile {
	r := &rawFile{b: []byte("GGUF")}
	return r.u32(version).u64(nTensors).u64(nKV)
}

func (r *rawFile) u8(x uint8) *rawFile   { r.b = append(r.b, x); return r }
func (r *rawFile) u32(x uint32) *rawFile { r.b = binary.LittleEndian.AppendUint32(r.b, x); return r }
func (r *rawFile) u64(x uint64) *rawFile { r.b = binary.LittleEndian.AppendUint64(r.b, x); return r }
func (r *rawFile) str(s string) *rawFile { r.u64(uint64(len(s))); r.b = append(r.b, s...); return r }

// kvU32 appends a UINT32 metadata pair.
func (r *rawFile) kvU32(key string, v uint32) *rawFile {
	return r.str(key).u32(uint32(TypeUint32)).u32(v)
}

// tensor appends a tensor description; ne is innermost first.
func (r *rawFile) tensor(name string, ne []uint64, typ Type, offset uint64) *rawFile {
	r.str(name).u32(uint32(len(ne)))
	for _, n := range ne {
		r.u64(n)
	}
	return r.u32(uint32(typ)).u64(offset)
}

// pad appends zeros up to a multiple of align.
func (r *rawFile) pad(align int) *rawFile {
	for len(r.b)%align != 0 {
		r.b = append(r.b, 0)
	}
	return r
}

func (r *rawFile) zeros(n int) *rawFile { r.b = append(r.b, make([]byte, n)...); return r }

// twoTensors is a valid file: an F32 [2, 3] matrix and an F16 vector of 4.
func twoTensors() []byte {
	r := ggufHeader(3, 2, 1).str("general.architecture").u32(uint32(TypeString)).str("test")
	r.tensor("w", []uint64{3, 2}, F32, 0).tensor("b", []uint64{4}, F16, 32).pad(32)
	for i := range 6 {
		r.u32(math.Float32bits(float32(i)))
	}
	r.pad(32)
	return r.u32(0x3c003c00).u32(0x40004000).b // 1, 1, 2, 2 in half precision
}

func TestParseValid(t *testing.T) {
	f, err := Parse(twoTensors())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version() != 3 || f.Alignment() != 32 || f.DataOffset() != 160 || !slices.Equal(f.Names(), []string{"b", "w"}) {
		t.Errorf("version %d alignment %d data %d names %v", f.Version(), f.Alignment(), f.DataOffset(), f.Names())
	}
	w, _ := f.Tensor("w")
	if w.Type != F32 || !slices.Equal(w.Shape, []int{2, 3}) || !slices.Equal(w.Dims(), []int{3, 2}) || w.Size != 24 || w.NumElements() != 6 {
		t.Errorf("w: %+v", w)
	}
	if v, err := f.Float32("w"); err != nil || !slices.Equal(v, []float32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("Float32(w) = %v, %v", v, err)
	}
	if v, err := f.Float32("b"); err != nil || !slices.Equal(v, []float32{1, 1, 2, 2}) {
		t.Errorf("Float32(b) = %v, %v", v, err)
	}
	dst := make([]float32, 5)
	if err := f.Float32Into(dst, "b"); err == nil {
		t.Error("Float32Into with a short destination succeeded")
	}
	if _, err := f.Float32("nope"); !errors.Is(err, checkpoint.ErrMissingTensor) {
		t.Errorf("Float32 of a missing tensor: %v", err)
	}
	if _, err := f.Q8_0Blocks("w"); !errors.Is(err, checkpoint.ErrDType) {
		t.Errorf("Q8_0Blocks of F32: %v", err)
	}
	if info, ok := f.Info("b"); !ok || info.DType != checkpoint.F16 || info.Begin != 32 || info.End != 40 || !slices.Equal(info.Shape, []int{4}) {
		t.Errorf("Info(b) = %+v", info)
	}
	if f.Architecture() != "test" {
		t.Errorf("architecture %q", f.Architecture())
	}
	f.Close()
	if _, err := f.Bytes("w"); !errors.Is(err, checkpoint.ErrClosed) {
		t.Errorf("Bytes after Close: %v", err)
	}
	if f.Close() != nil {
		t.Error("second Close failed")
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(p, twoTensors(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r checkpoint.Reader = f
	if v, err := r.Float32("w"); err != nil || v[5] != 5 {
		t.Errorf("Float32 = %v, %v", v, err)
	}
	if f.Path() != p {
		t.Errorf("Path %q", f.Path())
	}
	for _, bad := range []string{filepath.Join(dir, "missing.gguf"), dir} {
		if _, err := Open(bad); err == nil {
			t.Errorf("Open(%s) succeeded", bad)
		}
	}
	empty := filepath.Join(dir, "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(empty); !errors.Is(err, checkpoint.ErrFormat) || !strings.Contains(err.Error(), "empty.gguf") {
		t.Errorf("Open of an empty file: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	valid := twoTensors()
	// withKV builds a file of one metadata pair given by its type and
	// payload, and no tensors.
	withKV := func(typ ValueType, payload func(r *rawFile)) []byte {
		r := ggufHeader(3, 0, 1).str("k").u32(uint32(typ))
		payload(r)
		return r.b
	}
	// oneTensor builds a file of one tensor description and size bytes of
	// data.
	oneTensor := func(ne []uint64, typ Type, offset uint64, size int) []byte {
		return ggufHeader(3, 1, 0).tensor("t", ne, typ, offset).pad(32).zeros(size).b
	}
	nested := func(depth int) []byte {
		r := ggufHeader(3, 0, 1).str("k").u32(uint32(TypeArray))
		for range depth {
			r.u32(uint32(TypeArray)).u64(1)
		}
		return r.u32(uint32(TypeUint8)).u64(0).b
	}
	tests := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"empty", nil, "not a GGUF file"},
		{"magic", []byte("GGML\x03\x00\x00\x00"), `magic "GGML"`},
		{"no version", []byte("GGUF\x03"), "truncated file: version needs 4 bytes at offset 4"},
		{"version 1", ggufHeader(1, 0, 0).b, "version 1 is not supported"},
		{"version 4", ggufHeader(4, 0, 0).b, "unsupported GGUF version 4"},
		{"big-endian", ggufHeader(3<<24, 0, 0).b, "big-endian"},
		{"no counts", ggufHeader(3, 0, 0).b[:12], "truncated file: tensor count"},
		{"tensor count", ggufHeader(3, 1<<40, 0).b, "tensor count 1099511627776 at offset 8"},
		{"kv count", ggufHeader(3, 0, math.MaxUint64).b, "metadata count 18446744073709551615"},
		{"counts together", ggufHeader(3, 1, 1).zeros(30).b, "1 tensors and 1 metadata pairs cannot fit in the 30 bytes"},
		{"key length", ggufHeader(3, 0, 1).u64(1 << 50).zeros(5).b, "metadata key: string length 1125899906842624 at offset 24 exceeds the 5 bytes left"},
		{"duplicate key", ggufHeader(3, 0, 2).kvU32("a", 1).kvU32("a", 2).b, `key "a": duplicate metadata key`},
		{"value type", withKV(13, func(r *rawFile) { r.zeros(8) }), `key "k": unknown value type 13 at offset 33`},
		{"truncated value", withKV(TypeUint64, func(r *rawFile) { r.u32(0) }), "truncated file: UINT64 value needs 8 bytes"},
		{"string value length", withKV(TypeString, func(r *rawFile) { r.u64(100).zeros(3) }), "string length 100"},
		{"bool", withKV(TypeBool, func(r *rawFile) { r.u8(2) }), "BOOL value 2 at offset 37 is neither 0 nor 1"},
		{"bool array", withKV(TypeArray, func(r *rawFile) { r.u32(uint32(TypeBool)).u64(2).u8(1).u8(7) }), "BOOL value 7 at offset 50"},
		{"array type", withKV(TypeArray, func(r *rawFile) { r.u32(99).u64(0) }), "unknown array element type 99"},
		{"array length", withKV(TypeArray, func(r *rawFile) { r.u32(uint32(TypeUint32)).u64(1 << 61).zeros(16) }), "array length 2305843009213693952 at offset 41: 2305843009213693952 items of at least 4 bytes cannot fit in the 16 bytes left"},
		{"string array length", withKV(TypeArray, func(r *rawFile) { r.u32(uint32(TypeString)).u64(3).str("a").str("b") }), "array length 3"},
		{"array string length", withKV(TypeArray, func(r *rawFile) { r.u32(uint32(TypeString)).u64(1).u64(20).zeros(10) }), "array string: string length 20"},
		{"nesting", nested(maxDepth + 1), "arrays nested more than 16 deep"},
		{"alignment type", ggufHeader(3, 0, 1).str(KeyAlignment).u32(uint32(TypeUint64)).u64(32).b, `key "general.alignment": type UINT64, want UINT32`},
		{"alignment zero", ggufHeader(3, 0, 1).kvU32(KeyAlignment, 0).b, "0 is not a power of two"},
		{"alignment 48", ggufHeader(3, 0, 1).kvU32(KeyAlignment, 48).b, "48 is not a power of two"},
		{"tensor name length", ggufHeader(3, 1, 0).u64(1 << 40).zeros(16).b, "tensor name: string length 1099511627776"},
		{"dims", oneTensor([]uint64{1, 1, 1, 1, 1}, F32, 0, 4), `tensor "t": 5 dimensions, at most 4`},
		{"dims overflow", oneTensor([]uint64{1 << 32, 1 << 32}, F32, 0, 0), `tensor "t": dimensions [4294967296 4294967296] overflow`},
		{"dim above int64", oneTensor([]uint64{1 << 63}, I8, 0, 0), "overflow the element count"},
		{"bytes overflow", oneTensor([]uint64{1 << 62}, F32, 0, 0), "overflow the byte count"},
		{"tensor type", oneTensor([]uint64{4}, 99, 0, 16), `tensor "t": unknown tensor type 99`},
		{"removed type", oneTensor([]uint64{32}, 4, 0, 32), "unknown tensor type 4"},
		{"block size", oneTensor([]uint64{48, 2}, Q8_0, 0, 102), "row length ne[0] = 48 is not a multiple of the Q8_0 block size 32"},
		{"offset", oneTensor([]uint64{4}, F32, 8, 64), "data offset 8 is not a multiple of the alignment 32"},
		{"offset overflow", oneTensor([]uint64{4}, F32, 1<<63, 64), "data offset 9223372036854775808 overflows"},
		{"data past EOF", oneTensor([]uint64{4, 2}, F32, 0, 31), "tensor data [0, 32) past end of file: the data section holds 31 bytes from offset 96 (file of 127 bytes)"},
		{"far offset", oneTensor([]uint64{1}, F32, 1<<40, 4), "tensor data [1099511627776, 1099511627780) past end of file"},
		{"no data section", ggufHeader(3, 1, 0).tensor("t", []uint64{1}, F32, 0).b, "past end of file: the data section holds 0 bytes"},
		{"duplicate tensor", ggufHeader(3, 2, 0).tensor("t", []uint64{1}, F32, 0).tensor("t", []uint64{1}, F32, 32).pad(32).zeros(64).b, `tensor "t": duplicate tensor name`},
		{"overlap", ggufHeader(3, 2, 0).tensor("a", []uint64{16}, F32, 0).tensor("b", []uint64{1}, F32, 32).pad(32).zeros(64).b, `tensor "b": data [32, 36) overlaps tensor "a" at [0, 64)`},
		{"truncated tensor info", valid[:120], `tensor "b": truncated file: tensor dimension count needs 4 bytes at offset 118, the file has 120 bytes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.data)
			if err == nil {
				t.Fatalf("Parse succeeded: %v", f.Names())
			}
			if !errors.Is(err, checkpoint.ErrFormat) {
				t.Errorf("error %v does not match ErrFormat", err)
			}
			var ge *Error
			if !errors.As(err, &ge) || !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Errorf("error %v is not a *gguf.Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

// TestParsePrefixes parses every prefix of valid files: each must fail
// cleanly, or (once all tensor data is present) succeed.
func TestParsePrefixes(t *testing.T) {
	for _, data := range [][]byte{twoTensors(), sampleFile(t)} {
		end := 0 // where the last tensor's data ends
		full, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range full.Tensors() {
			if ti.Size == 0 {
				continue // may sit past the end of the file
			}
			end = max(end, int(full.DataOffset()+ti.Offset+ti.Size))
		}
		for n := range len(data) {
			_, err := Parse(data[:n])
			if n < end && (err == nil || !errors.Is(err, checkpoint.ErrFormat)) {
				t.Fatalf("prefix of %d bytes: %v", n, err)
			}
			if n >= end && err != nil {
				t.Fatalf("prefix of %d bytes, with all tensor data: %v", n, err)
			}
		}
	}
}

// TestParseV2 reads a version 2 file: the same layout as version 3.
func TestParseV2(t *testing.T) {
	data := twoTensors()
	binary.LittleEndian.PutUint32(data[4:], 2)
	f, err := Parse(data)
	if err != nil || f.Version() != 2 {
		t.Fatalf("version 2: %v", err)
	}
}

// TestParseAlignment reads a file with general.alignment 8 and one with 1,
// where tensor data need not be aligned even for its element type.
func TestParseAlignment(t *testing.T) {
	for _, align := range []int{1, 8, 64} {
		r := ggufHeader(3, 2, 1).kvU32(KeyAlignment, uint32(align))
		r.tensor("a", []uint64{1}, I8, 0)
		second := pad(1, align)
		r.tensor("b", []uint64{32, 2}, Q8_0, uint64(second)).pad(align)
		start := len(r.b)
		r.u8(7).pad(align)
		for range 2 {
			r.u32(0x3c00) // d = 1, qs 0, 0 then 0…
			r.zeros(30)
		}
		f, err := Parse(r.b)
		if err != nil {
			t.Fatalf("alignment %d: %v", align, err)
		}
		if f.Alignment() != align || f.DataOffset() != int64(start) {
			t.Errorf("alignment %d: got %d, data at %d want %d", align, f.Alignment(), f.DataOffset(), start)
		}
		v, err := f.Float32("b")
		if err != nil || len(v) != 64 || v[0] != 0 {
			t.Errorf("alignment %d: Float32(b) = %v, %v", align, v, err)
		}
		blocks, err := f.Q8_0Blocks("b") // zero-copy or copied, the same blocks
		if err != nil || len(blocks) != 2 || blocks[1].D != 0x3c00 || blocks[1].Scale() != 1 {
			t.Errorf("alignment %d: Q8_0Blocks = %v, %v", align, blocks, err)
		}
	}
}

func TestMetadataGetters(t *testing.T) {
	var w Writer
	for k, v := range map[string]any{
		"u8": uint8(200), "i8": int8(-5), "u16": uint16(60000), "i16": int16(-300), "u32": uint32(4e9), "i32": int32(-7),
		"f32": float32(0.1), "b": true, "s": "héllo", "u64": uint64(math.MaxUint64), "i64": int64(math.MinInt64),
		"f64": 0.1, "strs": []string{"a", "", "▁b"}, "f32s": []float32{1.5, -2}, "i32s": []int32{1, -2, 3},
		"u64s": []uint64{1, math.MaxUint64}, "nested": []Value{mustValue([]uint8{1, 2}), mustValue([]string{"x"})},
	} {
		if err := w.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if x, ok := f.Uint("u8"); !ok || x != 200 {
		t.Errorf("Uint(u8) = %d, %v", x, ok)
	}
	if _, ok := f.Uint("i8"); ok {
		t.Error("Uint of a negative INT8 succeeded")
	}
	if x, ok := f.Int("i8"); !ok || x != -5 {
		t.Errorf("Int(i8) = %d, %v", x, ok)
	}
	if x, ok := f.Int("i16"); !ok || x != -300 {
		t.Errorf("Int(i16) = %d, %v", x, ok)
	}
	if x, ok := f.Uint("u32"); !ok || x != 4e9 {
		t.Errorf("Uint(u32) = %d, %v", x, ok)
	}
	if _, ok := f.Int("u64"); ok {
		t.Error("Int of MaxUint64 succeeded")
	}
	if x, ok := f.Int("i64"); !ok || x != math.MinInt64 {
		t.Errorf("Int(i64) = %d, %v", x, ok)
	}
	if x, ok := f.Float("f32"); !ok || x != float64(float32(0.1)) {
		t.Errorf("Float(f32) = %v, %v", x, ok)
	}
	if x, ok := f.Float("i32"); !ok || x != -7 {
		t.Errorf("Float(i32) = %v, %v", x, ok)
	}
	if x, ok := f.Bool("b"); !ok || !x {
		t.Errorf("Bool(b) = %v, %v", x, ok)
	}
	if _, ok := f.Bool("u8"); ok {
		t.Error("Bool of a UINT8 succeeded")
	}
	if s, ok := f.String("s"); !ok || s != "héllo" {
		t.Errorf("String(s) = %q, %v", s, ok)
	}
	if _, ok := f.String("u8"); ok {
		t.Error("String of a UINT8 succeeded")
	}
	if s, ok := f.Strings("strs"); !ok || !slices.Equal(s, []string{"a", "", "▁b"}) {
		t.Errorf("Strings = %q, %v", s, ok)
	}
	if x, ok := f.Floats("f32s"); !ok || !slices.Equal(x, []float64{1.5, -2}) {
		t.Errorf("Floats = %v, %v", x, ok)
	}
	if x, ok := f.Ints("i32s"); !ok || !slices.Equal(x, []int64{1, -2, 3}) {
		t.Errorf("Ints = %v, %v", x, ok)
	}
	if _, ok := f.Ints("u64s"); ok {
		t.Error("Ints of MaxUint64 succeeded")
	}
	if _, ok := f.Ints("strs"); ok {
		t.Error("Ints of strings succeeded")
	}
	if _, ok := f.Strings("missing"); ok {
		t.Error("Strings of a missing key succeeded")
	}
	nested, _ := f.Value("nested")
	if elem, ok := nested.ArrayType(); !ok || elem != TypeArray || nested.Len() != 2 {
		t.Fatalf("nested: %v %v %d", elem, ok, nested.Len())
	}
	inner, _ := nested.Values()
	if b, _ := inner[0].Index(1).Uint(); b != 2 || inner[1].String() != `["x"]` || nested.String() != `[[1 2] ["x"]]` {
		t.Errorf("nested = %v", nested)
	}
	md := f.Metadata()
	for k, want := range map[string]string{"u8": "200", "i8": "-5", "f32": "0.1", "f64": "0.1", "b": "true", "s": "héllo",
		"u64": "18446744073709551615", "i64": "-9223372036854775808"} {
		if md[k] != want {
			t.Errorf("Metadata[%s] = %q, want %q", k, md[k], want)
		}
	}
	if _, ok := md["strs"]; ok || len(md) != 12 {
		t.Errorf("Metadata has %d entries (arrays included?): %v", len(md), md)
	}
}

func mustValue(x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		panic(err)
	}
	return v
}
