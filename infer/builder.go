package infer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/kernels"
)

// Builder is a prefix-scoped view of a checkpoint that model loaders descend
// through, so that a model's load code reads as a map of its tensor names:
//
//	blk := b.Sub("h", l)
//	ln1 := blk.LayerNorm("ln_1", C, eps)          // h.3.ln_1.weight, h.3.ln_1.bias
//	qkv := blk.Conv1D("attn.c_attn", C, 3*C)      // h.3.attn.c_attn.{weight,bias}
//
// Every lookup checks the tensor's shape, tries the model's aliases (legacy
// prefixes, TensorFlow's gamma/beta), widens F16/BF16 to float32 or keeps
// bfloat16, and packs matrices in the Builder's Format. The first failure —
// a missing tensor, a wrong shape, an unreadable dtype — is kept and
// returned by Err, naming the tensor and the checkpoint; later lookups
// return empty values, so load code checks once at the end.
//
// With no source (a nil Reader), the same calls allocate fresh tensors
// filled by BuilderOptions.Init: one code path loads pretrained weights and
// initialises new ones.
type Builder struct {
	st     *builderState
	prefix string
}

type builderState struct {
	src     checkpoint.Reader
	opts    BuilderOptions
	err     error
	aliased bool // some value aliases src's memory

	// Loading scratch, reused from tensor to tensor so that matrices that
	// are converted before they are packed leave no garbage behind (it
	// would count in the peak resident set until the collector returns
	// it): the float32 values of a tensor that is not mapped as float32.
	conv  []float32
	cat   []float32
	cat16 []uint16
}

// BuilderOptions configure NewBuilder. The zero value reads float32
// matrices by their exact names.
type BuilderOptions struct {
	// Model prefixes error messages ("gpt2").
	Model string
	// Source names the checkpoint in error messages (a file or folder).
	Source string
	// Format is the storage format of matrices (Linear, Conv1D, LinearCat,
	// Embedding). Zero is F32.
	Format Format
	// Aliases, when set, returns other checkpoint names under which the
	// tensor with full name name may be stored, tried in order after name.
	Aliases func(name string) []string
	// Init fills a new tensor when the Builder has no source; nil fills
	// zeros. HFInit gives Hugging Face's initialisation.
	Init func(name string, shape []int, dst []float32)
	// KeepSource says the caller keeps the source open for as long as the
	// model lives, so float32 embedding tables and the Q8_0/Q4_0 blocks of
	// a GGUF file may alias it rather than be copied (Aliased reports
	// whether any did).
	KeepSource bool
	// KeepMapped leaves the pages of memory-mapped float32 matrices
	// resident after they are packed or converted. By default they are
	// released, so that a model costs its weights once.
	KeepMapped bool
}

// NewBuilder returns a Builder over src (nil: fresh tensors from
// opts.Init).
func NewBuilder(src checkpoint.Reader, opts BuilderOptions) *Builder {
	return &Builder{st: &builderState{src: src, opts: opts}}
}

// Sub returns the Builder of a child scope: Sub("encoder", "layer", 3)
// looks tensors up under "encoder.layer.3.". Integers print in decimal.
func (b *Builder) Sub(parts ...any) *Builder {
	var sb strings.Builder
	sb.WriteString(b.prefix)
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			sb.WriteString(strconv.Itoa(v))
		case string:
			sb.WriteString(v)
		default:
			sb.WriteString(fmt.Sprint(v))
		}
		sb.WriteByte('.')
	}
	return &Builder{st: b.st, prefix: sb.String()}
}

// Path returns the full name of name in b's scope.
func (b *Builder) Path(name string) string { return b.prefix + name }

// Format reports the Builder's matrix format.
func (b *Builder) Format() Format { return b.st.opts.Format }

// Aliased reports whether some loaded value aliases the source's memory
// (only with KeepSource): the source must then stay open for as long as
// the model is used; otherwise it may be closed once loading is done.
func (b *Builder) Aliased() bool { return b.st.aliased }

// Err returns the first failure of any lookup through b or its scopes.
func (b *Builder) Err() error { return b.st.err }

// Fail records err (the first one wins), for checks a loader makes itself.
func (b *Builder) Fail(err error) {
	if b.st.err == nil && err != nil {
		b.st.err = err
	}
}

// Has reports whether the checkpoint holds name (under any alias). Without
// a source it reports true: every tensor is created.
func (b *Builder) Has(name string) bool {
	if b.st.src == nil {
		return true
	}
	_, ok := b.find(b.Path(name))
	return ok
}

