package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2+FMA microkernels, for machines without AVX-512 BF16. They read
// the same packed B as the VDPBF16PS kernels, and A converted to float32
// values rounded to bfloat16 (in the same places as the bfloat16 A of the
// VDPBF16PS kernels, so A needs no widening in the loop), and give the same
// bits: a bfloat16 value of B widens exactly to float32 (the upper half of
// a pair's 32-bit word with the lower half cleared, or the lower half
// shifted up), a product of two bfloat16 values is exact in
// float32, so an FMA rounds s + a·b once, as VDPBF16PS rounds each of its
// two sums; and with MXCSR's DAZ and FTZ bits set for the duration of the
// kernel (and restored before it returns) subnormal inputs count as zero
// and results that are tiny after rounding are flushed, as VDPBF16PS does.
// Each step accumulates the odd depth's product first, then the even one's,
// VDPBF16PS's order.
//
// gemmBF16AVX2Kernel{r}x16 (r = 1…5) computes r rows × 16 columns of C: 2r
// YMM accumulators (Y0…Y(2r−1), row i in Y(2i) and Y(2i+1)), the widened
// B values of a step in Y10…Y13, a row's pair broadcast in Y14 and Y15.
// The Go side tiles a 14×32 tile of GemmBF16 with them.

const avx2MaxRows = 5

func ymm(i int) VecPhysical {
	return [...]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

// hiMask is 8 × 0xffff0000: the upper bfloat16 of each pair.
var hiMask Mem

func genAVX2Consts() {
	hiMask = GLOBL("gemmBF16HiMask", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(0xffff0000))
	}
}

// setDAZFTZ saves MXCSR into the local slot save and sets its DAZ (bit 6)
// and FTZ (bit 15) bits; restoreMXCSR puts the saved value back.
func setDAZFTZ(save Mem) {
	STMXCSR(save)
	t := GP32()
	MOVL(save, t)
	ORL(U32(0x8040), t)
	MOVL(t, save.Offset(4))
	LDMXCSR(save.Offset(4))
}

func restoreMXCSR(save Mem) { LDMXCSR(save) }

// genAVX2Kernel emits the r-row, 16-column AVX2 kernel; with strided, the
// variant whose A is stored step-major (step q's pairs of the r rows are
// adjacent, steps lda elements apart).
func genAVX2Kernel(r int, strided bool) {
	name := fmt.Sprintf("gemmBF16AVX2Kernel%dx16", r)
	if strided {
		name = fmt.Sprintf("gemmBF16AVX2KernelS%dx16", r)
	}
	TEXT(name, NOSPLIT, "func(kq int, a *float32, lda int, b *uint16, c *float32, ldc int, load int)")
	Pragma("noescape")
	layout := fmt.Sprintf("A is %d rows of 2·kq float32 values (bfloat16 ones, widened) with row stride lda elements, b", r)
	if strided {
		layout = fmt.Sprintf("A is kq steps of %d pairs of float32 values (one per row) lda elements apart, b", r)
	}
	Doc(fmt.Sprintf("%s accumulates a %d×16 block of C over kq steps of two depths with FMAs:", name, r),
		layout,
		"points to the block's 16 pairs in the first step of a packed panel (steps 128 bytes apart),",
		"C has row stride ldc elements. The accumulators start at C when load is not 0, at zero",
		"otherwise; the block is stored to C. The bits are VDPBF16PS's (DAZ and FTZ are set meanwhile).")
	save := AllocLocal(8)
	acc := func(i, v int) VecPhysical { return ymm(2*i + v) }
	b1lo, b1hi, b0lo, b0hi, a0, a1 := ymm(10), ymm(11), ymm(12), ymm(13), ymm(14), ymm(15)

	kq := Load(Param("kq"), GP64())
	a := Load(Param("a"), GP64())
	ld := Load(Param("lda"), GP64())
	SHLQ(U8(2), ld) // bytes
	var p3 Register
	if !strided && r > 3 {
		p3 = GP64()
		LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, p3)
		ADDQ(a, p3)
	}
	// aAt returns row i's pair of the current step.
	aAt := func(i int) Mem {
		if strided {
			return Mem{Base: a, Disp: 8 * i}
		}
		switch i {
		case 0:
			return Mem{Base: a}
		case 1:
			return Mem{Base: a, Index: ld, Scale: 1}
		case 2:
			return Mem{Base: a, Index: ld, Scale: 2}
		case 3:
			return Mem{Base: p3}
		default:
			return Mem{Base: p3, Index: ld, Scale: 1}
		}
	}
	advance := func() {
		if strided {
			ADDQ(ld, a)
			return
		}
		ADDQ(U8(8), a)
		if p3 != nil {
			ADDQ(U8(8), p3)
		}
	}
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	setDAZFTZ(save)

	Comment("Start the accumulators from C (load != 0) or from zero.")
	load := Load(Param("load"), GP64())
	TESTQ(load, load)
	JZ(LabelRef("zero"))
	loadTile(c, ldc, r, 32, acc)
	JMP(LabelRef("start"))
	Label("zero")
	for i := 0; i < r; i++ {
		VXORPS(acc(i, 0), acc(i, 0), acc(i, 0))
		VXORPS(acc(i, 1), acc(i, 1), acc(i, 1))
	}
	Label("start")
	TESTQ(kq, kq)
	JZ(LabelRef("store"))

	Label("loop")
	VMOVDQU(Mem{Base: b}, b0lo)
	VMOVDQU(Mem{Base: b, Disp: 32}, b0hi)
	VPAND(hiMask, b0lo, b1lo)
	VPAND(hiMask, b0hi, b1hi)
	VPSLLD(U8(16), b0lo, b0lo)
	VPSLLD(U8(16), b0hi, b0hi)
	for i := 0; i < r; i++ {
		VBROADCASTSS(aAt(i).Offset(4), a1)
		VBROADCASTSS(aAt(i), a0)
		VFMADD231PS(b1lo, a1, acc(i, 0))
		VFMADD231PS(b1hi, a1, acc(i, 1))
		VFMADD231PS(b0lo, a0, acc(i, 0))
		VFMADD231PS(b0hi, a0, acc(i, 1))
	}
	advance()
	ADDQ(U32(128), b)
	DECQ(kq)
	JNZ(LabelRef("loop"))

	Label("store")
	for i := 0; i < r; i++ {
		VMOVUPS(acc(i, 0), Mem{Base: c})
		VMOVUPS(acc(i, 1), Mem{Base: c, Disp: 32})
		if i != r-1 {
			ADDQ(ldc, c)
		}
	}
	restoreMXCSR(save)
	VZEROUPPER()
	RET()
}

