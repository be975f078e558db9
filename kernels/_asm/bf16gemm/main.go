// Command bf16gemm generates kernels/gemm_bf16_amd64.s and its Go
// declarations, kernels/gemm_bf16_stubs_amd64.go: the register-blocked
// microkernels of kernels.GemmBF16, a bfloat16 matrix product with float32
// accumulation on AVX-512 BF16.
//
// Run it through `go generate ./kernels` (see the directive in
// kernels/gemm_bf16_amd64.go); never edit the generated files by hand.
//
// It emits gemmBF16Kernel1x32 … gemmBF16Kernel14x32: each computes h rows
// (h = 1…14) of a 32-column tile of C, held in 2h ZMM registers of 16 float32
// lanes. A is read unpacked, from h rows of bfloat16 values (row stride lda
// elements, 14 rows addressed from four pointers and the stride); B is a
// packed micro-panel that holds, for each step, the 32 pairs
// (B[2q][j], B[2q+1][j]) of its columns, 128 bytes. One step of the k loop
// (a pair of depths) loads the two B vectors, broadcasts each row's pair
// (A[i][2q], A[i][2q+1]) as one 32-bit value and accumulates
//
//	C[i][j] += A[i][2q+1]·B[2q+1][j], then += A[i][2q]·B[2q][j]
//
// with VDPBF16PS: each product is exact in float32 and each addition is
// rounded to nearest even; bfloat16 and float32 subnormal inputs count as
// zero and subnormal results are flushed to zero, whatever MXCSR says (the
// Intel SDM's definition, which Zen 4 follows bit for bit: see
// kernels.GemmBF16Generic). The accumulators start at zero, or at C when the
// parameter load is not 0, so a product deeper than one cache block goes on
// accumulating into C exactly as one long chain would. At the end the tile is
// stored to C.
//
// Neither avo nor the Go assembler knows VDPBF16PS, so it is emitted as
// bytes by the small EVEX encoder below (register operands only).
//
// It also emits the AVX2+FMA kernels with the same results for machines
// without AVX-512 BF16 (avx2.go).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	for h := 1; h <= 14; h++ {
		genKernel(h, false)
	}
	for h := 1; h <= 14; h++ {
		genKernel(h, true)
	}
	genPairRows()
	genAVX2Consts()
	for _, strided := range []bool{false, true} {
		for r := 1; r <= avx2MaxRows; r++ {
			genAVX2Kernel(r, strided)
		}
	}
	genAVX2PairRows()
	Generate()
}

// zmm returns vector register i.
func zmm(i int) VecPhysical {
	return [...]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}

// Fixed registers: the accumulators are Z0…Z(2h−1), row i in Z(2i) (columns
// 0–15) and Z(2i+1) (columns 16–31); B's two vectors and two broadcast
// registers sit above the 28 accumulators of the 14-row kernel.
const (
	regB0, regB1 = 28, 29
	regBcast     = 30 // and 31, alternating by row
	unroll       = 4  // steps per iteration of the main loop
)

// vdpbf16ps emits VDPBF16PS zmm(dst), zmm(src1), zmm(src2) (Intel operand
// order: dst.fp32[j] += src1.bf16[2j+1]·src2.bf16[2j+1] + src1.bf16[2j]·src2.bf16[2j]).
func vdpbf16ps(dst, src1, src2 int) {
	Comment(fmt.Sprintf("VDPBF16PS Z%d, Z%d, Z%d (Intel order: dst, src1, src2)", dst, src1, src2))
	for _, b := range evexDPBF16PS(dst, src1, src2) {
		Instruction(&ir.Instruction{Opcode: "BYTE", Operands: []Op{U8(b)}})
	}
}

// evexDPBF16PS encodes VDPBF16PS zmm, zmm, zmm: EVEX.512.F3.0F38.W0 52 /r.
// ModRM.reg is dst, EVEX.vvvv src1 and ModRM.rm src2; the EVEX bits R, R'
// (dst), X, B (src2) and V' (src1) extend them to 32 registers, inverted.
func evexDPBF16PS(dst, src1, src2 int) []byte {
	inv := func(r, bit int) byte { return byte(^(r >> bit)) & 1 }
	p0 := inv(dst, 3)<<7 | inv(src2, 4)<<6 | inv(src2, 3)<<5 | inv(dst, 4)<<4 | 0b10 // map 0F38
	p1 := byte(^src1&15)<<3 | 1<<2 | 0b10                                            // W0, vvvv, pp = F3
	p2 := byte(0b10)<<5 | inv(src1, 4)<<3                                            // L'L = 512, V'
	modrm := byte(0b11)<<6 | byte(dst&7)<<3 | byte(src2&7)
	return []byte{0x62, p0, p1, p2, 0x52, modrm}
}

