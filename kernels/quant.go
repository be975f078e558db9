package kernels

import "fmt"

// Quantized matrix products in llama.cpp's Q8_0 and Q4_0 formats.
//
// A weight matrix is stored as rows of blocks of QK = 32 elements, in the
// byte layout of ggml's block_q8_0 and block_q4_0 (and so of GGUF files):
//
//	Q8_0, 34 bytes: d (IEEE half, little-endian), then 32 int8 quants q;
//	                element j = q[j]·d
//	Q4_0, 18 bytes: d (IEEE half), then 16 bytes; element j < 16 is the low
//	                nibble n of byte j, element j+16 its high nibble; an
//	                element is (n−8)·d
//
// A row of K elements is K/32 consecutive blocks. The activations are
// quantized to Q8_0 as well (QuantizeQ8_0, llama.cpp's vec_dot_type for both
// formats), and each block's product is an exact int32 sum of 32 integer
// products, scaled by d_w·d_x in float32 and accumulated in float32:
//
//	y[o] = Σ_b (d_w[o,b]·d_x[b]) · Σ_{j<32} w[o,b,j]·q_x[b,j]
//
// The assembly variants take the int8 products with AVX-512 VNNI (VPDPBUSD,
// unsigned × signed bytes: the weights are made unsigned — Q8_0 by adding
// 128, Q4_0's nibbles already are — and the offset times the block's sum of
// activation quants is subtracted exactly), or with AVX2's VPMADDUBSW and
// VPMADDWD. The variants differ only in the order of the float32 additions.

// Block sizes of the quantized formats.
const (
	QK             = 32 // elements per block
	Q8_0BlockBytes = 34 // bytes per Q8_0 block
	Q4_0BlockBytes = 18 // bytes per Q4_0 block
)

// QuantizeQ8_0 quantizes the activation row x (len(x) a multiple of 32) to
// Q8_0 blocks as llama.cpp's quantize_row_q8_0 does on x86 before a Q8_0 or
// Q4_0 dot product: per block of 32, amax = max |x|, d = amax/127 and
// q = round(x·(127/amax)) to nearest even (q = 0 when amax is 0), in float32.
// The quants go to q[:len(x)], the scales, rounded to half precision as
// the block stores them and widened back, to d[:len(x)/32], and each
// block's sum of quants (the correction of Q4_0's unsigned products) to
// s[:len(x)/32]. Non-finite inputs give unspecified quants.
func QuantizeQ8_0(q []int8, d []float32, s []int32, x []float32) {
	nb := checkQuantRow("QuantizeQ8_0", len(x), len(q), len(d))
	if len(s) < nb {
		panic(fmt.Sprintf("kernels: QuantizeQ8_0: %d sums for %d blocks", len(s), nb))
	}
	if nb == 0 {
		return
	}
	quant.quantize(q[:len(x)], d[:nb], s[:nb], x)
}

// MatVecQ8_0 computes y[o] = Σ_b d_w[o,b]·d_x[b]·Σ_j w[o,b,j]·q_x[b,j] for
// o < len(y): the product of len(y) rows of Q8_0 weights, each x.K/32
// blocks (34 bytes each) stored one after another in w, with row n of the
// quantized activations x. y must not overlap w.
//
// Like MatVec it is the batch-1 shape of decoding, bound by the bytes of w;
// it runs on the calling goroutine, four rows per pass with prefetch.
func MatVecQ8_0(y []float32, w []byte, x *Q8Rows, n int) {
	checkMatVecQ("MatVecQ8_0", len(y), len(w), x, n, Q8_0BlockBytes)
	q, d, s := x.row(n)
	quant.matVecQ8(y, w[:len(y)*len(d)*Q8_0BlockBytes], q, d, s, false)
}

// MatVecQ4_0 is MatVecQ8_0 for Q4_0 weights (18 bytes per block):
// y[o] = Σ_b d_w[o,b]·d_x[b]·Σ_j (n[o,b,j]−8)·q_x[b,j].
func MatVecQ4_0(y []float32, w []byte, x *Q8Rows, n int) {
	checkMatVecQ("MatVecQ4_0", len(y), len(w), x, n, Q4_0BlockBytes)
	q, d, s := x.row(n)
	quant.matVecQ4(y, w[:len(y)*len(d)*Q4_0BlockBytes], q, d, s, false)
}

// checkMatVecQ panics unless n is a row of x and w holds m rows of it.
func checkMatVecQ(op string, m, nw int, x *Q8Rows, n, size int) {
	if n < 0 || n >= x.N {
		panic(fmt.Sprintf("kernels: %s: row %d of %d", op, n, x.N))
	}
	checkQuantMatVec(op, m, nw, x.K, x.K/QK, size)
}

