package kernels

import (
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// This file holds a bfloat16 matrix product with float32 accumulation:
// C = bf16(A)·B + beta·C for float32 activations A, converted to bfloat16 on
// the way in, and bfloat16 weights B packed once ahead of time. On AVX-512
// BF16 it runs VDPBF16PS microkernels (two bfloat16 products per float32
// lane and instruction, twice the multiply-add rate of float32 FMAs); its
// generic twin GemmBF16Generic gives the same bits on every machine.

// The tile and block shapes of GemmBF16.
const (
	gemmBF16MR = 14 // rows of a register tile
	gemmBF16NR = 32 // columns of a register tile and of a packed panel
	// gemmBF16KQ is the number of steps (pairs of depths) of a cache
	// block: 128 steps of a packed micro-panel are 16 KiB, half of L1.
	gemmBF16KQ = 128
	// gemmBF16Group is the number of panels a task of rowWorker spans.
	gemmBF16Group = 8
)

// gemmBF16RowMode is the number of rows from which a product runs row
// block by row block (rowWorker) rather than panel by panel (worker); a
// variable only so that benchmarks can compare the two.
var gemmBF16RowMode = 128

// gemmBF16Micro is the signature of the generated microkernels (see
// kernels/_asm/bf16gemm).
type gemmBF16Micro func(kq int, a *uint16, lda int, b *uint16, c *float32, ldc int, load int, pf *uint16)

// gemmBF16Kernels are the microkernels of GemmBF16 by tile height (entry h
// computes h rows; entry 0 is unused): rows reads A converted row by row,
// steps A converted step by step (from a transposed A). With wideA the
// kernels read A converted to float32 values rounded to bfloat16, in the
// same places (the a argument then points to float32 values and lda counts
// them), as the AVX2 kernels do.
type gemmBF16Kernels struct {
	rows, steps [gemmBF16MR + 1]gemmBF16Micro
	wideA       bool
}

// bf16PairRows stores dst[2j] = bf16(r0[j]) and dst[2j+1] = bf16(r1[j])
// for j < n (r1 nil: zeros), rounded as F32ToBF16 does.
func bf16PairRows(n int, r0, r1 []float32, dst []uint16) {
	bf16PairRowsStrided(n, r0, r1, dst, 2*32)
}

// bf16PairRowsStrided is bf16PairRows with the pairs of columns
// [32u, 32u+32) stored from dst[u·stride] (stride >= 64).
func bf16PairRowsStrided(n int, r0, r1 []float32, dst []uint16, stride int) {
	j := 0
	if bf16PairRowsVec != nil && r1 != nil && n >= 32 {
		j = n &^ 31
		_ = dst[(j/32-1)*stride+63] // bounds, once
		bf16PairRowsVec(j, &r0[:n][0], &r1[:n][0], &dst[0], stride)
	}
	for ; j < n; j++ {
		d := dst[j/32*stride+2*(j%32):]
		d[0] = f32ToBF16(r0[j])
		if r1 != nil {
			d[1] = f32ToBF16(r1[j])
		} else {
			d[1] = 0
		}
	}
}

// PackedBF16 is the B operand of GemmBF16: a k×n matrix op(B) rounded to
// (or given in) bfloat16 and packed once, ahead of time, into 32-column
// micro-panels whose consecutive pairs of depths are interleaved, the layout
// VDPBF16PS multiplies. A PackedBF16 is immutable once built (unless
// repacked by PackF32BF16Into) and safe for concurrent use; it holds about k·n bfloat16 values of its own (k rounded
// up to even, n to a multiple of 32) and does not reference the matrix it
// was packed from.
type PackedBF16 struct {
	k, n int
	kp   int // k rounded up to even: the depth of the panels
	// data holds the 32-column panels one after the other, each through the
	// whole depth: panel g's step q (depths 2q and 2q+1) is the 64 values at
	// data[g·32·kp + q·64], where op(B)[2q][32g+j] is at 2j and
	// op(B)[2q+1][32g+j] at 2j+1; zero past column n and past depth k.
	data []uint16
}

// Dims returns the shape of op(B): k rows (the depth of the product) and n
// columns (the columns of C).
func (pb *PackedBF16) Dims() (k, n int) { return pb.k, pb.n }

// Column widens column j of op(B), its k values, into dst[:k]: a row of a
// tied embedding table read back from the packed output head.
func (pb *PackedBF16) Column(dst []float32, j int) {
	if j < 0 || j >= pb.n {
		panic(fmt.Sprintf("kernels: PackedBF16.Column(%d) of %d columns", j, pb.n))
	}
	dst = dst[:pb.k]
	panel := pb.data[(j/gemmBF16NR)*gemmBF16NR*pb.kp:]
	jj := j % gemmBF16NR
	for p := range dst {
		dst[p] = math.Float32frombits(uint32(panel[(p/2)*2*gemmBF16NR+2*jj+(p&1)]) << 16)
	}
}

// Columns returns the first n columns of op(B) as a PackedBF16 that shares
// pb's storage (its panels are whole and laid out one after the other): a
// product with it computes only those columns of C. Causal attention takes
// the keys [0, r1) of a row block this way from keys packed once. It
// panics unless 0 <= n <= pb's n and n is a multiple of 32 or pb's n.
func (pb *PackedBF16) Columns(n int) PackedBF16 {
	if n < 0 || n > pb.n || (n%gemmBF16NR != 0 && n != pb.n) {
		panic(fmt.Sprintf("kernels: PackedBF16.Columns: %d of %d columns (want a multiple of %d or all)", n, pb.n, gemmBF16NR))
	}
	panels := (n + gemmBF16NR - 1) / gemmBF16NR
	return PackedBF16{k: pb.k, n: n, kp: pb.kp, data: pb.data[: panels*gemmBF16NR*pb.kp : panels*gemmBF16NR*pb.kp]}
}

// PackBF16 packs op(B), a k×n matrix of bfloat16 values (raw bit patterns),
// for GemmBF16: when transB is false, b holds k rows of n values with row
// stride ldb (ldb >= n); when true, it holds n rows of k values (ldb >= k)
// and is read transposed — a PyTorch nn.Linear weight [out, in] is op(B) =
// Wᵀ with transB true, k = in, n = out. b is not referenced after PackBF16
// returns. It panics if a dimension is negative, the stride is too small, or
// b is too short.
func PackBF16(transB bool, k, n int, b []uint16, ldb int) *PackedBF16 {
	return packBF16("PackBF16", transB, k, n, b, ldb, func(v uint16) uint16 { return v })
}

// PackF32BF16 is PackBF16 for a float32 op(B), rounded to bfloat16 to
// nearest even as F32ToBF16 does.
func PackF32BF16(transB bool, k, n int, b []float32, ldb int) *PackedBF16 {
	return PackF32BF16Into(nil, transB, k, n, b, ldb)
}

// PackF32BF16Into is PackF32BF16 into pb's storage, grown when too small (a
// nil pb gets a new PackedBF16): for a matrix that changes between products,
// such as the float32 master weights of bfloat16 training, repacked before
// each use without allocating. pb must not be in use by a product meanwhile.
func PackF32BF16Into(pb *PackedBF16, transB bool, k, n int, b []float32, ldb int) *PackedBF16 {
	return packBF16Into(pb, "PackF32BF16", transB, k, n, b, ldb, nil)
}

func packBF16[T uint16 | float32](fn string, transB bool, k, n int, b []T, ldb int, conv func(T) uint16) *PackedBF16 {
	return packBF16Into(nil, fn, transB, k, n, b, ldb, conv)
}

func packBF16Into[T uint16 | float32](pb *PackedBF16, fn string, transB bool, k, n int, b []T, ldb int, conv func(T) uint16) *PackedBF16 {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: %s: negative dimension k=%d n=%d", fn, k, n))
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrixOf(fn, "B", br, bc, b, ldb)
	kp := k + k&1
	panels := (n + gemmBF16NR - 1) / gemmBF16NR
	size := panels * gemmBF16NR * kp
	if pb == nil {
		pb = new(PackedBF16)
	}
	if cap(pb.data) < size {
		pb.data = make([]uint16, size)
	}
	pb.k, pb.n, pb.kp, pb.data = k, n, kp, pb.data[:size]
	f32, _ := any(b).([]float32)
	if size == 0 {
		return pb
	}
	if conv == nil && !transB {
		// Rows 2q and 2q+1 of a row-major B go into step q of every panel
		// at once; padding (past column n, past depth k) is cleared first.
		// Workers take at least 16 Ki values each, so that a small pack (a
		// head of attention, itself on a worker) runs where it is called.
		steps, grain := (k+1)/2, max(16, (1<<13)/max(n, 1))
		if steps <= grain || Threads() == 1 {
			packRowPairs(pb, f32, ldb, 0, steps) // without a closure, which would allocate
			return pb
		}
		ParallelFor(steps, grain, func(lo, hi int) { packRowPairs(pb, f32, ldb, lo, hi) })
		return pb
	}
	grain := max(4, (1<<9)/max(kp, 1))
	if conv == nil && (panels <= grain || Threads() == 1) {
		packF32Panels(pb, f32, ldb, transB, 0, panels) // without a closure, which would allocate
		return pb
	}
	ParallelFor(panels, grain, func(lo, hi int) {
		if conv == nil {
			packF32Panels(pb, f32, ldb, transB, lo, hi)
			return
		}
		for g := lo; g < hi; g++ {
			col := g * gemmBF16NR
			w := min(gemmBF16NR, n-col)
			panel := pb.data[g*gemmBF16NR*kp : (g+1)*gemmBF16NR*kp]
			if w < gemmBF16NR || k < kp {
				clear(panel)
			}
			if transB {
				packBF16PanelT(panel, b, ldb, k, col, w, conv)
				continue
			}
			for p := range k {
				row := b[p*ldb+col : p*ldb+col+w]
				dst := panel[(p/2)*2*gemmBF16NR+(p&1):]
				for jj, v := range row {
					dst[2*jj] = conv(v)
				}
			}
		}
	})
	return pb
}

// packBF16PanelT packs columns [col, col+w) of a transposed op(B) — rows
// col… of b, k values each — into panel, converting each value with conv.
func packBF16PanelT[T uint16 | float32](panel []uint16, b []T, ldb, k, col, w int, conv func(T) uint16) {
	for jj := range w {
		row := b[(col+jj)*ldb : (col+jj)*ldb+k]
		for p, v := range row {
			panel[(p/2)*2*gemmBF16NR+2*jj+(p&1)] = conv(v)
		}
	}
}

// PackBF16Rows is PackBRows for bfloat16 parts: the rows of several
// matrices [nᵢ, k] packed as the columns of one op(B) for GemmBF16,
// without concatenating them first. It panics if a part's length is not a
// multiple of k.
func PackBF16Rows(k int, parts ...[]uint16) *PackedBF16 {
	if k <= 0 {
		panic(fmt.Sprintf("kernels: PackBF16Rows: depth k=%d", k))
	}
	n, aligned := 0, true
	offs := make([]int, len(parts)+1)
	for i, p := range parts {
		if len(p)%k != 0 {
			panic(fmt.Sprintf("kernels: PackBF16Rows: part %d of %d values is not rows of %d", i, len(p), k))
		}
		aligned = aligned && (len(p)/k)%gemmBF16NR == 0
		n += len(p) / k
		offs[i+1] = n
	}
	if !aligned { // a panel would straddle two parts
		cat := make([]uint16, 0, n*k)
		for _, p := range parts {
			cat = append(cat, p...)
		}
		return PackBF16(true, k, n, cat, k)
	}
	kp := k + k&1
	pb := &PackedBF16{k: k, n: n, kp: kp, data: make([]uint16, n*kp)}
	ParallelFor(n/gemmBF16NR, 4, func(lo, hi int) {
		i := 0
		for g := lo; g < hi; g++ {
			col := g * gemmBF16NR
			for offs[i+1] <= col {
				i++
			}
			panel := pb.data[col*kp : (col+gemmBF16NR)*kp]
			// Depth padding stays zero: the panel is new.
			packBF16PanelT(panel, parts[i], k, k, col-offs[i], gemmBF16NR, func(v uint16) uint16 { return v })
		}
	})
	return pb
}

// packF32Panels packs panels [lo, hi) of a float32 op(B) into pb (shaped
// already), rounded as F32ToBF16 does, padding cleared.
func packF32Panels(pb *PackedBF16, b []float32, ldb int, transB bool, lo, hi int) {
	k, n, kp := pb.k, pb.n, pb.kp
	for g := lo; g < hi; g++ {
		col := g * gemmBF16NR
		w := min(gemmBF16NR, n-col)
		panel := pb.data[g*gemmBF16NR*kp : (g+1)*gemmBF16NR*kp]
		if w < gemmBF16NR || k < kp {
			clear(panel)
		}
		packF32Panel(panel, b, ldb, transB, k, col, w)
	}
}

// packRowPairs packs steps [lo, hi) of a row-major float32 op(B) into pb
// (shaped already), rows 2q and 2q+1 into step q of every panel, clearing
// the padding past column n.
func packRowPairs(pb *PackedBF16, b []float32, ldb, lo, hi int) {
	k, n, kp := pb.k, pb.n, pb.kp
	panels := (n + gemmBF16NR - 1) / gemmBF16NR
	pstride := gemmBF16NR * kp
	for q := lo; q < hi; q++ {
		if n%gemmBF16NR != 0 {
			clear(pb.data[(panels-1)*pstride+q*2*gemmBF16NR : (panels-1)*pstride+(q+1)*2*gemmBF16NR])
		}
		var r1 []float32
		if 2*q+1 < k {
			r1 = b[(2*q+1)*ldb : (2*q+1)*ldb+n]
		}
		bf16PairRowsStrided(n, b[2*q*ldb:2*q*ldb+n], r1, pb.data[q*2*gemmBF16NR:], pstride)
	}
}

// packF32Panel packs columns [col, col+w) of a float32 op(B) into panel,
// pairs of rows at a time (bf16PairRows) from a row-major B; from a
// transposed one, a column's pairs are adjacent values of a row of b,
// rounded with F32ToBF16 into a buffer and stored 32 pairs apart.
func packF32Panel(panel []uint16, b []float32, ldb int, transB bool, k, col, w int) {
	if !transB {
		for q := range (k + 1) / 2 {
			var r1 []float32
			if 2*q+1 < k {
				r1 = b[(2*q+1)*ldb+col : (2*q+1)*ldb+col+w]
			}
			bf16PairRows(w, b[2*q*ldb+col:2*q*ldb+col+w], r1, panel[q*2*gemmBF16NR:])
		}
		return
	}
	// Each row of b is a column of op(B): rounded in one pass, its pairs of
	// depths are 32-bit words stored 32 words apart, one per step.
	kp := k + k&1
	bp := getBF16Scratch(kp)
	defer putBF16Scratch(bp)
	buf := *bp
	buf[kp-1] = 0 // an odd k's last pair: (value, 0)
	pairs := unsafe.Slice((*uint32)(unsafe.Pointer(&buf[0])), kp/2)
	dst := unsafe.Slice((*uint32)(unsafe.Pointer(&panel[0])), len(panel)/2)
	_ = dst[(kp/2-1)*gemmBF16NR+w-1] // bounds, once
	for jj := range w {
		F32ToBF16(buf[:k], b[(col+jj)*ldb:(col+jj)*ldb+k])
		for q, v := range pairs {
			dst[q*gemmBF16NR+jj] = v
		}
	}
}

// checkMatrixOf panics unless s holds a rows×cols matrix with row stride ld.
func checkMatrixOf[T any](fn, name string, rows, cols int, s []T, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("kernels: %s: stride of %s is %d, want >= %d", fn, name, ld, max(cols, 1)))
	}
	if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, want >= %d for %d×%d with stride %d",
			fn, name, len(s), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// addColumnSums adds op(B)'s column sums over its k rows to sums (n values),
