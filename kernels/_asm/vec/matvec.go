package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecKernel describes one generated matrix-vector kernel
//
//	func name(y, x *float32, w *T, m, n, ldw int)
//
// storing y[o] = Σ_{i<n} x[i]·w[o·ldw+i] for o < m. Rows are taken rows at a
// time (then one at a time for the last m mod rows): every x block is loaded
// once per pass and multiplied into each row's accumulators, so a pass keeps
// rows·unroll independent FMA chains and rows weight streams in flight, and
// each row stream is prefetched prefetch bytes ahead of its loads.
type matVecKernel struct {
	name     string
	bf16     bool // w is bfloat16 ([]uint16), widened in registers
	ymm      bool // AVX2: 8-lane YMM blocks, n a multiple of 8, no masked tail
	rows     int  // rows per pass
	unroll   int  // blocks per row per loop iteration
	prefetch int  // PREFETCHT1 distance in bytes (0: none)
	// pairs (AVX-512 bfloat16 only) widens the main loop's weights in
	// 32-element chunks without a shuffle: see bf16Pairs.
	pairs bool
}

// The matrix-vector kernels of decoding: a weight matrix streamed once per
// token, so they are bound by memory bandwidth, not by FMA throughput. Four
// rows per pass share each x load; bfloat16 rows are widened exactly
// (VPMOVZXWD + VPSLLD 16, or the cheaper bf16Pairs in the AVX-512 main
// loop), never by rounding x to bfloat16. Widening still costs the bfloat16
// kernel two to three times the instructions per byte of the float32 one,
// which shows when other processes share the core: bf16Pairs took one core
// from about 10 to 10–11 GB/s on the busy machine below.
//
// The rows of a matrix are contiguous, so a pass's four streams together
// walk one block of memory, and prefetching each of them a fixed distance
// ahead fetches the block that far ahead, every line once. The distances
// are far beyond what the L1 fill buffers could cover, hence PREFETCHT1:
// the lines wait in L2 (2 MiB per core here) while the hardware prefetchers
// and the loads take care of the last step. Measured on the 2-core Xeon
// (Emerald Rapids) this was tuned on, one core streaming 384 MiB in 768×3072
// matrices: float32 12.6 GB/s at 1 KiB (T0), 13.7 GB/s at 16 KiB; bfloat16
// 5.8 GB/s without prefetch, 8.2 at 512 B (T0), 11.0–11.2 GB/s from 8 KiB
// on (T1; flat up to 24 KiB). The read bandwidth of one core there is about
// 12.6 GB/s (../shared/bench membw).
var matVecKernels = []matVecKernel{
	{name: "matVec512", rows: 4, unroll: 2, prefetch: 16 << 10},
	{name: "matVecBF16_512", bf16: true, rows: 4, unroll: 2, prefetch: 8 << 10, pairs: true},
	{name: "matVec256", ymm: true, rows: 4, unroll: 2, prefetch: 16 << 10},
	{name: "matVecBF16_256", ymm: true, bf16: true, rows: 4, unroll: 2, prefetch: 8 << 10},
}

// bf16PairIndex is the VPERMT2PS index table of bf16Pairs: the even lanes
// of a 32-float pair of blocks, then the odd ones.
var bf16PairIndex Mem

func genMatVec() {
	bf16PairIndex = GLOBL("bf16pairindex", RODATA|NOPTR)
	for i := range 32 {
		DATA(4*i, U32(2*(i%16)+i/16))
	}
	for _, k := range matVecKernels {
		k.emit()
	}
}

// elemSize is the byte width of one weight.
func (k matVecKernel) elemSize() int {
	if k.bf16 {
		return 2
	}
	return 4
}

func (k matVecKernel) emit() {
	// AVX2 has only Y0–Y15: the accumulators, x and one widened block per
	// row must fit (or avo would hand out EVEX-only registers).
	if k.ymm && k.rows*k.unroll+1+k.rows > 16 {
		panic(fmt.Sprintf("%s: %d×%d accumulators do not fit in 16 YMM registers", k.name, k.rows, k.unroll))
	}
	if k.pairs && (k.ymm || !k.bf16 || k.unroll%2 != 0) {
		panic(k.name + ": pairs needs AVX-512, bfloat16 and an even unroll")
	}
	wt, typ := "float32", "float32"
	if k.bf16 {
		wt, typ = "uint16", "bfloat16"
	}
	fn(k.name, fmt.Sprintf("func(y, x *float32, w *%s, m, n, ldw int)", wt))
	cond := ""
	if k.ymm {
		cond = ", n a multiple of 8"
	}
	Doc(fmt.Sprintf("%s stores y[o] = Σ_{i<n} x[i]·w[o·ldw+i] for o < m, with %s weights%s,", k.name, typ, cond),
		fmt.Sprintf("%d rows per pass.", k.rows))
	y, x, w := ptr("y"), ptr("x"), ptr("w")
	m := Load(Param("m"), GP64()).(GPVirtual)
	n := length()
	stride := Load(Param("ldw"), GP64()).(GPVirtual)
	if k.bf16 {
		SHLQ(U8(1), stride)
	} else {
		SHLQ(U8(2), stride)
	}
	k.pass(k.rows, y, x, w, m, n, stride)
	if k.rows > 1 {
		k.pass(1, y, x, w, m, n, stride)
	}
	ret()
}

