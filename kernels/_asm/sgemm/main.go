// Command sgemm generates kernels/sgemm_amd64.s and its Go declarations,
// kernels/sgemm_stubs_amd64.go: the register-blocked microkernels behind
// kernels.Sgemm and the streaming kernels of its matrix-vector path.
//
// Run it through `go generate ./kernels` (see the directive in
// kernels/sgemm_amd64.go); never edit the generated files by hand.
//
// It emits:
//
//   - sgemmKernel14x32 (AVX-512) and sgemmKernel6x16 (AVX2+FMA), the
//     microkernels of the blocked algorithm, and sgemmKernel1x32 …
//     sgemmKernel13x32, which compute the first h rows of a 14×32 tile from
//     the same 14-high packed A panels (the last tile of a product whose rows
//     are not a multiple of 14, and products of few rows);
//   - sgemmPackA14, sgemmPackAT14, sgemmPackBT32 and sgemmPackB32, which pack
//     the micro-panels the AVX-512 microkernel reads (gathers for the operands
//     stored across rows, vector copies for the others);
//   - sgemvDot4, sgemvDots{2,3,4}x4 and sgemvN64, the streaming kernels of the
//     matrix-vector path, which read the large operand once without packing;
//   - sgemvRows{1,2,3,4}x32 (AVX-512) and sgemvRows{1,2,3,4}x16 (AVX2+FMA),
//     the row-panel kernels of SgemmPacked's row-vector path (decoding
//     through pre-packed weights), which stream one packed micro-panel
//     against 1…4 unpacked rows of A with prefetch (see rowvec.go).
//
// The microkernels follow the BLIS scheme. A packed A micro-panel holds, for
// each of the k steps, MR consecutive values of one column of op(A); a packed
// B micro-panel holds, for each step, NR consecutive values of one row of
// op(B). One step broadcasts the MR values of A and multiplies them with the
// NR/lanes vectors of B, accumulating an MR×NR tile of C entirely in
// registers (14×32 uses 28 of the 32 ZMM registers, 6×16 12 of the 16 YMM
// ones); at the end the tile is scaled by alpha and merged into C
// (C = alpha·AB + beta·C, with C never read when beta is 0).
//
// The knobs of kernelSpec that the shipped kernels leave off (prefetching A or
// B, broadcasts folded into the FMAs) and the shapes 12×32 and 8×48 measured
// no better than plain 14×32 on the development machine; they stay for
// retuning on other CPUs. Prefetching the C tile into L2 rather than L1 gained
// about 1 %: with a row stride that is a multiple of 4 KiB all 14 rows of a
// tile fall into one L1 set, and L1 prefetches would evict the A micro-panel.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")

	genMicrokernel(kernelSpec{name: "sgemmKernel14x32", mr: 14, nr: 32, lanes: 16, unroll: 4, cToL2: true})
	genMicrokernel(kernelSpec{name: "sgemmKernel6x16", mr: 6, nr: 16, lanes: 8, unroll: 4})
	// 14×32 reading A unpacked from its rows: products whose A is row-major
	// skip packing it (see kernels/sgemm_blocked.go).
	genMicrokernel(kernelSpec{name: "sgemmKernel14x32U", mr: 14, nr: 32, lanes: 16, unroll: 4, cToL2: true, unpackedA: true})
	// 14×32 reading a transposed A in place: each step's 14 values are
	// adjacent, like a packed panel's, and steps lie lda apart — products
	// with op(A) = Aᵀ (weight gradients, Xᵀ·dY) skip packing A.
	genMicrokernel(kernelSpec{name: "sgemmKernel14x32T", mr: 14, nr: 32, lanes: 16, unroll: 4, cToL2: true, stridedA: true})
	// Edge kernels for the last, partial row of 14×32 tiles (and for
	// products of fewer than 14 rows, such as decoding through pre-packed
	// weights): h×32 for h < 14, reading the 14-high A panels.
	// The 14×32 kernel for a pre-packed B read straight from memory: while
	// the tiles of one packed micro-panel are computed, they prefetch the
	// next one into L2, one or two cache lines a step.
	genMicrokernel(kernelSpec{name: "sgemmKernel14x32P1", mr: 14, nr: 32, lanes: 16, unroll: 4, cToL2: true, pfLines: 1})
	genMicrokernel(kernelSpec{name: "sgemmKernel14x32P2", mr: 14, nr: 32, lanes: 16, unroll: 4, cToL2: true, pfLines: 2})
	for h := 1; h < 14; h++ {
		genMicrokernel(kernelSpec{name: fmt.Sprintf("sgemmKernel%dx32", h), mr: h, nr: 32, lanes: 16, unroll: 4, cToL2: true, astride: 14})
	}
	genPackGather("sgemmPackA14", 14)
	genPackGather("sgemmPackBT32", 32)
	genPackCopy()
	genPackATCopy()
	genDot4()
	for r := 2; r <= 4; r++ {
		genDotsRx4(r)
	}
	genGemvN()
	genRowKernels()
	genTileKernel()
	genTileRowKernel()
	genTilePack()

	Generate()
}