// in float32, depth by depth.
func (pb *PackedBF16) addColumnSums(sums []float32) {
	for j := range pb.n {
		g, jj := j/gemmBF16NR, j%gemmBF16NR
		panel := pb.data[g*gemmBF16NR*pb.kp:]
		s := sums[j]
		for p := range pb.k {
			s += bf16Widen(panel[(p/2)*2*gemmBF16NR+2*jj+(p&1)])
		}
		sums[j] = s
	}
}

// GemmBF16 computes C = bf16(A)·op(B) + beta·C, then applies ep to C (nil:
// no epilogue; every field of Epilogue is honoured, as in SgemmPacked). op(B)
// is the k×n matrix packed by PackBF16 or PackF32BF16; op(A) is m×k: when
// transA is false, A holds m rows of k float32 values with row stride lda
// (lda >= k); when true, k rows of m values (lda >= m), read transposed (the
// weight gradient Xᵀ·dY of a linear layer). It is rounded to bfloat16 (to
// nearest even, as F32ToBF16) as the product reads it; C holds m rows of
// n values with stride ldc (ldc >= n), not read when beta is 0. C must not
// alias A.
//
// The products and sums are those of VDPBF16PS, exactly: depths are taken
// in pairs (2q, 2q+1), a zero pair completing an odd k, and for each pair
//
//	s = s + a[2q+1]·b[2q+1], then s = s + a[2q]·b[2q]
//
// where each bfloat16 product is exact in float32 and each sum is rounded to
// nearest even; bfloat16 and float32 subnormals entering a step count as
// zero (with their sign) and a subnormal sum becomes zero. s starts at
// beta·C (rounded to float32), or at +0 when beta is 0, and runs through the
// pairs in order; when k is 0, C = beta·C. So the result does not depend on
// the machine, the thread count or the blocking: GemmBF16Generic computes
// the same bits. Against the exact product of the float32 inputs, away from
// the subnormal range, each element is off by at most
//
//	(2⁻⁷ + 2⁻¹⁶)·Σ|a·b| + γ_k·(|c₀| + (1 + 2⁻⁸)²·Σ|a·b|),  γ_k = k·2⁻²⁴/(1 − k·2⁻²⁴)
//
// with c₀ the starting value beta·C: rounding a and b to bfloat16 (2⁻⁸
// relative each) moves each product by at most (2⁻⁷ + 2⁻¹⁶)·|a·b|, and the
// k float32 sums in sequence add the γ_k term.
//
// It runs on the VDPBF16PS microkernels where the CPU has AVX-512 BF16 (see
// GemmBF16Native), parallel over Threads() workers: below 128 rows each
// takes 32-column panels of B in turn and streams them once (prefill), from
// 128 rows on each takes blocks of up to 224 rows × 256 columns (encoders,
// training); on a CPU with AVX2 and FMA but not AVX-512 BF16 the same
// tiling runs FMA kernels with the same results, and elsewhere
// GemmBF16Generic. On the development machine
// (Zen 4 class, 1 thread) it measured 330–380 GFLOPS on BERT-base and
// train-char shapes, against 165–210 for float32 Sgemm, and a microkernel
// with its operands in L1 380–450. It panics if m is
// negative, a stride is too small, a slice is too short for its matrix, or
// ep does not fit the product (see SgemmEpilogue).
func GemmBF16(transA bool, m int, a []float32, lda int, pb *PackedBF16, beta float32, c []float32, ldc int, ep *Epilogue) {
	gemmBF16(gemmBF16Native, transA, m, a, lda, pb, beta, c, ldc, ep)
}

