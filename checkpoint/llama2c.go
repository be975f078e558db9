package checkpoint

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
)

// llama2.c checkpoints. The legacy ("version 0") .bin layout that Karpathy's
// run.c reads is a header of seven little-endian int32
//
//	dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//
// (a negative vocab_size means the classifier is stored separately instead
// of being shared with the token embedding), followed by float32 arrays in
// this order, every matrix [out, in] row-major:
//
//	token_embedding [V, C]   rms_att [L, C]   wq [L, C, C]   wk, wv [L, KV, C]   wo [L, C, C]
//	rms_ffn [L, C]   w1 [L, F, C]   w2 [L, C, F]   w3 [L, F, C]   rms_final [C]
//	freq_cis_real, freq_cis_imag [T, D/2]   wcls [V, C] (only when unshared)
//
// with C = dim, F = hidden_dim, L = n_layers, V = |vocab_size|, T = seq_len,
// D = dim/n_heads (head size) and KV = n_kv_heads·D.

// llama2cHeaderSize is the size of the seven-int32 header.
const llama2cHeaderSize = 7 * 4

// llama2cMagic opens the newer llama2.c export formats ("ak42"), which this
// reader does not support.
const llama2cMagic = 0x616b3432

// Llama2CConfig is the header of a llama2.c checkpoint.
type Llama2CConfig struct {
	Dim        int // model width C
	HiddenDim  int // feed-forward width F
	NumLayers  int // transformer blocks L
	NumHeads   int // query heads
	NumKVHeads int // key/value heads (grouped-query attention when < NumHeads)
	VocabSize  int // always positive here; see SharedClassifier
	SeqLen     int // maximum sequence length (rows of the RoPE tables)
	// SharedClassifier reports that the output classifier is the token
	// embedding (the file's vocab_size was positive).
	SharedClassifier bool
}

// HeadSize returns Dim / NumHeads.
func (c Llama2CConfig) HeadSize() int { return c.Dim / c.NumHeads }

// KVDim returns the width of the key and value projections,
// NumKVHeads·HeadSize.
func (c Llama2CConfig) KVDim() int { return c.NumKVHeads * c.HeadSize() }

// Validate checks that every size is positive and the heads divide evenly.
func (c Llama2CConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"n_layers", c.NumLayers}, {"n_heads", c.NumHeads},
		{"n_kv_heads", c.NumKVHeads}, {"vocab_size", c.VocabSize}, {"seq_len", c.SeqLen}} {
		if f.v <= 0 {
			return errorf("%s %d is not positive", f.name, f.v)
		}
	}
	switch {
	case c.Dim%c.NumHeads != 0:
		return errorf("dim %d is not a multiple of n_heads %d", c.Dim, c.NumHeads)
	case c.NumHeads%c.NumKVHeads != 0:
		return errorf("n_heads %d is not a multiple of n_kv_heads %d", c.NumHeads, c.NumKVHeads)
	case c.HeadSize()%2 != 0:
		return errorf("head size %d is odd", c.HeadSize())
	}
	return nil
}

// Llama2C holds the weights of a llama2.c checkpoint, each a view into one
// allocation; shapes use the letters of the layout above. Per-layer arrays
// are stacked: layer l of WQ is WQ[l·C·C : (l+1)·C·C].
type Llama2C struct {
	Config         Llama2CConfig
	TokenEmbedding []float32 // [V, C]
	RMSAtt         []float32 // [L, C] attention RMSNorm gains
	WQ             []float32 // [L, C, C]
	WK             []float32 // [L, KV, C]
	WV             []float32 // [L, KV, C]
	WO             []float32 // [L, C, C]
	RMSFFN         []float32 // [L, C] feed-forward RMSNorm gains
	W1             []float32 // [L, F, C] gate projection
	W2             []float32 // [L, C, F] down projection
	W3             []float32 // [L, F, C] up projection
	RMSFinal       []float32 // [C]
	FreqCisReal    []float32 // [T, D/2] RoPE cosines (unused by run.c, which recomputes them)
	FreqCisImag    []float32 // [T, D/2] RoPE sines
	WCls           []float32 // [V, C]; the same slice as TokenEmbedding when Config.SharedClassifier
}