// kernelSpec describes one microkernel: an mr×nr tile of C held in mr·nr/lanes
// vector registers, with the k loop unrolled unroll times.
type kernelSpec struct {
	name      string
	mr, nr    int
	lanes     int // float32 lanes per vector: 16 (ZMM, AVX-512) or 8 (YMM, AVX2)
	unroll    int
	prefetchA int  // bytes ahead of the A pointer to prefetch each unrolled step (0: none)
	embedded  bool // multiply by A values broadcast from memory inside the FMA
	prefetchB int  // bytes ahead of the B pointer to prefetch each step (0: none)
	cToL2     bool // prefetch the C tile into L2 only (PREFETCHT1), sparing L1's sets
	// astride is the number of A values per step of the packed A panel, when
	// it is more than mr: the edge kernels read the first mr rows of the
	// 14-high panels of the 14×32 kernel.
	astride int
	// pfLines, when not 0, adds a parameter pf: each step prefetches this
	// many cache lines into L2 from pf onwards (the data the next call
	// will stream), independently of a and b.
	pfLines int
	// unpackedA reads A straight from a row-major matrix (parameter lda,
	// its row stride in elements) instead of a packed panel: 14 rows
	// addressed from four pointers and the stride (see rowAddr).
	unpackedA bool
	// stridedA reads A as a packed panel whose steps lie lda elements
	// apart (parameter lda) instead of mr: a transposed matrix in place.
	stridedA bool
}

// aStep returns the A values per step of the packed A panel.
func (s kernelSpec) aStep() int { return max(s.mr, s.astride) }

