package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AMX microkernel: a float32 product computed on Intel AMX tiles.
//
// AMX multiplies bfloat16 tiles (TDPBF16PS: a 16×32 bf16 tile times a 32×16
// one, pairs of products accumulated into a 16×16 float32 tile, each step
// rounded like an FMA) at sixteen times the float32 FMA rate of AVX-512. The
// kernel keeps float32 accuracy by splitting every value x into three
// bfloat16 values, x = x₀ + x₁ + x₂ exactly (each takes the next 8 bits of
// the 24-bit significand, rounded to nearest), and summing the six products
// whose weight is at least 2⁻¹⁸ relative to |a·b|:
//
//	a·b ≈ a₀b₀ + (a₀b₁ + a₁b₀) + (a₀b₂ + a₁b₁ + a₂b₀)
//
// Every one of those products is exact in float32 (8 × 8 significant bits);
// the three dropped ones (a₁b₂, a₂b₁, a₂b₂) are below 2⁻²⁶·|a·b| together,
// a quarter of float32's rounding unit. That is the "bf16x6" emulation of
// float32 matrix products (the scheme cuBLAS and oneDNN call BF16x6/x9).
//
// Packed layout (made by kernels.packRowsTile and kernels.packColsTile):
// a micro-panel covers 32 rows of op(A) (or 32 columns of op(B)) and the
// depth in chunks of 32; a chunk holds, for each of the three parts, two 1 KiB
// tiles (rows 0–15 and 16–31 of A; columns 0–15 and 16–31 of B), 6 KiB in
// all. An A tile row is the 32 values of one row; a B tile row is one pair of
// depth steps, the two values of each of 16 columns side by side (the "VNNI"
// layout TDPBF16PS reads).
//
// Neither avo nor the Go assembler knows the AMX instructions, so they are
// emitted as bytes by the small encoder below, with fixed registers. Tile
// state is per thread and a goroutine may move between threads between two
// calls, so each call loads the tile configuration and releases the tiles
// before it returns; an assembly function is never preempted in the middle.
const (
	amxTileBytes  = 1024              // one 16×64-byte tile
	amxPartBytes  = 2 * amxTileBytes  // the two tiles of one part of a chunk
	amxChunkBytes = 3 * amxPartBytes  // three parts
	amxAccRows    = 16                // rows of an accumulator tile
	amxCRowBytes  = 32 * 4            // a row of the 32×32 float32 scratch tile
	amxTileCfg    = "sgemmTileConfig" // the TILECFG data: 8 tiles of 16 rows × 64 bytes
)

// Registers the AMX kernel uses (fixed: the raw encodings name them).
var (
	amxChunks  = RCX
	amxA       = RSI
	amxB       = R8
	amxC       = R9
	amxLdc     = R10 // row stride of C in bytes
	amxMode    = R11 // a bool parameter: merge or accumulate
	amxScratch = R12
	amxStride  = RDX // row stride of packed tiles: 64 bytes
	amxC16     = RBX // C + 16 rows
)

// rawBytes appends an instruction given as machine code, with its assembly
// text as a comment.
func rawBytes(text string, code []byte) {
	Comment(text)
	for _, b := range code {
		Instruction(&ir.Instruction{Opcode: "BYTE", Operands: []Op{U8(b)}})
	}
}

// vex3 returns the three-byte VEX prefix for map 0F38 with the given
// inverted-extension bits, vvvv register and pp field (W = 0, L = 0).
func vex3(r, x, b bool, vvvv, pp byte) []byte {
	b1 := byte(0b00010) // map 0F38
	if !r {
		b1 |= 0x80
	}
	if !x {
		b1 |= 0x40
	}
	if !b {
		b1 |= 0x20
	}
	return []byte{0xc4, b1, (^vvvv&15)<<3 | pp}
}

// tileMem encodes a TILELOADD/TILESTORED-style memory access
// [base + disp + index·1] with tile register t in ModRM.reg.
func tileMem(pp, opcode byte, t int, base, index Physical, disp int32) []byte {
	bi, ii := byte(base.PhysicalIndex()), byte(index.PhysicalIndex())
	code := vex3(false, ii >= 8, bi >= 8, 0, pp)
	code = append(code, opcode)
	mod := byte(0b10) // disp32
	if disp == 0 && bi&7 != 5 {
		mod = 0
	}
	code = append(code, mod<<6|byte(t)<<3|0b100, (ii&7)<<3|bi&7)
	if mod == 0b10 {
		code = append(code, byte(disp), byte(disp>>8), byte(disp>>16), byte(disp>>24))
	}
	return code
}

