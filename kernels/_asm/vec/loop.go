package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// lanes is the number of float32 lanes in a ZMM register.
const lanes = 16

// block is the position of one vector block inside forEach's loop: the
// element index register, the unroll slot j (the j-th block past the index)
// and, for the final partial block, the opmask of its valid lanes. Blocks are
// 16 lanes (ZMM) unless ymm is set (8 lanes, for the AVX2 kernels).
type block struct {
	i   GPVirtual
	j   int
	k   Op // nil for full blocks
	ymm bool
}

// width is the block's number of float32 lanes.
func (b block) width() int {
	if b.ymm {
		return lanes / 2
	}
	return lanes
}

// reg returns a new vector register of the block's width.
func (b block) reg() VecVirtual {
	if b.ymm {
		return YMM()
	}
	return ZMM()
}

// mem addresses this block in an array whose elements are size bytes wide.
func (b block) mem(p Register, size int) Mem {
	return Mem{Base: p, Index: b.i, Scale: uint8(size), Disp: b.j * b.width() * size}
}

// operand returns the block of float32s at p as an instruction's source:
// a memory operand for a full block, a masked load for the last one.
func (b block) operand(p Register) Op {
	if b.k == nil {
		return b.mem(p, 4)
	}
	return b.load(p)
}

// load reads one block of float32s from p; masked-off lanes read as zero.
func (b block) load(p Register) VecVirtual {
	z := b.reg()
	if b.k == nil {
		VMOVUPS(b.mem(p, 4), z)
	} else {
		VMOVUPS_Z(b.mem(p, 4), b.k, z)
	}
	return z
}

// store writes the valid lanes of z to p.
func (b block) store(z Op, p Register) {
	if b.k == nil {
		VMOVUPS(z, b.mem(p, 4))
	} else {
		VMOVUPS(z, b.k, b.mem(p, 4))
	}
}

// accumulate adds z into acc, leaving acc's masked-off lanes untouched.
func (b block) accumulate(acc, z Op) {
	if b.k == nil {
		VADDPS(z, acc, acc)
	} else {
		VADDPS(z, acc, b.k, acc)
	}
}

// fma accumulates x·y into acc on the valid lanes.
func (b block) fma(acc, x, y Op) {
	if b.k == nil {
		VFMADD231PS(y, x, acc)
	} else {
		VFMADD231PS(y, x, b.k, acc)
	}
}

var labelSeq int

// forEach emits a loop over n elements: blocks of unroll·16 elements, then
// single 16-element blocks, then one masked block for the rest. body emits the
// work for one block and is called once per unroll slot and once for each of
// the two remainder stages.
func forEach(n GPVirtual, unroll int, body func(b block)) {
	forEachWidth(false, n, unroll, body)
}

// forEach256 is forEach with 8-lane YMM blocks and no masked tail: n must be
// a multiple of 8 (the Go wrappers finish the rest).
func forEach256(n GPVirtual, unroll int, body func(b block)) {
	forEachWidth(true, n, unroll, body)
}

// forEachGroup is forEach whose body is handed the unroll blocks of an
// iteration together (one block in the remainder stages), so that it can
// interleave their computations (see expN).
func forEachGroup(n GPVirtual, unroll int, body func(bs []block)) {
	forEachGroupWidth(false, n, unroll, body)
}

// forEachGroup256 is forEachGroup with 8-lane YMM blocks and no masked tail.
func forEachGroup256(n GPVirtual, unroll int, body func(bs []block)) {
	forEachGroupWidth(true, n, unroll, body)
}

func forEachWidth(ymm bool, n GPVirtual, unroll int, body func(b block)) {
	forEachGroupWidth(ymm, n, unroll, func(bs []block) {
		for _, b := range bs {
			body(b)
		}
	})
}

func forEachGroupWidth(ymm bool, n GPVirtual, unroll int, body func(bs []block)) {
	lanes := lanes
	if ymm {
		lanes /= 2
	}
	labelSeq++
	lbl := func(s string) string { return fmt.Sprintf("%s%d", s, labelSeq) }
	i := GP64()
	XORQ(i, i)
	if unroll > 1 {
		Label(lbl("unrolled"))
		next := GP64()
		LEAQ(Mem{Base: i, Disp: unroll * lanes}, next)
		CMPQ(next, n)
		JGT(LabelRef(lbl("single")))
		bs := make([]block, unroll)
		for j := range bs {
			bs[j] = block{i: i, j: j, ymm: ymm}
		}
		body(bs)
		MOVQ(next, i)
		JMP(LabelRef(lbl("unrolled")))
	}
	Label(lbl("single"))
	next := GP64()
	LEAQ(Mem{Base: i, Disp: lanes}, next)
	CMPQ(next, n)
	JGT(LabelRef(lbl("tail")))
	body([]block{{i: i, ymm: ymm}})
	MOVQ(next, i)
	JMP(LabelRef(lbl("single")))

	Label(lbl("tail"))
	if ymm {
		return
	}
	rest := GP64()
	MOVQ(n, rest)
	SUBQ(i, rest)
	JZ(LabelRef(lbl("done")))
	bits := GP32()
	MOVL(U32(0xffffffff), bits)
	BZHIL(rest.As32(), bits, bits)
	k := K()
	KMOVW(bits, k)
	body([]block{{i: i, k: k}})
	Label(lbl("done"))
}