// vreg returns vector register i of the spec's width.
func (s kernelSpec) vreg(i int) VecPhysical {
	if s.lanes == 16 {
		return [...]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
			Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
	}
	return [...]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

func genMicrokernel(s kernelSpec) {
	nv := s.nr / s.lanes // vectors per row of the tile
	nacc := s.mr * nv
	bregs := make([]VecPhysical, nv)
	for v := range bregs {
		bregs[v] = s.vreg(nacc + v)
	}
	bcast := []VecPhysical{s.vreg(nacc + nv), s.vreg(nacc + nv + 1)}
	if nacc+nv+2 > 32 || (s.lanes == 8 && nacc+nv+2 > 16) {
		panic("sgemm: too many registers for " + s.name)
	}
	acc := func(i, v int) VecPhysical { return s.vreg(i*nv + v) }
	vbytes := 4 * s.lanes

	sig := "func(k int, a, b, c *float32, ldc int, alpha, beta float32)"
	if s.unpackedA || s.stridedA {
		sig = "func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)"
	}
	if s.pfLines > 0 {
		sig = "func(k int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)"
	}
	TEXT(s.name, NOSPLIT, sig)
	Pragma("noescape")
	if s.unpackedA {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C = alpha·A·B + beta·C with A read unpacked:", s.name, s.mr, s.nr),
			fmt.Sprintf("%d rows of k values with row stride lda elements; b holds k steps of %d packed values; C has", s.mr, s.nr),
			"row stride ldc elements. C is not read when beta is 0.")
	} else if s.stridedA {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C = alpha·A·B + beta·C with A read in place from", s.name, s.mr, s.nr),
			fmt.Sprintf("its transpose: step p's %d values start at a + p·lda; b holds k steps of %d packed", s.mr, s.nr),
			"values; C has row stride ldc elements. C is not read when beta is 0.")
	} else if s.aStep() != s.mr {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C = alpha·A·B + beta·C from packed micro-panels:", s.name, s.mr, s.nr),
			fmt.Sprintf("a holds k steps of %d values, of which it reads the first %d, b k steps of %d values;", s.aStep(), s.mr, s.nr),
			"C has row stride ldc elements. C is not read when beta is 0.")
	} else if s.pfLines > 0 {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C = alpha·A·B + beta·C from packed micro-panels:", s.name, s.mr, s.nr),
			fmt.Sprintf("a holds k steps of %d values, b k steps of %d values; C has row stride ldc", s.mr, s.nr),
			fmt.Sprintf("elements. C is not read when beta is 0. Each step prefetches %d cache line(s) into L2", s.pfLines),
			"from pf onwards: k·64·"+fmt.Sprint(s.pfLines)+" bytes in all.")
	} else {
		Doc(fmt.Sprintf("%s computes the %d×%d tile C = alpha·A·B + beta·C from packed micro-panels:", s.name, s.mr, s.nr),
			fmt.Sprintf("a holds k steps of %d values, b k steps of %d values; C has row stride ldc", s.mr, s.nr),
			"elements. C is not read when beta is 0.")
	}
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	var rows rowAddr
	if s.unpackedA {
		rows = newRowAddr(a, Load(Param("lda"), GP64()))
	}
	// stridedA: step u of an unrolled iteration reads a + u·lda bytes,
	// through ld (lda in bytes) and ld3 (3·lda).
	var ld, ld3 Register
	if s.stridedA {
		ld, ld3 = Load(Param("lda"), GP64()), GP64()
		SHLQ(U8(2), ld)
		LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	}
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	var pf Register
	if s.pfLines > 0 {
		pf = Load(Param("pf"), GP64())
	}

	Comment("Zero the accumulators and prefetch the C tile.")
	for i := 0; i < nacc; i++ {
		if s.lanes == 16 {
			VPXORD(s.vreg(i), s.vreg(i), s.vreg(i))
		} else {
			VXORPS(s.vreg(i), s.vreg(i), s.vreg(i))
		}
	}
	{
		p := GP64()
		MOVQ(c, p)
		pf := PREFETCHT0
		if s.cToL2 {
			pf = PREFETCHT1
		}
		for i := 0; i < s.mr; i++ {
			pf(Mem{Base: p})
			pf(Mem{Base: p, Disp: 4*s.nr - 4})
			if i != s.mr-1 {
				ADDQ(ldc, p)
			}
		}
	}

	step := func(u int) {
		if s.prefetchB > 0 {
			for l := 0; l < 4*s.nr; l += 64 {
				PREFETCHT0(Mem{Base: b, Disp: s.prefetchB + 4*u*s.nr + l})
			}
		}
		for l := 0; l < s.pfLines; l++ {
			PREFETCHT1(Mem{Base: pf, Disp: 64 * (u*s.pfLines + l)})
		}
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: 4*u*s.nr + v*vbytes}, bregs[v])
		}
		for i := 0; i < s.mr; i++ {
			am := Mem{Base: a, Disp: 4 * (u*s.aStep() + i)}
			if s.unpackedA {
				am = rows.at(i, 4*u)
			}
			if s.stridedA {
				am = [...]Mem{{Base: a, Disp: 4 * i}, {Base: a, Index: ld, Scale: 1, Disp: 4 * i},
					{Base: a, Index: ld, Scale: 2, Disp: 4 * i}, {Base: a, Index: ld3, Scale: 1, Disp: 4 * i}}[u]
			}
			if s.embedded {
				for v := 0; v < nv; v++ {
					VFMADD231PS_BCST(am, bregs[v], acc(i, v))
				}
				continue
			}
			bc := bcast[i%2]
			VBROADCASTSS(am, bc)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bregs[v], bc, acc(i, v))
			}
		}
	}

	Comment(fmt.Sprintf("Main loop: %d steps per iteration.", s.unroll))
	n := GP64()
	MOVQ(k, n)
	SHRQ(U8(bitsOf(s.unroll)), n)
	JZ(LabelRef("tail"))
	Label("loop")
	if s.prefetchA > 0 {
		PREFETCHT0(Mem{Base: a, Disp: s.prefetchA})
	}
	for u := 0; u < s.unroll; u++ {
		step(u)
	}
	if s.unpackedA {
		rows.advance(4 * s.unroll)
	} else if s.stridedA {
		LEAQ(Mem{Base: a, Index: ld, Scale: 4}, a)
	} else {
		ADDQ(U32(4*s.unroll*s.aStep()), a)
	}
	ADDQ(U32(4*s.unroll*s.nr), b)
	if s.pfLines > 0 {
		ADDQ(U32(64*s.unroll*s.pfLines), pf)
	}
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("tail")
	ANDQ(U8(s.unroll-1), k)
	JZ(LabelRef("store"))
	Label("tailloop")
	step(0)
	if s.unpackedA {
		rows.advance(4)
	} else if s.stridedA {
		ADDQ(ld, a)
	} else {
		ADDQ(U32(4*s.aStep()), a)
	}
	ADDQ(U32(4*s.nr), b)
	if s.pfLines > 0 {
		ADDQ(U32(64*s.pfLines), pf)
	}
	DECQ(k)
	JNZ(LabelRef("tailloop"))

	Label("store")
	Comment("Scale by alpha and merge into C; C is read only when beta != 0.")
	alpha, beta := bregs[0], bcast[0]
	VBROADCASTSS(addr(Param("alpha")), alpha)
	VBROADCASTSS(addr(Param("beta")), beta)
	// beta is ±0 exactly when its bits shifted left by one are all zero.
	bits := GP32()
	MOVL(addr(Param("beta")), bits)
	SHLL(U8(1), bits)
	JNZ(LabelRef("merge"))

	for i := 0; i < s.mr; i++ {
		for v := 0; v < nv; v++ {
			VMULPS(alpha, acc(i, v), acc(i, v))
			VMOVUPS(acc(i, v), Mem{Base: c, Disp: v * vbytes})
		}
		if i != s.mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()

	Label("merge")
	for i := 0; i < s.mr; i++ {
		for v := 0; v < nv; v++ {
			VMULPS(alpha, acc(i, v), acc(i, v))
			VFMADD231PS(Mem{Base: c, Disp: v * vbytes}, beta, acc(i, v))
			VMOVUPS(acc(i, v), Mem{Base: c, Disp: v * vbytes})
		}
		if i != s.mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// addr returns the stack address of a scalar parameter, for instructions that
// read it straight from memory.
func addr(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func bitsOf(x int) int {
	n := 0
	for 1<<n < x {
		n++
	}
	if 1<<n != x {
		panic("sgemm: unroll must be a power of two")
	}
	return n
}

// genDot4 emits sgemvDot4: four dot products of one vector with four rows of
// a matrix, the inner kernel of the matrix-vector path for op(B) = Bᵀ.
func genDot4() {
	TEXT("sgemvDot4", NOSPLIT, "func(k int, x, b *float32, ldb int, out *float32)")
	Pragma("noescape")
	Doc("sgemvDot4 stores out[j] = Σ_p x[p]·b[j·ldb+p] for j = 0…3 over k elements.")
	k := Load(Param("k"), GP64())
	x := Load(Param("x"), GP64())
	r0 := Load(Param("b"), GP64())
	ld := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ld)
	r3 := GP64()
	LEAQ(Mem{Base: r0, Index: ld, Scale: 2}, r3)
	ADDQ(ld, r3)
	rows := func(disp int) []Mem {
		return []Mem{
			{Base: r0, Disp: disp},
			{Base: r0, Index: ld, Scale: 1, Disp: disp},
			{Base: r0, Index: ld, Scale: 2, Disp: disp},
			{Base: r3, Disp: disp},
		}
	}
	acc := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7}
	for _, z := range acc {
		VPXORD(z, z, z)
	}
	advance := func(bytes int) {
		ADDQ(U32(bytes), x)
		ADDQ(U32(bytes), r0)
		ADDQ(U32(bytes), r3)
	}

	n := GP64()
	MOVQ(k, n)
	SHRQ(U8(5), n)
	JZ(LabelRef("half"))
	Label("loop")
	VMOVUPS(Mem{Base: x}, Z8)
	VMOVUPS(Mem{Base: x, Disp: 64}, Z9)
	for j, m := range rows(0) {
		VFMADD231PS(m, Z8, acc[j])
	}
	for j, m := range rows(64) {
		VFMADD231PS(m, Z9, acc[4+j])
	}
	advance(128)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("half")
	BTQ(U8(4), k)
	JCC(LabelRef("masked"))
	VMOVUPS(Mem{Base: x}, Z8)
	for j, m := range rows(0) {
		VFMADD231PS(m, Z8, acc[j])
	}
	advance(64)

	Label("masked")
	ANDQ(U8(15), k)
	JZ(LabelRef("reduce"))
	one := GP64()
	MOVQ(U32(1), one)
	SHLXQ(k, one, one)
	DECQ(one)
	KMOVW(one.As32(), K1)
	VMOVUPS_Z(Mem{Base: x}, K1, Z8)
	for j, m := range rows(0) {
		VFMADD231PS(m, Z8, K1, acc[4+j])
	}

	Label("reduce")
	for j := 0; j < 4; j++ {
		VADDPS(acc[4+j], acc[j], acc[j])
	}
	reduce4(acc[:4], Z8)
	out := Load(Param("out"), GP64())
	VMOVUPS(X0, Mem{Base: out})
	VZEROUPPER()
	RET()
}

// reduce4 sums each of the four ZMM registers zs horizontally and leaves the
// four sums in the lanes of zs[0]'s XMM half. tmp is clobbered.
func reduce4(zs []VecPhysical, tmp VecPhysical) {
	for _, z := range zs {
		VEXTRACTF64X4(U8(1), z, tmp.AsY())
		VADDPS(tmp.AsY(), z.AsY(), z.AsY())
		VEXTRACTF32X4(U8(1), z.AsY(), tmp.AsX())
		VADDPS(tmp.AsX(), z.AsX(), z.AsX())
	}
	VHADDPS(zs[1].AsX(), zs[0].AsX(), zs[0].AsX())
	VHADDPS(zs[3].AsX(), zs[2].AsX(), zs[2].AsX())
	VHADDPS(zs[2].AsX(), zs[0].AsX(), zs[0].AsX())
}

// genGemvN emits sgemvN64: y = xᵀ·B for a k×n block of B with n ≤ 64 columns,
// the inner kernel of the matrix-vector path for op(B) = B.
func genGemvN() {
	TEXT("sgemvN64", NOSPLIT, "func(k int, x, b *float32, ldb int, y *float32, n int)")
	Pragma("noescape")
	Doc("sgemvN64 stores y[j] = Σ_p x[p]·b[p·ldb+j] for j < n over k rows; 1 <= n <= 64.")
	k := Load(Param("k"), GP64())
	x := Load(Param("x"), GP64())
	b := Load(Param("b"), GP64())
	ld := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ld)
	n := Load(Param("n"), GP64())

	Comment("Lane masks for the four column vectors: bits [16v, 16v+16) of 2^n − 1.")
	mask := GP64()
	MOVQ(I32(-1), mask) // all 64 bits set: n == 64
	CMPQ(n, U8(64))
	JAE(LabelRef("masks"))
	one := GP64()
	MOVQ(U32(1), one)
	SHLXQ(n, one, mask)
	DECQ(mask)
	Label("masks")
	ks := []Op{K1, K2, K3, K4}
	for v, kr := range ks {
		KMOVW(mask.As32(), kr)
		if v != 3 {
			SHRQ(U8(16), mask)
		}
	}

	acc := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7}
	for _, z := range acc {
		VPXORD(z, z, z)
	}
	cnt := GP64()
	MOVQ(k, cnt)
	SHRQ(U8(1), cnt)
	JZ(LabelRef("tail"))
	Label("loop")
	VBROADCASTSS(Mem{Base: x}, Z8)
	VBROADCASTSS(Mem{Base: x, Disp: 4}, Z9)
	for v, kr := range ks {
		VFMADD231PS(Mem{Base: b, Disp: 64 * v}, Z8, kr, acc[v])
	}
	for v, kr := range ks {
		VFMADD231PS(Mem{Base: b, Index: ld, Scale: 1, Disp: 64 * v}, Z9, kr, acc[4+v])
	}
	LEAQ(Mem{Base: b, Index: ld, Scale: 2}, b)
	ADDQ(U8(8), x)
	DECQ(cnt)
	JNZ(LabelRef("loop"))

	Label("tail")
	BTQ(U8(0), k)
	JCC(LabelRef("store"))
	VBROADCASTSS(Mem{Base: x}, Z8)
	for v, kr := range ks {
		VFMADD231PS(Mem{Base: b, Disp: 64 * v}, Z8, kr, acc[v])
	}

	Label("store")
	y := Load(Param("y"), GP64())
	for v, kr := range ks {
		VADDPS(acc[4+v], acc[v], acc[v])
		VMOVUPS(acc[v], kr, Mem{Base: y, Disp: 64 * v})
	}
	VZEROUPPER()
	RET()
}