// llama2cLayout returns the config and the float count of the weights that
// follow a header, checked against fileSize bytes.
func llama2cLayout(header []byte, fileSize int64) (Llama2CConfig, []uint64, error) {
	var h [7]int32
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(header[4*i:]))
	}
	if uint32(h[0]) == llama2cMagic {
		return Llama2CConfig{}, nil, errorf("llama2.c export version %d (magic \"ak42\") is not supported; only the legacy run.c layout is", h[1])
	}
	cfg := Llama2CConfig{
		Dim: int(h[0]), HiddenDim: int(h[1]), NumLayers: int(h[2]), NumHeads: int(h[3]),
		NumKVHeads: int(h[4]), VocabSize: int(h[5]), SeqLen: int(h[6]), SharedClassifier: h[5] > 0,
	}
	if cfg.VocabSize < 0 {
		cfg.VocabSize = -cfg.VocabSize
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	C, F, L, V, T := uint64(cfg.Dim), uint64(cfg.HiddenDim), uint64(cfg.NumLayers), uint64(cfg.VocabSize), uint64(cfg.SeqLen)
	KV, D := uint64(cfg.KVDim()), uint64(cfg.HeadSize())
	// All factors are below 2³¹, so each product of three fits in 93 bits:
	// mul3 flags anything beyond 2⁶³.
	overflow := false
	mul3 := func(a, b, c uint64) uint64 {
		hi, lo := bits.Mul64(a*b, c) // a·b < 2⁶²
		if hi != 0 || lo > math.MaxInt64 {
			overflow = true
		}
		return lo
	}
	sizes := []uint64{
		mul3(V, C, 1), mul3(L, C, 1), mul3(L, C, C), mul3(L, KV, C), mul3(L, KV, C), mul3(L, C, C),
		mul3(L, C, 1), mul3(L, F, C), mul3(L, C, F), mul3(L, F, C), C, mul3(T, D/2, 1), mul3(T, D/2, 1),
	}
	if !cfg.SharedClassifier {
		sizes = append(sizes, mul3(V, C, 1))
	}
	var total uint64
	for _, s := range sizes {
		// total ≤ 2⁶¹ before and s < 2⁶³, so the sum cannot wrap.
		total += s
		if total > math.MaxInt64/4 {
			overflow = true
		}
	}
	if overflow {
		return cfg, nil, errorf("config %+v describes more weights than a file can hold", cfg)
	}
	want := llama2cHeaderSize + 4*int64(total)
	if fileSize != want {
		return cfg, nil, errorf("config %+v needs %d bytes (%d floats after the header), file has %d", cfg, want, total, fileSize)
	}
	if total > math.MaxInt {
		return cfg, nil, errorf("%d floats exceed the address space", total)
	}
	return cfg, sizes, nil
}

// newLlama2C carves one allocation of total floats into the named arrays.
func newLlama2C(cfg Llama2CConfig, sizes []uint64) (*Llama2C, []float32) {
	var total uint64
	for _, s := range sizes {
		total += s
	}
	all := make([]float32, total)
	rest := all
	next := func(i int) []float32 {
		n := int(sizes[i])
		s := rest[:n:n]
		rest = rest[n:]
		return s
	}
	m := &Llama2C{Config: cfg}
	for i, dst := range []*[]float32{&m.TokenEmbedding, &m.RMSAtt, &m.WQ, &m.WK, &m.WV, &m.WO, &m.RMSFFN,
		&m.W1, &m.W2, &m.W3, &m.RMSFinal, &m.FreqCisReal, &m.FreqCisImag} {
		*dst = next(i)
	}
	if cfg.SharedClassifier {
		m.WCls = m.TokenEmbedding
	} else {
		m.WCls = next(len(sizes) - 1)
	}
	return m, all
}

// ReadLlama2C reads a legacy llama2.c checkpoint. The file's size must match
// the header exactly; the header is validated before the weights are
// allocated.
func ReadLlama2C(path string) (*Llama2C, error) {
	fail := func(err error) (*Llama2C, error) { return nil, &Error{File: path, Err: err} }
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var header [llama2cHeaderSize]byte
	if _, err := io.ReadFull(f, header[:]); err != nil {
		return fail(errorf("file of %d bytes is shorter than the %d-byte llama2.c header", st.Size(), llama2cHeaderSize))
	}
	cfg, sizes, err := llama2cLayout(header[:], st.Size())
	if err != nil {
		return fail(err)
	}
	m, all := newLlama2C(cfg, sizes)
	if littleEndian() {
		_, err = io.ReadFull(f, float32Bytes(all))
	} else {
		err = readFloat32s(f, all)
	}
	if err != nil {
		return fail(fmt.Errorf("read weights: %w", err))
	}
	return m, nil
}

// readFloat32s reads little-endian float32 values into dst.
func readFloat32s(r io.Reader, dst []float32) error {
	var buf [4 * chunk]byte
	for start := 0; start < len(dst); start += chunk {
		n := min(chunk, len(dst)-start)
		if _, err := io.ReadFull(r, buf[:4*n]); err != nil {
			return err
		}
		toFloat32(dst[start:start+n], buf[:4*n], F32)
	}
	return nil
}

// ParseLlama2C decodes a legacy llama2.c checkpoint held in memory (see
// ReadLlama2C). The weights are copied out of data.
func ParseLlama2C(data []byte) (*Llama2C, error) {
	if len(data) < llama2cHeaderSize {
		return nil, &Error{Err: errorf("data of %d bytes is shorter than the %d-byte llama2.c header", len(data), llama2cHeaderSize)}
	}
	cfg, sizes, err := llama2cLayout(data, int64(len(data)))
	if err != nil {
		return nil, &Error{Err: err}
	}
	m, all := newLlama2C(cfg, sizes)
	toFloat32(all, data[llama2cHeaderSize:], F32)
	return m, nil
}