// pass emits a loop taking rows rows at a time while m ≥ rows, advancing y
// and w and decrementing m.
func (k matVecKernel) pass(rows int, y, x, w, m, n, stride GPVirtual) {
	labelSeq++
	seq := labelSeq
	lbl := func(s string) string { return fmt.Sprintf("mv%s%d", s, seq) }
	Label(lbl("rows"))
	CMPQ(m, U32(rows))
	JL(LabelRef(lbl("done")))

	ptrs := []GPVirtual{w}
	for r := 1; r < rows; r++ {
		p := GP64()
		LEAQ(Mem{Base: ptrs[r-1], Index: stride, Scale: 1}, p)
		ptrs = append(ptrs, p)
	}
	unroll := k.unroll
	mk := zeros
	if k.ymm {
		mk = zerosY
	}
	acc := make([][]VecVirtual, rows)
	for r := range acc {
		acc[r] = mk(unroll)
	}
	var pairs *bf16Pairs
	if k.pairs {
		pairs = newBF16Pairs()
	}
	k.loop(n, unroll, func(b block, unrolled bool) {
		if unrolled && pairs != nil {
			if b.j%2 == 0 {
				pairs.chunk(b, x, ptrs, acc)
			}
			k.prefetchRows(b, ptrs)
			return
		}
		xv := b.load(x)
		for r := range rows {
			if b.k == nil && !k.bf16 {
				VFMADD231PS(b.mem(ptrs[r], 4), xv, acc[r][b.j]) // weights straight from memory
				continue
			}
			VFMADD231PS(k.loadW(b, ptrs[r]), xv, acc[r][b.j])
		}
		if unrolled {
			k.prefetchRows(b, ptrs)
		}
	})
	// Fold each row's unrolled accumulators, then its lanes.
	for r := range rows {
		for u := 1; u < unroll; u++ {
			VADDPS(acc[r][u], acc[r][0], acc[r][0])
		}
	}
	sums := make([]VecVirtual, rows)
	for r := range rows {
		sums[r] = acc[r][0]
		if !k.ymm {
			h := YMM()
			VEXTRACTF32X8(U8(1), sums[r], h)
			VADDPS(h, sums[r].AsY(), h)
			sums[r] = h
		}
	}
	if rows == 4 {
		storeSums4(sums, y, !k.ymm)
	} else {
		storeSum1(sums[0], y, !k.ymm)
	}

	ADDQ(U32(4*rows), y)
	LEAQ(Mem{Base: ptrs[rows-1], Index: stride, Scale: 1}, w)
	SUBQ(U32(rows), m)
	JMP(LabelRef(lbl("rows")))
	Label(lbl("done"))
}

// prefetchRows emits one prefetch per 64-byte line that block b covers, on
// every row.
func (k matVecKernel) prefetchRows(b block, ptrs []GPVirtual) {
	if k.prefetch == 0 {
		return
	}
	size := k.elemSize()
	bytes := b.width() * size
	for off := b.j * bytes; off < (b.j+1)*bytes; off += 64 {
		if off%64 != 0 {
			continue
		}
		for _, p := range ptrs {
			PREFETCHT1(Mem{Base: p, Index: b.i, Scale: uint8(size), Disp: off + k.prefetch})
		}
	}
}

// bf16Pairs widens bfloat16 weights 32 at a time with one vector operation
// per 16 (VPMOVZXWD + VPSLLD costs two): read as 16 dwords, each holding
// w[2k] in its low and w[2k+1] in its high half, VPSLLD 16 gives the float32
// values of the even elements and VPANDD 0xffff0000 those of the odd ones. The x block pair is split once per pass into its even and odd lanes
// (two VPERMT2PS), shared by all rows. Exact, like the plain widening; only
// the order of the sum changes.
type bf16Pairs struct {
	evenIdx, oddIdx, hiMask VecVirtual
}

func newBF16Pairs() *bf16Pairs {
	p := &bf16Pairs{evenIdx: ZMM(), oddIdx: ZMM(), hiMask: broadcastBits(0xffff0000)}
	VMOVDQU32(bf16PairIndex, p.evenIdx)
	VMOVDQU32(bf16PairIndex.Offset(64), p.oddIdx)
	return p
}