func tileLoad(t int, base, index Physical, disp int32) {
	rawBytes(fmt.Sprintf("TILELOADD tmm%d, [%s + %d + %s]", t, base.Asm(), disp, index.Asm()), tileMem(0b11, 0x4b, t, base, index, disp))
}

func tileStore(t int, base, index Physical, disp int32) {
	rawBytes(fmt.Sprintf("TILESTORED [%s + %d + %s], tmm%d", base.Asm(), disp, index.Asm(), t), tileMem(0b10, 0x4b, t, base, index, disp))
}

func tileZero(t int) {
	rawBytes(fmt.Sprintf("TILEZERO tmm%d", t), []byte{0xc4, 0xe2, 0x7b, 0x49, 0xc0 | byte(t)<<3})
}

// tdpbf16ps accumulates tile a (16×32 bf16) times tile b (16 pairs × 16
// columns) into the float32 tile dst.
func tdpbf16ps(dst, a, b int) {
	code := vex3(false, false, false, byte(b), 0b10)
	code = append(code, 0x5c, 0xc0|byte(dst)<<3|byte(a))
	rawBytes(fmt.Sprintf("TDPBF16PS tmm%d, tmm%d, tmm%d", dst, a, b), code)
}

func ldtilecfg(base Physical) {
	if i := base.PhysicalIndex(); i&7 == 4 || i&7 == 5 || i >= 8 {
		panic("ldtilecfg: base needs no SIB, displacement or REX")
	}
	rawBytes(fmt.Sprintf("LDTILECFG [%s]", base.Asm()), []byte{0xc4, 0xe2, 0x78, 0x49, byte(base.PhysicalIndex())})
}

func tileRelease() { rawBytes("TILERELEASE", []byte{0xc4, 0xe2, 0x78, 0x49, 0xc0}) }

// amxCfgData is the TILECFG data, defined once by defineTileCfg.
var amxCfgData Mem

func defineTileCfg() {
	amxCfgData = GLOBL(amxTileCfg, RODATA|NOPTR)
	DATA(0, U8(1)) // palette 1
	for t := 0; t < 8; t++ {
		DATA(16+2*t, U16(64)) // bytes per row of tile t
	}
	for t := 0; t < 8; t++ {
		DATA(48+t, U8(amxAccRows)) // rows of tile t
	}
	DATA(56, U64(0)) // pad to 64 bytes
}

// genTileKernel emits
//
//	func sgemmTileKernel32x32(chunks int, a, b, c *float32, ldc int, alpha, beta float32, merge bool, scratch *float32)
//
// the microkernel for one tile: C = A·B stored straight, or with merge
// C = alpha·A·B + beta·C through a 32×32 scratch tile. (The row kernel,
// genTileRowKernel, covers the whole panels of alpha 1 and beta 0 or 1.)
func genTileKernel() {
	defineTileCfg()
	TEXT("sgemmTileKernel32x32", NOSPLIT, "func(chunks int, a, b, c *float32, ldc int, alpha, beta float32, merge bool, scratch *float32)")
	Pragma("noescape")
	Doc("sgemmTileKernel32x32 computes a 32×32 tile of C from AMX-packed micro-panels",
		"(chunks chunks of 32 depth steps each, every value split in three bfloat16",
		"parts; see kernels/_asm/sgemm/amx.go): C = A·B, or with merge C = alpha·A·B + beta·C",
		"through the 32×32 scratch tile (4 KiB), C not read when beta is 0. C has row",
		"stride ldc elements.")
	tileBegin()
	Load(Param("chunks"), amxChunks)
	Load(Param("a"), amxA)
	Load(Param("b"), amxB)
	tileZeroAcc()
	tileChunkLoop("tile_chunk")
	Load(Param("merge"), amxMode.As8())
	TESTB(amxMode.As8(), amxMode.As8())
	JNZ(LabelRef("tile_merge"))
	tileStoreC()
	tileRelease()
	RET()

	Label("tile_merge")
	Load(Param("scratch"), amxScratch)
	MOVQ(U32(amxCRowBytes), amxStride)
	tileStore(0, amxScratch, amxStride, 0)
	tileStore(1, amxScratch, amxStride, 64)
	tileStore(2, amxScratch, amxStride, amxAccRows*amxCRowBytes)
	tileStore(3, amxScratch, amxStride, amxAccRows*amxCRowBytes+64)
	tileRelease()
	alpha, beta := Z30, Z31
	VBROADCASTSS(addr(Param("alpha")), alpha)
	VBROADCASTSS(addr(Param("beta")), beta)
	MOVL(addr(Param("beta")), EAX)
	ANDL(U32(0x7fffffff), EAX)
	JZ(LabelRef("tile_beta0"))
	mergeRows(alpha, beta)
	Label("tile_beta0")
	mergeRows(alpha, nil)
}

