package infer

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/kernels"
)

// quantRef returns the product the quantized formats define, in float64:
// the dequantized weights [out, in] times the Q8_0-quantized rows of x.
func quantRef(wq []byte, f Format, x []float32, N, in, out int) []float64 {
	wf := make([]float32, in*out)
	if f == Q4_0 {
		kernels.DequantizeQ4_0(wf, wq)
	} else {
		kernels.DequantizeQ8_0(wf, wq)
	}
	q, d, s := make([]int8, in), make([]float32, in/kernels.QK), make([]int32, in/kernels.QK)
	ref := make([]float64, N*out)
	for r := range N {
		kernels.QuantizeQ8_0Generic(q, d, s, x[r*in:(r+1)*in])
		for o := range out {
			s := 0.0
			for i := range in {
				s += float64(wf[o*in+i]) * float64(q[i]) * float64(d[i/kernels.QK])
			}
			ref[r*out+o] = s
		}
	}
	return ref
}

// TestQuantLinear checks the Q8_0 and Q4_0 formats (from both layouts)
// against their definition for decoding and prefill row counts, through
// Forward, ForwardAct and AddTo; a product of a few rows allocates nothing.
func TestQuantLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const in, out = 96, 45
	w := randn(rng, out*in, 0.3)
	wT := Transpose(w, out, in) // [in, out]
	bias := randn(rng, out, 0.5)
	for _, f := range []Format{Q8_0, Q4_0} {
		for _, layout := range []Layout{OutIn, InOut} {
			src := w
			if layout == InOut {
				src = wT
			}
			wt := NewWeight(src, in, out, layout, f)
			if wt.Format() != f || wt.Bytes() != out*in/32*blockBytes(f) {
				t.Fatalf("%v: format %v, %d bytes", f, wt.Format(), wt.Bytes())
			}
			wq := wt.(*quantWeight).parts[0].data
			l := NewLinear(wt, bias)
			for _, N := range []int{1, 3, 4, 5, 16, 17, 33} {
				x := randn(rng, N*in, 1)
				ref := quantRef(wq, f, x, N, in, out)
				for i := range ref {
					ref[i] += float64(bias[i%out])
				}
				var sc Scratch
				y := make([]float32, N*out)
				l.Forward(&sc, y, x, N)
				if e := maxRel(t, y, ref); e > 1e-5 {
					t.Errorf("%v layout %d N=%d Forward: error %.3g", f, layout, N, e)
				}
				l.ForwardAct(&sc, y, x, N, ReLU)
				relu := make([]float64, len(ref))
				for i, v := range ref {
					relu[i] = max(v, 0)
				}
				if e := maxRel(t, y, relu); e > 1e-5 {
					t.Errorf("%v N=%d ForwardAct: error %.3g", f, N, e)
				}
				res := randn(rng, N*out, 1)
				copy(y, res)
				l.AddTo(&sc, y, x, N)
				for i := range ref {
					ref[i] += float64(res[i])
				}
				if e := maxRel(t, y, ref); e > 1e-5 {
					t.Errorf("%v N=%d AddTo: error %.3g", f, N, e)
				}
			}
			var sc Scratch
			x, y := randn(rng, in, 1), make([]float32, out)
			l.Forward(&sc, y, x, 1)
			if a := testing.AllocsPerRun(20, func() { l.AddTo(&sc, y, x, 1) }); a != 0 {
				t.Errorf("%v: a decoding product allocates %v times", f, a)
			}
		}
		// Rows that are not whole blocks stay float32.
		if wt := NewWeight(randn(rng, 70*8, 1), 70, 8, OutIn, f); wt.Format() != F32 {
			t.Errorf("%v with rows of 70: format %v, want f32", f, wt.Format())
		}
	}
}

// TestQuantLinearCat checks that a quantized LinearCat, whose parts stay
// separate, computes its parts' products side by side, across the chunks
// of a parallel product.
func TestQuantLinearCat(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const in = 64
	outs := []int{600, 7, 300}
	ts := Tensors{}
	names := []string{"q", "k", "v"}
	for i, n := range names {
		ts.Add(n+".weight", randn(rng, outs[i]*in, 0.2), outs[i], in)
	}
	for _, f := range []Format{Q8_0, Q4_0} {
		b := NewBuilder(ts, BuilderOptions{Format: f})
		cat := b.LinearCat(names, in, outs, false)
		var parts []*Linear
		for i, n := range names {
			parts = append(parts, b.Linear(n, in, outs[i], false))
		}
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		if got := len(cat.W.(*quantWeight).chunks); got < 3 {
			t.Fatalf("%v: %d chunks", f, got)
		}
		for _, N := range []int{1, 9} {
			x := randn(rng, N*in, 1)
			var sc Scratch
			y := make([]float32, N*cat.Out)
			cat.Forward(&sc, y, x, N)
			off := 0
			for i, p := range parts {
				yp := make([]float32, N*outs[i])
				p.Forward(&sc, yp, x, N)
				for r := range N {
					for o := range outs[i] {
						if got, want := y[r*cat.Out+off+o], yp[r*outs[i]+o]; got != want {
							t.Fatalf("%v N=%d: part %d row %d output %d: %v, alone %v", f, N, i, r, o, got, want)
						}
					}
				}
				off += outs[i]
			}
		}
	}
}

