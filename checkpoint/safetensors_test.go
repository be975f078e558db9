package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/kernels"
)

// rawFile assembles a safetensors file from a literal header and buffer,
// without padding, so tests can write any header, valid or not.
func rawFile(header string, buf []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, buf...)
}

// le32 returns the little-endian bytes of float32 values.
func le32(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// randomTensor returns n deterministic pseudo-random values.
func randomData(r *rand.Rand, n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return d
}

func encode(t *testing.T, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tensors := []Tensor{
		{Name: "w", Shape: []int{3, 5}, Data: randomData(r, 15)},
		{Name: "b.half", Shape: []int{7}, Data: randomData(r, 7), DType: BF16},
		{Name: "a", Shape: []int{2, 2, 2}, Data: randomData(r, 8), DType: F32},
		{Name: "scalar", Shape: nil, Data: []float32{42}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
		{Name: "odd", Shape: []int{3}, Data: randomData(r, 3), DType: BF16},
	}
	meta := map[string]string{"format": "pt", "step": "12"}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := Save(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(raw); (8+n)%8 != 0 {
		t.Errorf("header length %d: data does not start at a multiple of 8", n)
	}
	if !bytes.Equal(raw, encode(t, tensors, meta)) {
		t.Errorf("Save and Write produce different bytes")
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"a", "b.half", "empty", "odd", "scalar", "w"}
	if got := f.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if got := f.Metadata(); len(got) != 2 || got["format"] != "pt" || got["step"] != "12" {
		t.Errorf("Metadata() = %v", got)
	}
	// F32 tensors come first in the buffer, then BF16, each group by name.
	order := f.Names()
	slices.SortFunc(order, func(a, b string) int {
		ia, _ := f.Info(a)
		ib, _ := f.Info(b)
		return int(ia.Begin - ib.Begin)
	})
	if wantOrder := []string{"a", "empty", "scalar", "w", "b.half", "odd"}; !slices.Equal(order, wantOrder) {
		t.Errorf("buffer order %q, want %q", order, wantOrder)
	}
	for _, tt := range tensors {
		info, ok := f.Info(tt.Name)
		if !ok {
			t.Fatalf("Info(%q) missing", tt.Name)
		}
		wantShape := tt.Shape
		if wantShape == nil {
			wantShape = []int{}
		}
		if !slices.Equal(info.Shape, wantShape) || info.DType != tt.storedDType() || info.NumElements() != len(tt.Data) {
			t.Errorf("Info(%q) = %+v", tt.Name, info)
		}
		got, err := f.Float32(tt.Name)
		if err != nil {
			t.Fatal(err)
		}
		exp := tt.Data
		if tt.DType == BF16 {
			bits := make([]uint16, len(exp))
			kernels.F32ToBF16(bits, exp)
			exp = make([]float32, len(bits))
			kernels.BF16ToF32(exp, bits)
		}
		if len(got) != len(exp) || !slices.Equal(got, exp) {
			t.Errorf("Float32(%q) = %v, want %v", tt.Name, got, exp)
		}
		into := make([]float32, len(exp))
		if err := f.Float32Into(into, tt.Name); err != nil || !slices.Equal(into, exp) {
			t.Errorf("Float32Into(%q) = %v, %v", tt.Name, into, err)
		}
		if tt.storedDType() == F32 {
			view, ok := f.Float32View(tt.Name)
			if !ok || !slices.Equal(view, exp) {
				t.Errorf("Float32View(%q) = %v, %v", tt.Name, view, ok)
			}
		} else if _, ok := f.Float32View(tt.Name); ok {
			t.Errorf("Float32View(%q) of a BF16 tensor succeeded", tt.Name)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Float32("w"); !errors.Is(err, ErrClosed) {
		t.Errorf("Float32 after Close: %v, want ErrClosed", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Nothing but the target is left in the directory.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want 1", len(entries))
	}
}

func TestSaveReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := Save(path, []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	// A failing save leaves the previous file in place and no temporary.
	err := Save(path, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "x.safetensors") {
		t.Fatalf("Save with a bad shape: %v", err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := f.Float32("a"); !slices.Equal(got, []float32{1}) {
		t.Errorf("old content lost: %v", got)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d directory entries, want 1", len(entries))
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", []Tensor{{Name: "a", Data: []float32{1}}, {Name: "a", Data: []float32{2}}}, "duplicate"},
		{"empty name", []Tensor{{Name: "", Data: []float32{1}}}, "invalid tensor name"},
		{"reserved name", []Tensor{{Name: "__metadata__", Data: []float32{1}}}, "invalid tensor name"},
		{"shape mismatch", []Tensor{{Name: "a", Shape: []int{2, 3}, Data: make([]float32, 5)}}, "holds 6 elements, data has 5"},
		{"negative dim", []Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, "negative"},
		{"dtype", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}, DType: I64}}, "cannot save as I64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tt.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "checkpoint: ") {
				t.Errorf("Write: %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	four := le32(1, 2)[:8]
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the limit"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "exceeds the 0 bytes"},
		{"not json", rawFile("{nope", nil), "header JSON at byte"},
		{"not object", rawFile("[]", nil), "not a JSON object"},
		{"truncated", rawFile(`{"a":{"dtype":"F32"`, nil), "truncated"},
		{"trailing", rawFile(`{}x`, nil), ""},
		{"bad utf8", rawFile("{\"\xff\":1}", nil), "UTF-8"},
		{"entry not object", rawFile(`{"a":3}`, nil), `tensor "a"`},
		{"missing dtype", rawFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, le32(1)), "missing dtype"},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, le32(1)), "missing shape"},
		{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[1]}}`, le32(1)), "missing data_offsets"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, le32(1)), `unknown dtype "F33"`},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, le32(1)), "has 3 elements"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, le32(1)), "invalid data_offsets"},
		{"negative offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, le32(1)), "invalid data_offsets"},
		{"float offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}}`, le32(1)), "data_offsets: got JSON number 0.5, want an integer"},
		{"past end", rawFile(`{"h.0.attn.c_attn.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, le32(1)),
			`tensor "h.0.attn.c_attn.weight": data_offsets [0,8] past end of buffer (4 bytes)`},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, le32(1)), "negative dimension"},
		{"size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, le32(1)), "needs 2·4 bytes"},
		{"overflow", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil), "overflows"},
		{"lying huge shape", rawFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil), "needs"},
		{"duplicate", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, four), "duplicate tensor name"},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), "duplicate __metadata__"},
		{"metadata not strings", rawFile(`{"__metadata__":{"a":1}}`, nil), "must map strings to strings"},
		{"hole", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, four), "hole of 4 bytes at 0"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, four), `overlap tensor "a"`},
		{"uncovered tail", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, four), "cover 4 of the 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("Parse succeeded with %v", f.Names())
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not match ErrFormat", err)
			}
			if !strings.HasPrefix(err.Error(), "checkpoint: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		names []string
	}{
		{"empty", rawFile(`{}`, nil), nil},
		{"padded", rawFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}   `, le32(1)), []string{"a"}},
		{"null metadata", rawFile(`{"__metadata__":null}`, nil), nil},
		{"zero sized at same offset", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[0,7],"data_offsets":[0,0]}}`, nil), []string{"a", "b"}},
		{"unknown fields ignored", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":true}}`, []byte{7}), []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Names(); !slices.Equal(got, tt.names) && len(got)+len(tt.names) > 0 {
				t.Errorf("Names() = %q, want %q", got, tt.names)
			}
		})
	}
}