// genPackGather emits a packing kernel for micro-panels whose w values per
// step lie in w different rows of a row-major matrix: op(A) = A (w = mr) and
// op(B) = Bᵀ (w = nr). Each step gathers one column, w values a row stride
// apart, and stores it contiguously; rows past the matrix's edge are stored as
// zeros.
func genPackGather(name string, w int) {
	nv := (w + 15) / 16
	TEXT(name, NOSPLIT, "func(kc int, src *float32, idx *int32, rows int, dst *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s stores dst[%d·p+i] = src[idx[i]+p] for p < kc and i < rows, and 0 for rows <= i < %d.", name, w, w),
		fmt.Sprintf("idx holds %d offsets in elements: the starts of the rows.", 16*nv))
	kc := Load(Param("kc"), GP64())
	src := Load(Param("src"), GP64())
	idx := Load(Param("idx"), GP64())
	rows := Load(Param("rows"), GP64())
	dst := Load(Param("dst"), GP64())
	idxRegs := []VecPhysical{Z16, Z17}[:nv]
	rowMasks := []Op{K6, K7}[:nv]
	m := GP64()
	MOVQ(U32(1), m)
	SHLXQ(rows, m, m)
	DECQ(m)
	// With rows == 32, 1<<32 - 1 is exactly the 32 bits wanted.
	for v := 0; v < nv; v++ {
		VMOVDQU32(Mem{Base: idx, Disp: 64 * v}, idxRegs[v])
		KMOVW(m.As32(), rowMasks[v])
		if v != nv-1 {
			SHRQ(U8(16), m)
		}
	}
	storeMask := Op(nil)
	if w%16 != 0 {
		t := GP64()
		MOVQ(U32(1<<(w%16)-1), t)
		storeMask = K5
		KMOVW(t.As32(), K5)
	}
	const unroll = 4
	regs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7}
	masks := []Op{K1, K2, K3, K4}
	body := func(steps int) {
		for u := 0; u < steps; u++ {
			for v := 0; v < nv; v++ {
				r := regs[u*nv+v]
				km := masks[(u*nv+v)%len(masks)]
				VPXORD(r, r, r)
				KMOVW(rowMasks[v], km)
				VGATHERDPS(Mem{Base: src, Index: idxRegs[v], Scale: 4, Disp: 4 * u}, km, r)
			}
		}
		for u := 0; u < steps; u++ {
			for v := 0; v < nv; v++ {
				out := Mem{Base: dst, Disp: 4 * (u*w + 16*v)}
				if storeMask != nil && v == nv-1 {
					VMOVUPS(regs[u*nv+v], storeMask, out)
				} else {
					VMOVUPS(regs[u*nv+v], out)
				}
			}
		}
		ADDQ(U32(4*steps), src)
		ADDQ(U32(4*steps*w), dst)
	}
	n := GP64()
	MOVQ(kc, n)
	SHRQ(U8(bitsOf(unroll)), n)
	JZ(LabelRef("tail"))
	Label("loop")
	body(unroll)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("tail")
	ANDQ(U8(unroll-1), kc)
	JZ(LabelRef("done"))
	Label("tailloop")
	body(1)
	DECQ(kc)
	JNZ(LabelRef("tailloop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// genPackCopy emits sgemmPackB32: the packing of a full 32-column micro-panel
// of a row-major B, a copy of 32 values from each of kc rows; and
// sgemmPackB32Sums, which also sums the columns (Epilogue.SumsB).
func genPackCopy() {
	for _, sums := range []bool{false, true} {
		name, sig := "sgemmPackB32", "func(kc int, b *float32, ldb int, dst *float32)"
		doc := []string{"sgemmPackB32 stores dst[32p+j] = b[p·ldb+j] for p < kc and j < 32."}
		if sums {
			name, sig = "sgemmPackB32Sums", "func(kc int, b *float32, ldb int, dst, sums *float32)"
			doc = []string{"sgemmPackB32Sums is sgemmPackB32 that also adds each column's sum over the kc rows",
				"to sums[j], j < 32 (the rows summed in order, the total added to sums last)."}
		}
		TEXT(name, NOSPLIT, sig)
		Pragma("noescape")
		Doc(doc...)
		kc := Load(Param("kc"), GP64())
		b := Load(Param("b"), GP64())
		ld := Load(Param("ldb"), GP64())
		SHLQ(U8(2), ld)
		dst := Load(Param("dst"), GP64())
		if sums {
			VPXORD(Z2, Z2, Z2)
			VPXORD(Z3, Z3, Z3)
		}
		Label(name + "loop")
		VMOVUPS(Mem{Base: b}, Z0)
		VMOVUPS(Mem{Base: b, Disp: 64}, Z1)
		VMOVUPS(Z0, Mem{Base: dst})
		VMOVUPS(Z1, Mem{Base: dst, Disp: 64})
		if sums {
			VADDPS(Z0, Z2, Z2)
			VADDPS(Z1, Z3, Z3)
		}
		ADDQ(ld, b)
		ADDQ(U8(128), dst)
		DECQ(kc)
		JNZ(LabelRef(name + "loop"))
		if sums {
			out := Load(Param("sums"), GP64())
			VADDPS(Mem{Base: out}, Z2, Z2)
			VADDPS(Mem{Base: out, Disp: 64}, Z3, Z3)
			VMOVUPS(Z2, Mem{Base: out})
			VMOVUPS(Z3, Mem{Base: out, Disp: 64})
		}
		VZEROUPPER()
		RET()
	}
}

// genDotsRx4 emits sgemvDots<r>x4: the r×4 dot products of r vectors with
// four rows of a matrix, for the matrix-vector path with a few rows of op(A).
// Each block of 16 elements of a matrix row is loaded once and used r times.
func genDotsRx4(r int) {
	name := fmt.Sprintf("sgemvDots%dx4", r)
	TEXT(name, NOSPLIT, "func(k int, x *float32, ldx int, b *float32, ldb int, out *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s stores out[4i+j] = Σ_p x[i·ldx+p]·b[j·ldb+p] for i < %d, j < 4, over k elements.", name, r))
	k := Load(Param("k"), GP64())
	x := Load(Param("x"), GP64())
	lx := Load(Param("ldx"), GP64())
	SHLQ(U8(2), lx)
	r0 := Load(Param("b"), GP64())
	ld := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ld)
	r3 := GP64()
	LEAQ(Mem{Base: r0, Index: ld, Scale: 2}, r3)
	ADDQ(ld, r3)
	x3 := GP64()
	LEAQ(Mem{Base: x, Index: lx, Scale: 2}, x3)
	ADDQ(lx, x3)
	bRow := func(j, disp int) Mem {
		switch j {
		case 0:
			return Mem{Base: r0, Disp: disp}
		case 3:
			return Mem{Base: r3, Disp: disp}
		}
		return Mem{Base: r0, Index: ld, Scale: uint8(j), Disp: disp}
	}
	xRow := func(i int) Mem {
		switch i {
		case 0:
			return Mem{Base: x}
		case 3:
			return Mem{Base: x3}
		}
		return Mem{Base: x, Index: lx, Scale: uint8(i)}
	}
	acc := func(i, j int) VecPhysical { return zmm(4*i + j) }
	xv := func(i int) VecPhysical { return zmm(16 + i) }
	bv := zmm(20)
	for i := 0; i < 4*r; i++ {
		VPXORD(zmm(i), zmm(i), zmm(i))
	}
	block := func(mask Op) {
		for i := 0; i < r; i++ {
			if mask == nil {
				VMOVUPS(xRow(i), xv(i))
			} else {
				VMOVUPS_Z(xRow(i), mask, xv(i))
			}
		}
		for j := 0; j < 4; j++ {
			if mask == nil {
				VMOVUPS(bRow(j, 0), bv)
			} else {
				VMOVUPS_Z(bRow(j, 0), mask, bv)
			}
			for i := 0; i < r; i++ {
				VFMADD231PS(bv, xv(i), acc(i, j))
			}
		}
	}
	n := GP64()
	MOVQ(k, n)
	SHRQ(U8(4), n)
	JZ(LabelRef("masked"))
	Label("loop")
	block(nil)
	for _, p := range []Op{x, x3, r0, r3} {
		ADDQ(U8(64), p)
	}
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("masked")
	ANDQ(U8(15), k)
	JZ(LabelRef("reduce"))
	one := GP64()
	MOVQ(U32(1), one)
	SHLXQ(k, one, one)
	DECQ(one)
	KMOVW(one.As32(), K1)
	block(K1)

	Label("reduce")
	out := Load(Param("out"), GP64())
	for i := 0; i < r; i++ {
		zs := []VecPhysical{acc(i, 0), acc(i, 1), acc(i, 2), acc(i, 3)}
		reduce4(zs, bv)
		VMOVUPS(zs[0].AsX(), Mem{Base: out, Disp: 16 * i})
	}
	VZEROUPPER()
	RET()
}

