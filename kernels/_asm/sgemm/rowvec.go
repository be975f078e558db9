package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// rowSpec describes one row-panel kernel
//
//	func name(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, kpf, pfdist int)
//
// computing rows×nr of C = alpha·A·B + beta·C, where A is rows rows of k
// values with stride lda (plain, unpacked) and B is one nr-wide packed
// micro-panel of a kernels.PackedB: k steps of nr contiguous values. It is
// the row-vector path of SgemmPacked (kernels/packed_row.go): decoding at
// batch 1 multiplies one row by every panel of each weight matrix, so the
// panels are read once, straight from memory, and the kernel must keep that
// stream at memory bandwidth rather than at FMA latency.
//
// So the k loop is unrolled into independent accumulators (unroll steps ×
// rows × nr/lanes registers, summed at the end: at least eight chains, two
// FMAs a cycle of four-cycle latency), each row's A value is broadcast once a
// step, and every step of the first kpf prefetches (PREFETCHT1) its nr·4
// bytes of B pfdist bytes ahead. A packed matrix's panels follow each other
// in memory, so the prefetches of one panel fetch the start of the next; the
// caller passes kpf < k on a worker's last panel, so as not to fetch panels
// another worker will read.
type rowSpec struct {
	rows   int
	nr     int
	lanes  int // 16 (ZMM, AVX-512) or 8 (YMM, AVX2+FMA)
	unroll int // k steps per loop iteration, each with its own accumulators
}

func (s rowSpec) name() string { return fmt.Sprintf("sgemvRows%dx%d", s.rows, s.nr) }

// rowSpecs are the generated row-panel kernels: 1…4 rows against the 32-wide
// panels of the AVX-512 variant and the 16-wide ones of the AVX2 variant.
// Unrolls give 8 (12 for three rows) accumulators.
var rowSpecs = []rowSpec{
	{rows: 1, nr: 32, lanes: 16, unroll: 4},
	{rows: 2, nr: 32, lanes: 16, unroll: 2},
	{rows: 3, nr: 32, lanes: 16, unroll: 2},
	{rows: 4, nr: 32, lanes: 16, unroll: 1},
	{rows: 1, nr: 16, lanes: 8, unroll: 4},
	{rows: 2, nr: 16, lanes: 8, unroll: 2},
	{rows: 3, nr: 16, lanes: 8, unroll: 2},
	{rows: 4, nr: 16, lanes: 8, unroll: 1},
}

func genRowKernels() {
	for _, s := range rowSpecs {
		genRowKernel(s)
	}
}

