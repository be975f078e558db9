package infer

import (
	"fmt"
	"strings"
	"sync"

	"github.com/glossa-ai/glossa/kernels"
)

// Format is how a Linear stores its weight.
type Format int

const (
	// F32 keeps float32 weights, packed once at load into the panel layout
	// of the blocked matrix product (kernels.PackB), so no pass re-packs
	// them; one-to-four-row products stream the panels once.
	F32 Format = iota
	// BF16 keeps bfloat16 weights [out, in]: half the bytes to stream per
	// decoding step, where the kernels widen them to float32. Products of
	// more rows (prefill, encoders) run kernels.GemmBF16 where the CPU has
	// AVX-512 BF16, on a copy of the matrix packed at construction: the
	// activations are rounded to bfloat16 too, and the products of bfloat16
	// pairs are summed in float32. Elsewhere they widen the weights and run
	// the float32 product.
	BF16
	// Q8_0 keeps llama.cpp's Q8_0 blocks (32 int8 and a half-precision
	// scale, 34 bytes per 32 weights): a GGUF file's Q8_0 tensors as they
	// are stored, other matrices quantized at load by llama.cpp's reference
	// quantizer. Products quantize the activations to Q8_0 too and take
	// int8 dot products, as llama.cpp does. Matrices whose rows are not a
	// multiple of 32 stay float32.
	Q8_0
	// Q4_0 keeps llama.cpp's Q4_0 blocks (32 4-bit quants and a scale, 18
	// bytes per 32 weights), like Q8_0.
	Q4_0
	// F16 keeps half-precision values (a GGUF file's F16 tensors as they
	// are, others rounded to nearest even) and computes as llama.cpp does
	// with an F16 matrix: the activations are rounded to half precision
	// before each product. The values are held widened to float32 in the
	// packed panels of F32, so the memory is F32's.
	F16
	// Stored keeps every matrix in the type its checkpoint stores it in,
	// where a format holds that type: GGUF Q8_0, Q4_0 and F16 tensors as
	// Q8_0, Q4_0 and F16, bfloat16 as BF16, the rest (F32, safetensors F16,
	// other GGUF types) as float32. One model may then mix formats, as llama.cpp's files do
	// (a Q4_0 file has a Q8_0 embedding and F16 matrices whose rows are
	// not a multiple of 32).
	Stored
)

var formatNames = spellings{F32: {"f32", "float32", "fp32", ""}, BF16: {"bf16", "bfloat16"}, Q8_0: {"q8_0"},
	Q4_0: {"q4_0"}, F16: {"f16", "float16", "fp16"}, Stored: {"stored", "gguf", "as-stored"}}

// ParseFormat maps "f32"/"float32", "bf16"/"bfloat16", "q8_0", "q4_0",
// "f16"/"float16" and "stored"/"gguf" to a Format.
func ParseFormat(s string) (Format, error) {
	if f, ok := formatNames.parse(strings.ToLower(s)); ok {
		return Format(f), nil
	}
	return 0, fmt.Errorf("infer: unknown weight format %q (want f32, bf16, q8_0, q4_0, f16 or stored)", s)
}

// String returns "f32", "bf16", "q8_0", "q4_0", "f16" or "stored".
func (f Format) String() string { return formatNames.name(int(f), "Format") }

// quantized reports whether f is one of llama.cpp's block formats.
func (f Format) quantized() bool { return f == Q8_0 || f == Q4_0 }

// Layout says how a float32 weight matrix is stored in a checkpoint.
type Layout int

const (
	// OutIn is PyTorch nn.Linear's [out, in]: y = x·Wᵀ.
	OutIn Layout = iota
	// InOut is GPT-2 Conv1D's [in, out]: y = x·W.
	InOut
)

// Weight is the matrix of a Linear in one storage format. Implementations
// live in this package; each is immutable and safe for concurrent use.
type Weight interface {
	// Dims returns the input and output widths.
	Dims() (in, out int)
	// Format reports the storage format.
	Format() Format
	// Bytes reports the bytes a product streams.
	Bytes() int
	// mul computes y = beta·y + x·Wᵀ for N rows of x [N, in] into y
	// [N, out], then ep (nil: none; only Bias and Act are used).
	mul(sc *Scratch, y, x []float32, N int, beta float32, ep *kernels.Epilogue)
}