func zmm(i int) VecPhysical {
	return [...]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}

// genPackATCopy emits sgemmPackAT14: the packing of a 14-row micro-panel of a
// transposed A, whose 14 values per step are contiguous: a masked copy of
// each of kc rows, zero past the rows that exist.
func genPackATCopy() {
	TEXT("sgemmPackAT14", NOSPLIT, "func(kc int, a *float32, lda int, rows int, dst *float32)")
	Pragma("noescape")
	Doc("sgemmPackAT14 stores dst[14p+i] = a[p·lda+i] for p < kc and i < rows, and 0 for rows <= i < 14.")
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	ld := Load(Param("lda"), GP64())
	SHLQ(U8(2), ld)
	rows := Load(Param("rows"), GP64())
	dst := Load(Param("dst"), GP64())
	m := GP64()
	MOVQ(U32(1), m)
	SHLXQ(rows, m, m)
	DECQ(m)
	KMOVW(m.As32(), K1)
	t := GP64()
	MOVQ(U32(0x3fff), t)
	KMOVW(t.As32(), K2)
	Label("loop")
	VMOVUPS_Z(Mem{Base: a}, K1, Z0)
	VMOVUPS(Z0, K2, Mem{Base: dst})
	ADDQ(ld, a)
	ADDQ(U8(56), dst)
	DECQ(kc)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
}

