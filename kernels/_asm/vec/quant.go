package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The quantized kernels of kernels/quant.go (the "quant" set, written to
// kernels/quant_amd64.s): the Q8_0 quantizer of activation rows, the
// matrix-vector products of Q8_0 and Q4_0 weight rows with one quantized
// row (decoding), and the products of weight rows with 16 quantized rows
// at a time (VNNI) or 8 and 16 (AVX2) for prefill.
//
// Weights are read in llama.cpp's block layout, where they lie in a GGUF
// file: Q8_0 blocks of 34 bytes (half-precision scale, 32 int8), Q4_0 blocks
// of 18 (scale, 16 bytes of nibbles; element j low nibble of byte j,
// element j+16 its high nibble). A block's quants start two bytes in, so no
// load is aligned; the loads are 32 bytes (one YMM, or 16 bytes broadcast)
// and cross a cache line about once a block, which costs less than any
// repacking of a matrix that is streamed once per token.
//
// Signs. VPDPBUSD multiplies unsigned bytes by signed ones. Q4_0's nibbles
// are unsigned already: the kernels take Σ n·x and subtract 8·Σ x. Q8_0
// weights are made unsigned by flipping their top bit (w ^ 0x80 = w + 128
// as an unsigned byte), and 128·Σ x is subtracted. The Σ x terms depend only
// on the activations, so a matrix-vector pass computes them once per block
// for all its rows (one VPDPBUSD of the constant bytes with x), and the
// many-row kernels read them precomputed. Without VNNI the same products
// come from VPMADDUBSW, whose int16 pair sums saturate: Q8_0 then uses
// llama.cpp's sign trick (|w| times x with w's sign: at most 2·128·127 <
// 2¹⁵), Q4_0 its unsigned nibbles (2·15·127).
//
// Accumulation follows llama.cpp's CPU kernels on this hardware class, so
// that results agree with its to float32 rounding of the same operations
// (which matters: activations are requantized at every product, and a
// difference in the last bit can move a quant across a rounding boundary).
// Q8_0 (llama.cpp's vec_dot_q8_0_q8_0 and llamafile's tinyBLAS): each block
// gives 8 int32 lanes (lane l sums elements 4l…4l+3), converted exactly and
// multiply-added with the block's d_w·d_x into 8 float32 lane accumulators,
// reduced at the end as hsum_float_8 does: (l₀+l₄ + l₂+l₆) + (l₁+l₅ + l₃+l₇).
// Q4_0 (its repacked q4_0_8x8 gemv and gemm, the path for Q4_0 on AVX2 and
// AVX-512): each block's whole int32 sum, times d_w·d_x, multiply-added into
// one accumulator per row. The many-row kernels put 16 activation rows in
// the 16 lanes of a ZMM register (each lane a whole block's sum), so one
// weight block serves 16 rows; for Q4_0 that is llama.cpp's order too.

func genQuant() {
	declareQuantTables()
	genQuantize512()
	genQuantize256()
	for _, k := range qMatVecKernels {
		k.emit()
	}
	for _, k := range qMatMulKernels {
		k.emit()
	}
	for _, k := range qMatMul256Kernels {
		k.emit()
	}
}

var (
	q4MaskTable Mem // 16 bytes of 0x0f, then 16 of 0xf0
	q8PermTable Mem // VPERMD order restoring VPACKSSDW/VPACKSSWB's lanes
)

func declareQuantTables() {
	q4MaskTable = GLOBL("q4mask", RODATA|NOPTR)
	for i := range 8 {
		v := uint32(0x0f0f0f0f)
		if i >= 4 {
			v = 0xf0f0f0f0
		}
		DATA(4*i, U32(v))
	}
	q8PermTable = GLOBL("q8perm", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
}

// vpdpbusd emits VPDPBUSD (avo does not know it; the Go assembler does):
// each int32 lane of acc gains Σ_{i<4} u8(a)·s8(b) over the lane's four
// bytes. b may be a memory operand.
func vpdpbusd(b Op, a, acc VecVirtual) {
	Instruction(&ir.Instruction{Opcode: "VPDPBUSD", Operands: []Op{b, a, acc},
		Inputs: []Op{b, a, acc}, Outputs: []Op{acc}})
}

// broadcastBytes returns a YMM (or ZMM) register with every byte v.
func broadcastBytes(v byte, zmm bool) VecVirtual {
	u := uint32(v) * 0x01010101
	if zmm {
		return broadcastBits(u)
	}
	return broadcastBitsY(u)
}

// genQuantize512 emits the AVX-512 QuantizeQ8_0: one block of 32 values
// (two ZMM) per iteration.
func genQuantize512() {
	fn("quantizeQ8_0_512", "func(q *int8, d *float32, s *int32, x *float32, nb int)")
	Doc("quantizeQ8_0_512 quantizes nb blocks of 32 values of x to Q8_0: quants to q, half-rounded scales to d,",
		"and each block's sum of quants to s.")
	q, d, sp, x := ptr("q"), ptr("d"), ptr("s"), ptr("x")
	nb := Load(Param("nb"), GP64()).(GPVirtual)
	abs := broadcastBits(0x7fffffff)
	c127 := XMM()
	r := GP32()
	MOVL(U32(0x42fe0000), r) // 127.0
	VMOVD(r, c127)
	zero := XMM()
	VXORPS(zero, zero, zero)

	Label("qz_loop")
	CMPQ(nb, U8(0))
	JE(LabelRef("qz_done"))
	v0, v1 := ZMM(), ZMM()
	VMOVUPS(Mem{Base: x}, v0)
	VMOVUPS(Mem{Base: x, Disp: 64}, v1)
	a0, a1 := ZMM(), ZMM()
	VPANDD(abs, v0, a0)
	VPANDD(abs, v1, a1)
	VMAXPS(a1, a0, a0)
	h := YMM()
	VEXTRACTF32X8(U8(1), a0, h)
	VMAXPS(h, a0.AsY(), h)
	m := XMM()
	VEXTRACTF32X4(U8(1), h, m)
	VMAXPS(m, h.AsX(), m)
	t := XMM()
	VMOVHLPS(m, m, t)
	VMAXPS(t, m, m)
	VMOVSHDUP(m, t)
	VMAXSS(t, m, m) // amax in lane 0
	dd := XMM()
	VDIVSS(c127, m, dd) // amax / 127
	id := XMM()
	VDIVSS(m, c127, id) // 127 / amax
	nz := XMM()
	VCMPSS(U8(4), zero, m, nz) // amax != 0 (true for NaN, as C's !=)
	VANDPS(nz, id, id)
	hh := XMM()
	VCVTPS2PH(U8(0), dd, hh)
	VCVTPH2PS(hh, dd)
	VMOVSS(dd, Mem{Base: d})
	idv := ZMM()
	VBROADCASTSS(id, idv)
	VMULPS(idv, v0, v0)
	VMULPS(idv, v1, v1)
	i0, i1 := ZMM(), ZMM()
	VCVTPS2DQ_RN_SAE(v0, i0)
	VCVTPS2DQ_RN_SAE(v1, i1)
	VPMOVSDB(i0, Mem{Base: q})
	VPMOVSDB(i1, Mem{Base: q, Disp: 16})
	// The block's sum of quants (of the saturated values, as stored).
	b0, b1 := ZMM(), ZMM()
	VPMOVSXBD(Mem{Base: q}, b0)
	VPMOVSXBD(Mem{Base: q, Disp: 16}, b1)
	VPADDD(b1, b0, b0)
	sh := YMM()
	VEXTRACTI32X8(U8(1), b0, sh)
	VPADDD(sh, b0.AsY(), sh)
	sx := XMM()
	VEXTRACTI32X4(U8(1), sh, sx)
	VPADDD(sx, sh.AsX(), sx)
	st := XMM()
	VPSHUFD(U8(0x4e), sx, st)
	VPADDD(st, sx, sx)
	VPSHUFD(U8(0xb1), sx, st)
	VPADDD(st, sx, sx)
	VMOVD(sx, Mem{Base: sp})
	ADDQ(U32(128), x)
	ADDQ(U32(32), q)
	ADDQ(U32(4), d)
	ADDQ(U32(4), sp)
	DECQ(nb)
	JMP(LabelRef("qz_loop"))
	Label("qz_done")
	ret()
}

// genQuantize256 emits the AVX2 (+F16C) QuantizeQ8_0: four YMM per block.
func genQuantize256() {
	fn("quantizeQ8_0_256", "func(q *int8, d *float32, s *int32, x *float32, nb int)")
	Doc("quantizeQ8_0_256 quantizes nb blocks of 32 values of x to Q8_0 (AVX2 and F16C), with block sums to s.")
	q, d, sp, x := ptr("q"), ptr("d"), ptr("s"), ptr("x")
	nb := Load(Param("nb"), GP64()).(GPVirtual)
	abs := broadcastBitsY(0x7fffffff)
	r := GP32()
	MOVL(U32(0x42fe0000), r) // 127.0
	c127 := XMM()
	VMOVD(r, c127)
	zero := XMM()
	VXORPS(zero, zero, zero)
	perm := YMM()
	VMOVDQU(q8PermTable, perm)

	Label("qy_loop")
	CMPQ(nb, U8(0))
	JE(LabelRef("qy_done"))
	v := make([]VecVirtual, 4)
	for i := range v {
		v[i] = YMM()
		VMOVUPS(Mem{Base: x, Disp: 32 * i}, v[i])
	}
	a := YMM()
	VANDPS(abs, v[0], a)
	for i := 1; i < 4; i++ {
		b := YMM()
		VANDPS(abs, v[i], b)
		VMAXPS(b, a, a)
	}
	m := XMM()
	VEXTRACTF128(U8(1), a, m)
	VMAXPS(m, a.AsX(), m)
	t := XMM()
	VMOVHLPS(m, m, t)
	VMAXPS(t, m, m)
	VMOVSHDUP(m, t)
	VMAXSS(t, m, m)
	dd := XMM()
	VDIVSS(c127, m, dd)
	id := XMM()
	VDIVSS(m, c127, id)
	nz := XMM()
	VCMPSS(U8(4), zero, m, nz)
	VANDPS(nz, id, id)
	hh := XMM()
	VCVTPS2PH(U8(0), dd, hh)
	VCVTPH2PS(hh, dd)
	VMOVSS(dd, Mem{Base: d})
	idv := YMM()
	VBROADCASTSS(id, idv)
	for i := range v {
		VMULPS(idv, v[i], v[i])
		VCVTPS2DQ(v[i], v[i]) // to nearest even: Go keeps MXCSR's default
	}
	VPACKSSDW(v[1], v[0], v[0]) // 0-3 8-11 | 4-7 12-15 (int16)
	VPACKSSDW(v[3], v[2], v[2]) // 16-19 24-27 | 20-23 28-31
	VPACKSSWB(v[2], v[0], v[0]) // dwords: 0 2 4 6 | 1 3 5 7 of the result
	VPERMD(v[0], perm, v[0])
	VMOVDQU(v[0], Mem{Base: q})
	// The block's sum of quants: VPMADDUBSW of ones (unsigned) with the
	// quants, then VPMADDWD of ones.
	ones8, ones16 := broadcastBitsY(0x01010101), broadcastBitsY(0x00010001)
	t16 := YMM()
	VPMADDUBSW(v[0], ones8, t16)
	t32 := YMM()
	VPMADDWD(ones16, t16, t32)
	sx := XMM()
	VEXTRACTI128(U8(1), t32, sx)
	VPADDD(sx, t32.AsX(), sx)
	st := XMM()
	VPSHUFD(U8(0x4e), sx, st)
	VPADDD(st, sx, sx)
	VPSHUFD(U8(0xb1), sx, st)
	VPADDD(st, sx, sx)
	VMOVD(sx, Mem{Base: sp})
	ADDQ(U32(128), x)
	ADDQ(U32(32), q)
	ADDQ(U32(4), d)
	ADDQ(U32(4), sp)
	DECQ(nb)
	JMP(LabelRef("qy_loop"))
	Label("qy_done")
	ret()
}

// qMatVec describes one generated quantized matrix-vector kernel
//
//	func name(y *float32, w *byte, ldw, m int, x *int8, d *float32, s *int32, nb int, add bool)
//
// storing y[o] = Σ_b d_w[o,b]·d[b]·Σ_j w[o,b,j]·x[32b+j] for o < m, the
// rows of w ldw bytes apart, each nb blocks; s holds each block's Σ x[j]
// (read by the Q4_0 kernels). Rows are taken rows at a time (then one at a
// time): the activation block and its correction are loaded once per pass
// for all rows.
//
// Q4_0 on VNNI takes both halves of a block in one step: its 16 bytes,
// broadcast to both halves of a YMM register and ANDed with 0x0f (low half)
// and 0xf0 (high half), give the low nibbles (elements 0…15) and 16 times
// the high ones (16…31), all unsigned, so one VPDPBUSD takes the block;
// once four rows' lanes are added up, the high half's sums (multiples of 16)
// are shifted down exactly and 8·Σx is subtracted from the totals.
type qMatVec struct {
	name     string
	q4       bool // Q4_0 weights (else Q8_0)
	vnni     bool // AVX-512 VNNI (else AVX2 + F16C)
	rows     int  // rows per pass
	unroll   int  // blocks per loop iteration
	prefetch int  // PREFETCHT1 distance in bytes
}

// Prefetching as in the float32 matrix-vector kernels (matvec.go): each
// row stream 16 KiB ahead into L2, one line per 64 bytes a row advances.
var qMatVecKernels = []qMatVec{
	{name: "matVecQ8_0VNNI", vnni: true, rows: 4, unroll: 2, prefetch: 16 << 10},
	{name: "matVecQ4_0VNNI", q4: true, vnni: true, rows: 4, unroll: 4, prefetch: 16 << 10},
	{name: "matVecQ8_0_256", rows: 4, unroll: 2, prefetch: 16 << 10},
	{name: "matVecQ4_0_256", q4: true, rows: 4, unroll: 4, prefetch: 16 << 10},
}

func (k qMatVec) blockBytes() int {
	if k.q4 {
		return 18
	}
	return 34
}

// qConsts are the constant registers of a quantized kernel.
type qConsts struct {
	flip VecVirtual // Q8_0: 0x80 bytes (the weight offset)
	low  VecVirtual // Q4_0: 0x0f bytes
	mask VecVirtual // Q4_0 VNNI: 16 bytes of 0x0f, then 16 of 0xf0
	ones VecVirtual // AVX2: int16 ones for VPMADDWD
	zero VecVirtual
	add  Mem       // the add flag (a byte argument, read where needed)
	sums GPVirtual // Q4_0: the blocks' Σ x
}

func (k qMatVec) emit() {
	typ := "Q8_0"
	if k.q4 {
		typ = "Q4_0"
	}
	isa := "AVX2 and F16C"
	if k.vnni {
		isa = "AVX-512 VNNI"
	}
	fn(k.name, "func(y *float32, w *byte, ldw, m int, x *int8, d *float32, s *int32, nb int, add bool)")
	Doc(fmt.Sprintf("%s stores (or with add adds) y[o] = Σ_b d_w[o,b]·d[b]·Σ_j w[o,b,j]·x[32b+j] for o < m,", k.name),
		fmt.Sprintf("%s weight rows ldw bytes apart of nb blocks each (%s, %d rows per pass).", typ, isa, k.rows))
	y, w := ptr("y"), ptr("w")
	stride := Load(Param("ldw"), GP64()).(GPVirtual)
	m := Load(Param("m"), GP64()).(GPVirtual)
	x, d := ptr("x"), ptr("d")
	c := qConsts{add: addr(Param("add"))}
	if k.q4 {
		c.sums = ptr("s")
	}
	nb := Load(Param("nb"), GP64()).(GPVirtual)
	if k.q4 {
		c.low = broadcastBytes(0x0f, false)
		if k.vnni {
			c.mask = YMM()
			VMOVDQU32(q4MaskTable, c.mask)
		}
	} else {
		c.flip = broadcastBytes(0x80, false)
	}
	if !k.vnni {
		c.ones = broadcastBitsY(0x00010001)
	}
	c.zero = YMM()
	if k.vnni {
		VPXORD(c.zero, c.zero, c.zero)
	} else {
		VPXOR(c.zero, c.zero, c.zero) // VPXORD is AVX-512VL
	}
	k.pass(k.rows, y, w, stride, m, x, d, nb, c)
	if k.rows > 1 {
		k.pass(1, y, w, stride, m, x, d, nb, c)
	}
	ret()
}

// pass emits a loop taking rows rows while m ≥ rows, advancing y and w.
func (k qMatVec) pass(rows int, y, w, stride, m, x, d, nb GPVirtual, c qConsts) {
	labelSeq++
	lbl := func(s string) string { return fmt.Sprintf("qmv%s%d", s, labelSeq) }
	Label(lbl("rows"))
	CMPQ(m, U32(rows))
	JL(LabelRef(lbl("done")))
	ptrs := []GPVirtual{w}
	for r := 1; r < rows; r++ {
		p := GP64()
		LEAQ(Mem{Base: ptrs[r-1], Index: stride, Scale: 1}, p)
		ptrs = append(ptrs, p)
	}
	// Q8_0: 8 lane accumulators per row; Q4_0: one XMM holding the
	// rows' accumulators side by side.
	var acc []VecVirtual
	if k.q4 {
		acc = []VecVirtual{XMM()}
		VXORPS(acc[0], acc[0], acc[0])
	} else {
		acc = zerosY(rows)
	}
	bi, xo, wo := GP64(), GP64(), GP64() // block index, x and w byte offsets
	XORQ(bi, bi)
	XORQ(xo, xo)
	XORQ(wo, wo)
	bb := k.blockBytes()

	Label(lbl("unrolled"))
	next := GP64()
	LEAQ(Mem{Base: bi, Disp: k.unroll}, next)
	CMPQ(next, nb)
	JGT(LabelRef(lbl("single")))
	for j := range k.unroll {
		k.block(j, ptrs, x, d, bi, xo, wo, acc, c)
	}
	lines := (k.unroll*bb + 63) / 64
	for _, p := range ptrs {
		for l := range lines {
			PREFETCHT1(Mem{Base: p, Index: wo, Scale: 1, Disp: k.prefetch + 64*l})
		}
	}
	MOVQ(next, bi)
	ADDQ(U32(32*k.unroll), xo)
	ADDQ(U32(bb*k.unroll), wo)
	JMP(LabelRef(lbl("unrolled")))

	Label(lbl("single"))
	CMPQ(bi, nb)
	JGE(LabelRef(lbl("sum")))
	k.block(0, ptrs, x, d, bi, xo, wo, acc, c)
	INCQ(bi)
	ADDQ(U32(32), xo)
	ADDQ(U32(bb), wo)
	JMP(LabelRef(lbl("single")))

	Label(lbl("sum"))
	switch {
	case k.q4:
		qStoreRows(acc[0], rows, y, c.add, lbl)
	case rows == 4:
		qStoreSums4(acc, y, k.vnni, c.add, lbl)
	default:
		qStoreSum1(acc[0], y, k.vnni, c.add, lbl)
	}
	ADDQ(U32(4*rows), y)
	LEAQ(Mem{Base: ptrs[rows-1], Index: stride, Scale: 1}, w)
	SUBQ(U32(rows), m)
	JMP(LabelRef(lbl("rows")))
	Label(lbl("done"))
}

// block emits the work of block bi+j on every row.
func (k qMatVec) block(j int, ptrs []GPVirtual, x, d, bi, xo, wo GPVirtual, acc []VecVirtual, c qConsts) {
	bb := k.blockBytes()
	xq := YMM()
	if k.vnni {
		VMOVDQU32(Mem{Base: x, Index: xo, Scale: 1, Disp: 32 * j}, xq)
	} else {
		VMOVDQU(Mem{Base: x, Index: xo, Scale: 1, Disp: 32 * j}, xq)
	}
	dx := YMM()
	VBROADCASTSS(Mem{Base: d, Index: bi, Scale: 4, Disp: 4 * j}, dx)
	// corr: the offset times each lane's Σ of four x, to subtract.
	corr := YMM()
	if k.vnni && !k.q4 {
		t := YMM()
		VMOVDQA32(c.zero, t)
		vpdpbusd(xq, c.flip, t)
		VPSUBD(t, c.zero, corr) // −128·Σx per lane: the accumulators' start
	}
	var sums []VecVirtual // Q4_0: each row's corrected int32 lanes
	for r, p := range ptrs {
		wq := Mem{Base: p, Index: wo, Scale: 1, Disp: bb*j + 2}
		sum := YMM()
		switch {
		case k.vnni && !k.q4:
			u := YMM()
			VPXORD(wq, c.flip, u)
			VMOVDQA32(corr, sum)
			vpdpbusd(xq, u, sum)
		case k.vnni:
			n := YMM()
			VBROADCASTI32X4(wq, n)
			VPANDD(c.mask, n, n) // low nibbles | 16 × high nibbles
			VPXORD(sum, sum, sum)
			vpdpbusd(xq, n, sum)
		case !k.q4:
			wv := YMM()
			VMOVDQU(wq, wv)
			ax, sx := YMM(), YMM()
			VPSIGNB(wv, wv, ax)
			VPSIGNB(wv, xq, sx)
			VPMADDUBSW(sx, ax, ax)
			VPMADDWD(c.ones, ax, sum)
		default:
			lo, hi := XMM(), XMM()
			VMOVDQU(wq, lo)
			VPSRLW(U8(4), lo, hi)
			n := YMM()
			VINSERTI128(U8(1), hi, lo.AsY(), n)
			VPAND(c.low, n, n)
			VPMADDUBSW(xq, n, n)
			VPMADDWD(c.ones, n, sum)
		}
		if k.q4 {
			sums = append(sums, sum)
			continue
		}
		f := YMM()
		VCVTDQ2PS(sum, f)
		s := YMM()
		VPBROADCASTW(Mem{Base: p, Index: wo, Scale: 1, Disp: bb * j}, s)
		VCVTPH2PS(s.AsX(), s)
		VMULPS(dx, s, s)
		VFMADD231PS(f, s, acc[r])
	}
	if k.q4 {
		k.blockTotals(sums, ptrs, wo, bi, j, dx, acc[0], c)
	}
}

// blockTotals adds each row's whole block sum times d_w·d_x to its lane of
// acc: the int32 lanes of up to four rows are summed into one XMM (integer
// sums, exact in any order), 8·Σx subtracted, the rows' half-precision
// scales gathered beside them, and one multiply-add scales all four. On
// VNNI the lanes' upper halves hold 16 times the high nibbles' sums.
func (k qMatVec) blockTotals(sums []VecVirtual, ptrs []GPVirtual, wo, bi GPVirtual, j int, dx, acc VecVirtual, c qConsts) {
	bb := k.blockBytes()
	tot := XMM()
	// hiLo adds the upper half of v (shifted down on VNNI) to its lower
	// half, into tot.
	hiLo := func(v VecVirtual) {
		h := XMM()
		k.extract(v, h)
		if k.vnni {
			VPSRAD(U8(4), h, h)
		}
		VPADDD(h, v.AsX(), tot)
	}
	if len(sums) == 4 {
		a, b := YMM(), YMM()
		lo, hi := YMM(), YMM()
		VPUNPCKLDQ(sums[1], sums[0], lo) // r0₀ r1₀ r0₁ r1₁ per 128-bit half
		VPUNPCKHDQ(sums[1], sums[0], hi) // r0₂ r1₂ r0₃ r1₃
		VPADDD(hi, lo, a)
		lo2, hi2 := YMM(), YMM()
		VPUNPCKLDQ(sums[3], sums[2], lo2)
		VPUNPCKHDQ(sums[3], sums[2], hi2)
		VPADDD(hi2, lo2, b)
		e, o := YMM(), YMM()
		VPUNPCKLQDQ(b, a, e) // r0 r1 r2 r3, partial
		VPUNPCKHQDQ(b, a, o)
		VPADDD(o, e, e)
		hiLo(e)
	} else {
		hiLo(sums[0])
		t := XMM()
		VPSHUFD(U8(0x4e), tot, t)
		VPADDD(t, tot, tot)
		VPSHUFD(U8(0xb1), tot, t)
		VPADDD(t, tot, tot)
	}
	corr := XMM()
	VPBROADCASTD(Mem{Base: c.sums, Index: bi, Scale: 4, Disp: 4 * j}, corr)
	VPSLLD(U8(3), corr, corr)
	VPSUBD(corr, tot, tot)
	f := XMM()
	VCVTDQ2PS(tot, f)
	sc := XMM()
	VMOVD(Mem{Base: ptrs[0], Index: wo, Scale: 1, Disp: bb * j}, sc) // d₀ in word 0
	for r := 1; r < len(ptrs); r++ {
		VPINSRW(U8(r), Mem{Base: ptrs[r], Index: wo, Scale: 1, Disp: bb * j}, sc, sc)
	}
	VCVTPH2PS(sc, sc)
	VMULPS(dx.AsX(), sc, sc)
	VFMADD231PS(f, sc, acc)
}

// extract copies the upper 128 bits of y to x.
func (k qMatVec) extract(y, x VecVirtual) {
	if k.vnni {
		VEXTRACTI32X4(U8(1), y, x)
	} else {
		VEXTRACTI128(U8(1), y, x)
	}
}

// qStoreRows stores (or adds) the first rows lanes of acc to y.
func qStoreRows(acc VecVirtual, rows int, y GPVirtual, add Mem, lbl func(string) string) {
	CMPB(add, U8(0))
	JZ(LabelRef(lbl("putrows")))
	if rows == 4 {
		VADDPS(Mem{Base: y}, acc, acc)
	} else {
		VADDSS(Mem{Base: y}, acc, acc)
	}
	Label(lbl("putrows"))
	if rows == 4 {
		VMOVUPS(acc, Mem{Base: y})
	} else {
		VMOVSS(acc, Mem{Base: y})
	}
}

// qStoreSums4 stores (or adds) the sums of four rows' 8 lane accumulators
// to y[0…3], each summed as llama.cpp's hsum_float_8: x = hi + lo, then
// (x₀ + x₂) + (x₁ + x₃).
func qStoreSums4(s []VecVirtual, y GPVirtual, evex bool, add Mem, lbl func(string) string) {
	x := make([]VecVirtual, 4)
	for r := range x {
		x[r] = XMM()
		extractHigh(s[r], x[r], evex)
		VADDPS(s[r].AsX(), x[r], x[r])
	}
	pair := func(a, b VecVirtual) VecVirtual { // a₀+a₂ a₁+a₃ b₀+b₂ b₁+b₃
		lo, hi := XMM(), XMM()
		VMOVLHPS(b, a, lo) // a₀ a₁ b₀ b₁
		VMOVHLPS(a, b, hi) // a₂ a₃ b₂ b₃
		VADDPS(hi, lo, lo)
		return lo
	}
	ab, cd := pair(x[0], x[1]), pair(x[2], x[3])
	e, o := XMM(), XMM()
	VSHUFPS(U8(0x88), cd, ab, e) // the (x₀ + x₂) of each row
	VSHUFPS(U8(0xdd), cd, ab, o) // the (x₁ + x₃)
	VADDPS(o, e, e)
	CMPB(add, U8(0))
	JZ(LabelRef(lbl("put4")))
	VADDPS(Mem{Base: y}, e, e)
	Label(lbl("put4"))
	VMOVUPS(e, Mem{Base: y})
}

// qStoreSum1 is storeSum1 adding to y[0] when add is set.
func qStoreSum1(s VecVirtual, y GPVirtual, evex bool, add Mem, lbl func(string) string) {
	x := XMM()
	extractHigh(s, x, evex)
	VADDPS(x, s.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	VADDPS(t, x, x)
	VMOVSHDUP(x, t)
	VADDPS(t, x, x)
	CMPB(add, U8(0))
	JZ(LabelRef(lbl("put1")))
	VADDSS(Mem{Base: y}, x, x)
	Label(lbl("put1"))
	VMOVSS(x, Mem{Base: y})
}

// qMatMul describes one generated many-row product (AVX-512 VNNI)
//
//	func name(y *float32, offs *int, w *byte, ldw, m int, x *byte, nb int, add bool)
//
// of m weight rows (ldw bytes apart, nb blocks each) with one group of 16
// quantized activation rows packed as packQ8Rows describes (kernels/
// quant_amd64.go): per block, 8 chunks of 64 bytes (chunk c holds bytes
// 4c…4c+3 of the block's quants of rows 0…15, row n in bytes 4n…4n+3),
// then the 16 rows' scales (float32) and the negated sums of their 32
// quants (int32). Lane n of every vector is activation row n. Result (n, o)
// goes to y at byte offset offs[n] + 4·o, added to it when add is set.
// Rows are taken four at a time, then one at a time; the four results of a
// row of x are then adjacent, so they are transposed in registers and
// stored as 16-byte pieces. offs lists row 15 first … row 0 last in the
// order of the stores, so a caller with fewer rows points the unused lanes
// at a real row, which the right value then overwrites.
type qMatMul struct {
	name string
	q4   bool
	rows int
}

var qMatMulKernels = []qMatMul{
	{name: "matMulQ8_0VNNI", rows: 4},
	{name: "matMulQ4_0VNNI", q4: true, rows: 4},
}

// The packed group layout, per block.
const (
	qpChunks = 0   // 8 × 64 bytes of quants
	qpScales = 512 // 16 float32
	qpSums   = 576 // 16 int32: −Σ quants
	qpBlock  = 640
)

func (k qMatMul) emit() {
	typ, bb, shift := "Q8_0", 34, 7
	if k.q4 {
		typ, bb, shift = "Q4_0", 18, 3
	}
	fn(k.name, "func(y *float32, offs *int, w *byte, ldw, m int, x *byte, nb int, add bool)")
	Doc(fmt.Sprintf("%s multiplies m %s weight rows (ldw bytes apart, nb blocks) with a packed group of 16", k.name, typ),
		"quantized rows, storing (or adding) result (n, o) at byte offset offs[n] + 4·o of y.")
	y, offs, w := ptr("y"), ptr("offs"), ptr("w")
	stride := Load(Param("ldw"), GP64()).(GPVirtual)
	m := Load(Param("m"), GP64()).(GPVirtual)
	x := ptr("x")
	nb := Load(Param("nb"), GP64()).(GPVirtual)
	add := GP8()
	Load(Param("add"), add)
	var flip, low VecVirtual
	if k.q4 {
		low = broadcastBytes(0x0f, true)
	} else {
		flip = broadcastBytes(0x80, true)
	}
	tmp := AllocLocal(64)

	for _, rows := range []int{k.rows, 1} {
		labelSeq++
		lbl := func(s string) string { return fmt.Sprintf("qmm%s%d", s, labelSeq) }
		Label(lbl("rows"))
		CMPQ(m, U32(rows))
		JL(LabelRef(lbl("done")))
		ptrs := []GPVirtual{w}
		for r := 1; r < rows; r++ {
			p := GP64()
			LEAQ(Mem{Base: ptrs[r-1], Index: stride, Scale: 1}, p)
			ptrs = append(ptrs, p)
		}
		acc := zeros(rows)
		xb, wo, bi := GP64(), GP64(), GP64()
		MOVQ(x, xb)
		XORQ(wo, wo)
		MOVQ(nb, bi)

		Label(lbl("block"))
		xc := make([]VecVirtual, 8)
		for ci := range xc {
			xc[ci] = ZMM()
			VMOVDQU64(Mem{Base: xb, Disp: qpChunks + 64*ci}, xc[ci])
		}
		init := ZMM()
		VPSLLD(U8(shift), Mem{Base: xb, Disp: qpSums}, init) // −offset·Σx
		dx := ZMM()
		VMOVUPS(Mem{Base: xb, Disp: qpScales}, dx)
		for r, p := range ptrs {
			sum := ZMM()
			VMOVDQA32(init, sum)
			if k.q4 {
				qb := ZMM()
				VBROADCASTI32X4(Mem{Base: p, Index: wo, Scale: 1, Disp: 2}, qb)
				lo, hi := ZMM(), ZMM()
				VPANDD(low, qb, lo)
				VPSRLW(U8(4), qb, hi)
				VPANDD(low, hi, hi)
				for ci := range 8 {
					src := lo
					if ci >= 4 {
						src = hi
					}
					t := ZMM()
					VPSHUFD(U8(0x55*(ci%4)), src, t) // dword ci%4 of each 128-bit lane: all 16 equal
					vpdpbusd(xc[ci], t, sum)
				}
			} else {
				for ci := range 8 {
					t := ZMM()
					VPXORD_BCST(Mem{Base: p, Index: wo, Scale: 1, Disp: 2 + 4*ci}, flip, t)
					vpdpbusd(xc[ci], t, sum)
				}
			}
			f := ZMM()
			VCVTDQ2PS(sum, f)
			hs := YMM()
			VPBROADCASTW(Mem{Base: p, Index: wo, Scale: 1}, hs)
			s := ZMM()
			VCVTPH2PS(hs, s)
			VMULPS(dx, s, s)
			VFMADD231PS(f, s, acc[r])
		}
		ADDQ(U32(qpBlock), xb)
		ADDQ(U32(bb), wo)
		DECQ(bi)
		JNZ(LabelRef(lbl("block")))

		if rows == 4 {
			k.store4(acc, y, offs, add, lbl)
		} else {
			storeLanes(acc[:1], y, offs, add, tmp, lbl)
		}
		ADDQ(U32(4*rows), y)
		LEAQ(Mem{Base: ptrs[rows-1], Index: stride, Scale: 1}, w)
		SUBQ(U32(rows), m)
		JMP(LabelRef(lbl("rows")))
		Label(lbl("done"))
	}
	ret()
}

// store4 transposes the four rows' accumulators (lane n = activation row n)
// into 16 pieces of four results and stores each at offs[n], row 15 first.
func (k qMatMul) store4(acc []VecVirtual, y, offs GPVirtual, add GPVirtual, lbl func(string) string) {
	t0, t1, t2, t3 := ZMM(), ZMM(), ZMM(), ZMM()
	VUNPCKLPS(acc[1], acc[0], t0) // per 128-bit lane: a0 b0 a1 b1
	VUNPCKHPS(acc[1], acc[0], t1) // a2 b2 a3 b3
	VUNPCKLPS(acc[3], acc[2], t2) // c0 d0 c1 d1
	VUNPCKHPS(acc[3], acc[2], t3) // c2 d2 c3 d3
	u := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
	VUNPCKLPD(t2, t0, u[0]) // a0 b0 c0 d0: rows 4q+0
	VUNPCKHPD(t2, t0, u[1]) // rows 4q+1
	VUNPCKLPD(t3, t1, u[2]) // rows 4q+2
	VUNPCKHPD(t3, t1, u[3]) // rows 4q+3
	for _, addMode := range []bool{false, true} {
		if !addMode {
			TESTB(add, add)
			JNZ(LabelRef(lbl("add4")))
		} else {
			Label(lbl("add4"))
		}
		for n := 15; n >= 0; n-- {
			q, s := n/4, n%4
			off := GP64()
			MOVQ(Mem{Base: offs, Disp: 8 * n}, off)
			dst := Mem{Base: y, Index: off, Scale: 1}
			piece := u[s].AsX()
			if q > 0 {
				piece = XMM()
				VEXTRACTF32X4(U8(q), u[s], piece)
			}
			if addMode {
				sum := XMM()
				VADDPS(dst, piece, sum)
				VMOVUPS(sum, dst)
			} else {
				VMOVUPS(piece, dst)
			}
		}
		if !addMode {
			JMP(LabelRef(lbl("stored4")))
		}
	}
	Label(lbl("stored4"))
}

// storeLanes stores the lanes of one weight row's accumulators (lane n of
// the concatenated registers = activation row n) at offs[n], the last lane
// first, through the stack slot tmp; with add set each lane is added to the
// value there.
func storeLanes(acc []VecVirtual, y, offs GPVirtual, add GPVirtual, tmp Mem, lbl func(string) string) {
	lanes := 0
	for _, a := range acc {
		VMOVUPS(a, tmp.Offset(4*lanes))
		lanes += int(a.Size()) / 4
	}
	for n := lanes - 1; n >= 0; n-- {
		off := GP64()
		MOVQ(Mem{Base: offs, Disp: 8 * n}, off)
		dst := Mem{Base: y, Index: off, Scale: 1}
		v := XMM()
		VMOVSS(tmp.Offset(4*n), v)
		TESTB(add, add)
		JZ(LabelRef(lbl(fmt.Sprintf("put%d", n))))
		VADDSS(dst, v, v)
		Label(lbl(fmt.Sprintf("put%d", n)))
		VMOVSS(v, dst)
	}
}

// qMatMul256 describes one generated AVX2 many-row product
//
//	func name(y *float32, offs *int, w *byte, ldw, m int, x *byte, nb int, add bool)
//
// of m weight rows (ldw bytes apart, nb blocks each) with eight or sixteen
// quantized activation rows packed as for the VNNI kernels: x points at a
// group's first block, byte 0 (rows 0…7, or all 16) or 32 (rows 8…15), so
// that a YMM load at x + 64c (+ 32 for the second eight) holds quants
// 4c…4c+3 of eight rows, their scales are at x + 512, the negated quant
// sums at x + 576, and the next block is 640 bytes on. Lane n of the
// vectors (the first register, then the second) is activation row n.
// Result (n, o) goes to y at byte offset offs[n] + 4·o, added to the value
// there when add is set; the lanes are stored last lane first.
//
// The kernels take one weight row at a time and give the matrix-vector
// kernels' bits for every row of x (integer sums are exact in any order,
// and the float32 operations are the same ones in the same order):
//
// Q8_0 (eight rows): chunk c of the weight block, broadcast, meets chunk c
// of the rows as in the matrix-vector kernel (|w| times x with w's sign:
// VPSIGNB, VPMADDUBSW, VPMADDWD), so lane n of the product is lane c of
// row n's matrix-vector sum; eight accumulators, one per chunk, are multiply-added with d_w·d_x
// and reduced vertically at the end in hsum_float_8's order.
//
// Q4_0 (sixteen rows): the block's 16 bytes, split into low and high
// nibbles, give chunk c (low nibbles of bytes 4c…4c+3 for c < 4, high
// nibbles of bytes 4c−16… for c ≥ 4), shuffled into every dword and shared
// by both halves; VPMADDUBSW of each with the rows' chunk gives int16 pair
// sums of at most 2·15·128 in magnitude, so the eight chunks add up
// exactly in int16 (≤ 30720) before one VPMADDWD; −8·Σx is added, and the
// whole block's sum is multiply-added with d_w·d_x as in the matrix-vector
// kernel.
type qMatMul256 struct {
	name   string
	q4     bool
	halves int // YMM registers of rows: 1 (eight rows) or 2 (sixteen)
}

var qMatMul256Kernels = []qMatMul256{
	{name: "matMulQ8_0_256", halves: 1},
	{name: "matMulQ4_0_256", q4: true, halves: 2},
}

func (k qMatMul256) emit() {
	typ, bb := "Q8_0", 34
	if k.q4 {
		typ, bb = "Q4_0", 18
	}
	fn(k.name, "func(y *float32, offs *int, w *byte, ldw, m int, x *byte, nb int, add bool)")
	Doc(fmt.Sprintf("%s multiplies m %s weight rows (ldw bytes apart, nb blocks) with %d rows of a packed", k.name, typ, 8*k.halves),
		"group (AVX2 and F16C), storing (or adding) result (n, o) at byte offset offs[n] + 4·o of y.")
	y, offs, w := ptr("y"), ptr("offs"), ptr("w")
	stride := Load(Param("ldw"), GP64()).(GPVirtual)
	m := Load(Param("m"), GP64()).(GPVirtual)
	x := ptr("x")
	nb := Load(Param("nb"), GP64()).(GPVirtual)
	add := GP8()
	Load(Param("add"), add)
	ones := broadcastBitsY(0x00010001)
	var low VecVirtual
	if k.q4 {
		low = broadcastBytes(0x0f, false)
	}
	tmp := AllocLocal(32 * k.halves)

	labelSeq++
	lbl := func(s string) string { return fmt.Sprintf("qmy%s%d", s, labelSeq) }
	Label(lbl("row"))
	CMPQ(m, U8(0))
	JE(LabelRef(lbl("done")))
	acc := zerosY(8) // Q8_0: one per chunk; Q4_0: one per half
	if k.q4 {
		acc = zerosY(k.halves)
	}
	xb, wo, bi := GP64(), GP64(), GP64()
	MOVQ(x, xb)
	XORQ(wo, wo)
	MOVQ(nb, bi)

	Label(lbl("block"))
	// s: d_w·d_x of each half's rows, in the matrix-vector kernels' order.
	dw := YMM()
	VPBROADCASTW(Mem{Base: w, Index: wo, Scale: 1}, dw)
	VCVTPH2PS(dw.AsX(), dw)
	s := make([]VecVirtual, k.halves)
	for h := range s {
		s[h] = YMM()
		VMULPS(Mem{Base: xb, Disp: qpScales + 32*h}, dw, s[h])
	}
	if k.q4 {
		k.q4Block(w, wo, xb, low, ones, s, acc)
	} else {
		for c := range 8 {
			wc := YMM()
			VPBROADCASTD(Mem{Base: w, Index: wo, Scale: 1, Disp: 2 + 4*c}, wc)
			aw := YMM()
			VPSIGNB(wc, wc, aw) // |w|
			xq := YMM()
			VMOVDQU(Mem{Base: xb, Disp: qpChunks + 64*c}, xq)
			VPSIGNB(wc, xq, xq) // x with w's sign
			VPMADDUBSW(xq, aw, aw)
			VPMADDWD(ones, aw, aw)
			VCVTDQ2PS(aw, aw)
			VFMADD231PS(aw, s[0], acc[c])
		}
	}
	ADDQ(U32(qpBlock), xb)
	ADDQ(U32(bb), wo)
	DECQ(bi)
	JNZ(LabelRef(lbl("block")))

	if !k.q4 {
		// hsum_float_8 of each row's lanes: x_c = l_{c+4} + l_c, then
		// (x₀ + x₂) + (x₁ + x₃).
		for c := range 4 {
			VADDPS(acc[c], acc[c+4], acc[c])
		}
		VADDPS(acc[2], acc[0], acc[0])
		VADDPS(acc[3], acc[1], acc[1])
		VADDPS(acc[1], acc[0], acc[0])
		acc = acc[:1]
	}
	storeLanes(acc, y, offs, add, tmp, lbl)
	ADDQ(U8(4), y)
	ADDQ(stride, w)
	DECQ(m)
	JMP(LabelRef(lbl("row")))
	Label(lbl("done"))
	ret()
}

// q4Block emits one Q4_0 block of the weight row at w+wo with the rows at
// xb, multiply-added with each half's scales s[h] into acc[h].
func (k qMatMul256) q4Block(w, wo, xb GPVirtual, low, ones VecVirtual, s, acc []VecVirtual) {
	qb := YMM()
	VBROADCASTI128(Mem{Base: w, Index: wo, Scale: 1, Disp: 2}, qb)
	lo, hi := YMM(), YMM()
	VPAND(low, qb, lo)
	VPSRLW(U8(4), qb, hi)
	VPAND(low, hi, hi)
	sums := make([]VecVirtual, k.halves)
	for h := range sums {
		sums[h] = YMM()
	}
	for c := range 8 {
		src := lo
		if c >= 4 {
			src = hi
		}
		t := YMM()
		VPSHUFD(U8(0x55*(c%4)), src, t) // chunk c in every dword
		for h, sum := range sums {
			xc := Mem{Base: xb, Disp: qpChunks + 64*c + 32*h}
			if c == 0 {
				VPMADDUBSW(xc, t, sum)
				continue
			}
			p := YMM()
			VPMADDUBSW(xc, t, p)
			VPADDW(p, sum, sum)
		}
	}
	for h, sum := range sums {
		VPMADDWD(ones, sum, sum)
		corr := YMM()
		VMOVDQU(Mem{Base: xb, Disp: qpSums + 32*h}, corr)
		VPSLLD(U8(3), corr, corr) // −8·Σx
		VPADDD(corr, sum, sum)
		VCVTDQ2PS(sum, sum)
		VFMADD231PS(sum, s[h], acc[h])
	}
}
