package kernels

import (
	"fmt"
	"os"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, like
// BLAS's cblas_sgemm with CblasRowMajor.
//
// op(A) is m×k: when transA is false A holds m rows of k values with row
// stride lda (lda >= k); when true A holds k rows of m values (lda >= m) and is
// read transposed. op(B) is k×n likewise with ldb. C holds m rows of n values
// with row stride ldc (ldc >= n). When beta is 0, C is not read (NaNs in it do
// not propagate). C must not alias A or B.
//
// Large products run the cache-blocked, packed algorithm of sgemm_blocked.go
// on a register-blocked microkernel chosen for the CPU (AVX-512, AVX2+FMA, or
// portable Go) and spread over Threads() workers; products with very few rows
// or columns (matrix-vector shapes such as decoding at batch 1) stream the
// large operand once without packing it. Sgemm panics if a dimension is
// negative, a stride is too small, or a slice is too short for its matrix.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is Sgemm, skipping the work tri allows where the product takes the
// tiled path of a variant without row kernels (nil: none).
func sgemm(tri *Triangle, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		return
	}
	impl := sgemmImpl.forProduct(m, n, k)
	if impl.skinny != nil && impl.skinny(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	if impl.row != nil || tri != nil && !tri.LowerC && !tri.ALower && !tri.AUpper {
		tri = nil // the AMX row kernels take whole rows of tiles
	}
	sgemmRun(impl, tri, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, nil)
}

// SgemmGeneric is the portable reference for Sgemm, with the same contract.
func SgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if transB {
				for j := range row {
					row[j] += av * b[j*ldb+p]
				}
			} else {
				brow := b[p*ldb : p*ldb+n]
				for j, bv := range brow {
					row[j] += av * bv
				}
			}
		}
	}
}

// checkSgemm panics unless the arguments describe matrices that fit their
// slices; the assembly kernels rely on it.
func checkSgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k // rows and columns of A as stored
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", m, n, c, ldc)
}

func checkMatrix(name string, rows, cols int, s []float32, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("kernels: Sgemm: stride of %s is %d, want >= %d", name, ld, max(cols, 1)))
	}
	if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: Sgemm: %s has %d elements, want >= %d for %d×%d with stride %d",
			name, len(s), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// scaleMatrix computes C = beta·C for an m×n matrix, without reading C when
// beta is 0.
func scaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// sgemmKernels is one variant of the Sgemm machinery: a microkernel with its
// tile shape and, optionally, a path for skinny products.
type sgemmKernels struct {
	name   string
	mr, nr int // the microkernel's tile of C
	kc, mc int // depth of the packed blocks and rows of a packed A block
	nc     int // columns of a packed B block, a multiple of nr; 0 means sgemmNC
	// micro computes the mr×nr tile C = alpha·A·B + beta·C from kc steps of
	// packed A (mr values a step) and packed B (nr values a step); c has row
	// stride ldc. C is not read when beta is 0.
	micro func(kc int, a, b, c []float32, ldc int, alpha, beta float32)
	// micropf, when not nil, is micro that also prefetches into L2 lines
	// (1 or 2) cache lines a step from pf onwards: for a pre-packed B, which
	// comes from memory, the tiles of one packed micro-panel fetch the next.
	micropf func(lines, kc int, a, b, c []float32, ldc int, alpha, beta float32, pf *float32)
	// microU, when not nil, is micro reading A unpacked: mr rows of a
	// row-major op(A) with row stride lda, starting at a.
	microU func(kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32)
	// microT, when not nil, is micro reading a transposed op(A) in place:
	// step p's mr values are a[p·lda : p·lda+mr].
	microT func(kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32)
	// edge, when not nil, is micro for the first h < mr rows of the tile
	// (same packed panels); the tile is then h×nr.
	edge func(h, kc int, a, b, c []float32, ldc int, alpha, beta float32)
	// packRows, when not nil, replaces packA (same arguments but mr).
	packRows func(dst, a []float32, lda int, transA bool, i0, mc, p0, kc int)
	// packCols, when not nil, replaces packB (same arguments but nr), and
	// when sums is not nil adds to sums[j] the sum of op(B) column j over
	// the kc rows, for every column j the micro-panels [lo, hi) hold.
	packCols func(dst, b []float32, ldb int, transB bool, p0, kc, j0, nc, lo, hi int, sums []float32)
	// skinny handles matrix-vector-like shapes without packing and reports
	// whether it did; nil when the variant has none.
	skinny func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool
	// row, when not nil, runs micro with alpha 1 and beta 0 (or 1, with
	// accumulate) over panels consecutive whole B micro-panels bstride
	// elements apart: the 32 × nr·panels block of C at c.
	row func(kc int, a, b []float32, bstride, panels int, c []float32, ldc int, accumulate bool)
	// panel, when not nil, is the number of float32 slots one packed
	// micro-panel of depth kc takes (A's and B's alike); else mr·kc for A
	// and nr·kc for B.
	panel func(kc int) int
	// vector, when not nil, is the variant that does what this one cannot:
	// products too small for its tiles and weights packed in advance
	// (PackB). The AMX variant has one; the others do it all themselves.
	vector *sgemmKernels
	// minWork and minDim are the size m·n·k and the m or n below which a
	// product goes to vector.
	minWork, minDim int
	// amx marks the AMX variant, which GLOSSA_AMX=0 in the environment
	// keeps Sgemm from using (tests still run it).
	amx bool
}