// mergeRows writes C = alpha·scratch + beta·C over the 32 rows (beta nil:
// C = alpha·scratch, C not read) and returns.
func mergeRows(alpha VecPhysical, beta Op) {
	for i := 0; i < 32; i++ {
		for h, z := range []VecPhysical{Z0, Z1} {
			VMULPS(Mem{Base: amxScratch, Disp: i*amxCRowBytes + 64*h}, alpha, z)
			if beta != nil {
				VFMADD231PS(Mem{Base: amxC, Disp: 64 * h}, beta, z)
			}
			VMOVUPS(z, Mem{Base: amxC, Disp: 64 * h})
		}
		ADDQ(amxLdc, amxC)
	}
	VZEROUPPER()
	RET()
}

// tileBegin loads c and ldc (in bytes), the tile configuration (through
// amxA, free until the caller loads a) and the packed-tile stride, and
// points amxC16 at row 16 of C.
func tileBegin() {
	Load(Param("c"), amxC)
	Load(Param("ldc"), amxLdc)
	SHLQ(U8(2), amxLdc)
	LEAQ(amxCfgData, amxA)
	ldtilecfg(amxA)
	MOVQ(U32(64), amxStride)
	MOVQ(amxLdc, amxC16)
	SHLQ(U8(4), amxC16)
	ADDQ(amxC, amxC16)
}

// tileZeroAcc clears the four accumulator tiles.
func tileZeroAcc() {
	for t := 0; t < 4; t++ {
		tileZero(t)
	}
}

// tileLoadC loads the 32×32 block of C at amxC into the accumulators.
func tileLoadC() {
	tileLoad(0, amxC, amxLdc, 0)
	tileLoad(1, amxC, amxLdc, 64)
	tileLoad(2, amxC16, amxLdc, 0)
	tileLoad(3, amxC16, amxLdc, 64)
}

// tileStoreC stores the accumulators into the 32×32 block of C at amxC.
func tileStoreC() {
	tileStore(0, amxC, amxLdc, 0)
	tileStore(1, amxC, amxLdc, 64)
	tileStore(2, amxC16, amxLdc, 0)
	tileStore(3, amxC16, amxLdc, 64)
}

// tileChunkLoop runs the products of amxChunks chunks from amxA and amxB.
func tileChunkLoop(label string) {
	Label(label)
	tileChunkProducts()
	ADDQ(U32(amxChunkBytes), amxA)
	ADDQ(U32(amxChunkBytes), amxB)
	DECQ(amxChunks)
	JNZ(LabelRef(label))
}

// tileConsts are the vector constants of the bfloat16 split.
type tileConsts struct {
	one, round, hi, exp, quiet VecPhysical
}

// loadTileConsts broadcasts the split's constants into Z27–Z31.
func loadTileConsts() tileConsts {
	c := tileConsts{one: Z27, round: Z28, hi: Z29, exp: Z30, quiet: Z31}
	t := GP32()
	for _, kv := range []struct {
		z VecPhysical
		v uint32
	}{{c.one, 1}, {c.round, 0x7fff}, {c.hi, 0xffff0000}, {c.exp, 0x7f800000}, {c.quiet, 0x00400000}} {
		MOVL(U32(kv.v), t)
		VPBROADCASTD(t, kv.z)
	}
	return c
}

// roundBF16 rounds the float32 lanes of v to bfloat16, to nearest even, and
// leaves the result as float32 bits in out (low halves zero); t is scratch.
func (c tileConsts) roundBF16(v, t, out VecPhysical) {
	VPSRLD(U8(16), v, t)
	VPANDD(c.one, t, t)
	VPADDD(c.round, t, t)
	VPADDD(v, t, t)
	VPANDD(c.hi, t, out)
}

