package gpt2

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// Inference is GPT2LMHeadModel packed for generation: no autograd, weights
// laid out for the matrix-vector products of decoding, and a KV cache in
// each State. It implements generate.LM[*InferState].
//
// With float32 weights the Conv1D matrices ([in, out], y = x·W + b) and the
// tied lm_head (wte, [V, C]) are zero-copy views of the memory-mapped
// safetensors file, so a model costs its file size once. With BF16 set the
// matrices are converted once at load to bfloat16, transposed to [out, in]
// so that every output is one contiguous dot product (kernels.DotBF16
// widens them in registers), and the file is closed: half the bytes to
// stream per token.
//
// An Inference is immutable after loading and safe for concurrent use; each
// session owns its *InferState.
type Inference struct {
	Config Config
	bf16   bool

	wte    []float32 // [V, C] float32 (nil with BF16)
	wteBF  []uint16  // [V, C] bfloat16 (BF16 only)
	wpe    []float32 // [P, C]
	blocks []inferBlock
	lnFW   []float32 // [C]
	lnFB   []float32 // [C]

	src checkpoint.Reader // kept open while float32 views alias it
}

// inferBlock is one transformer block's packed weights.
type inferBlock struct {
	ln1W, ln1B, ln2W, ln2B []float32 // [C]
	attn, proj, fc, fcProj linear    // c_attn (fused q|k|v), attn.c_proj, mlp.c_fc, mlp.c_proj
}

// linear is a Conv1D y = x·W + b of in inputs and out outputs, in one of two
// layouts: w [in, out] float32 as GPT-2 stores it, or wt [out, in] bfloat16.
// Float32 layers also hold pw, W packed at load for the products of several
// rows (packed.go).
type linear struct {
	in, out int
	wt      []uint16          // [out, in] bfloat16 (BF16 models)
	b       []float32         // [out]
	pw      *kernels.PackedB  // W packed for kernels.SgemmPacked (float32 only)
	ep      *kernels.Epilogue // adds b in pw's product
}

// InferOptions configure LoadInference. The zero value keeps float32 weights.
type InferOptions struct {
	// BF16 converts the weight matrices to bfloat16 at load (rounding to
	// nearest even) and computes with them widened to float32 in the kernel.
	BF16 bool
}

// LoadInference loads a Hugging Face GPT-2 folder (config.json and
// model.safetensors, or sharded files with an index) for generation. Tensor
// names may carry the "transformer." prefix or not (the hub's original
// layout); lm_head.weight, tied to wte, and the legacy h.N.attn.bias /
// masked_bias buffers are ignored. F16 and BF16 files are widened.
func LoadInference(dir string, opts *InferOptions) (*Inference, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	src, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	m, err := NewInference(cfg, src, opts)
	if err != nil {
		src.Close()
		return nil, err
	}
	return m, nil
}

// viewer is implemented by readers that can return zero-copy float32 views.
type viewer interface {
	Float32View(name string) ([]float32, bool)
}