func genRowKernel(s rowSpec) {
	nv := s.nr / s.lanes
	vbytes := 4 * s.lanes
	step := 4 * s.nr // bytes of B per k step
	ks := s.kernelSpec()
	nacc := s.unroll * s.rows * nv
	// Registers: the accumulators, then nv for B (rows > 1), then the
	// broadcasts.
	breg := func(v int) VecPhysical { return ks.vreg(nacc + v) }
	bcast := func(i int) VecPhysical { return ks.vreg(nacc + nv + i%2) }
	if nacc+nv+2 > 16*s.lanes/8 {
		panic("sgemm: too many registers for " + s.name())
	}
	acc := func(u, i, v int) VecPhysical { return ks.vreg((u*s.rows+i)*nv + v) }

	TEXT(s.name(), NOSPLIT, "func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, kpf, pfdist int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes the %d×%d block C = alpha·A·B + beta·C: A holds %d row(s) of k values", s.name(), s.rows, s.nr, s.rows),
		fmt.Sprintf("with stride lda, b one packed micro-panel of k steps of %d values, and C has row stride", s.nr),
		"ldc; C is not read when beta is 0. Each of the first kpf steps (kpf <= k) prefetches",
		"its B values pfdist bytes ahead into L2.")
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	b := Load(Param("b"), GP64())
	kpf := Load(Param("kpf"), GP64())
	pf := Load(Param("pfdist"), GP64())
	ADDQ(b, pf)
	var a3 GPVirtual
	if s.rows > 3 {
		a3 = GP64()
		LEAQ(Mem{Base: a, Index: lda, Scale: 2}, a3)
		ADDQ(lda, a3)
	}
	aRow := func(i, disp int) Mem {
		switch i {
		case 0:
			return Mem{Base: a, Disp: disp}
		case 3:
			return Mem{Base: a3, Disp: disp}
		}
		return Mem{Base: a, Index: lda, Scale: uint8(i), Disp: disp}
	}

	Comment("Zero the accumulators.")
	for r := 0; r < nacc; r++ {
		if s.lanes == 16 {
			VPXORD(ks.vreg(r), ks.vreg(r), ks.vreg(r))
		} else {
			VXORPS(ks.vreg(r), ks.vreg(r), ks.vreg(r))
		}
	}

	// body emits steps k steps (u = 0…steps-1 into accumulator set u),
	// prefetching when asked, and advances a, b (and pf).
	body := func(steps int, prefetch bool) {
		for u := 0; u < steps; u++ {
			if prefetch {
				for l := 0; l < step; l += 64 {
					PREFETCHT1(Mem{Base: pf, Disp: u*step + l})
				}
			}
			bsrc := func(v int) Op { return Mem{Base: b, Disp: u*step + v*vbytes} }
			if s.rows > 1 {
				for v := 0; v < nv; v++ {
					VMOVUPS(bsrc(v), breg(v))
				}
				bsrc = func(v int) Op { return breg(v) }
			}
			for i := 0; i < s.rows; i++ {
				bc := bcast(i)
				VBROADCASTSS(aRow(i, 4*u), bc)
				for v := 0; v < nv; v++ {
					VFMADD231PS(bsrc(v), bc, acc(u, i, v))
				}
			}
		}
		ADDQ(U32(4*steps), a)
		if s.rows > 3 {
			ADDQ(U32(4*steps), a3)
		}
		ADDQ(U32(steps*step), b)
		if prefetch {
			ADDQ(U32(steps*step), pf)
		}
	}

	Comment(fmt.Sprintf("Steps with prefetch, %d per iteration: kpf/%d iterations.", s.unroll, s.unroll))
	n := GP64()
	MOVQ(kpf, n)
	SHRQ(U8(bitsOf(s.unroll)), n)
	plain := GP64()
	MOVQ(k, plain)
	SHRQ(U8(bitsOf(s.unroll)), plain)
	SUBQ(n, plain)
	TESTQ(n, n)
	JZ(LabelRef("plain"))
	Label("pfloop")
	body(s.unroll, true)
	DECQ(n)
	JNZ(LabelRef("pfloop"))

	Label("plain")
	Comment("The remaining whole iterations, without prefetch.")
	TESTQ(plain, plain)
	JZ(LabelRef("tail"))
	Label("plainloop")
	body(s.unroll, false)
	DECQ(plain)
	JNZ(LabelRef("plainloop"))

	Label("tail")
	if s.unroll > 1 {
		ANDQ(U8(s.unroll-1), k)
		JZ(LabelRef("sum"))
		Label("tailloop")
		body(1, false)
		DECQ(k)
		JNZ(LabelRef("tailloop"))
	}

	Label("sum")
	Comment("Add up the accumulator sets into set 0.")
	for u := 1; u < s.unroll; u++ {
		for i := 0; i < s.rows; i++ {
			for v := 0; v < nv; v++ {
				VADDPS(acc(u, i, v), acc(0, i, v), acc(0, i, v))
			}
		}
	}

	Comment("Scale by alpha and merge into C; C is read only when beta != 0.")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	alpha, beta := bcast(0), bcast(1)
	VBROADCASTSS(addr(Param("alpha")), alpha)
	VBROADCASTSS(addr(Param("beta")), beta)
	// beta is ±0 exactly when its bits shifted left by one are all zero.
	bits := GP32()
	MOVL(addr(Param("beta")), bits)
	SHLL(U8(1), bits)
	JNZ(LabelRef("merge"))
	for i := 0; i < s.rows; i++ {
		for v := 0; v < nv; v++ {
			VMULPS(alpha, acc(0, i, v), acc(0, i, v))
			VMOVUPS(acc(0, i, v), Mem{Base: c, Disp: v * vbytes})
		}
		if i != s.rows-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()

	Label("merge")
	for i := 0; i < s.rows; i++ {
		for v := 0; v < nv; v++ {
			VMULPS(alpha, acc(0, i, v), acc(0, i, v))
			VFMADD231PS(Mem{Base: c, Disp: v * vbytes}, beta, acc(0, i, v))
			VMOVUPS(acc(0, i, v), Mem{Base: c, Disp: v * vbytes})
		}
		if i != s.rows-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// kernelSpec returns a kernelSpec of the same vector width, for its
// register naming.
func (s rowSpec) kernelSpec() kernelSpec { return kernelSpec{lanes: s.lanes} }