// split writes the three bfloat16 parts of the 16 floats in x to p[0..2],
// as float32 bits: x = p0 + p1 + p2 exactly, p0 and p1 rounded to nearest
// (p0 truncated where rounding would overflow), p2 the rest; a NaN stays a (quiet) NaN, and
// where p0 is not finite p1 = p2 = 0. t is scratch; x is clobbered; K3 and
// K4 are used.
func (c tileConsts) split(x, t VecPhysical, p [3]VecPhysical, k OpMask) {
	VCMPPS(U8(3), x, x, k) // unordered: NaN lanes
	VPORD(c.quiet, x, k, x)
	c.roundBF16(x, t, p[0])
	// A finite x that rounded to infinity keeps its truncation instead.
	VPANDD(c.exp, p[0], t)
	VPCMPUD(U8(0), c.exp, t, K3) // p0 not finite
	VPANDD(c.exp, x, t)
	VPCMPUD(U8(4), c.exp, t, K4) // x finite
	KANDW(K3, K4, K3)
	VPANDD(c.hi, x, K3, p[0])
	VPANDD(c.exp, p[0], t)
	VPCMPUD(U8(4), c.exp, t, k) // exponent not all ones: p0 finite
	VSUBPS_Z(p[0], x, k, x)     // x − p0, exact; 0 where p0 is not finite
	c.roundBF16(x, t, p[1])
	// What is left has at most 8 significant bits (p0 and p1 took 16 of
	// the 24), so it is a bfloat16 already, with low 16 bits zero — unless
	// it is subnormal, when the mask truncates it (AMX flushes it anyway).
	VSUBPS(p[1], x, x)
	VPANDD(c.hi, x, p[2])
}

// OpMask is an AVX-512 mask register operand.
type OpMask = Op