// NewInference packs the weights of src (a safetensors *File or *Folder)
// for a model of configuration cfg. With float32 weights the model keeps
// src open and aliases it (close it with Inference.Close); with BF16 it
// copies what it needs and closes src before returning.
func NewInference(cfg Config, src checkpoint.Reader, opts *InferOptions) (*Inference, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &InferOptions{}
	}
	m := &Inference{Config: cfg, bf16: opts.BF16, blocks: make([]inferBlock, cfg.NumLayer)}
	prefix := ""
	if _, ok := src.Info("transformer.wte.weight"); ok {
		prefix = "transformer."
	}
	// get returns the named tensor as float32 after checking its shape: a
	// view of the file when possible (and wanted), else a copy.
	get := func(name string, view bool, shape ...int) ([]float32, error) {
		full := prefix + name
		info, ok := src.Info(full)
		if !ok {
			return nil, fmt.Errorf("gpt2: load %s: %w", full, checkpoint.ErrMissingTensor)
		}
		if !equalShape(info.Shape, shape) {
			return nil, fmt.Errorf("gpt2: load %s: shape %v, want %v", full, info.Shape, shape)
		}
		if v, isViewer := src.(viewer); view && isViewer {
			if w, ok := v.Float32View(full); ok {
				return w, nil
			}
		}
		w, err := src.Float32(full)
		if err != nil {
			return nil, fmt.Errorf("gpt2: load %s: %w", full, err)
		}
		return w, nil
	}
	// release drops the resident pages of a float32 matrix once it has been
	// converted to bfloat16 or packed, so that the peak resident set stays
	// near the weights in their final form plus one float32 matrix.
	release := func(name string) {
		if info, ok := src.Info(prefix + name); ok && info.DType == checkpoint.F32 {
			if b, err := src.Bytes(prefix + name); err == nil {
				releasePages(b)
			}
		}
	}
	C, F, V := cfg.NumEmbd, cfg.Inner(), cfg.VocabSize
	const view = true // matrices: zero-copy when possible (BF16 converts from the view)
	lin := func(name string, in, out int) (linear, error) {
		l := linear{in: in, out: out}
		w, err := get(name+".weight", view, in, out)
		if err != nil {
			return l, err
		}
		if l.b, err = get(name+".bias", false, out); err != nil {
			return l, err
		}
		if opts.BF16 {
			l.wt = transposeBF16(w, in, out)
			release(name + ".weight")
		} else {
			// Every pass, decoding included, reads the packed copy; the
			// file's matrix is dropped so the model costs its size once.
			packLinear(&l, w)
			release(name + ".weight")
		}
		return l, nil
	}
	var err error
	wte, err := get("wte.weight", view, V, C)
	if err != nil {
		return nil, err
	}
	if opts.BF16 {
		m.wteBF = make([]uint16, V*C)
		kernels.F32ToBF16(m.wteBF, wte)
		release("wte.weight")
	} else {
		m.wte = wte
	}
	if m.wpe, err = get("wpe.weight", false, cfg.NumPos, C); err != nil {
		return nil, err
	}
	for l := range m.blocks {
		b := &m.blocks[l]
		p := fmt.Sprintf("h.%d.", l)
		for _, t := range []struct {
			dst  *[]float32
			name string
		}{{&b.ln1W, "ln_1.weight"}, {&b.ln1B, "ln_1.bias"}, {&b.ln2W, "ln_2.weight"}, {&b.ln2B, "ln_2.bias"}} {
			if *t.dst, err = get(p+t.name, false, C); err != nil {
				return nil, err
			}
		}
		if b.attn, err = lin(p+"attn.c_attn", C, 3*C); err != nil {
			return nil, err
		}
		if b.proj, err = lin(p+"attn.c_proj", C, C); err != nil {
			return nil, err
		}
		if b.fc, err = lin(p+"mlp.c_fc", C, F); err != nil {
			return nil, err
		}
		if b.fcProj, err = lin(p+"mlp.c_proj", F, C); err != nil {
			return nil, err
		}
	}
	if m.lnFW, err = get("ln_f.weight", false, C); err != nil {
		return nil, err
	}
	if m.lnFB, err = get("ln_f.bias", false, C); err != nil {
		return nil, err
	}
	if opts.BF16 {
		if err := src.Close(); err != nil {
			return nil, fmt.Errorf("gpt2: %w", err)
		}
	} else {
		m.src = src
	}
	return m, nil
}

// NewInferenceFromModel packs a (trained or randomly initialised) Model for
// generation. The float32 weights are shared with m, not copied.
func NewInferenceFromModel(m *Model, opts *InferOptions) (*Inference, error) {
	return NewInference(m.Config, weightsReader{m.Config, m.W}, opts)
}