// NewWeight returns w, a float32 in×out matrix stored in layout, in format
// f. w is not referenced afterwards: F32 packs a copy, BF16 rounds one
// (to nearest even), Q8_0 and Q4_0 quantize one with llama.cpp's reference
// quantizers (float32 when in is not a multiple of 32), F16 rounds one to
// half precision. Stored means F32.
func NewWeight(w []float32, in, out int, layout Layout, f Format) Weight {
	if len(w) != in*out {
		panic(fmt.Sprintf("infer: NewWeight: %d values for a %d×%d matrix", len(w), in, out))
	}
	if f.quantized() && in%kernels.QK != 0 {
		f = F32
	}
	switch f {
	case BF16:
		return newBF16Weight(toBF16(w, in, out, layout), in, out)
	case Q8_0, Q4_0:
		if layout == InOut {
			w = Transpose(w, in, out)
		}
		return newQuantWeight(f, in, out, [][]byte{quantize(f, w, out, in)}, []int{out})
	case F16:
		h := make([]float32, len(w))
		kernels.RoundHalf(h, w)
		pw := NewWeight(h, in, out, layout, F32).(*packedWeight)
		return &f16Weight{*pw}
	default:
		if layout == InOut {
			return &packedWeight{in: in, out: out, pb: kernels.PackB(false, in, out, w, out)}
		}
		return &packedWeight{in: in, out: out, pb: kernels.PackB(true, in, out, w, in)}
	}
}

// DenseWeight returns w [out, in] float32 as a Weight that aliases it, for
// a matrix that also serves another purpose — the tied embedding of a
// language-model head. Products of a few rows stream it with matrix-vector
// kernels; larger ones multiply by a packed copy made when first needed.
func DenseWeight(w []float32, in, out int) Weight {
	if len(w) != in*out {
		panic(fmt.Sprintf("infer: DenseWeight: %d values for a %d×%d matrix", len(w), in, out))
	}
	return &denseWeight{in: in, out: out, w: w}
}

// BF16Weight returns w [out, in] bfloat16 as a Weight that aliases it
// (for decoding; products of more rows use a packed copy where the CPU has
// AVX-512 BF16, see BF16).
func BF16Weight(w []uint16, in, out int) Weight {
	if len(w) != in*out {
		panic(fmt.Sprintf("infer: BF16Weight: %d values for a %d×%d matrix", len(w), in, out))
	}
	return newBF16Weight(w, in, out)
}

// newBF16Weight wraps w [out, in], packing it for kernels.GemmBF16 where
// that runs on the CPU's VDPBF16PS.
func newBF16Weight(w []uint16, in, out int) *bf16Weight {
	bw := &bf16Weight{in: in, out: out, w: w}
	if kernels.GemmBF16Native() && in > 0 {
		bw.pb = kernels.PackBF16(true, in, out, w, in)
		bw.w = nil // the packed copy serves every product
	}
	return bw
}

// Transpose returns w [in, out] (row-major) as a new [out, in] matrix:
// GPT-2's Conv1D layout as nn.Linear's.
func Transpose(w []float32, in, out int) []float32 {
	t := make([]float32, len(w))
	for i := range in {
		for o := range out {
			t[o*in+i] = w[i*out+o]
		}
	}
	return t
}

// toBF16 rounds w (in layout) to bfloat16 [out, in].
func toBF16(w []float32, in, out int, layout Layout) []uint16 {
	wt := make([]uint16, in*out)
	if layout == OutIn {
		kernels.ParallelFor(out, 64, func(lo, hi int) {
			kernels.F32ToBF16(wt[lo*in:hi*in], w[lo*in:hi*in])
		})
		return wt
	}
	kernels.ParallelFor(out, 16, func(lo, hi int) {
		col := make([]float32, in)
		for o := lo; o < hi; o++ {
			for i := range in {
				col[i] = w[i*out+o]
			}
			kernels.F32ToBF16(wt[o*in:(o+1)*in], col)
		}
	})
	return wt
}

// Linear is y = x·Wᵀ + b over rows of x.
type Linear struct {
	In, Out int
	W       Weight
	Bias    []float32 // [Out]; nil for none

	// ep holds the epilogues of Forward and ForwardAct, one per activation,
	// built once so that a call allocates nothing.
	ep [Identity + 1]kernels.Epilogue
}

// NewLinear returns the layer of weight w and bias (nil: none).
func NewLinear(w Weight, bias []float32) *Linear {
	in, out := w.Dims()
	if bias != nil && len(bias) != out {
		panic(fmt.Sprintf("infer: NewLinear: bias of %d values for %d outputs", len(bias), out))
	}
	l := &Linear{In: in, Out: out, W: w, Bias: bias}
	for a := range l.ep {
		l.ep[a] = kernels.Epilogue{Bias: bias, Act: Activation(a).Kernel()}
	}
	return l
}

// epilogue returns the epilogue adding the bias then act, or nil when there
// is nothing to do.
func (l *Linear) epilogue(act Activation) *kernels.Epilogue {
	if l.Bias == nil && act == Identity {
		return nil
	}
	return &l.ep[act]
}

// Forward computes y = x·Wᵀ + b for N rows: x [N, In], y [N, Out].
func (l *Linear) Forward(sc *Scratch, y, x []float32, N int) {
	l.W.mul(sc, y[:N*l.Out], x[:N*l.In], N, 0, l.epilogue(Identity))
}

// ForwardAct computes y = act(x·Wᵀ + b), the activation fused into the
// product.
func (l *Linear) ForwardAct(sc *Scratch, y, x []float32, N int, act Activation) {
	l.W.mul(sc, y[:N*l.Out], x[:N*l.In], N, 0, l.epilogue(act))
}