// GemmBF16Rows is GemmBF16 for an A already rounded to bfloat16: m rows of
// k values (raw bit patterns, as F32ToBF16 or an Epilogue's BF16 output
// writes them) with row stride lda (lda >= k), read in place by the
// microkernels instead of being converted from float32 first. k, the depth
// of pb, must be even. The result is GemmBF16's, bit for bit, for any
// float32 A that rounds to a. It panics as GemmBF16 does, and if k is odd.
func GemmBF16Rows(m int, a []uint16, lda int, pb *PackedBF16, beta float32, c []float32, ldc int, ep *Epilogue) {
	gemmBF16Rows(gemmBF16Native, m, a, lda, pb, beta, c, ldc, ep)
}

// GemmBF16RowsGeneric is the portable GemmBF16Rows, with the same results
// as GemmBF16Generic.
func GemmBF16RowsGeneric(m int, a []uint16, lda int, pb *PackedBF16, beta float32, c []float32, ldc int, ep *Epilogue) {
	gemmBF16Rows(nil, m, a, lda, pb, beta, c, ldc, ep)
}

func gemmBF16Rows(impl *gemmBF16Kernels, m int, a []uint16, lda int, pb *PackedBF16, beta float32, c []float32, ldc int, ep *Epilogue) {
	if m < 0 {
		panic(fmt.Sprintf("kernels: GemmBF16Rows: negative dimension m=%d", m))
	}
	if pb.k%2 != 0 {
		panic(fmt.Sprintf("kernels: GemmBF16Rows: odd depth k=%d", pb.k))
	}
	checkMatrixOf("GemmBF16Rows", "A", m, pb.k, a, lda)
	if impl == nil && m > 0 && pb.k > 0 {
		// The twin widens A (exactly) and rounds it back as GemmBF16 reads
		// it, which gives a's values again.
		af := make([]float32, m*pb.k)
		for i := range m {
			BF16ToF32(af[i*pb.k:(i+1)*pb.k], a[i*lda:i*lda+pb.k])
		}
		gemmBF16(nil, false, m, af, pb.k, pb, beta, c, ldc, ep)
		return
	}
	gemmBF16Run(impl, false, m, nil, a, lda, pb, beta, c, ldc, ep)
}