// blockCols returns the columns of a packed B block.
func (v *sgemmKernels) blockCols() int {
	if v.nc > 0 {
		return v.nc
	}
	return sgemmNC
}

// panelA returns the float32 slots of a packed A micro-panel of depth kc.
func (v *sgemmKernels) panelA(kc int) int {
	if v.panel != nil {
		return v.panel(kc)
	}
	return v.mr * kc
}

// panelB returns the float32 slots of a packed B micro-panel of depth kc.
func (v *sgemmKernels) panelB(kc int) int {
	if v.panel != nil {
		return v.panel(kc)
	}
	return v.nr * kc
}

// forProduct returns the variant that computes an m×n×k product: v, or
// v.vector when the product is too small for v's tiles.
func (v *sgemmKernels) forProduct(m, n, k int) *sgemmKernels {
	if v.vector != nil && (m < v.minDim || n < v.minDim || m*n*k < v.minWork) {
		return v.vector
	}
	return v
}

// packing returns the variant whose packed layout PackB uses.
func (v *sgemmKernels) packing() *sgemmKernels {
	if v.vector != nil {
		return v.vector
	}
	return v
}

// sgemmGenericKernels is the portable variant: the blocked algorithm around a
// 4×4 Go microkernel.
var sgemmGenericKernels = &sgemmKernels{name: "generic", mr: 4, nr: 4, kc: 256, mc: 256, micro: sgemmMicroGeneric}

// sgemmImpl is the variant Sgemm uses, chosen at start-up from CPU().
var sgemmImpl = defaultSgemmVariant(sgemmVariants(), os.Getenv("GLOSSA_AMX") != "0")

// defaultSgemmVariant returns the first of vs, skipping the AMX variant
// unless amx is set.
func defaultSgemmVariant(vs []*sgemmKernels, amx bool) *sgemmKernels {
	for _, v := range vs {
		if amx || !v.amx {
			return v
		}
	}
	return vs[len(vs)-1]
}

// sgemmVariants lists the variants this CPU can run, best first; the portable
// one is always last.
func sgemmVariants() []*sgemmKernels {
	return append(sgemmAsmVariants(CPU()), sgemmGenericKernels)
}

// useSgemmVariant makes Sgemm use the named variant until the returned restore
// function is called; ok is false (and nothing changes) when this CPU cannot
// run it. It exists for tests and benchmarks, which must not call Sgemm
// concurrently with it.
func useSgemmVariant(name string) (restore func(), ok bool) {
	for _, v := range sgemmVariants() {
		if v.name == name {
			old := sgemmImpl
			sgemmImpl = v
			return func() { sgemmImpl = old }, true
		}
	}
	return func() {}, false
}

// sgemmMicroGeneric is the portable 4×4 microkernel.
func sgemmMicroGeneric(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	a = a[:4*kc]
	b = b[:4*kc]
	for p := 0; p < kc; p++ {
		ap := a[4*p : 4*p+4 : 4*p+4]
		bp := b[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	tile := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := range tile {
		row := c[i*ldc : i*ldc+4]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * tile[i][j]
			}
		} else {
			for j := range row {
				row[j] = alpha*tile[i][j] + beta*row[j]
			}
		}
	}
}