// genAVX2PairRows emits gemmBF16PairRows256, genPairRows' kernel on AVX2:
// the same stores and the same rounding, 8 columns per YMM register.
func genAVX2PairRows() {
	TEXT("gemmBF16PairRows256", NOSPLIT, "func(n int, r0, r1 *float32, dst *uint16, stride int)")
	Pragma("noescape")
	Doc("gemmBF16PairRows256 is gemmBF16PairRows on AVX2: for each unit u < n/32 of 32 columns,",
		"dst[u·stride + 2j] = bf16(r0[32u+j]) and dst[u·stride + 2j+1] = bf16(r1[32u+j]) for j < 32.")
	n := Load(Param("n"), GP64())
	r0 := Load(Param("r0"), GP64())
	r1 := Load(Param("r1"), GP64())
	dst := Load(Param("dst"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(1), stride)
	one, bias, quiet := Y12, Y13, Y14
	t := GP32()
	for _, c := range []struct {
		y VecPhysical
		v uint32
	}{{one, 1}, {bias, 0x7fff}, {quiet, 0x00400000}} {
		MOVL(U32(c.v), t)
		VMOVD(t, c.y.AsX())
		VPBROADCASTD(c.y.AsX(), c.y)
	}
	// round leaves in y the float32 bits of y rounded at bit 16 (to nearest
	// even; NaNs made quiet), using tmp and nan.
	round := func(y, tmp, nan VecPhysical) {
		VPSRLD(U8(16), y, tmp)
		VPAND(one, tmp, tmp)
		VPADDD(bias, tmp, tmp)
		VPADDD(y, tmp, tmp)
		VCMPPS(U8(3), y, y, nan) // unordered: NaN
		VPOR(quiet, y, y)
		VBLENDVPS(nan, y, tmp, y) // NaN lanes: y | quiet bit; others: rounded
	}
	SHRQ(U8(5), n)
	JZ(LabelRef("done"))
	Label("loop")
	for v := 0; v < 4; v++ {
		x0, x1 := ymm(3*(v%2)), ymm(3*(v%2)+1)
		tmp, nan := ymm(3*(v%2)+2), ymm(6+v%2)
		VMOVUPS(Mem{Base: r0, Disp: 32 * v}, x0)
		VMOVUPS(Mem{Base: r1, Disp: 32 * v}, x1)
		round(x0, tmp, nan)
		round(x1, tmp, nan)
		VPSRLD(U8(16), x0, x0)
		VPAND(hiMask, x1, x1)
		VPOR(x0, x1, x1)
		VMOVDQU(x1, Mem{Base: dst, Disp: 32 * v})
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