// row returns the quants, scales and sums of row n.
func (r *Q8Rows) row(n int) ([]int8, []float32, []int32) {
	K, nb := r.K, r.K/QK
	return r.Q[n*K : (n+1)*K], r.D[n*nb : (n+1)*nb], r.S[n*nb : (n+1)*nb]
}

// rowRange returns rows [lo, hi) of r as a Q8Rows of their own (not
// packed), sharing r's memory.
func (r *Q8Rows) rowRange(lo, hi int) Q8Rows {
	K, nb := r.K, r.K/QK
	return Q8Rows{N: hi - lo, K: K, Q: r.Q[lo*K : hi*K], D: r.D[lo*nb : hi*nb], S: r.S[lo*nb : hi*nb]}
}

// checkQuantRow panics unless a row of n values fills whole blocks and q
// and d hold them; it returns the number of blocks.
func checkQuantRow(op string, n, nq, nd int) int {
	if n%QK != 0 {
		panic(fmt.Sprintf("kernels: %s: a row of %d values is not whole blocks of %d", op, n, QK))
	}
	if nq < n || nd < n/QK {
		panic(fmt.Sprintf("kernels: %s: %d quants and %d scales for %d values", op, nq, nd, n))
	}
	return n / QK
}

// checkQuantMatVec panics unless m rows of nb blocks of size bytes fit in nw
// bytes and q holds nb blocks.
func checkQuantMatVec(op string, m, nw, nq, nb, size int) {
	if nq < nb*QK {
		panic(fmt.Sprintf("kernels: %s: %d quants for %d blocks", op, nq, nb))
	}
	if row := nb * size; row > 0 && m > nw/row {
		panic(fmt.Sprintf("kernels: %s: len(w) = %d, too short for %d rows of %d blocks", op, nw, m, nb))
	}
}

// Q8Rows holds N rows of K activations quantized to Q8_0 for MatMulQ8_0
// and MatMulQ4_0: the quants Q [N, K], scales D [N, K/32] and block sums S
// of QuantizeQ8_0, and, for the assembly variants' many-row kernels, the
// same rows interleaved in groups of 16 (see packQ8Rows). Its zero value is empty; Quantize reuses
// its memory. A Q8Rows may be read by several goroutines at once.
type Q8Rows struct {
	N, K int
	Q    []int8    // [N, K]
	D    []float32 // [N, K/32]
	S    []int32   // [N, K/32]: each block's sum of quants

	packed []byte // groups of matMulGroup rows (VNNI), or empty
	packer string // the variant that packed it
}

// Quantize fills r with the N rows of x [N, K] (K a multiple of 32),
// quantized by QuantizeQ8_0.
func (r *Q8Rows) Quantize(x []float32, N, K int) {
	if K%QK != 0 || N < 0 || len(x) < N*K {
		panic(fmt.Sprintf("kernels: Q8Rows.Quantize: %d values for %d rows of %d (a multiple of %d)", len(x), N, K, QK))
	}
	r.N, r.K = N, K
	r.Q = grow(r.Q, N*K)
	r.D = grow(r.D, N*K/QK)
	r.S = grow(r.S, N*K/QK)
	if K > 0 {
		for n := range N {
			q, d, s := r.row(n)
			quant.quantize(q, d, s, x[n*K:(n+1)*K])
		}
	}
	r.packer = ""
	if quant.pack != nil && N >= matMulMinRows && K > 0 {
		r.packed = quant.pack(r.packed, r)
		r.packer = quant.name
	}
}

// grow returns s resliced to n elements, reallocated when too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// matMulMinRows is the fewest rows Quantize packs for the many-row
// kernels; fewer go through the matrix-vector kernels one row at a time
// (and so do the AVX2 variant's last rows when fewer than this are left
// after its whole groups of 8 or 16).
const matMulMinRows = 5

// MatMulQ8_0 computes the products of the rows of x with m rows of Q8_0
// weights w (x.K/32 blocks each, one after another): for n < x.N and o < m,
//
//	y[n·ldy + o] (+)= Σ_b d_w[o,b]·d_x[n,b]·Σ_j w[o,b,j]·q_x[n,b,j]
//
// adding to y when add is set, else overwriting it. It is the many-row
// (prefill) shape: the VNNI variant loads each weight block once for 16
// rows of x, the AVX2 one once for 8 (Q8_0) or 16 (Q4_0), in the order of
// its matrix-vector kernels, so that its results are MatVecQ8_0's and
// MatVecQ4_0's bits row by row. It runs on the calling goroutine; to use several cores, give
// each a range of weight rows. y must not overlap w or x.
func MatMulQ8_0(y []float32, ldy int, w []byte, m int, x *Q8Rows, add bool) {
	checkMatMulQ("MatMulQ8_0", len(y), ldy, len(w), m, x, Q8_0BlockBytes)
	quant.mul(y, ldy, w, m, x, add, false)
}