// TestBuilderGGUF loads a GGUF file of mixed tensor types: Stored keeps
// each type (the quantized blocks aliasing the mapped file under
// KeepSource, copied otherwise, F16 as F16), a quantized
// Format converts the other types, rows that are not whole blocks stay
// float32, and the tied embedding's rows dequantize.
func TestBuilderGGUF(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const C, V = 64, 10
	vals := map[string][]float32{}
	var gw gguf.Writer
	for _, tc := range []struct {
		name  string
		shape []int
		typ   gguf.Type
	}{
		{"emb.weight", []int{V, C}, gguf.Q8_0},
		{"a.weight", []int{8, C}, gguf.Q4_0},
		{"b.weight", []int{8, C}, gguf.Q8_0},
		{"c.weight", []int{C, 40}, gguf.F16},
	} {
		v := randn(rng, tc.shape[0]*tc.shape[1], 0.5)
		vals[tc.name] = v
		if err := gw.AddTensor(tc.name, tc.shape, tc.typ, v); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "mixed.gguf")
	if err := gw.Save(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inFile := func(p []byte, name string) bool {
		raw, _ := f.Bytes(name)
		return unsafe.SliceData(p) == unsafe.SliceData(raw)
	}
	for _, keep := range []bool{false, true} {
		b := NewBuilder(f, BuilderOptions{Format: Stored, KeepSource: keep})
		e := b.Embedding("emb.weight", V, C)
		a := b.Linear("a", C, 8, false)
		bl := b.Linear("b", C, 8, false)
		c := b.Linear("c", 40, C, false)
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		if e.Format() != Q8_0 || a.W.Format() != Q4_0 || bl.W.Format() != Q8_0 || c.W.Format() != F16 {
			t.Fatalf("stored formats %v %v %v %v", e.Format(), a.W.Format(), bl.W.Format(), c.W.Format())
		}
		if b.Aliased() != keep || inFile(a.W.(*quantWeight).parts[0].data, "a.weight") != keep || inFile(e.q, "emb.weight") != keep {
			t.Fatalf("KeepSource %v: aliased %v", keep, b.Aliased())
		}
		// The embedding's rows are the dequantized blocks; the tied head
		// shares them.
		row := make([]float32, C)
		e.Lookup(row, 3)
		want := make([]float32, C)
		raw, _ := f.Bytes("emb.weight")
		kernels.DequantizeQ8_0(want, raw[3*C/32*34:4*C/32*34])
		for i := range row {
			if row[i] != want[i] {
				t.Fatalf("Lookup(3)[%d] = %v, want %v", i, row[i], want[i])
			}
		}
		if tw := e.Head(nil).W; tw.Format() != Q8_0 || unsafe.SliceData(tw.(*quantWeight).parts[0].data) != unsafe.SliceData(e.q) {
			t.Fatal("the tied head does not share the embedding")
		}
	}
	// A quantized format requantizes what is stored otherwise.
	b := NewBuilder(f, BuilderOptions{Format: Q4_0})
	a := b.Linear("a", C, 8, false)
	bl := b.Linear("b", C, 8, false)
	c := b.Linear("c", 40, C, false)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if a.W.Format() != Q4_0 || bl.W.Format() != Q4_0 || c.W.Format() != F32 {
		t.Fatalf("q4_0 formats %v %v %v", a.W.Format(), bl.W.Format(), c.W.Format())
	}
	if inFile(a.W.(*quantWeight).parts[0].data, "a.weight") {
		t.Fatal("a copy aliases the file without KeepSource")
	}
	// Requantized from the dequantized Q8_0 values: as llama-quantize would.
	bf := make([]float32, 8*C)
	raw, _ := f.Bytes("b.weight")
	kernels.DequantizeQ8_0(bf, raw)
	want, _ := gguf.Encode(gguf.Q4_0, bf)
	if got := bl.W.(*quantWeight).parts[0].data; string(got) != string(want) {
		t.Fatal("Q8_0 requantized to Q4_0 differs from llama.cpp's quantizer")
	}
}

// TestF16Linear checks the F16 format: half-precision weights times
// activations rounded to half precision, as llama.cpp computes with an F16
// matrix.
func TestF16Linear(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const in, out = 70, 9
	w := randn(rng, out*in, 0.3)
	l := NewLinear(NewWeight(w, in, out, OutIn, F16), nil)
	if l.W.Format() != F16 {
		t.Fatalf("format %v", l.W.Format())
	}
	wh := make([]float32, len(w))
	kernels.RoundHalf(wh, w)
	for _, N := range []int{1, 6} {
		x := randn(rng, N*in, 1)
		xh := make([]float32, len(x))
		kernels.RoundHalf(xh, x)
		ref := make([]float64, N*out)
		for r := range N {
			for o := range out {
				for i := range in {
					ref[r*out+o] += float64(wh[o*in+i]) * float64(xh[r*in+i])
				}
			}
		}
		var sc Scratch
		y := make([]float32, N*out)
		l.Forward(&sc, y, x, N)
		if e := maxRel(t, y, ref); e > 1e-5 {
			t.Errorf("N=%d: error %.3g", N, e)
		}
	}
}
