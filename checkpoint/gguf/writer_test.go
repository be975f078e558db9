package gguf

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// randomValues returns n deterministic normal(0, scale) values.
func randomValues(seed uint64, n int, scale float32) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64()) * scale
	}
	return x
}

// sampleWriter holds a little of everything: metadata of each kind and a
// tensor of each encodable type.
func sampleWriter(t testing.TB) *Writer {
	var w Writer
	set := func(k string, v any) {
		if err := w.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	set("general.architecture", "llama")
	set("llama.block_count", uint32(2))
	set("llama.rope.freq_base", float32(10000))
	set("tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>", "▁a"})
	set("tokenizer.ggml.scores", []float32{0, 0, 0, -1})
	set("tokenizer.ggml.add_bos_token", true)
	set("nested", []Value{mustValue([]int8{-1}), mustValue([]Value{mustValue([]bool{true})})})
	x := randomValues(1, 2*64, 1)
	for _, typ := range []Type{F32, F16, BF16, Q8_0, Q4_0} {
		if err := w.AddTensor("t."+typ.String(), []int{2, 64}, typ, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTensor("odd", []int{5}, F32, []float32{1, 2, 3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("scalar", nil, F32, []float32{42}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("empty", []int{0, 32}, Q8_0, nil); err != nil {
		t.Fatal(err)
	}
	return &w
}

func sampleFile(t testing.TB) []byte {
	var buf bytes.Buffer
	if _, err := sampleWriter(t).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriterRoundTrip(t *testing.T) {
	data := sampleFile(t)
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	x := randomValues(1, 2*64, 1)
	for _, typ := range []Type{F32, F16, BF16, Q8_0, Q4_0} {
		name := "t." + typ.String()
		ti, ok := f.Tensor(name)
		if !ok || ti.Type != typ || !slices.Equal(ti.Shape, []int{2, 64}) || ti.Offset%32 != 0 {
			t.Fatalf("%s: %+v", name, ti)
		}
		raw, _ := f.Bytes(name)
		want, _ := Encode(typ, x)
		if !bytes.Equal(raw, want) {
			t.Errorf("%s: stored bytes differ from Encode", name)
		}
		got, _ := f.Float32(name)
		dec := make([]float32, len(x))
		if err := Decode(dec, want, typ); err != nil || !slices.EqualFunc(got, dec, sameBits) {
			t.Errorf("%s: Float32 differs from Decode (%v)", name, err)
		}
		if typ == F32 && !slices.EqualFunc(got, x, sameBits) {
			t.Error("F32 changed in the round trip")
		}
	}
	if v, _ := f.Float32("odd"); !slices.Equal(v, []float32{1, 2, 3, 4, 5}) {
		t.Errorf("odd = %v", v)
	}
	if s, _ := f.Tensor("scalar"); len(s.Shape) != 0 || s.NumElements() != 1 {
		t.Errorf("scalar: %+v", s)
	} else if v, _ := f.Float32("scalar"); !slices.Equal(v, []float32{42}) {
		t.Errorf("scalar = %v", v)
	}
	if e, _ := f.Tensor("empty"); e.Size != 0 || !slices.Equal(e.Shape, []int{0, 32}) {
		t.Errorf("empty: %+v", e)
	} else if b, err := f.Q8_0Blocks("empty"); err != nil || len(b) != 0 {
		t.Errorf("Q8_0Blocks(empty) = %v, %v", b, err)
	}
	// Re-writing what was read, raw tensors and Values, gives the same bytes.
	var w Writer
	for _, k := range f.Keys() {
		v, _ := f.Value(k)
		if err := w.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range f.Tensors() {
		raw, _ := f.Bytes(ti.Name)
		if err := w.AddRawTensor(ti.Name, ti.Shape, ti.Type, raw); err != nil {
			t.Fatal(err)
		}
	}
	var again bytes.Buffer
	if _, err := w.WriteTo(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), data) {
		t.Error("re-written file differs")
	}
}

func TestWriterSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := sampleWriter(t)
	if err := w.Save(path); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, sampleFile(t)) {
		t.Error("saved file differs from WriteTo")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	// A failing write leaves the old file in place.
	bad := &Writer{Alignment: 3}
	if err := bad.Save(path); err == nil {
		t.Error("Save with alignment 3 succeeded")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, got) {
		t.Error("failed Save changed the file")
	}
}

func TestWriterAlignment(t *testing.T) {
	for _, tc := range []struct {
		field  int
		key    any // general.alignment set through Set, or nil
		want   int
		record bool
		err    string
	}{
		{0, nil, 32, false, ""},
		{32, nil, 32, false, ""},
		{64, nil, 64, true, ""},
		{1, nil, 1, true, ""},
		{0, uint32(16), 16, true, ""},
		{16, uint32(16), 16, true, ""},
		{8, uint32(16), 0, false, "disagrees"},
		{0, uint64(16), 0, false, "must be a UINT32"},
		{0, uint32(12), 0, false, "must be a UINT32 power of two"},
		{12, nil, 0, false, "not a power of two"},
		{-4, nil, 0, false, "not a power of two"},
	} {
		w := Writer{Alignment: tc.field}
		if tc.key != nil {
			w.Set(KeyAlignment, tc.key)
		}
		w.AddTensor("a", []int{3}, F32, []float32{1, 2, 3})
		w.AddTensor("b", []int{1}, F32, []float32{4})
		var buf bytes.Buffer
		_, err := w.WriteTo(&buf)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: error %v, want %q", tc, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		f, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		_, has := f.Value(KeyAlignment)
		b, _ := f.Tensor("b")
		if f.Alignment() != tc.want || has != tc.record || b.Offset != pad(12, tc.want) {
			t.Errorf("%+v: alignment %d, key %v, b at %d", tc, f.Alignment(), has, b.Offset)
		}
		if v, _ := f.Float32("b"); !slices.Equal(v, []float32{4}) {
			t.Errorf("%+v: b = %v", tc, v)
		}
	}
}

func TestWriterRejects(t *testing.T) {
	var w Writer
	if err := w.AddTensor("a", []int{2}, F32, []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", MaxNameLen+1)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"duplicate", w.AddTensor("a", []int{1}, F32, []float32{1}), "duplicate tensor name"},
		{"long name", w.AddTensor(long, []int{1}, F32, []float32{1}), "longer than 63"},
		{"elements", w.AddTensor("b", []int{2, 2}, F32, []float32{1}), "shape [2 2] has 4 elements, data has 1"},
		{"block", w.AddTensor("b", []int{2, 48}, Q8_0, make([]float32, 96)), "row length 48 is not a multiple of the Q8_0 block size 32"},
		{"dims", w.AddTensor("b", []int{1, 1, 1, 1, 1}, F32, []float32{1}), "5 dimensions"},
		{"negative", w.AddTensor("b", []int{-1}, F32, nil), "negative dimension"},
		{"overflow", w.AddTensor("b", []int{1 << 40, 1 << 40}, F32, nil), "overflows"},
		{"encode Q4_K", w.AddTensor("b", []int{256}, Q4_K, make([]float32, 256)), "cannot encode float32 as Q4_K"},
		{"raw size", w.AddRawTensor("b", []int{256}, Q4_K, make([]byte, 100)), "100 bytes, Q4_K [256] takes 144"},
		{"raw type", w.AddRawTensor("b", []int{1}, 77, make([]byte, 4)), "unknown tensor type 77"},
		{"int", w.Set("k", 5), "no GGUF type for Go int"},
		{"mixed array", w.Set("k", []Value{mustValue(uint8(1)), mustValue("x")}), "array element 1 is STRING, element 0 is UINT8"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if err := w.AddRawTensor("q", []int{256}, Q4_K, make([]byte, 144)); err != nil {
		t.Errorf("raw Q4_K: %v", err)
	}
	deep := mustValue([]uint8{1})
	for range maxDepth {
		deep = mustValue([]Value{deep})
	}
	if err := w.Set("deep", deep); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("Set of a too deep array: %v", err)
	}
	// Set replaces a value in place.
	w.Set("x", uint32(1))
	w.Set("y", uint32(2))
	w.Set("x", "three")
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := f.String("x"); s != "three" || !slices.Equal(f.Keys(), []string{"x", "y"}) {
		t.Errorf("keys %v, x = %q", f.Keys(), s)
	}
	if v, err := f.Float32("q"); err != nil || len(v) != 256 || slices.Max(v) != 0 || slices.Min(v) != 0 {
		t.Errorf("Float32 of a zero Q4_K block: %v", err)
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterError(t *testing.T) {
	w := sampleWriter(t)
	size := int64(len(sampleFile(t)))
	for _, n := range []int{0, 10, 1000, int(size) - 1} {
		written, err := w.WriteTo(&failWriter{n: n})
		if err == nil || written != int64(n) {
			t.Errorf("WriteTo failing after %d bytes: %d written, %v", n, written, err)
		}
	}
	if n, err := w.WriteTo(&failWriter{n: int(size)}); err != nil || n != size {
		t.Errorf("WriteTo with exactly enough room: %d, %v", n, err)
	}
}

// TestEncodeLarge crosses the conversion chunk size.
func TestEncodeLarge(t *testing.T) {
	x := randomValues(2, 3*chunk+96, 0.02)
	for _, typ := range []Type{F32, F16, BF16, Q8_0, Q4_0} {
		var w Writer
		if err := w.AddTensor("x", []int{len(x) / 32, 32}, typ, x); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		f, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := f.Bytes("x")
		// Encode one block at a time: chunking must not change a byte.
		var want []byte
		for i := 0; i < len(x); i += 32 {
			b, _ := Encode(typ, x[i:i+32])
			want = append(want, b...)
		}
		if !bytes.Equal(raw, want) {
			t.Errorf("%v: chunked encoding differs", typ)
		}
		got, _ := f.Float32("x")
		for i := range x {
			if math.Abs(float64(got[i]-x[i])) > 0.02 {
				t.Fatalf("%v: element %d is %g, want %g", typ, i, got[i], x[i])
			}
		}
	}
}