// GemmBF16Native reports whether GemmBF16 runs on the VDPBF16PS
// microkernels (amd64 with AVX-512 BF16, not built with purego), with twice
// float32's multiply-adds per instruction. Elsewhere it runs AVX2+FMA
// kernels where the CPU has them (two FMAs per pair of depths, on the
// bfloat16 values widened), or else its generic twin, far more slowly; all
// three give the same results.
func GemmBF16Native() bool { return gemmBF16Native != nil && gemmBF16VDP }

// GemmBF16Generic is the portable GemmBF16: plain Go, one element at a
// time, with the same results bit for bit (NaNs aside, whose payloads may
// differ).
func GemmBF16Generic(transA bool, m int, a []float32, lda int, pb *PackedBF16, beta float32, c []float32, ldc int, ep *Epilogue) {
	gemmBF16(nil, transA, m, a, lda, pb, beta, c, ldc, ep)
}

func gemmBF16(impl *gemmBF16Kernels, transA bool, m int, a []float32, lda int, pb *PackedBF16, beta float32, c []float32, ldc int, ep *Epilogue) {
	if m < 0 {
		panic(fmt.Sprintf("kernels: GemmBF16: negative dimension m=%d", m))
	}
	ar, ac := m, pb.k
	if transA {
		ar, ac = pb.k, m
	}
	checkMatrixOf("GemmBF16", "A", ar, ac, a, lda)
	gemmBF16Run(impl, transA, m, a, nil, lda, pb, beta, c, ldc, ep)
}