// rowAddr addresses the 14 rows of an unpacked A block from four pointers
// and the row stride: x86 addressing scales an index by 1, 2, 4 or 8, so
// rows 0, 1, 2, 4, 8 hang off p0 = a, rows 3, 5, 7, 11 off p3 = a + 3·lda,
// rows 6, 9, 13 off p5 = a + 5·lda, and rows 10, 12 off p10 = a + 10·lda.
type rowAddr struct {
	ld              Register // row stride in bytes
	p0, p3, p5, p10 Register
}

func newRowAddr(a, lda Register) rowAddr {
	r := rowAddr{ld: lda, p0: a, p3: GP64(), p5: GP64(), p10: GP64()}
	SHLQ(U8(2), lda)
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, r.p3) // 3·lda
	LEAQ(Mem{Base: lda, Index: lda, Scale: 4}, r.p5) // 5·lda
	ADDQ(a, r.p3)
	ADDQ(a, r.p5)
	LEAQ(Mem{Base: r.p5, Index: lda, Scale: 4}, r.p10) // a + 9·lda
	ADDQ(lda, r.p10)                                   // a + 10·lda
	return r
}

// at returns the address of row i plus disp bytes.
func (r rowAddr) at(i, disp int) Mem {
	type ref struct {
		base  Register
		scale uint8 // 0: no index
	}
	refs := [14]ref{
		{r.p0, 0}, {r.p0, 1}, {r.p0, 2}, {r.p3, 0}, {r.p0, 4}, {r.p3, 2}, {r.p5, 1},
		{r.p3, 4}, {r.p0, 8}, {r.p5, 4}, {r.p10, 0}, {r.p3, 8}, {r.p10, 2}, {r.p5, 8},
	}
	x := refs[i]
	if x.scale == 0 {
		return Mem{Base: x.base, Disp: disp}
	}
	return Mem{Base: x.base, Index: r.ld, Scale: x.scale, Disp: disp}
}

// advance moves every row on by n bytes.
func (r rowAddr) advance(n int) {
	for _, p := range []Register{r.p0, r.p3, r.p5, r.p10} {
		ADDQ(U32(n), p)
	}
}