// loadTile loads the accumulators of a rows-high tile from C (row stride
// ldc bytes): acc(i, 0) from row i, acc(i, 1) from half bytes further on.
func loadTile(c, ldc Register, rows, half int, acc func(i, v int) VecPhysical) {
	p := GP64()
	MOVQ(c, p)
	for i := 0; i < rows; i++ {
		VMOVUPS(Mem{Base: p}, acc(i, 0))
		VMOVUPS(Mem{Base: p, Disp: half}, acc(i, 1))
		if i != rows-1 {
			ADDQ(ldc, p)
		}
	}
}

// rowAddr addresses 14 rows of A from four pointers and the row stride:
// row i is at p0, p3, p5 or p10 (rows 0, 3, 5, 10) plus 0, 1, 2, 4 or 8
// strides.
type rowAddr struct {
	ld              Register // row stride in bytes
	p0, p3, p5, p10 Register
}

func newRowAddr(a, ldBytes Register) rowAddr {
	r := rowAddr{ld: ldBytes, p0: a, p3: GP64(), p5: GP64(), p10: GP64()}
	LEAQ(Mem{Base: ldBytes, Index: ldBytes, Scale: 2}, r.p3) // 3·lda
	LEAQ(Mem{Base: ldBytes, Index: ldBytes, Scale: 4}, r.p5) // 5·lda
	ADDQ(a, r.p3)
	ADDQ(a, r.p5)
	LEAQ(Mem{Base: r.p5, Index: ldBytes, Scale: 4}, r.p10) // a + 9·lda
	ADDQ(ldBytes, r.p10)                                   // a + 10·lda
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

// advance moves every row pointer on by n bytes.
func (r rowAddr) advance(n int) {
	for _, p := range []Register{r.p0, r.p3, r.p5, r.p10} {
		ADDQ(U32(n), p)
	}
}

// genKernel emits the h-row microkernel; with strided, the variant whose A
// is stored step-major (gemmBF16KernelS…: step q's h pairs are adjacent,
// steps lda elements apart), as a transposed A is converted.
func genKernel(h int, strided bool) {
	name := fmt.Sprintf("gemmBF16Kernel%dx32", h)
	if strided {
		name = fmt.Sprintf("gemmBF16KernelS%dx32", h)
	}
	TEXT(name, NOSPLIT, "func(kq int, a *uint16, lda int, b *uint16, c *float32, ldc int, load int, pf *uint16)")
	Pragma("noescape")
	layout := fmt.Sprintf("A is %d rows of 2·kq bfloat16 values with row stride lda elements (lda even), b holds", h)
	if strided {
		layout = fmt.Sprintf("A is kq steps of %d bfloat16 pairs (one per row) lda elements apart (lda even), b holds", h)
	}
	Doc(fmt.Sprintf("%s accumulates a %d×32 tile of C over kq steps of two depths:", name, h),
		layout,
		"kq steps of 32 value pairs (128 bytes each), C has row stride ldc elements. The",
		"accumulators start at C when load is not 0, at zero otherwise; the tile is stored to C.",
		"Each step prefetches one cache line into L2 from pf onwards (kq·64 bytes in all).")
	acc := func(i, v int) VecPhysical { return zmm(2*i + v) }

	kq := Load(Param("kq"), GP64())
	a := Load(Param("a"), GP64())
	ld := Load(Param("lda"), GP64())
	SHLQ(U8(1), ld)
	var rows rowAddr
	var ld3 Register
	if strided {
		ld3 = GP64()
		LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	} else {
		rows = newRowAddr(a, ld)
	}
	// aAt returns row i's pair of step u of an unrolled iteration.
	aAt := func(i, u int) Mem {
		if !strided {
			return rows.at(i, 4*u)
		}
		return [...]Mem{{Base: a, Disp: 4 * i}, {Base: a, Index: ld, Scale: 1, Disp: 4 * i},
			{Base: a, Index: ld, Scale: 2, Disp: 4 * i}, {Base: a, Index: ld3, Scale: 1, Disp: 4 * i}}[u]
	}
	advance := func(steps int) {
		switch {
		case !strided:
			rows.advance(4 * steps)
		case steps == 4:
			LEAQ(Mem{Base: a, Index: ld, Scale: 4}, a)
		default:
			ADDQ(ld, a)
		}
	}
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	pf := Load(Param("pf"), GP64())

	Comment("Start the accumulators from C (load != 0) or from zero.")
	load := Load(Param("load"), GP64())
	TESTQ(load, load)
	JZ(LabelRef("zero"))
	loadTile(c, ldc, h, 64, acc)
	JMP(LabelRef("start"))
	Label("zero")
	{
		p := GP64()
		MOVQ(c, p)
		for i := 0; i < h; i++ {
			VPXORD(acc(i, 0), acc(i, 0), acc(i, 0))
			VPXORD(acc(i, 1), acc(i, 1), acc(i, 1))
			PREFETCHT1(Mem{Base: p})
			PREFETCHT1(Mem{Base: p, Disp: 124})
			if i != h-1 {
				ADDQ(ldc, p)
			}
		}
	}
	Label("start")

	step := func(u int) {
		PREFETCHT1(Mem{Base: pf, Disp: 64 * u})
		VMOVUPS(Mem{Base: b, Disp: 128 * u}, zmm(regB0))
		VMOVUPS(Mem{Base: b, Disp: 128*u + 64}, zmm(regB1))
		for i := 0; i < h; i++ {
			bc := regBcast + i%2
			VPBROADCASTD(aAt(i, u), zmm(bc))
			vdpbf16ps(2*i, regB0, bc)
			vdpbf16ps(2*i+1, regB1, bc)
		}
	}

	Comment(fmt.Sprintf("Main loop: %d steps per iteration.", unroll))
	n := GP64()
	MOVQ(kq, n)
	SHRQ(U8(2), n)
	JZ(LabelRef("tail"))
	Label("loop")
	for u := 0; u < unroll; u++ {
		step(u)
	}
	advance(unroll)
	ADDQ(U32(128*unroll), b)
	ADDQ(U32(64*unroll), pf)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("tail")
	ANDQ(U8(unroll-1), kq)
	JZ(LabelRef("store"))
	Label("tailloop")
	step(0)
	advance(1)
	ADDQ(U32(128), b)
	ADDQ(U32(64), pf)
	DECQ(kq)
	JNZ(LabelRef("tailloop"))

	Label("store")
	for i := 0; i < h; i++ {
		VMOVUPS(acc(i, 0), Mem{Base: c})
		VMOVUPS(acc(i, 1), Mem{Base: c, Disp: 64})
		if i != h-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// genPairRows emits gemmBF16PairRows, the packer of two float32 rows into
// bfloat16 pairs, 32 columns at a time: for each unit u of 32 columns
// (u < n/32), dst[u·stride + 2j] = bf16(r0[32u+j]) and
// dst[u·stride + 2j+1] = bf16(r1[32u+j]) for j < 32, each value rounded to
// nearest even as kernels.F32ToBF16 does (a NaN keeps its sign and upper
// payload and is made quiet). stride 64 writes the pairs contiguously; the
// panel stride of a PackedBF16 writes one step of every panel. The pair is
// one 32-bit word: bf16(r1) in the upper half, bf16(r0) in the lower, which
// is r1's rounded bits with the lower half cleared, or-ed with r0's rounded
// bits shifted down.
func genPairRows() {
	TEXT("gemmBF16PairRows", NOSPLIT, "func(n int, r0, r1 *float32, dst *uint16, stride int)")
	Pragma("noescape")
	Doc("gemmBF16PairRows stores, for each unit u < n/32 of 32 columns, dst[u·stride + 2j] = bf16(r0[32u+j])",
		"and dst[u·stride + 2j+1] = bf16(r1[32u+j]) for j < 32, rounding to nearest even as F32ToBF16 does.")
	n := Load(Param("n"), GP64())
	r0 := Load(Param("r0"), GP64())
	r1 := Load(Param("r1"), GP64())
	dst := Load(Param("dst"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(1), stride)
	one, bias, quiet, hiMask := Z16, Z17, Z18, Z19
	t := GP32()
	for _, c := range []struct {
		z VecPhysical
		v uint32
	}{{one, 1}, {bias, 0x7fff}, {quiet, 0x00400000}, {hiMask, 0xffff0000}} {
		MOVL(U32(c.v), t)
		VPBROADCASTD(t, c.z)
	}
	// round leaves in z the float32 bits of z rounded at bit 16 (to nearest
	// even; NaNs made quiet), using tmp and mask register k.
	round := func(z, tmp VecPhysical, k Register) {
		VPSRLD(U8(16), z, tmp)
		VPANDD(one, tmp, tmp)
		VPADDD(bias, tmp, tmp)
		VCMPPS(U8(3), z, z, k) // unordered: NaN
		VPADDD(z, tmp, tmp)
		VPORD(quiet, z, k, tmp) // NaN lanes: z | quiet bit, merged
		VMOVDQA32(tmp, z)
	}
	SHRQ(U8(5), n)
	JZ(LabelRef("done"))
	Label("loop")
	for v := 0; v < 2; v++ {
		a, b := zmm(4*v), zmm(4*v+1)
		VMOVUPS(Mem{Base: r0, Disp: 64 * v}, a)
		VMOVUPS(Mem{Base: r1, Disp: 64 * v}, b)
		round(a, zmm(4*v+2), [...]Register{K1, K3}[v])
		round(b, zmm(4*v+3), [...]Register{K2, K4}[v])
		VPSRLD(U8(16), a, a)
		VPANDD(hiMask, b, b)
		VPORD(a, b, b)
		VMOVDQU32(b, Mem{Base: dst, Disp: 64 * v})
	}
	ADDQ(U8(128), r0)
	ADDQ(U8(128), r1)
	ADDQ(stride, dst)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}