// gemmBF16Run is GemmBF16 (ab nil) or GemmBF16Rows (a nil, ab the rounded
// rows of A) once A is checked.
func gemmBF16Run(impl *gemmBF16Kernels, transA bool, m int, a []float32, ab []uint16, lda int, pb *PackedBF16, beta float32, c []float32, ldc int, ep *Epilogue) {
	k, n := pb.k, pb.n
	checkMatrixOf("GemmBF16", "C", m, n, c, ldc)
	ep.check("GemmBF16", m, n)
	if ep != nil && ep.SumsB != nil {
		pb.addColumnSums(ep.SumsB)
	}
	ep = ep.onC()
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		if ep != nil {
			ep.apply(c, ldc, 0, m, 0, n)
		}
		return
	}
	if impl == nil {
		gemmBF16Ref(transA, m, a, lda, pb, beta, c, ldc)
		if ep != nil {
			ep.apply(c, ldc, 0, m, 0, n)
		}
		return
	}
	if beta != 0 && beta != 1 {
		scaleMatrix(m, n, beta, c, ldc)
		beta = 1
	}
	j := gemmBF16Jobs.Get().(*gemmBF16Job)
	j.impl, j.m, j.pb, j.c, j.ldc, j.load, j.ep = &impl.rows, m, pb, c, ldc, beta != 0, ep
	if transA {
		j.impl = &impl.steps
	}
	j.next.Store(0)
	j.wide = impl.wideA
	switch {
	case ab == nil:
		j.convertA(transA, a, lda)
	case j.wide: // widened from ab
		j.rowsA = ab
		j.convertA(false, nil, lda)
	default: // read in place
		j.rowsA, j.lda, j.transA = ab, lda, false
		j.abuf = &j.rowsA
	}
	panels := (n + gemmBF16NR - 1) / gemmBF16NR
	workers := min(Threads(), panels)
	// Few rows are bound by streaming B, not by multiply-adds: as for the
	// float32 row path, a B of rowParallel values or more is shared out
	// however few the rows (a decoding step's 768×768 projection would
	// otherwise stream on one core while the others wait).
	if m*n*k < sgemmSerial && (m >= gemmBF16RowMode || n*k < rowParallel) {
		workers = 1
	}
	fn := j.workerFn
	if m >= gemmBF16RowMode {
		// Blocks of up to 16 tiles, at least four per worker, balance the
		// load when another process delays one of the workers.
		fn = j.rowWorkerFn
		j.chunk = gemmBF16MR * max(1, min(16, m/(gemmBF16MR*4*workers)))
	} else {
		// About four chunks of panels per worker, likewise.
		j.chunk = max(1, panels/(4*workers))
	}
	if workers == 1 {
		fn(0, 1)
	} else {
		ParallelFor(workers, 1, fn)
	}
	if j.afbuf != nil {
		putScratch(j.afbuf)
	} else if ab == nil {
		putBF16Scratch(j.abuf)
	}
	j.pb, j.c, j.ep, j.abuf, j.afbuf, j.a, j.rowsA = nil, nil, nil, nil, nil, nil, nil
	gemmBF16Jobs.Put(j)
}