// width is the vector width a generator emits a kernel for: ZMM (AVX-512,
// 16 lanes, a masked last block) or YMM (AVX2, 8 lanes, n a multiple of 8).
type width struct{ ymm bool }

var zmmWidth, ymmWidth = width{false}, width{true}

// suffix is the kernel name suffix: "512" or "256".
func (w width) suffix() string {
	if w.ymm {
		return "256"
	}
	return "512"
}

// over describes the element count in a kernel's doc comment.
func (w width) over() string {
	if w.ymm {
		return "over n elements, n a multiple of 8"
	}
	return "over n elements"
}

// param broadcasts the float32 parameter name to a register of the width.
func (w width) param(name string) VecVirtual {
	if w.ymm {
		return paramY(name)
	}
	return param(name)
}

// zeros returns count zeroed registers of the width.
func (w width) zeros(count int) []VecVirtual {
	if w.ymm {
		return zerosY(count)
	}
	return zeros(count)
}

// forEach is forEach or forEach256.
func (w width) forEach(n GPVirtual, unroll int, body func(b block)) {
	forEachWidth(w.ymm, n, unroll, body)
}

// broadcast returns a ZMM register holding f in every lane.
func broadcast(f float32) VecVirtual {
	return broadcastBits(math.Float32bits(f))
}

// broadcastBits returns a ZMM register holding the 32-bit pattern u in every
// lane.
func broadcastBits(u uint32) VecVirtual {
	r := GP32()
	MOVL(U32(u), r)
	z := ZMM()
	VPBROADCASTD(r, z)
	return z
}

// param broadcasts the float32 parameter name to a ZMM register, straight
// from memory. (avo's Load would use the legacy-SSE MOVSS; the kernels use
// VEX/EVEX encodings only, which never pay an SSE/AVX transition penalty.)
func param(name string) VecVirtual {
	z := ZMM()
	VBROADCASTSS(addr(Param(name)), z)
	return z
}

// addr returns the stack address of an argument or result.
func addr(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// ptr loads the pointer parameter name.
func ptr(name string) GPVirtual {
	return Load(Param(name), GP64()).(GPVirtual)
}

// length loads the int parameter n.
func length() GPVirtual {
	return Load(Param("n"), GP64()).(GPVirtual)
}

// zeros returns count zeroed ZMM registers.
func zeros(count int) []VecVirtual {
	zs := make([]VecVirtual, count)
	for j := range zs {
		zs[j] = ZMM()
		VPXORD(zs[j], zs[j], zs[j])
	}
	return zs
}

// zerosY returns count zeroed YMM registers.
func zerosY(count int) []VecVirtual {
	zs := make([]VecVirtual, count)
	for j := range zs {
		zs[j] = YMM()
		VXORPS(zs[j], zs[j], zs[j])
	}
	return zs
}

// reduce folds the lanes of accs into one scalar with op (VADDPS or VMAXPS)
// and stores it as return value ret.
func reduce(accs []VecVirtual, op func(...Op), ret int) {
	for len(accs) > 1 {
		var next []VecVirtual
		for j := 0; j+1 < len(accs); j += 2 {
			op(accs[j+1], accs[j], accs[j])
			next = append(next, accs[j])
		}
		if len(accs)%2 == 1 {
			next = append(next, accs[len(accs)-1])
		}
		accs = next
	}
	y := accs[0]
	if y.Size() == 64 {
		z := y
		y = YMM()
		VEXTRACTF32X8(U8(1), z, y)
		op(y, z.AsY(), y)
	}
	x := XMM()
	VEXTRACTF128(U8(1), y, x)
	op(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	op(t, x, x)
	VMOVSHDUP(x, t)
	op(t, x, x)
	VMOVSS(x, addr(ReturnIndex(ret)))
}

func vaddps(ops ...Op) { VADDPS(ops...) }
func vmaxps(ops ...Op) { VMAXPS(ops...) }

// fresh returns a copy of z in a new register.
func fresh(z Op) VecVirtual {
	c := ZMM()
	VMOVAPS(z, c)
	return c
}

// fn starts the assembly function name with the given Go signature. The
// kernels neither keep nor leak their pointers, so they are //go:noescape.
func fn(name, signature string) {
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
}

// ret returns from a kernel, first clearing the upper halves of the vector
// registers so the SSE code Go compiles to pays no transition penalty.
func ret() {
	VZEROUPPER()
	RET()
}

// paramY loads the float32 parameter name and broadcasts it to a YMM
// register.
func paramY(name string) VecVirtual {
	y := YMM()
	VBROADCASTSS(addr(Param(name)), y)
	return y
}