// genTilePack emits the packing kernels of the AMX layout for whole panels
// (32 rows or columns, depth chunks·32); the Go side pads partial ones:
//
//	func sgemmTilePackA(chunks int, a *float32, lda int, dst *float32)   op(A)[i, p] = a[i·lda + p]
//	func sgemmTilePackAT(chunks int, a *float32, lda int, dst *float32)  op(A)[i, p] = a[p·lda + i]
//	func sgemmTilePackB(chunks int, b *float32, ldb int, dst *float32)   op(B)[p, j] = b[p·ldb + j]
//	func sgemmTilePackBT(chunks int, b *float32, ldb int, dst *float32)  op(B)[p, j] = b[j·ldb + p]
//
// The transposed forms gather 16 values at a time (their Go callers check
// that 31·ld fits the gathers' 32-bit offsets).
func genTilePack() {
	// Word indices 1, 3, …, 63: VPERMT2W picks the upper halves of two
	// vectors' 32 dwords.
	oddWords := GLOBL("sgemmTileOddWords", RODATA|NOPTR)
	for j := 0; j < 32; j++ {
		DATA(2*j, U16(2*j+1))
	}
	for _, spec := range []struct {
		name    string
		b, tran bool
	}{{"sgemmTilePackA", false, false}, {"sgemmTilePackAT", false, true}, {"sgemmTilePackB", true, false}, {"sgemmTilePackBT", true, true}} {
		TEXT(spec.name, NOSPLIT, "func(chunks int, src *float32, ld int, dst *float32)")
		Pragma("noescape")
		what := "A"
		if spec.b {
			what = "B"
		}
		Doc(fmt.Sprintf("%s packs one 32-wide micro-panel of op(%s), depth chunks·32, into the", spec.name, what),
			"AMX layout of sgemmTileKernel32x32 (three bfloat16 parts per value; see",
			"kernels/_asm/sgemm/amx.go). ld is the source's row stride in elements.")
		chunks := Load(Param("chunks"), GP64())
		src := Load(Param("src"), GP64())
		ld := Load(Param("ld"), GP64())
		dst := Load(Param("dst"), GP64())
		SHLQ(U8(2), ld) // bytes
		c := loadTileConsts()
		idx := Z26
		wordIdx := Z25
		if !spec.b {
			VMOVDQU32(oddWords, wordIdx)
		}
		if spec.tran {
			// Offsets 0, ld, …, 15·ld (in elements: the gathers scale by 4).
			t := GP64()
			MOVQ(ld, t)
			SHRQ(U8(2), t)
			x := GP32()
			XORL(x, x)
			tmp := Mem{Base: dst} // scratch: the first 64 bytes of dst, overwritten later
			for i := 0; i < 16; i++ {
				MOVL(x, tmp.Offset(4*i))
				if i < 15 {
					ADDL(t.As32(), x)
				}
			}
			VMOVDQU32(tmp, idx)
		}
		// load16 loads 16 consecutive values of the source's contiguous
		// direction (or gathers them across rows) from base+disp.
		load16 := func(base Register, disp int, x VecPhysical) {
			if !spec.tran {
				VMOVUPS(Mem{Base: base, Disp: disp}, x)
				return
			}
			KXNORW(K2, K2, K2)
			VPXORD(x, x, x)
			VGATHERDPS(Mem{Base: base, Index: idx, Scale: 4, Disp: disp}, K2, x)
		}
		row := GP64()  // source pointer of the current row / column
		step := GP64() // source bytes between the 16 values of a load in the other direction
		out := GP64()
		n := GP64()
		x, t := Z0, Z1
		p := [3]VecPhysical{Z2, Z3, Z4}
		x2, t2 := Z5, Z6
		q := [3]VecPhysical{Z7, Z8, Z9}
		Label(spec.name + "_chunk")
		if !spec.b {
			// A: for each of the 32 rows i, the 32 values of the chunk; tile
			// row i%16 of tile i/16, parts 2 KiB apart.
			// Non-transposed: row i starts at src + i·ld, values contiguous.
			// Transposed: row i's values are src + i·4 + q·ld (gathered).
			MOVQ(src, row)
			MOVQ(dst, out)
			MOVQ(U32(32), n)
			Label(spec.name + "_row")
			if spec.tran {
				// values 0…15 at row, 16…31 sixteen source rows further
				load16(row, 0, x)
				MOVQ(ld, step)
				SHLQ(U8(4), step)
				ADDQ(row, step)
				load16(step, 0, x2)
			} else {
				load16(row, 0, x)
				load16(row, 64, x2)
				// The row's next chunk: read again only after the other 31
				// rows, by which time 32 streams have outrun the hardware
				// prefetchers.
				PREFETCHT0(Mem{Base: row, Disp: 128})
				PREFETCHT0(Mem{Base: row, Disp: 192})
			}
			c.split(x, t, p, K1)
			c.split(x2, t2, q, K1)
			for part := 0; part < 3; part++ {
				// The upper halves of the 32 dwords, in order: one tile row.
				VPERMT2W(q[part], wordIdx, p[part])
				VMOVDQU32(p[part], Mem{Base: out, Disp: part * amxPartBytes})
			}
			if spec.tran {
				ADDQ(U8(4), row)
			} else {
				ADDQ(ld, row)
			}
			ADDQ(U8(64), out)
			DECQ(n)
			JNZ(LabelRef(spec.name + "_row"))
			// 32 rows of 64 bytes fill tiles 0 and 1 of part 0 contiguously.
			ADDQ(U32(amxChunkBytes), dst)
			if spec.tran {
				// 32 depth steps further: 32 source rows.
				MOVQ(ld, step)
				SHLQ(U8(5), step)
				ADDQ(step, src)
			} else {
				ADDQ(U8(128), src)
			}
		} else {
			// B: for each pair rr of depth steps and each half h of the 32
			// columns, one 64-byte tile row: the two steps' values of 16
			// columns, interleaved.
			// Non-transposed: step p's values are contiguous at src + p·ld.
			// Transposed: column j's values are contiguous at src + j·ld;
			// step p of 16 columns is gathered from src + p·4 + j·ld.
			MOVQ(src, row)
			MOVQ(dst, out)
			MOVQ(U32(16), n)
			Label(spec.name + "_pair")
			for h := 0; h < 2; h++ {
				if spec.tran {
					base := row
					if h == 1 {
						MOVQ(ld, step)
						SHLQ(U8(4), step)
						ADDQ(row, step)
						base = step
					}
					load16(base, 0, x)
					load16(base, 4, x2)
				} else {
					load16(row, 64*h, x)
					MOVQ(row, step)
					ADDQ(ld, step)
					load16(step, 64*h, x2)
					// The same rows' next panel (the caller packs panels
					// left to right).
					PREFETCHT0(Mem{Base: row, Disp: 128 + 64*h})
					PREFETCHT0(Mem{Base: step, Disp: 128 + 64*h})
				}
				c.split(x, t, p, K1)
				c.split(x2, t2, q, K1)
				for part := 0; part < 3; part++ {
					VPSRLD(U8(16), p[part], p[part])
					VPORD(q[part], p[part], p[part])
					VMOVDQU32(p[part], Mem{Base: out, Disp: part*amxPartBytes + h*amxTileBytes})
				}
			}
			if spec.tran {
				ADDQ(U8(8), row)
			} else {
				ADDQ(ld, row)
				ADDQ(ld, row)
			}
			ADDQ(U8(64), out)
			DECQ(n)
			JNZ(LabelRef(spec.name + "_pair"))
			ADDQ(U32(amxChunkBytes), dst)
			if spec.tran {
				ADDQ(U8(128), src)
			} else {
				MOVQ(ld, step)
				SHLQ(U8(5), step)
				ADDQ(step, src)
			}
		}
		DECQ(chunks)
		JNZ(LabelRef(spec.name + "_chunk"))
		VZEROUPPER()
		RET()
	}
}

