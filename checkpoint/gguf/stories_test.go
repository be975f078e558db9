package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// The stories260K GGUF files (../shared/models/stories260K-gguf) were made
// from llama2.c's stories260K.bin and tok512.bin by the shared
// gguf_write.py, whose quantizers are llama.cpp's reference ones (checked
// bit for bit against libggml); llama.cpp loads them and decodes like run.c.

func openStories(t *testing.T, typ string) *File {
	t.Helper()
	f, err := Open(testenv.Shared(t, "models", "stories260K-gguf", "stories260K-"+typ+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// storiesNames lists the 47 tensors with their llama2.c arrays, in the order
// gguf_write.py writes them (Llama2CTensors). The model: C = 64, F = 172,
// L = 5, 8 query heads and 4 key/value heads of D = 8 (KV = 32), V = 512.
func storiesNames(m *checkpoint.Llama2C) (names []string, shapes [][]int, values [][]float32) {
	for _, t := range Llama2CTensors(m) {
		names, shapes, values = append(names, t.Name), append(shapes, t.Shape), append(values, t.Data)
	}
	return names, shapes, values
}

func readLlama2C(t *testing.T) *checkpoint.Llama2C {
	t.Helper()
	m, err := checkpoint.ReadLlama2C(testenv.Shared(t, "models", "stories260K", "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStoriesF32MatchesLlama2C checks that every tensor of the F32 file
// equals the llama2.c weights bit for bit, with the llama2.c [out, in]
// matrices as row-major shapes (GGUF ne = [in, out]).
//
// That includes attn_q and attn_k: no rows are permuted. llama2.c's export
// keeps Meta's layout, where RoPE rotates adjacent pairs (x[2i], x[2i+1]) of
// each head, which is what llama.cpp's "llama" architecture (rope type NORM)
// computes, so a llama2.c checkpoint converts as it is (llama.cpp's
// convert-llama2c-to-ggml copies element by element too). The permutation
// people associate with GGUF belongs to Hugging Face checkpoints, whose
// q/k rows are permuted for the rotate-half RoPE: llama.cpp's HF converter
// undoes it (per head, row 2i of the GGUF matrix is HF row i, row 2i+1 is HF
// row i + D/2), so HF-derived GGUF files are in Meta's layout too.
func TestStoriesF32MatchesLlama2C(t *testing.T) {
	f := openStories(t, "f32")
	m := readLlama2C(t)
	names, shapes, values := storiesNames(m)
	if f.Len() != len(names) {
		t.Fatalf("%d tensors, want %d", f.Len(), len(names))
	}
	for i, ti := range f.Tensors() {
		if ti.Name != names[i] {
			t.Fatalf("tensor %d is %q, want %q", i, ti.Name, names[i])
		}
		if ti.Type != F32 || !slices.Equal(ti.Shape, shapes[i]) {
			t.Errorf("%s: %v %v, want F32 %v", ti.Name, ti.Type, ti.Shape, shapes[i])
			continue
		}
		got, err := f.Float32(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, values[i], sameBits) {
			t.Errorf("%s differs from the llama2.c weights", ti.Name)
		}
		if view, ok := f.Float32View(ti.Name); !ok || !slices.EqualFunc(view, got, sameBits) {
			t.Errorf("%s: Float32View ok=%v differs from Float32", ti.Name, ok)
		}
	}
	// The rows of attn_q are llama2.c's rows in order; a permuted layout
	// would differ from the very second row on (heads of D = 8).
	q, _ := f.Float32("blk.0.attn_q.weight")
	if !slices.Equal(q[64:128], m.WQ[64:128]) {
		t.Error("attn_q row 1 is not llama2.c's row 1")
	}
}

func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// TestStoriesQuantizedReproduced re-quantizes the llama2.c weights with
// this package's quantizers and checks that every tensor of the Q8_0 and
// Q4_0 files is reproduced byte for byte (F16 and F32 tensors included),
// and that the dequantized values are within the quantization error of the
// originals.
func TestStoriesQuantizedReproduced(t *testing.T) {
	m := readLlama2C(t)
	names, _, values := storiesNames(m)
	for _, tc := range []struct {
		file  string
		types map[Type]int // tensor count per type
	}{
		{"q8_0", map[Type]int{Q8_0: 31, F16: 5, F32: 11}},
		{"q4_0", map[Type]int{Q4_0: 30, Q8_0: 1, F16: 5, F32: 11}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := openStories(t, tc.file)
			counts := map[Type]int{}
			for i, name := range names {
				typ, ok := f.Type(name)
				if !ok {
					t.Fatalf("missing %s", name)
				}
				counts[typ]++
				raw, err := f.Bytes(name)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Encode(typ, values[i])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(raw, want) {
					t.Errorf("%s (%v): re-quantized bytes differ", name, typ)
				}
				got, err := f.Float32(name)
				if err != nil {
					t.Fatal(err)
				}
				checkQuantError(t, name, typ, got, values[i])
			}
			if !mapsEqual(counts, tc.types) {
				t.Errorf("tensor types %v, want %v", counts, tc.types)
			}
		})
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkQuantError bounds |got − x| per block: Q8_0 rounds to a step of
// d = amax/127, so the error is at most d/2, plus what storing d in half
// precision (relative error 2⁻¹¹) moves a quant of up to 127; Q4_0's step is
// d = amax/8 and its top quant is clipped to 7 steps, so the error is up to
// one step, plus 8 quants' share of d's rounding; F16 is within 2⁻¹¹
// relative, or 2⁻²⁵ absolute among the subnormals; F32 is exact.
func checkQuantError(t *testing.T, name string, typ Type, got, x []float32) {
	t.Helper()
	block := max(typ.BlockSize(), 1)
	for b := 0; b < len(x); b += block {
		xs, gs := x[b:b+block], got[b:b+block]
		var amax float64
		for _, v := range xs {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		var bound float64
		switch typ {
		case F32:
			bound = 0
		case F16:
			bound = max(amax*0x1p-11, 0x1p-25) // one element per block
		case Q8_0:
			d := amax / 127
			bound = d/2 + 127*d*0x1p-11 + 1e-9
		case Q4_0:
			d := amax / 8
			bound = d + 8*d*0x1p-11 + 1e-9
		}
		for j := range xs {
			if e := math.Abs(float64(gs[j]) - float64(xs[j])); e > bound || math.IsNaN(e) {
				t.Errorf("%s (%v) element %d: %g, want %g ± %g", name, typ, b+j, gs[j], xs[j], bound)
				return
			}
		}
	}
}

// TestStoriesBlocks checks the zero-copy block views against Float32 and
// against the bytes they alias.
func TestStoriesBlocks(t *testing.T) {
	f8 := openStories(t, "q8_0")
	b8, err := f8.Q8_0Blocks("blk.0.attn_q.weight")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := f8.Bytes("blk.0.attn_q.weight")
	if len(b8) != 64*64/32 || &raw[0] != (*byte)(unsafePointer(&b8[0])) {
		t.Errorf("Q8_0Blocks: %d blocks, aliasing the file: %v", len(b8), &raw[0] == (*byte)(unsafePointer(&b8[0])))
	}
	got := make([]float32, 64*64)
	DequantizeQ8_0(got, b8)
	want, _ := f8.Float32("blk.0.attn_q.weight")
	if !slices.EqualFunc(got, want, sameBits) {
		t.Error("DequantizeQ8_0(Q8_0Blocks) differs from Float32")
	}
	if _, err := f8.Q4_0Blocks("blk.0.attn_q.weight"); !errors.Is(err, checkpoint.ErrDType) {
		t.Errorf("Q4_0Blocks of a Q8_0 tensor: %v, want ErrDType", err)
	}

	f4 := openStories(t, "q4_0")
	b4, err := f4.Q4_0Blocks("blk.4.ffn_up.weight")
	if err != nil {
		t.Fatal(err)
	}
	got = make([]float32, 172*64)
	DequantizeQ4_0(got, b4)
	want, _ = f4.Float32("blk.4.ffn_up.weight")
	if !slices.EqualFunc(got, want, sameBits) {
		t.Error("DequantizeQ4_0(Q4_0Blocks) differs from Float32")
	}
	if info, _ := f4.Info("blk.4.ffn_up.weight"); info.DType != 0 || !slices.Equal(info.Shape, []int{172, 64}) || info.NumBytes() != 172*2*18 {
		t.Errorf("Info of a Q4_0 tensor: %+v", info)
	}
	if info, _ := f4.Info("blk.4.ffn_down.weight"); info.DType != checkpoint.F16 || !slices.Equal(info.Shape, []int{64, 172}) {
		t.Errorf("Info of an F16 tensor: %+v", info)
	}
}

// readTok512 reads a llama2.c tokenizer.bin: int32 max token length, then
// per token float32 score, int32 length, bytes.
func readTok512(t *testing.T, n int) (pieces []string, scores []float32) {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "models", "stories260K", "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	pos := 4
	for range n {
		scores = append(scores, math.Float32frombits(binary.LittleEndian.Uint32(data[pos:])))
		l := int(binary.LittleEndian.Uint32(data[pos+4:]))
		pieces = append(pieces, string(data[pos+8:pos+8+l]))
		pos += 8 + l
	}
	if pos != len(data) {
		t.Fatalf("tok512.bin: %d of %d bytes read", pos, len(data))
	}
	return pieces, scores
}

func TestStoriesMetadata(t *testing.T) {
	pieces, scores := readTok512(t, 512)
	byteRe := regexp.MustCompile(`^<0x[0-9A-Fa-f]{1,2}>`)
	for _, tc := range []struct {
		file     string
		fileType uint64
		quant    bool
	}{{"f32", 0, false}, {"q8_0", 7, true}, {"q4_0", 2, true}} {
		t.Run(tc.file, func(t *testing.T) {
			f := openStories(t, tc.file)
			if f.Version() != 3 || f.Alignment() != 32 || f.DataOffset()%32 != 0 {
				t.Errorf("version %d, alignment %d, data at %d", f.Version(), f.Alignment(), f.DataOffset())
			}
			if s, _ := f.String("general.name"); s != "stories260K" || f.Architecture() != "llama" {
				t.Errorf("general.name %q, architecture %q", s, f.Architecture())
			}
			if ft, ok := f.Uint("general.file_type"); !ok || ft != tc.fileType {
				t.Errorf("general.file_type %d %v, want %d", ft, ok, tc.fileType)
			}
			if qv, ok := f.Uint("general.quantization_version"); ok != tc.quant || tc.quant && qv != 2 {
				t.Errorf("general.quantization_version %d %v", qv, ok)
			}
			p, err := f.LlamaParams()
			if err != nil {
				t.Fatal(err)
			}
			want := LlamaParams{Architecture: "llama", ContextLength: 512, EmbeddingLength: 64, BlockCount: 5,
				FeedForwardLength: 172, HeadCount: 8, HeadCountKV: 4, RMSNormEpsilon: 1e-5, RopeFreqBase: 10000,
				RopeDimensionCount: 8, VocabSize: 512}
			if p != want {
				t.Errorf("LlamaParams\n got %+v\nwant %+v", p, want)
			}
			md := f.Metadata()
			if md["llama.attention.layer_norm_rms_epsilon"] != "1e-05" || md["llama.block_count"] != "5" ||
				md["tokenizer.ggml.add_bos_token"] != "true" || md["tokenizer.ggml.model"] != "llama" {
				t.Errorf("Metadata: %v", md)
			}
			if _, ok := md[KeyTokens]; ok {
				t.Error("Metadata includes the token array")
			}

			tk, err := f.Tokenizer()
			if err != nil {
				t.Fatal(err)
			}
			if tk.Model != "llama" || len(tk.Tokens) != 512 || len(tk.Scores) != 512 || len(tk.Types) != 512 {
				t.Fatalf("tokenizer %v: %d scores, %d types", tk, len(tk.Scores), len(tk.Types))
			}
			if tk.BOS != 1 || tk.EOS != 2 || tk.UNK != 0 || tk.PAD != -1 || tk.SEP != -1 || tk.EOT != -1 ||
				tk.AddBOS == nil || !*tk.AddBOS || tk.AddEOS == nil || *tk.AddEOS || tk.AddSpacePrefix != nil ||
				tk.Merges != nil || tk.ChatTemplate != "" || tk.Pre != "" {
				t.Errorf("tokenizer fields: %+v", tk)
			}
			for i, piece := range pieces {
				wantTok, wantType := strings.ReplaceAll(piece, " ", "▁"), TokenNormal
				switch {
				case i == 0:
					wantTok, wantType = "<unk>", TokenUnknown
				case i == 1:
					wantTok, wantType = "<s>", TokenControl
				case i == 2:
					wantTok, wantType = "</s>", TokenControl
				case byteRe.MatchString(piece):
					wantType = TokenByte
				}
				if tk.Tokens[i] != wantTok || tk.Types[i] != wantType || !sameBits(tk.Scores[i], scores[i]) {
					t.Errorf("token %d: %q %v %g, want %q %v %g", i, tk.Tokens[i], tk.Types[i], tk.Scores[i], wantTok, wantType, scores[i])
				}
			}
		})
	}
}

// TestStoriesWriterReproducesFiles rebuilds each stories260K file with the
// Writer, from the llama2.c weights (quantizing them) and from the file's own
// raw tensors, and checks that both come out byte for byte identical to the
// file that llama.cpp loads.
func TestStoriesWriterReproducesFiles(t *testing.T) {
	m := readLlama2C(t)
	names, shapes, values := storiesNames(m)
	for _, typ := range []string{"f32", "q8_0", "q4_0"} {
		t.Run(typ, func(t *testing.T) {
			f := openStories(t, typ)
			want, err := os.ReadFile(f.Path())
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range []bool{false, true} {
				var w Writer
				for _, k := range f.Keys() {
					v, _ := f.Value(k)
					if err := w.Set(k, v); err != nil {
						t.Fatal(err)
					}
				}
				for i, name := range names {
					tt, _ := f.Type(name)
					if raw {
						b, _ := f.Bytes(name)
						err = w.AddRawTensor(name, shapes[i], tt, b)
					} else {
						err = w.AddTensor(name, shapes[i], tt, values[i])
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				var buf bytes.Buffer
				n, err := w.WriteTo(&buf)
				if err != nil || n != int64(buf.Len()) {
					t.Fatalf("WriteTo: %d bytes, %v", n, err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("raw=%v: written file (%d bytes) differs from %s (%d bytes)", raw, buf.Len(), f.Path(), len(want))
				}
			}
		})
	}
}