// find returns the checkpoint's entry for the full name or an alias.
func (b *Builder) find(full string) (checkpoint.TensorInfo, bool) {
	src := b.st.src
	if info, ok := src.Info(full); ok {
		return info, true
	}
	if b.st.opts.Aliases != nil {
		for _, alt := range b.st.opts.Aliases(full) {
			if info, ok := src.Info(alt); ok {
				return info, true
			}
		}
	}
	return checkpoint.TensorInfo{}, false
}

// ErrShape is matched (errors.Is) by load errors for a tensor whose shape
// differs from the one the model expects.
var ErrShape = errors.New("shape mismatch")

func (b *Builder) failf(full string, err error) {
	o := b.st.opts
	where := ""
	if o.Source != "" {
		where = " from " + o.Source
	}
	model := o.Model
	if model == "" {
		model = "infer"
	}
	b.Fail(fmt.Errorf("%s: load %s%s: %w", model, full, where, err))
}

// lookup finds and shape-checks full, recording a failure.
func (b *Builder) lookup(full string, shape []int) (checkpoint.TensorInfo, bool) {
	if b.st.err != nil {
		return checkpoint.TensorInfo{}, false
	}
	info, ok := b.find(full)
	if !ok {
		b.failf(full, checkpoint.ErrMissingTensor)
		return info, false
	}
	if !slices.Equal(info.Shape, shape) {
		b.failf(full, fmt.Errorf("%w: shape %v, want %v", ErrShape, info.Shape, shape))
		return info, false
	}
	return info, true
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// fresh returns a new tensor filled by Init.
func (b *Builder) fresh(full string, shape []int) []float32 {
	dst := make([]float32, numel(shape))
	if b.st.opts.Init != nil {
		b.st.opts.Init(full, shape, dst)
	}
	return dst
}

// Tensor returns a float32 copy of name with the given shape (nil after a
// failure).
func (b *Builder) Tensor(name string, shape ...int) []float32 {
	full := b.Path(name)
	if b.st.src == nil {
		return b.fresh(full, shape)
	}
	info, ok := b.lookup(full, shape)
	if !ok {
		return nil
	}
	w, err := b.st.src.Float32(info.Name)
	if err != nil {
		b.failf(full, err)
		return nil
	}
	b.release(info)
	return w
}

// Into copies name, converted to float32, into dst (a trainable parameter,
// say), checking that it has the given shape.
func (b *Builder) Into(name string, dst []float32, shape ...int) {
	full := b.Path(name)
	if b.st.src == nil {
		if b.st.opts.Init != nil {
			b.st.opts.Init(full, shape, dst)
		}
		return
	}
	info, ok := b.lookup(full, shape)
	if !ok {
		return
	}
	if err := b.st.src.Float32Into(dst, info.Name); err != nil {
		b.failf(full, err)
	}
}

// viewer is implemented by readers that return zero-copy float32 views.
type viewer interface {
	Float32View(name string) ([]float32, bool)
}

// mappedView is the common start of view and packView: fresh weights when
// there is no checkpoint, nothing when the lookup fails, and a zero-copy
// view of a mapped float32 tensor. done is false when the caller must
// still convert tensor info.Name.
func (b *Builder) mappedView(full string, shape []int) (w []float32, info checkpoint.TensorInfo, mapped, done bool) {
	if b.st.src == nil {
		return b.fresh(full, shape), info, false, true
	}
	info, ok := b.lookup(full, shape)
	if !ok {
		return nil, info, false, true
	}
	if v, ok := b.st.src.(viewer); ok {
		if w, ok := v.Float32View(info.Name); ok {
			return w, info, true, true
		}
	}
	return nil, info, false, false
}

// view returns name as float32: a zero-copy view of the checkpoint when it
// is stored as float32 and mapped, else a copy; mapped reports which.
func (b *Builder) view(full string, shape []int) (w []float32, info checkpoint.TensorInfo, mapped bool) {
	w, info, mapped, done := b.mappedView(full, shape)
	if done {
		return w, info, mapped
	}
	w, err := b.st.src.Float32(info.Name)
	if err != nil {
		b.failf(full, err)
		return nil, info, false
	}
	b.release(info) // converted: the mapped bytes are not needed again
	return w, info, false
}

// packView is view for a matrix that is packed, converted or quantized
// right away (nothing keeps the result): a tensor that is not mapped as
// float32 is converted into the Builder's reusable scratch instead of a new
// slice. The pages of a mapped tensor are not released: call release once
// the values are no longer read.
func (b *Builder) packView(full string, shape []int) (w []float32, info checkpoint.TensorInfo, mapped bool) {
	w, info, mapped, done := b.mappedView(full, shape)
	if done {
		return w, info, mapped
	}
	w = grow(&b.st.conv, numel(shape))
	if err := b.st.src.Float32Into(w, info.Name); err != nil {
		b.failf(full, err)
		return nil, info, false
	}
	b.release(info)
	return w, info, false
}

// grow returns *buf resliced to n values, reallocated only when too short.
func grow[E any](buf *[]E, n int) []E {
	if cap(*buf) < n {
		*buf = make([]E, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// release drops the resident pages of a mapped tensor once it has been
// copied into its final form (a no-op for sources that are not mapped).
func (b *Builder) release(info checkpoint.TensorInfo) {
	if b.st.opts.KeepMapped || b.st.src == nil {
		return
	}
	if raw, err := b.st.src.Bytes(info.Name); err == nil {
		releasePages(raw)
	}
}

// bf16 returns name as bfloat16 [rows, cols] (nil after a failure): the
// checkpoint's own values when it stores BF16, else rounded to nearest even.
// With mapped, w is a view of the mapped file (whose pages the caller
// releases, or keeps with the source, once it is done); otherwise it is a
// new slice.
func (b *Builder) bf16(full string, shape []int) (w []uint16, info checkpoint.TensorInfo, mapped bool) {
	if b.st.src != nil {
		info, ok := b.lookup(full, shape)
		if !ok {
			return nil, info, false
		}
		if info.DType == checkpoint.BF16 {
			raw, err := b.st.src.Bytes(info.Name)
			if err != nil {
				b.failf(full, err)
				return nil, info, false
			}
			if v, ok := uint16View(raw); ok {
				return v, info, true
			}
			out := make([]uint16, len(raw)/2)
			for i := range out {
				out[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
			}
			b.release(info)
			return out, info, false
		}
	}
	f, info, mapped := b.packView(full, shape)
	if f == nil {
		return nil, info, false
	}
	w = make([]uint16, len(f))
	kernels.F32ToBF16(w, f)
	if mapped {
		b.release(info)
	}
	return w, info, false
}

// bf16Weight returns the bfloat16 matrix full [out, in] as a Weight. A
// mapped BF16 tensor is packed straight from the file where the CPU runs
// the packed product, and its pages are released at once; elsewhere the
// weight aliases the file (KeepSource) or a copy of it.
func (b *Builder) bf16Weight(full string, in, out int) Weight {
	w, info, mapped := b.bf16(full, []int{out, in})
	if w == nil {
		return nil
	}
	if mapped {
		switch {
		case kernels.GemmBF16Native():
			defer b.release(info) // packed below: the file's rows are not read again
		case b.st.opts.KeepSource:
			b.st.aliased = true
		default:
			w = slices.Clone(w)
			b.release(info)
		}
	}
	return BF16Weight(w, in, out)
}

// typedSource is implemented by checkpoints that store tensors in ggml's
// types (gguf.File), quantized blocks included.
type typedSource interface {
	Type(name string) (gguf.Type, bool)
}

// formatFor returns the format of the matrix full (shape shape, rows of in
// values): the Builder's, or under Stored the one of the checkpoint's type;
// a quantized format falls back to F32 when in is not a multiple of 32, as
// llama.cpp's quantizer does.
func (b *Builder) formatFor(full string, in int) Format {
	f := b.st.opts.Format
	if f == Stored {
		f = F32
		if b.st.src != nil {
			if info, ok := b.find(full); ok {
				f = b.storedFormat(info)
			}
		}
	}
	if f.quantized() && in%kernels.QK != 0 {
		f = F32
	}
	return f
}

// storedFormat returns the format that keeps the tensor info as stored.
func (b *Builder) storedFormat(info checkpoint.TensorInfo) Format {
	if ts, ok := b.st.src.(typedSource); ok {
		if t, ok := ts.Type(info.Name); ok {
			switch t {
			case gguf.Q8_0:
				return Q8_0
			case gguf.Q4_0:
				return Q4_0
			case gguf.F16:
				return F16
			case gguf.BF16:
				return BF16
			}
			return F32
		}
	}
	if info.DType == checkpoint.BF16 {
		return BF16
	}
	return F32
}

// blocks returns the matrix full [out, in] (in layout) as blocks of the
// quantized format f: the checkpoint's own bytes when it stores the tensor
// in f (aliased with KeepSource, else copied), otherwise its values
// quantized by llama.cpp's reference quantizer. nil after a failure.
func (b *Builder) blocks(full string, in, out int, layout Layout, f Format) []byte {
	shape := []int{out, in}
	if layout == InOut {
		shape = []int{in, out}
	}
	if b.st.src != nil && layout == OutIn {
		info, ok := b.lookup(full, shape)
		if !ok {
			return nil
		}
		if ts, ok := b.st.src.(typedSource); ok {
			if t, _ := ts.Type(info.Name); t == gguf.Q8_0 && f == Q8_0 || t == gguf.Q4_0 && f == Q4_0 {
				raw, err := b.st.src.Bytes(info.Name)
				if err != nil {
					b.failf(full, err)
					return nil
				}
				if b.st.opts.KeepSource {
					b.st.aliased = true
					return raw
				}
				raw = slices.Clone(raw)
				b.release(info)
				return raw
			}
		}
	}
	w, info, mapped := b.packView(full, shape)
	if w == nil {
		return nil
	}
	if layout == InOut {
		w = Transpose(w, in, out)
	}
	q := quantize(f, w, out, in)
	if mapped {
		b.release(info)
	}
	return q
}

// matrix returns the weight stored under full with shape [rows, cols] in
// the given layout, in the Builder's format.
func (b *Builder) matrix(full string, in, out int, layout Layout) Weight {
	shape := []int{out, in}
	if layout == InOut {
		shape = []int{in, out}
	}
	f := b.formatFor(full, in)
	if f.quantized() {
		q := b.blocks(full, in, out, layout, f)
		if q == nil {
			return nil
		}
		return newQuantWeight(f, in, out, [][]byte{q}, []int{out})
	}
	if f == BF16 && layout == OutIn {
		return b.bf16Weight(full, in, out)
	}
	w, info, mapped := b.packView(full, shape)
	if w == nil {
		return nil
	}
	wt := NewWeight(w, in, out, layout, f) // packs, converts or rounds a copy
	if mapped {
		b.release(info)
	}
	return wt
}

// Linear loads nn.Linear name ("name.weight" [out, in], and "name.bias"
// [out] when bias is set).
func (b *Builder) Linear(name string, in, out int, bias bool) *Linear {
	w := b.matrix(b.Path(name+".weight"), in, out, OutIn)
	var bv []float32
	if bias {
		bv = b.Tensor(name+".bias", out)
	}
	if b.st.err != nil {
		return nil
	}
	return NewLinear(w, bv)
}

// Conv1D loads GPT-2's Conv1D name ("name.weight" [in, out], "name.bias"
// [out]): the transpose of nn.Linear's layout.
func (b *Builder) Conv1D(name string, in, out int) *Linear {
	w := b.matrix(b.Path(name+".weight"), in, out, InOut)
	bv := b.Tensor(name+".bias", out)
	if b.st.err != nil {
		return nil
	}
	return NewLinear(w, bv)
}

// LinearCat loads several nn.Linear layers of the same input width as one
// whose outputs are theirs side by side — Llama's q, k and v projections,
// or its gate and up projections — so that each is one product per pass.
func (b *Builder) LinearCat(names []string, in int, outs []int, bias bool) *Linear {
	total := 0
	for i, o := range outs {
		total += o
		if b.st.src != nil { // every part exists with its shape before the whole is allocated
			b.lookup(b.Path(names[i]+".weight"), []int{o, in})
		}
	}
	if b.st.err != nil {
		return nil
	}
	// One format for all parts: under Stored, parts stored in different
	// types are all kept in float32 (an exact widening of each).
	f := b.formatFor(b.Path(names[0]+".weight"), in)
	for _, n := range names[1:] {
		if b.formatFor(b.Path(n+".weight"), in) != f {
			f = F32
		}
	}
	if f.quantized() {
		parts := make([][]byte, len(names))
		for i, n := range names {
			parts[i] = b.blocks(b.Path(n+".weight"), in, outs[i], OutIn, f)
		}
		bv := b.catBias(names, outs, bias)
		if b.st.err != nil {
			return nil
		}
		return NewLinear(newQuantWeight(f, in, total, parts, outs), bv)
	}
	if f == BF16 {
		parts, bv, mapped, ok := catParts(b, names, outs, in, bias, b.bf16)
		if !ok {
			return nil
		}
		var w Weight
		if kernels.GemmBF16Native() { // packed from the parts, without concatenating them
			w = &bf16Weight{in: in, out: total, pb: kernels.PackBF16Rows(in, parts...)}
		} else {
			w = BF16Weight(slices.Concat(parts...), in, total)
		}
		for _, info := range mapped {
			b.release(info)
		}
		return NewLinear(w, bv)
	}
	parts, bv, mapped, ok := catParts(b, names, outs, in, bias, b.view)
	if !ok {
		return nil
	}
	var w Weight
	if f == F16 {
		w = NewWeight(slices.Concat(parts...), in, total, OutIn, F16)
	} else { // packed from the parts, without concatenating them
		w = &packedWeight{in: in, out: total, pb: kernels.PackBRows(in, parts...)}
	}
	for _, info := range mapped {
		b.release(info)
	}
	return NewLinear(w, bv)
}

// catParts reads the parts names[i] [outs[i], in] of a LinearCat with read
// (view or bf16) and its concatenated bias; mapped are the tensors to
// release once the parts are copied. ok is false after an error.
func catParts[T any](b *Builder, names []string, outs []int, in int, bias bool,
	read func(string, []int) ([]T, checkpoint.TensorInfo, bool),
) (parts [][]T, bv []float32, mapped []checkpoint.TensorInfo, ok bool) {
	parts = make([][]T, len(names))
	for i, n := range names {
		part, info, mp := read(b.Path(n+".weight"), []int{outs[i], in})
		parts[i] = part
		if mp {
			mapped = append(mapped, info)
		}
	}
	bv = b.catBias(names, outs, bias)
	return parts, bv, mapped, b.st.err == nil
}

func (b *Builder) catBias(names []string, outs []int, bias bool) []float32 {
	if !bias {
		return nil
	}
	var bv []float32
	for i, n := range names {
		bv = append(bv, b.Tensor(n+".bias", outs[i])...)
	}
	return bv
}

// LayerNorm loads name.weight and name.bias [C].
func (b *Builder) LayerNorm(name string, C int, eps float32) *LayerNorm {
	return &LayerNorm{W: b.Tensor(name+".weight", C), B: b.Tensor(name+".bias", C), Eps: eps}
}

// RMSNorm loads name.weight [C].
func (b *Builder) RMSNorm(name string, C int, eps float32) *RMSNorm {
	return &RMSNorm{W: b.Tensor(name+".weight", C), Eps: eps}
}

// Embedding loads the table name [V, C] ("name" is the full tensor name,
// such as "wte.weight") in the Builder's format. A float32 table aliases a
// mapped checkpoint only with KeepSource.
func (b *Builder) Embedding(name string, V, C int) *Embedding {
	full := b.Path(name)
	f := b.formatFor(full, C)
	if f == F16 {
		f = F32 // a lookup widens half precision exactly
	}
	if f.quantized() {
		q := b.blocks(full, C, V, OutIn, f)
		if q == nil {
			return nil
		}
		return &Embedding{V: V, C: C, q: q, qf: f}
	}
	if f == BF16 {
		w, mapped := keepOrCopy(b, full, []int{V, C}, b.bf16)
		if w == nil {
			return nil
		}
		return &Embedding{V: V, C: C, bf16: w, mapped: mapped}
	}
	w, _ := keepOrCopy(b, full, []int{V, C}, b.view)
	if w == nil {
		return nil
	}
	return &Embedding{V: V, C: C, f32: w}
}

// keepOrCopy reads full with read (view or bf16): a tensor of a mapped
// checkpoint stays a view of it with KeepSource (kept reports it), else
// it is copied and its mapping released.
func keepOrCopy[T any](b *Builder, full string, shape []int,
	read func(string, []int) ([]T, checkpoint.TensorInfo, bool)) (w []T, kept bool) {
	w, info, mapped := read(full, shape)
	switch {
	case w == nil || !mapped:
	case b.st.opts.KeepSource:
		b.st.aliased, kept = true, true
	default:
		w = slices.Clone(w)
		b.release(info)
	}
	return w, kept
}

// HFInit returns an Init function with Hugging Face's initialisation,
// seeded: matrices (two or more dimensions) normal(0, 0.02), vectors named
// "….weight" (norm gains) 1, other vectors (biases) 0.
func HFInit(seed uint64) func(name string, shape []int, dst []float32) {
	rng := rand.New(rand.NewPCG(seed, 0x853c49e6748fea9b))
	return func(name string, shape []int, dst []float32) {
		switch {
		case len(shape) >= 2:
			for i := range dst {
				dst[i] = float32(0.02 * rng.NormFloat64())
			}
		case strings.HasSuffix(name, "weight"):
			for i := range dst {
				dst[i] = 1
			}
		}
	}
}