// gemmBF16Job carries one GemmBF16 call on the microkernels.
type gemmBF16Job struct {
	impl   *[gemmBF16MR + 1]gemmBF16Micro // impl.rows or impl.steps
	m      int
	pb     *PackedBF16
	c      []float32
	ldc    int
	load   bool // C's value starts the sums (beta = 1)
	ep     *Epilogue
	abuf   *[]uint16  // A in bfloat16: m rows of stride lda
	rowsA  []uint16   // GemmBF16Rows' A, which abuf then points to (or afbuf is widened from)
	afbuf  *[]float32 // with wide, A in float32 values rounded to bfloat16, in abuf's layout
	wide   bool       // impl.wideA
	lda    int
	chunk  int
	next   atomic.Int64 // the next panel to claim
	a      []float32    // A while it is converted
	aLd    int
	transA bool
	// The method values handed to ParallelFor, made once per pooled job so
	// that a call does not allocate them.
	workerFn, rowWorkerFn, convertFn func(lo, hi int)
}

var gemmBF16Jobs = sync.Pool{New: func() any {
	j := new(gemmBF16Job)
	j.workerFn, j.rowWorkerFn, j.convertFn = j.worker, j.rowWorker, j.convertRows
	return j
}}

// convertA rounds op(A) to bfloat16 into j.abuf, a zero completing an odd
// k. A row-major A is converted row by row: rows of pb.kp values, with a
// stride that keeps the 14 rows of a tile out of each other's L1 sets. A
// transposed A is converted step by step, two of its rows (depths 2q and
// 2q+1) into the pairs of step q, m of them side by side, for the
// microkernels that read A that way (gemmBF16Kernels.steps).
func (j *gemmBF16Job) convertA(transA bool, a []float32, lda int) {
	k, kp := j.pb.k, j.pb.kp
	j.a, j.aLd, j.transA = a, lda, transA
	if j.wide {
		// The same layouts in float32: strides in whole cache lines, kept
		// off multiples of 2 KiB (rows) and 4 KiB (steps).
		if transA {
			s := 2 * ((j.m + 7) &^ 7)
			if s%1024 == 0 {
				s += 16
			}
			j.lda = s
			j.afbuf = getScratch(kp / 2 * s)
			ParallelFor(kp/2, max(1, (1<<15)/j.m), j.convertFn)
			return
		}
		s := (kp + 15) &^ 15
		if s%512 == 0 {
			s += 16
		}
		j.lda = s
		j.afbuf = getScratch(j.m * s)
		ParallelFor(j.m, max(1, (1<<15)/k), j.convertFn)
		return
	}
	if transA {
		s := 2 * ((j.m + 15) &^ 15) // elements per step
		if s%2048 == 0 {
			s += 32
		}
		j.lda = s
		j.abuf = getBF16Scratch(kp / 2 * s)
		ParallelFor(kp/2, max(1, (1<<15)/j.m), j.convertFn)
		return
	}
	s := (kp + 31) &^ 31 // whole cache lines
	if s%1024 == 0 {
		s += 32
	}
	j.lda = s
	j.abuf = getBF16Scratch(j.m * s)
	ParallelFor(j.m, max(1, (1<<15)/k), j.convertFn)
}