// tileChunkProducts emits the six part products of one chunk (A at amxA,
// B at amxB), smallest first, ordered so that each pair of tile loads is
// followed by four products: A tiles in tmm4/5, B tiles in tmm6/7,
// accumulators tmm0 (rows 0–15, columns 0–15), tmm1 (0–15, 16–31), tmm2
// (16–31, 0–15) and tmm3 (16–31, 16–31).
func tileChunkProducts() {
	loadA := func(part int) {
		tileLoad(4, amxA, amxStride, int32(part*amxPartBytes))
		tileLoad(5, amxA, amxStride, int32(part*amxPartBytes+amxTileBytes))
	}
	loadB := func(part int) {
		tileLoad(6, amxB, amxStride, int32(part*amxPartBytes))
		tileLoad(7, amxB, amxStride, int32(part*amxPartBytes+amxTileBytes))
	}
	products := func() {
		tdpbf16ps(0, 4, 6)
		tdpbf16ps(1, 4, 7)
		tdpbf16ps(2, 5, 6)
		tdpbf16ps(3, 5, 7)
	}
	loadA(2)
	loadB(0)
	products() // a₂b₀
	loadA(1)
	products() // a₁b₀
	loadB(1)
	products() // a₁b₁
	loadA(0)
	products() // a₀b₁
	loadB(2)
	products() // a₀b₂
	loadB(0)
	products() // a₀b₀
}

// genTileRowKernel emits
//
//	func sgemmTileRow32(chunks int, a, b *float32, bstride, panels int, c *float32, ldc int, accumulate bool)
//
// the microkernel run over a row of tiles: one A micro-panel against panels
// consecutive B micro-panels bstride bytes apart, C = A·B (or C += A·B with
// accumulate) for the 32 × 32·panels block at c. Loading the tile
// configuration once for the row, and keeping the A panel in L1 while the B
// panels stream, is what lets a shallow depth (kc = 128) run near the
// kernel's rate.
func genTileRowKernel() {
	TEXT("sgemmTileRow32", NOSPLIT, "func(chunks int, a, b *float32, bstride, panels int, c *float32, ldc int, accumulate bool)")
	Pragma("noescape")
	Doc("sgemmTileRow32 computes C = A·B, or C += A·B with accumulate, for one AMX-packed",
		"A micro-panel (chunks chunks of depth) against panels B micro-panels bstride bytes",
		"apart: a 32 × 32·panels block of C with row stride ldc elements.")
	aBase, bPanel, bstride, panels := RAX, RDI, R12, R13
	tileBegin()
	Load(Param("a"), aBase)
	Load(Param("b"), bPanel)
	Load(Param("bstride"), bstride)
	Load(Param("panels"), panels)
	Load(Param("accumulate"), amxMode.As8())

	Label("row_panel")
	TESTB(amxMode.As8(), amxMode.As8())
	JNZ(LabelRef("row_loadc"))
	tileZeroAcc()
	JMP(LabelRef("row_chunks"))
	Label("row_loadc")
	tileLoadC()
	Label("row_chunks")
	MOVQ(aBase, amxA)
	MOVQ(bPanel, amxB)
	Load(Param("chunks"), amxChunks)
	tileChunkLoop("row_chunk")
	tileStoreC()
	ADDQ(U8(128), amxC)
	ADDQ(U8(128), amxC16)
	ADDQ(bstride, bPanel)
	DECQ(panels)
	JNZ(LabelRef("row_panel"))
	tileRelease()
	RET()
}