func TestConversions(t *testing.T) {
	// Each tensor stores the same values in a different dtype.
	want := []float32{1, -2.5, 0.09375, 0, 448}
	f16 := []byte{0x00, 0x3c, 0x00, 0xc1, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x5f}
	bf16 := []byte{0x80, 0x3f, 0x20, 0xc0, 0xc0, 0x3d, 0x00, 0x00, 0xe0, 0x43}
	var f64 []byte
	for _, v := range want {
		f64 = binary.LittleEndian.AppendUint64(f64, math.Float64bits(float64(v)))
	}
	e5m2 := []byte{0x3c, 0xc1, 0x2e, 0x00, 0x5f}
	e4m3 := []byte{0x38, 0xc2, 0x1c, 0x00, 0x7e}
	ints := make([]byte, 8*5)
	header := `{"f16":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},` +
		`"bf16":{"dtype":"BF16","shape":[5],"data_offsets":[10,20]},` +
		`"e5m2":{"dtype":"F8_E5M2","shape":[5],"data_offsets":[20,25]},` +
		`"e4m3":{"dtype":"F8_E4M3","shape":[5],"data_offsets":[25,30]},` +
		`"f64":{"dtype":"F64","shape":[5],"data_offsets":[30,70]},` +
		`"i64":{"dtype":"I64","shape":[5],"data_offsets":[70,110]}}`
	// Misalign the buffer by one byte so the unaligned paths run too.
	for _, pad := range []string{"", " "} {
		data := rawFile(header+pad, slices.Concat(f16, bf16, e5m2, e4m3, f64, ints))
		f, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"f16", "bf16", "e5m2", "e4m3", "f64"} {
			got, err := f.Float32(name)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("pad %q: Float32(%q) = %v, %v; want %v", pad, name, got, err, want)
			}
		}
		if _, err := f.Float32("i64"); !errors.Is(err, ErrDType) {
			t.Errorf("Float32(i64): %v, want ErrDType", err)
		}
		if err := f.Float32Into(make([]float32, 4), "f16"); err == nil || !strings.Contains(err.Error(), "destination has 4 elements") {
			t.Errorf("Float32Into with a short dst: %v", err)
		}
		if _, err := f.Float32("nope"); !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), `tensor "nope"`) {
			t.Errorf("Float32(nope): %v", err)
		}
		if b, err := f.Bytes("i64"); err != nil || len(b) != 40 {
			t.Errorf("Bytes(i64) = %d bytes, %v", len(b), err)
		}
	}
}