// convertRows converts rows [lo, hi) of op(A) for convertA, or with a
// transposed A its steps [lo, hi).
func (j *gemmBF16Job) convertRows(lo, hi int) {
	if j.wide {
		j.convertRowsWide(lo, hi)
		return
	}
	k, kp, s, buf := j.pb.k, j.pb.kp, j.lda, *j.abuf
	if j.transA {
		m, a, lda := j.m, j.a, j.aLd
		for q := lo; q < hi; q++ {
			var r1 []float32
			if 2*q+1 < k {
				r1 = a[(2*q+1)*lda : (2*q+1)*lda+m]
			}
			bf16PairRows(m, a[2*q*lda:2*q*lda+m], r1, buf[q*s:])
		}
		return
	}
	for i := lo; i < hi; i++ {
		row := buf[i*s : i*s+kp]
		F32ToBF16(row[:k], j.a[i*j.aLd:i*j.aLd+k])
		if k < kp {
			row[k] = 0
		}
	}
}

// convertRowsWide is convertRows for the wide kernels: each row (or step)
// is rounded to bfloat16 as convertRows rounds it, through a scratch row,
// then widened into j.afbuf; GemmBF16Rows' A (j.rowsA) is only widened.
func (j *gemmBF16Job) convertRowsWide(lo, hi int) {
	k, kp, s, buf := j.pb.k, j.pb.kp, j.lda, *j.afbuf
	if j.rowsA != nil {
		for i := lo; i < hi; i++ {
			BF16ToF32(buf[i*s:i*s+k], j.rowsA[i*j.aLd:i*j.aLd+k])
		}
		return
	}
	tp := getBF16Scratch(max(kp, 2*j.m))
	defer putBF16Scratch(tp)
	t := *tp
	if j.transA {
		m, a, lda := j.m, j.a, j.aLd
		for q := lo; q < hi; q++ {
			var r1 []float32
			if 2*q+1 < k {
				r1 = a[(2*q+1)*lda : (2*q+1)*lda+m]
			}
			bf16PairRows(m, a[2*q*lda:2*q*lda+m], r1, t)
			BF16ToF32(buf[q*s:q*s+2*m], t[:2*m])
		}
		return
	}
	for i := lo; i < hi; i++ {
		F32ToBF16(t[:k], j.a[i*j.aLd:i*j.aLd+k])
		if k < kp {
			t[k] = 0
		}
		BF16ToF32(buf[i*s:i*s+kp], t[:kp])
	}
}

// worker claims chunks of panels and runs each through the whole depth, cache
// block by cache block, every row tile of A against each block while it is
// in L1; a finished panel of C gets the epilogue at once, while it is in
// cache. While one block is multiplied, its first two tiles prefetch the next
// block of B (the rest of the panel, or the next panel) into L2. This is the
// order for few rows (prefill): B, which no cache holds, streams from memory
// once.
func (j *gemmBF16Job) worker(_, _ int) {
	pb := j.pb
	kq := pb.kp / 2
	panels := (pb.n + gemmBF16NR - 1) / gemmBF16NR
	tb := getScratch(gemmBF16MR * gemmBF16NR) // a partial tile of C
	defer putScratch(tb)
	for {
		g0 := int(j.next.Add(int64(j.chunk))) - j.chunk
		if g0 >= panels {
			return
		}
		for g := g0; g < min(g0+j.chunk, panels); g++ {
			col := g * gemmBF16NR
			for q0 := 0; q0 < kq; q0 += gemmBF16KQ {
				nq := min(gemmBF16KQ, kq-q0)
				next := g*gemmBF16NR*pb.kp + (q0+nq)*2*gemmBF16NR // the next block in memory
				for i0 := 0; i0 < j.m; i0 += gemmBF16MR {
					j.tile(*tb, i0, g, q0, nq, next+(i0/gemmBF16MR&1)*nq*32)
				}
			}
			if j.ep != nil {
				j.ep.apply(j.c, j.ldc, 0, j.m, col, min(col+gemmBF16NR, pb.n))
			}
		}
	}
}