// NewRandomInference returns a model of configuration cfg with Hugging
// Face-style random weights drawn from rng: every matrix N(0, 0.02²),
// LayerNorm gains 1, biases 0 (the ../shared/bench workloads). Unlike New
// it allocates no gradients.
func NewRandomInference(cfg Config, rng *tensor.RNG, opts *InferOptions) (*Inference, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, _ := newWeights(cfg)
	for _, s := range cfg.specs() {
		v := *s.view(w)
		switch {
		case len(s.shape) == 2:
			for i := range v {
				v[i] = float32(0.02 * rng.NormFloat64())
			}
		case strings.HasSuffix(s.name, "ln_1.weight"), strings.HasSuffix(s.name, "ln_2.weight"), s.name == "ln_f.weight":
			for i := range v {
				v[i] = 1
			}
		}
	}
	return NewInference(cfg, weightsReader{cfg, w}, opts)
}

// weightsReader presents a Weights as a checkpoint.Reader of float32
// tensors named like GPT2LMHeadModel's state_dict.
type weightsReader struct {
	cfg Config
	w   *Weights
}

func (r weightsReader) lookup(name string) ([]float32, []int, bool) {
	name, ok := strings.CutPrefix(name, "transformer.")
	if !ok {
		return nil, nil, false
	}
	for _, s := range r.cfg.specs() {
		if s.name == name {
			return *s.view(r.w), s.shape, true
		}
	}
	return nil, nil, false
}

func (r weightsReader) Names() []string { return nil }
func (r weightsReader) Info(name string) (checkpoint.TensorInfo, bool) {
	_, shape, ok := r.lookup(name)
	return checkpoint.TensorInfo{Name: name, DType: checkpoint.F32, Shape: shape}, ok
}
func (r weightsReader) Float32View(name string) ([]float32, bool) {
	w, _, ok := r.lookup(name)
	return w, ok
}
func (r weightsReader) Float32(name string) ([]float32, error) {
	w, _, ok := r.lookup(name)
	if !ok {
		return nil, checkpoint.ErrMissingTensor
	}
	return append([]float32(nil), w...), nil
}
func (r weightsReader) Float32Into(dst []float32, name string) error {
	w, _, ok := r.lookup(name)
	if !ok || len(dst) != len(w) {
		return checkpoint.ErrMissingTensor
	}
	copy(dst, w)
	return nil
}
func (r weightsReader) Bytes(string) ([]byte, error) { return nil, checkpoint.ErrDType }
func (r weightsReader) Metadata() map[string]string  { return nil }
func (r weightsReader) Close() error                 { return nil }

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// transposeBF16 converts w [in, out] to bfloat16 [out, in].
func transposeBF16(w []float32, in, out int) []uint16 {
	wt := make([]uint16, in*out)
	col := make([]float32, in)
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			col[i] = w[i*out+o]
		}
		kernels.F32ToBF16(wt[o*in:(o+1)*in], col)
	}
	return wt
}

// Close releases the memory-mapped checkpoint of a float32 model; the model
// must not be used afterwards.
func (m *Inference) Close() error {
	if m.src == nil {
		return nil
	}
	err := m.src.Close()
	m.src = nil
	return err
}

// VocabSize returns V.
func (m *Inference) VocabSize() int { return m.Config.VocabSize }

// MaxLen returns n_positions, the longest sequence a state can hold.
func (m *Inference) MaxLen() int { return m.Config.NumPos }

// WeightBytes returns the bytes of weights the model streams per token.
func (m *Inference) WeightBytes() int {
	n := m.Config.NumParams() - m.Config.NumPos*m.Config.NumEmbd
	if m.bf16 {
		return 2 * n
	}
	return 4 * n
}

// forward applies the linear layer to N rows of x [N, in] into y [N, out]:
// float32 weights through their packed copy (bias fused), bfloat16 weights
// through mv.
func (l *linear) forward(mv *matvec, y, x []float32, N int) {
	if l.pw != nil {
		l.forwardPacked(y, x, N)
		return
	}
	mv.run(y, x, nil, l.wt, N, l.in, l.out)
	for r := 0; r < N; r++ {
		kernels.Add(y[r*l.out:(r+1)*l.out], y[r*l.out:(r+1)*l.out], l.b)
	}
}