// MatMulQ4_0 is MatMulQ8_0 for Q4_0 weights.
func MatMulQ4_0(y []float32, ldy int, w []byte, m int, x *Q8Rows, add bool) {
	checkMatMulQ("MatMulQ4_0", len(y), ldy, len(w), m, x, Q4_0BlockBytes)
	quant.mul(y, ldy, w, m, x, add, true)
}

func checkMatMulQ(op string, ny, ldy, nw, m int, x *Q8Rows, size int) {
	nb := x.K / QK
	if m < 0 || ldy < m || (m > 0 && x.N > 0 && ny < (x.N-1)*ldy+m) {
		panic(fmt.Sprintf("kernels: %s: y of %d values (stride %d) too short for %d×%d", op, ny, ldy, x.N, m))
	}
	if nb > 0 && m > nw/(nb*size) {
		panic(fmt.Sprintf("kernels: %s: len(w) = %d, too short for %d rows of %d blocks", op, nw, m, nb))
	}
	if x.packer != "" && x.packer != quant.name {
		panic("kernels: " + op + ": rows packed by variant " + x.packer + ", not " + quant.name)
	}
}

// quantKernels is one set of variants of the quantized kernels.
type quantKernels struct {
	name     string // "generic", "avx2", "avx512vnni"
	quantize func(q []int8, d []float32, s []int32, x []float32)
	// matVecQ8 and matVecQ4 are MatVecQ8_0 and MatVecQ4_0 on one row (q,
	// d, s) of quantized activations, adding to y when add is set.
	matVecQ8 func(y []float32, w []byte, q []int8, d []float32, s []int32, add bool)
	matVecQ4 func(y []float32, w []byte, q []int8, d []float32, s []int32, add bool)
	// pack, when set, interleaves r's rows for matMul (r.N ≥
	// matMulMinRows) into buf's memory and returns it.
	pack func(buf []byte, r *Q8Rows) []byte
	// matMul is MatMulQ8_0 (q4 false) or MatMulQ4_0; nil means matMulRows.
	matMul func(k *quantKernels, y []float32, ldy int, w []byte, m int, x *Q8Rows, add, q4 bool)
}

// mul runs k.matMul, or matMulRows when the variant has none.
func (k *quantKernels) mul(y []float32, ldy int, w []byte, m int, x *Q8Rows, add, q4 bool) {
	if k.matMul == nil {
		matMulRows(k, y, ldy, w, m, x, add, q4)
		return
	}
	k.matMul(k, y, ldy, w, m, x, add, q4)
}

var genericQuant = quantKernels{
	name:     "generic",
	quantize: quantizeGeneric,
	matVecQ8: matVecQ8Generic,
	matVecQ4: matVecQ4Generic,
}

// quantVariants lists the variants this CPU runs, generic first and the one
// in use last; quant is the one in use.
var (
	quantVariants = append([]quantKernels{genericQuant}, quantAsmVariants(cpuFeatures)...)
	quant         = quantVariants[len(quantVariants)-1]
)

// useQuantVariant installs the variant called name and returns a func
// restoring the previous one; for tests and benchmarks (never in parallel
// tests).
func useQuantVariant(name string) (restore func()) {
	prev := quant
	for _, v := range quantVariants {
		if v.name == name {
			quant = v
			return func() { quant = prev }
		}
	}
	panic("kernels: unknown quantized-kernel variant " + name)
}

// QuantVariant names the variant of the quantized kernels in use:
// "avx512vnni", "avx2" or "generic".
func QuantVariant() string { return quant.name }

// matMulRows is matMul through the variant's matrix-vector kernels, one row
// of x at a time (the rows of w, a few hundred KiB at a time, stay in cache
// between rows when the caller splits w into such chunks).
func matMulRows(k *quantKernels, y []float32, ldy int, w []byte, m int, x *Q8Rows, add, q4 bool) {
	nb := x.K / QK
	mv := k.matVecQ8
	size := Q8_0BlockBytes
	if q4 {
		mv, size = k.matVecQ4, Q4_0BlockBytes
	}
	w = w[:m*nb*size]
	for n := range x.N {
		q, d, s := x.row(n)
		mv(y[n*ldy:n*ldy+m], w, q, d, s, add)
	}
}

// RoundHalf rounds each x[i] to the nearest IEEE half-precision value (ties
// to even, as F16C's VCVTPS2PH), widened back, into dst[i]: what llama.cpp
// does to the activations of an F16 matrix before its dot products (F16 is
// that type's vec_dot_type). Values beyond the half range become ±Inf.
// dst may alias x; it must be at least as long. Portable code only: it runs
// on activations, a small part of a product's work.
func RoundHalf(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = roundHalf(v)
	}
}