// rowWorker claims tasks of j.chunk rows × gemmBF16Group panels, row block
// by row block, and runs each through its depth cache block by cache block:
// the block of A (at most 224 rows × 128 steps, 112 KiB) and the panels'
// blocks of B (8 × 16 KiB) stay in L2 while the task's tiles use them, each
// micro-panel block in L1 meanwhile, and the finished part of C gets the
// epilogue at once. This is the order for many rows: A, which would
// otherwise stream from L3 once per panel, is read once per 8 panels, and
// a block of B once per row block. Each tile prefetches half of the next
// panel's block.
func (j *gemmBF16Job) rowWorker(_, _ int) {
	pb := j.pb
	kq := pb.kp / 2
	panels := (pb.n + gemmBF16NR - 1) / gemmBF16NR
	groups := (panels + gemmBF16Group - 1) / gemmBF16Group
	tasks := (j.m + j.chunk - 1) / j.chunk * groups
	tb := getScratch(gemmBF16MR * gemmBF16NR)
	defer putScratch(tb)
	for {
		t := int(j.next.Add(1)) - 1
		if t >= tasks {
			return
		}
		r0, g0 := t/groups*j.chunk, t%groups*gemmBF16Group
		r1, g1 := min(r0+j.chunk, j.m), min(g0+gemmBF16Group, panels)
		for q0 := 0; q0 < kq; q0 += gemmBF16KQ {
			nq := min(gemmBF16KQ, kq-q0)
			for g := g0; g < g1; g++ {
				next := (g+1)*gemmBF16NR*pb.kp + q0*2*gemmBF16NR
				for i0 := r0; i0 < r1; i0 += gemmBF16MR {
					j.tile(*tb, i0, g, q0, nq, next+((i0-r0)/gemmBF16MR&1)*nq*32)
				}
			}
		}
		if j.ep != nil {
			j.ep.apply(j.c, j.ldc, r0, r1, g0*gemmBF16NR, min(g1*gemmBF16NR, pb.n))
		}
	}
}

// tile multiplies the row tile at i0 (14 rows, or what is left of the
// product) by steps [q0, q0+nq) of panel g, into C (through tb, 14×32
// float32 values, when the panel is partial), prefetching the B values at
// pb.data[pf] on (any address in B will do: prefetches do not fault).
func (j *gemmBF16Job) tile(tb []float32, i0, g, q0, nq, pf int) {
	pb := j.pb
	h := min(gemmBF16MR, j.m-i0)
	col := g * gemmBF16NR
	w := min(gemmBF16NR, pb.n-col)
	bp := &pb.data[g*gemmBF16NR*pb.kp+q0*2*gemmBF16NR]
	load := 0
	if q0 > 0 || j.load {
		load = 1
	}
	pfp := &pb.data[min(pf, len(pb.data)-1)]
	ai := i0*j.lda + 2*q0
	if j.transA {
		ai = q0*j.lda + 2*i0
	}
	var ap *uint16
	if j.wide {
		ap = (*uint16)(unsafe.Pointer(&(*j.afbuf)[ai])) // float32 values: see gemmBF16Kernels
	} else {
		ap = &(*j.abuf)[ai]
	}
	if w == gemmBF16NR {
		j.impl[h](nq, ap, j.lda, bp, &j.c[i0*j.ldc+col], j.ldc, load, pfp)
		return
	}
	if load != 0 {
		for i := range h {
			copy(tb[i*gemmBF16NR:i*gemmBF16NR+w], j.c[(i0+i)*j.ldc+col:])
		}
	}
	j.impl[h](nq, ap, j.lda, bp, &tb[0], gemmBF16NR, load, pfp)
	for i := range h {
		copy(j.c[(i0+i)*j.ldc+col:(i0+i)*j.ldc+col+w], tb[i*gemmBF16NR:])
	}
}

// bf16Scratch recycles GemmBF16's bfloat16 copies of A by size class, as
// sgemmScratch does for Sgemm's packing buffers.
var bf16Scratch [48]sync.Pool

func getBF16Scratch(n int) *[]uint16 {
	c := bits.Len(uint(max(n, 1) - 1))
	if p, ok := bf16Scratch[c].Get().(*[]uint16); ok {
		*p = (*p)[:n]
		return p
	}
	buf := make([]uint16, n, 1<<c)
	return &buf
}

func putBF16Scratch(p *[]uint16) {
	c := bits.Len(uint(cap(*p)) - 1)
	if cap(*p) != 1<<c || c >= len(bf16Scratch) {
		return
	}
	bf16Scratch[c].Put(p)
}