// matvec computes the matrix products of decoding, where every weight is
// streamed from memory once per token: y [N, out] = x [N, in] · Wᵀ for
// W [out, in], float32 (w, the lm_head) or bfloat16 (wt), with
// kernels.MatVec / MatVecBF16. (Float32 Conv1D weights go through their
// packed copy instead, see packed.go.)
//
// It cuts W into chunks of contiguous rows of about matvecChunkBytes that
// the workers take in turn from a shared counter, rather than into one
// fixed share per core: on a machine whose cores are also busy with other
// work, a worker the OS deschedules for a while then holds up no more than
// its current chunk. Arguments live in the struct and the loop body is
// bound once, so a call allocates nothing.
type matvec struct {
	y, x       []float32
	w          []float32
	wt         []uint16
	N, in, out int

	chunk, chunks int          // rows of W per chunk, and their number
	next          atomic.Int64 // the next chunk to take

	fn func(lo, hi int) // mv.worker, bound once
}

// matvecChunkBytes is the size of the chunks of W the workers take: large
// enough that a chunk's start-up (the prefetchers ramping up, the
// kernel's prefetch running past the end) is a small part of it, small
// enough that there are many per core in all but the smallest layers.
const matvecChunkBytes = 256 << 10

func newMatvec() *matvec {
	mv := &matvec{}
	mv.fn = mv.worker
	return mv
}

// start cuts rows rows of rowBytes bytes into chunks (a multiple of 4 rows,
// the kernels' pass) and returns the number of workers to run.
func (mv *matvec) start(rows, rowBytes int) (workers int) {
	mv.chunk = max(4, matvecChunkBytes/max(rowBytes, 1)&^3)
	mv.chunks = (rows + mv.chunk - 1) / mv.chunk
	mv.next.Store(0)
	return min(kernels.Threads(), mv.chunks)
}

// take returns the next chunk's rows [lo, hi), or ok false when none is left.
func (mv *matvec) take(rows int) (lo, hi int, ok bool) {
	c := int(mv.next.Add(1)) - 1
	if c >= mv.chunks {
		return 0, 0, false
	}
	return c * mv.chunk, min((c+1)*mv.chunk, rows), true
}

func (mv *matvec) run(y, x, w []float32, wt []uint16, N, in, out int) {
	mv.y, mv.x, mv.w, mv.wt, mv.N, mv.in, mv.out = y, x, w, wt, N, in, out
	size := 4
	if wt != nil {
		size = 2
	}
	kernels.ParallelFor(mv.start(out, size*in), 1, mv.fn)
	mv.y, mv.x, mv.w, mv.wt = nil, nil, nil, nil
}

// worker computes chunks of outputs until none is left. With N > 1 each
// chunk of W (small enough to stay in L2) serves all N rows of x in turn, so
// W is still read from memory once.
func (mv *matvec) worker(_, _ int) {
	in, out := mv.in, mv.out
	for {
		lo, hi, ok := mv.take(out)
		if !ok {
			return
		}
		for r := range mv.N {
			x, y := mv.x[r*in:(r+1)*in], mv.y[r*out+lo:r*out+hi]
			if mv.wt != nil {
				kernels.MatVecBF16(y, x, mv.wt[lo*in:hi*in])
			} else {
				kernels.MatVec(y, x, mv.w[lo*in:hi*in])
			}
		}
	}
}

// embed writes wte[id] + wpe[pos] into dst [C].
func (m *Inference) embed(dst []float32, id, pos int) {
	C := m.Config.NumEmbd
	if m.wteBF != nil {
		kernels.BF16ToF32(dst, m.wteBF[id*C:(id+1)*C])
	} else {
		copy(dst, m.wte[id*C:(id+1)*C])
	}
	kernels.Add(dst, dst, m.wpe[pos*C:(pos+1)*C])
}

// activate applies the configured activation in place (on the calling
// goroutine: it is a small share of a pass, and this keeps it allocation-free).
func (m *Inference) activate(x []float32) {
	switch m.Config.Activation {
	case nn.GELU:
		kernels.GELU(x, x)
	case nn.GELUTanh:
		kernels.GELUTanh(x, x)
	case nn.ReLU:
		kernels.ReLU(x, x)
	case nn.SiLU:
		kernels.SiLU(x, x)
	}
}