// chunk multiplies the 32 elements of blocks b.j and b.j+1 of every row
// into acc[r][b.j] (even elements) and acc[r][b.j+1] (odd ones).
func (p *bf16Pairs) chunk(b block, x GPVirtual, ptrs []GPVirtual, acc [][]VecVirtual) {
	next := block{i: b.i, j: b.j + 1}
	xe, xo := b.load(x), ZMM()
	VMOVAPS(xe, xo)
	VPERMT2PS(next.mem(x, 4), p.evenIdx, xe) // x₀ x₂ … x₃₀
	VPERMT2PS(next.mem(x, 4), p.oddIdx, xo)  // x₁ x₃ … x₃₁
	for r, ptr := range ptrs {
		m := b.mem(ptr, 2) // 64 bytes: both blocks' weights
		we, wo := ZMM(), ZMM()
		VPSLLD(U8(16), m, we)
		VPANDD(m, p.hiMask, wo)
		VFMADD231PS(we, xe, acc[r][b.j])
		VFMADD231PS(wo, xo, acc[r][b.j+1])
	}
}

// loadW loads one block of weights from row p as float32, zero in masked-off
// lanes; bfloat16 is widened exactly by moving it to the top half of each
// lane.
func (k matVecKernel) loadW(b block, p Register) VecVirtual {
	if !k.bf16 {
		return b.load(p)
	}
	z := b.reg()
	if b.k == nil {
		VPMOVZXWD(b.mem(p, 2), z)
	} else {
		VPMOVZXWD_Z(b.mem(p, 2), b.k, z)
	}
	VPSLLD(U8(16), z, z)
	return z
}

// loop is forEach (or forEach256 for the AVX2 kernels) with body also told
// whether it runs in the unrolled main loop, where the prefetches go.
func (k matVecKernel) loop(n GPVirtual, unroll int, body func(b block, unrolled bool)) {
	lanes := lanes
	if k.ymm {
		lanes /= 2
	}
	labelSeq++
	seq := labelSeq
	lbl := func(s string) string { return fmt.Sprintf("mvl%s%d", s, seq) }
	i := GP64()
	XORQ(i, i)
	Label(lbl("unrolled"))
	next := GP64()
	LEAQ(Mem{Base: i, Disp: unroll * lanes}, next)
	CMPQ(next, n)
	JGT(LabelRef(lbl("single")))
	for j := 0; j < unroll; j++ {
		body(block{i: i, j: j, ymm: k.ymm}, true)
	}
	MOVQ(next, i)
	JMP(LabelRef(lbl("unrolled")))

	Label(lbl("single"))
	next = GP64()
	LEAQ(Mem{Base: i, Disp: lanes}, next)
	CMPQ(next, n)
	JGT(LabelRef(lbl("tail")))
	body(block{i: i, ymm: k.ymm}, false)
	MOVQ(next, i)
	JMP(LabelRef(lbl("single")))

	Label(lbl("tail"))
	if k.ymm {
		return
	}
	rest := GP64()
	MOVQ(n, rest)
	SUBQ(i, rest)
	JZ(LabelRef(lbl("done")))
	bits := GP32()
	MOVL(U32(0xffffffff), bits)
	BZHIL(rest.As32(), bits, bits)
	mask := K()
	KMOVW(bits, mask)
	body(block{i: i, k: mask}, false)
	Label(lbl("done"))
}

// storeSums4 adds up the eight lanes of each of four YMM registers and
// stores the four sums to y[0…3]. With evex it avoids the VEX-only VHADDPS
// and VEXTRACTF128, which cannot reach registers Y16–Y31.
func storeSums4(s []VecVirtual, y GPVirtual, evex bool) {
	t0, t1 := YMM(), YMM()
	hadd(s[1], s[0], t0, evex) // s0₀₁ s0₂₃ s1₀₁ s1₂₃ | s0₄₅ s0₆₇ s1₄₅ s1₆₇
	hadd(s[3], s[2], t1, evex)
	hadd(t1, t0, t0, evex) // Σ₀₋₃ of s0…s3 | Σ₄₋₇ of s0…s3
	h := XMM()
	extractHigh(t0, h, evex)
	VADDPS(h, t0.AsX(), h)
	VMOVUPS(h, Mem{Base: y})
}

// hadd emits dst = VHADDPS(a, b): pairwise sums of a's lanes, then of b's,
// in each 128-bit half. Under EVEX it is two VSHUFPS and a VADDPS.
func hadd(b, a, dst VecVirtual, evex bool) {
	if !evex {
		VHADDPS(b, a, dst)
		return
	}
	even, odd := YMM(), YMM()
	VSHUFPS(U8(0x88), b, a, even) // a₀ a₂ b₀ b₂ per half
	VSHUFPS(U8(0xdd), b, a, odd)  // a₁ a₃ b₁ b₃ per half
	VADDPS(odd, even, dst)
}