// AddTo computes y += x·Wᵀ + b: a projection into the residual stream.
func (l *Linear) AddTo(sc *Scratch, y, x []float32, N int) {
	l.W.mul(sc, y[:N*l.Out], x[:N*l.In], N, 1, l.epilogue(Identity))
}

// packedWeight is a float32 matrix packed for kernels.SgemmPacked.
type packedWeight struct {
	in, out int
	pb      *kernels.PackedB
}

func (w *packedWeight) Dims() (int, int) { return w.in, w.out }
func (w *packedWeight) Format() Format   { return F32 }
func (w *packedWeight) Bytes() int       { return 4 * w.in * w.out }
func (w *packedWeight) mul(_ *Scratch, y, x []float32, N int, beta float32, ep *kernels.Epilogue) {
	kernels.SgemmPacked(false, N, 1, x, w.in, w.pb, beta, y, w.out, ep)
}

// f16Weight is a matrix of half-precision values, packed as float32, whose
// products round the activations to half precision first.
type f16Weight struct{ packedWeight }

func (w *f16Weight) Format() Format { return F16 }
func (w *f16Weight) mul(sc *Scratch, y, x []float32, N int, beta float32, ep *kernels.Epilogue) {
	h := sc.grow(&sc.half, N*w.in)
	kernels.RoundHalf(h, x[:N*w.in])
	w.packedWeight.mul(sc, y, h, N, beta, ep)
}

// denseWeight is a float32 [out, in] matrix used in place. Products of
// more than a few rows (batched decoding, prefill) multiply by a packed copy
// made on the first such call, so that a model that never batches does not
// pay its memory.
type denseWeight struct {
	in, out int
	w       []float32
	once    sync.Once
	packed  *kernels.PackedB
}

func (w *denseWeight) Dims() (int, int) { return w.in, w.out }
func (w *denseWeight) Format() Format   { return F32 }
func (w *denseWeight) Bytes() int       { return 4 * w.in * w.out }
func (w *denseWeight) mul(sc *Scratch, y, x []float32, N int, beta float32, ep *kernels.Epilogue) {
	if N > matvecMaxRows {
		w.once.Do(func() { w.packed = kernels.PackB(true, w.in, w.out, w.w, w.in) })
		kernels.SgemmPacked(false, N, 1, x, w.in, w.packed, beta, y, w.out, ep)
		return
	}
	sc.matvec(y, x, w.w, nil, N, w.in, w.out, beta, ep)
}

// bf16Weight is a bfloat16 [out, in] matrix.
type bf16Weight struct {
	in, out int
	w       []uint16
	// pb is the matrix packed for kernels.GemmBF16 (w is then dropped),
	// nil where that has no VDPBF16PS kernels (its generic twin is exact
	// but slow).
	pb *kernels.PackedBF16
}

func (w *bf16Weight) Dims() (int, int) { return w.in, w.out }
func (w *bf16Weight) Format() Format   { return BF16 }
func (w *bf16Weight) Bytes() int       { return 2 * w.in * w.out }

// mul runs the bfloat16 product (activations rounded to bfloat16,
// float32 accumulation) on the packed matrix for every number of rows, so
// that a row's result does not depend on what it is batched with. Without
// VDPBF16PS, the weights are widened instead and the activations kept in
// float32: the matrix is streamed once for a few rows; for more, tiles of
// about bf16TileBytes are widened into scratch and multiplied with the
// blocked float32 product, the widening shared by all N rows.
func (w *bf16Weight) mul(sc *Scratch, y, x []float32, N int, beta float32, ep *kernels.Epilogue) {
	if w.pb != nil {
		kernels.GemmBF16(false, N, x, w.in, w.pb, beta, y, w.out, ep)
		return
	}
	if N <= matvecMaxRows {
		sc.matvec(y, x, nil, w.w, N, w.in, w.out, beta, ep)
		return
	}
	in, out := w.in, w.out
	rows := max(16, bf16TileBytes/(4*in)) &^ 15
	tile := sc.grow(&sc.tile, min(rows, out)*in)
	for o0 := 0; o0 < out; o0 += rows {
		o1 := min(out, o0+rows)
		t := tile[:(o1-o0)*in]
		kernels.ParallelFor(o1-o0, 64, func(lo, hi int) {
			kernels.BF16ToF32(t[lo*in:hi*in], w.w[(o0+lo)*in:(o0+hi)*in])
		})
		var sub *kernels.Epilogue
		if ep != nil {
			sub = &kernels.Epilogue{Act: ep.Act}
			if ep.Bias != nil {
				sub.Bias = ep.Bias[o0:o1]
			}
		}
		kernels.SgemmEpilogue(false, true, N, o1-o0, in, 1, x, in, t, in, beta, y[o0:], out, sub)
	}
}

// bf16TileBytes is the float32 size of the tiles a many-row bfloat16
// product widens at a time.
const bf16TileBytes = 4 << 20
