package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 kernels: gemmBF16AVX2R{r}x16 and gemmBF16AVX2S{r}x16 (r = 1…4)
// accumulate an r×16 tile of C over kq steps of a packed micro-panel, with
// A stored row by row (R) or step by step (S) as for the AVX-512 kernels.
// kernels.GemmBF16 builds its h×32 tiles from them on CPUs with AVX2 and FMA
// but without AVX-512 BF16 (two halves of 16 columns, rows four at a time).
//
// Without VDPBF16PS, a step widens each bfloat16 pair (one 32-bit word: the
// odd depth in the upper half, the even one in the lower) to two float32
// values, the upper half masked (word & 0xffff0000) and the lower shifted up
// (word << 16), for B's eight pairs per register and A's broadcast pair, and
// accumulates
//
//	C[i][j] = fma(A[i][2q+1], B[2q+1][j], C[i][j]), then fma(A[i][2q], B[2q][j], ·)
//
// A product of two bfloat16 values is exact in float32, so each FMA rounds
// once, as each addition of VDPBF16PS does. With MXCSR's DAZ and FTZ set
// for the kernel's duration (and restored before it returns), subnormal
// inputs count as zero and subnormal results are flushed, again as
// VDPBF16PS does: the kernels give the AVX-512 ones' bits.
func genAVX2Kernels() {
	for _, strided := range []bool{false, true} {
		for r := 1; r <= 4; r++ {
			genAVX2Kernel(r, strided)
		}
	}
}

// mxcsrFlushBits are MXCSR's FTZ (bit 15) and DAZ (bit 6).
const mxcsrFlushBits = 1<<15 | 1<<6

func genAVX2Kernel(r int, strided bool) {
	layout, kind := "row", "R"
	if strided {
		layout, kind = "step", "S"
	}
	name := fmt.Sprintf("gemmBF16AVX2%s%dx16", kind, r)
	TEXT(name, NOSPLIT, "func(kq int, a *uint16, lda int, b *uint16, c *float32, ldc int, load int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s accumulates a %d×16 tile of C over kq steps of two depths (AVX2+FMA):", name, r),
		fmt.Sprintf("A is stored %s by %s (lda elements apart), b is the micro-panel's half: 16 pairs per", layout, layout),
		"step, steps 128 bytes apart. The accumulators start at C when load is not 0, at zero otherwise.")
	kq := Load(Param("kq"), GP64())
	a := Load(Param("a"), GP64())
	ld := Load(Param("lda"), GP64())
	SHLQ(U8(1), ld) // bytes
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)

	csr := AllocLocal(8)
	Comment("MXCSR with DAZ and FTZ for the kernel's duration; the caller's value is restored at the end.")
	STMXCSR(csr)
	t := GP32()
	MOVL(csr, t)
	ORL(U32(mxcsrFlushBits), t)
	MOVL(t, csr.Offset(4))
	LDMXCSR(csr.Offset(4))

	// Registers: acc(i, v) = Y(2i+v) for rows i < r and the two 8-column
	// halves v; B's widened values in Y8…Y11; the mask in Y12; the row's
	// broadcast pair and its two halves in Y13…Y15.
	yr := func(i int) VecPhysical {
		return [...]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
	}
	acc := func(i, v int) VecPhysical { return yr(2*i + v) }
	bOdd := [2]VecPhysical{Y8, Y9}
	bEven := [2]VecPhysical{Y10, Y11}
	mask, pair, aOdd, aEven := Y12, Y13, Y14, Y15

	MOVL(U32(0xffff0000), t)
	MOVD(t, mask.AsX())
	VPBROADCASTD(mask.AsX(), mask)

	// rowAt returns the address of row i's pair of the current step.
	var rowPtrs []Register
	if !strided {
		rowPtrs = append(rowPtrs, a)
		for i := 1; i < r; i++ {
			p := GP64()
			LEAQ(Mem{Base: rowPtrs[i-1], Index: ld, Scale: 1}, p)
			rowPtrs = append(rowPtrs, p)
		}
	}
	rowAt := func(i int) Mem {
		if strided {
			return Mem{Base: a, Disp: 4 * i}
		}
		return Mem{Base: rowPtrs[i]}
	}

	Comment("Start the accumulators from C (load != 0) or from zero.")
	load := Load(Param("load"), GP64())
	TESTQ(load, load)
	JZ(LabelRef("zero"))
	{
		p := GP64()
		MOVQ(c, p)
		for i := 0; i < r; i++ {
			VMOVUPS(Mem{Base: p}, acc(i, 0))
			VMOVUPS(Mem{Base: p, Disp: 32}, acc(i, 1))
			if i != r-1 {
				ADDQ(ldc, p)
			}
		}
	}
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
	for v := 0; v < 2; v++ {
		VMOVDQU(Mem{Base: b, Disp: 32 * v}, bEven[v])
		VPAND(mask, bEven[v], bOdd[v])
		VPSLLD(U8(16), bEven[v], bEven[v])
	}
	for i := 0; i < r; i++ {
		VPBROADCASTD(rowAt(i), pair)
		VPAND(mask, pair, aOdd)
		VPSLLD(U8(16), pair, aEven)
		VFMADD231PS(bOdd[0], aOdd, acc(i, 0))
		VFMADD231PS(bOdd[1], aOdd, acc(i, 1))
		VFMADD231PS(bEven[0], aEven, acc(i, 0))
		VFMADD231PS(bEven[1], aEven, acc(i, 1))
	}
	if strided {
		ADDQ(ld, a)
	} else {
		for _, p := range rowPtrs {
			ADDQ(U8(4), p)
		}
	}
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
	LDMXCSR(csr)
	VZEROUPPER()
	RET()
}