// extractHigh copies the upper 128 bits of the YMM register s to x.
func extractHigh(s, x VecVirtual, evex bool) {
	if evex {
		VEXTRACTF32X4(U8(1), s, x)
	} else {
		VEXTRACTF128(U8(1), s, x)
	}
}

// storeSum1 adds up the eight lanes of s and stores the sum to y[0].
func storeSum1(s VecVirtual, y GPVirtual, evex bool) {
	x := XMM()
	extractHigh(s, x, evex)
	VADDPS(x, s.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	VADDPS(t, x, x)
	VMOVSHDUP(x, t)
	VADDPS(t, x, x)
	VMOVSS(x, Mem{Base: y})
}

// vecMatKernel describes one generated vector-matrix kernel
//
//	func name(y, x, w *float32, m, n, ldw int)
//
// adding y[o] += Σ_{i<n} x[i]·w[i·ldw+o] for o < m: a row vector times a
// row-major matrix [n, m], the layout Conv1D weights ([in, out]) are stored
// in. Rows are taken four at a time (then one at a time): their x[i] are
// broadcast once per pass and each block of y is loaded, updated by the four
// rows' FMAs and stored back, so the matrix is read in order, row after row,
// and y (a few KiB) stays in L1.
type vecMatKernel struct {
	name     string
	ymm      bool // AVX2: 8-lane blocks, m a multiple of 8, no masked tail
	unroll   int  // y blocks per loop iteration
	prefetch int  // PREFETCHT1 distance in bytes (0: none)
}

var vecMatKernels = []vecMatKernel{
	{name: "vecMatAdd512", unroll: 2, prefetch: 16 << 10},
	{name: "vecMatAdd256", ymm: true, unroll: 2, prefetch: 16 << 10},
}

func genVecMatAdd() {
	for _, k := range vecMatKernels {
		k.emit()
	}
}

func (k vecMatKernel) emit() {
	fn(k.name, "func(y, x, w *float32, m, n, ldw int)")
	cond := ""
	if k.ymm {
		cond = ", m a multiple of 8"
	}
	Doc(fmt.Sprintf("%s adds Σ_{i<n} x[i]·w[i·ldw+o] to y[o] for o < m%s, 4 rows per pass.", k.name, cond))
	y, x, w := ptr("y"), ptr("x"), ptr("w")
	m := Load(Param("m"), GP64()).(GPVirtual)
	n := length()
	stride := Load(Param("ldw"), GP64()).(GPVirtual)
	SHLQ(U8(2), stride)
	k.pass(4, y, x, w, m, n, stride)
	k.pass(1, y, x, w, m, n, stride)
	ret()
}

// pass emits a loop taking rows rows of w at a time while n ≥ rows,
// advancing x and w and decrementing n.
func (k vecMatKernel) pass(rows int, y, x, w, m, n, stride GPVirtual) {
	labelSeq++
	seq := labelSeq
	lbl := func(s string) string { return fmt.Sprintf("vm%s%d", s, seq) }
	Label(lbl("rows"))
	CMPQ(n, U32(rows))
	JL(LabelRef(lbl("done")))

	ptrs := []GPVirtual{w}
	for r := 1; r < rows; r++ {
		p := GP64()
		LEAQ(Mem{Base: ptrs[r-1], Index: stride, Scale: 1}, p)
		ptrs = append(ptrs, p)
	}
	xs := make([]VecVirtual, rows)
	for r := range xs {
		if k.ymm {
			xs[r] = YMM()
		} else {
			xs[r] = ZMM()
		}
		VBROADCASTSS(Mem{Base: x, Disp: 4 * r}, xs[r])
	}
	mv := matVecKernel{ymm: k.ymm}
	mv.loop(m, k.unroll, func(b block, unrolled bool) {
		acc := b.load(y)
		for r := range rows {
			if b.k == nil {
				VFMADD231PS(b.mem(ptrs[r], 4), xs[r], acc)
			} else {
				VFMADD231PS(b.load(ptrs[r]), xs[r], acc)
			}
		}
		b.store(acc, y)
		if !unrolled || k.prefetch == 0 {
			return
		}
		bytes := b.width() * 4
		if (b.j*bytes)%64 != 0 {
			return
		}
		for r := range rows {
			PREFETCHT1(Mem{Base: ptrs[r], Index: b.i, Scale: 4, Disp: b.j*bytes + k.prefetch})
		}
	})
	ADDQ(U32(4*rows), x)
	LEAQ(Mem{Base: ptrs[rows-1], Index: stride, Scale: 1}, w)
	SUBQ(U32(rows), n)
	JMP(LabelRef(lbl("rows")))
	Label(lbl("done"))
}