func TestE4M3(t *testing.T) {
	tests := []struct {
		b    byte
		want float32
	}{
		{0x00, 0}, {0x01, 1.0 / 512}, {0x07, 7.0 / 512}, {0x08, 1.0 / 64}, {0x38, 1}, {0x7e, 448}, {0xfe, -448}, {0x80, 0},
	}
	for _, tt := range tests {
		if got := e4m3ToF32(tt.b); got != tt.want {
			t.Errorf("e4m3ToF32(%#x) = %v, want %v", tt.b, got, tt.want)
		}
	}
	if got := e4m3ToF32(0x7f); got == got {
		t.Errorf("e4m3ToF32(0x7f) = %v, want NaN", got)
	}
	if got := e4m3ToF32(0x80); math.Signbit(float64(got)) != true {
		t.Errorf("e4m3ToF32(0x80) lost the sign of zero")
	}
}

func TestFloat32ViewUnaligned(t *testing.T) {
	// A 3-byte U8 tensor first pushes the F32 data off 4-byte alignment.
	header := `{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	data := rawFile(header, append([]byte{1, 2, 3}, le32(1.5, -3)...))
	f, err := Parse(slices.Clone(data))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := f.Bytes("b"); aligned(b, 4) {
		t.Skip("allocation happened to align the tensor")
	}
	if _, ok := f.Float32View("b"); ok {
		t.Error("Float32View of unaligned data succeeded")
	}
	if got, err := f.Float32("b"); err != nil || !slices.Equal(got, []float32{1.5, -3}) {
		t.Errorf("Float32 = %v, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing): %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Open(dir): %v", err)
	}
	empty := filepath.Join(dir, "empty.safetensors")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(empty); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), empty) {
		t.Errorf("Open(empty): %v", err)
	}
}

func BenchmarkFloat32(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 1 << 20
	data := randomData(r, n)
	for _, dt := range []DType{F32, BF16} {
		var buf bytes.Buffer
		if err := Write(&buf, []Tensor{{Name: "w", Shape: []int{n}, Data: data, DType: dt}}, nil); err != nil {
			b.Fatal(err)
		}
		f, err := Parse(buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]float32, n)
		b.Run(dt.String(), func(b *testing.B) {
			b.SetBytes(n * int64(dt.Size()))
			b.ReportAllocs()
			for b.Loop() {
				if err := f.Float32Into(dst, "w"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
