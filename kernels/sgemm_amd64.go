//go:build amd64 && !purego

package kernels

import "math"

//go:generate sh -c "cd _asm && go run ./sgemm -out ../sgemm_amd64.s -stubs ../sgemm_stubs_amd64.go -pkg kernels"

// sgemmAsmVariants returns the assembly variants the CPU f supports, best
// first.
func sgemmAsmVariants(f Features) []*sgemmKernels {
	var vs []*sgemmKernels
	if f.AVX512 {
		// A 14×32 tile keeps 28 ZMM accumulators; kc = 256 (measured best
		// of 256…512) keeps a 14 KiB A micro-panel in L1.
		v512 := &sgemmKernels{
			name: "avx512", mr: 14, nr: 32, kc: 256, mc: 252,
			micro:    sgemmMicro14x32,
			microU:   sgemmMicroU14x32,
			microT:   sgemmMicroT14x32,
			edge:     sgemmEdge14x32,
			micropf:  sgemmMicroPF14x32,
			packRows: packRows14,
			packCols: packCols32,
			skinny:   sgemmSkinny512,
		}
		if f.AMX {
			// float32 products on AMX tiles (bf16x6, see sgemm_tile.go):
			// a 32×32 tile of C in four tile registers.
			vs = append(vs, &sgemmKernels{
				name: "amx", mr: 32, nr: 32, kc: 128, mc: 64, nc: 2048,
				micro:    sgemmMicroTile,
				row:      sgemmRowTile,
				packRows: packRowsTile,
				packCols: packColsTile,
				panel:    tilePanel,
				vector:   v512,
				// Products below 2²⁸ multiply-adds (train-small's, attention's)
				// stay on the FMA kernels. In isolation the tiles beat them
				// from 2²⁵ (1.3–1.9× on train-small's 2048×384×128-type
				// products at one thread), but on the shared development VM
				// the AMX rate has slow phases (see docs/ARCHITECTURE.md)
				// where it falls below FMA's: with AMX from 2²⁵, train-small
				// at one thread measured 21k tokens/s in quiet phases and
				// 9.8k–14.8k in slow ones (0.97× PyTorch in one side-by-side
				// run), against FMA's 14.7k–18.3k the same hour; at two
				// threads it lost outright (20.2k against 25.3k).
				minWork: 1 << 28,
				minDim:  16,
				amx:     true,
			})
		}
		vs = append(vs, v512)
	}
	if f.AVX2FMA {
		vs = append(vs, &sgemmKernels{
			name: "avx2", mr: 6, nr: 16, kc: 256, mc: 504,
			micro: sgemmMicro6x16,
		})
	}
	return vs
}

// sgemmMicro14x32 is the AVX-512 microkernel behind sgemmKernels.micro.
func sgemmMicro14x32(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	_, _ = a[14*kc-1], b[32*kc-1]
	_ = c[13*ldc+31]
	sgemmKernel14x32(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

// sgemmMicroU14x32 is the AVX-512 microkernel reading A unpacked (the
// sgemmKernels.microU of the 14×32 variant).
func sgemmMicroU14x32(kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32) {
	_, _ = a[13*lda+kc-1], b[32*kc-1]
	_ = c[13*ldc+31]
	sgemmKernel14x32U(kc, &a[0], lda, &b[0], &c[0], ldc, alpha, beta)
}

// sgemmMicroT14x32 is the AVX-512 microkernel reading a transposed A in
// place (the sgemmKernels.microT of the 14×32 variant).
func sgemmMicroT14x32(kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32) {
	_, _ = a[(kc-1)*lda+13], b[32*kc-1]
	_ = c[13*ldc+31]
	sgemmKernel14x32T(kc, &a[0], lda, &b[0], &c[0], ldc, alpha, beta)
}

// sgemmMicroPF14x32 is sgemmMicro14x32 prefetching lines (1 or 2) cache
// lines a step from pf on, the sgemmKernels.micropf of the 14×32 variant.
// Prefetches do not fault, so pf needs no bounds.
func sgemmMicroPF14x32(lines, kc int, a, b, c []float32, ldc int, alpha, beta float32, pf *float32) {
	_, _ = a[14*kc-1], b[32*kc-1]
	_ = c[13*ldc+31]
	if lines == 1 {
		sgemmKernel14x32P1(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, pf)
	} else {
		sgemmKernel14x32P2(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, pf)
	}
}

// sgemmEdges14x32 are the h×32 AVX-512 kernels for h = 1…13, reading
// 14-high A panels.
var sgemmEdges14x32 = [...]func(k int, a, b, c *float32, ldc int, alpha, beta float32){
	nil, sgemmKernel1x32, sgemmKernel2x32, sgemmKernel3x32, sgemmKernel4x32, sgemmKernel5x32, sgemmKernel6x32,
	sgemmKernel7x32, sgemmKernel8x32, sgemmKernel9x32, sgemmKernel10x32, sgemmKernel11x32, sgemmKernel12x32,
	sgemmKernel13x32,
}

// sgemmEdge14x32 computes the first h rows (1 <= h < 14) of a 14×32 tile
// with the AVX-512 kernel of that height: the sgemmKernels.edge of the
// 14×32 variant.
func sgemmEdge14x32(h, kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	_, _ = a[14*kc-1], b[32*kc-1]
	_ = c[(h-1)*ldc+31]
	sgemmEdges14x32[h](kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

// sgemmMicro6x16 is the AVX2+FMA microkernel behind sgemmKernels.micro.
func sgemmMicro6x16(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	_, _ = a[6*kc-1], b[16*kc-1]
	_ = c[5*ldc+15]
	sgemmKernel6x16(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

// packRows14 is packA for 14-row micro-panels: a gather of each column when
// A is stored row-major, a masked vector copy of each row when it is
// transposed.
func packRows14(dst, a []float32, lda int, transA bool, i0, mc, p0, kc int) {
	if transA {
		for t := 0; t*14 < mc; t++ {
			i := i0 + t*14
			h := min(14, i0+mc-i)
			d := dst[t*14*kc : (t+1)*14*kc]
			_ = a[(p0+kc-1)*lda+i+h-1] // the last element read
			sgemmPackAT14(kc, &a[p0*lda+i], lda, h, &d[0])
		}
		return
	}
	if 13*lda > math.MaxInt32 {
		packA(dst, a, lda, false, i0, mc, p0, kc, 14)
		return
	}
	var idx [16]int32
	for i := range idx {
		idx[i] = int32(i * lda)
	}
	for t := 0; t*14 < mc; t++ {
		i := i0 + t*14
		h := min(14, i0+mc-i)
		d := dst[t*14*kc : (t+1)*14*kc]
		_ = a[(i+h-1)*lda+p0+kc-1] // the last element read
		sgemmPackA14(kc, &a[i*lda+p0], &idx[0], h, &d[0])
	}
}

// packCols32 is packB for 32-column micro-panels: a vector copy of each row
// when B is stored row-major, a gather of each column when it is transposed.
func packCols32(dst, b []float32, ldb int, transB bool, p0, kc, j0, nc, lo, hi int, sums []float32) {
	if transB && 31*ldb > math.MaxInt32 {
		packB(dst, b, ldb, transB, p0, kc, j0, nc, 32, lo, hi)
		addPanelSums(sums, b, ldb, transB, p0, kc, j0, nc, 32, lo, hi)
		return
	}
	var idx [32]int32
	for i := range idx {
		idx[i] = int32(i * ldb)
	}
	for t := lo; t < hi; t++ {
		j := j0 + t*32
		w := min(32, j0+nc-j)
		d := dst[t*32*kc : (t+1)*32*kc]
		switch {
		case transB:
			_ = b[(j+w-1)*ldb+p0+kc-1] // the last element read
			sgemmPackBT32(kc, &b[j*ldb+p0], &idx[0], w, &d[0])
		case w == 32 && sums != nil:
			_ = b[(p0+kc-1)*ldb+j+31]
			_ = sums[j+31]
			sgemmPackB32Sums(kc, &b[p0*ldb+j], ldb, &d[0], &sums[j])
			continue
		case w == 32:
			_ = b[(p0+kc-1)*ldb+j+31]
			sgemmPackB32(kc, &b[p0*ldb+j], ldb, &d[0])
		default:
			packB(dst, b, ldb, false, p0, kc, j0, nc, 32, t, t+1)
		}
		addPanelSums(sums, b, ldb, transB, p0, kc, j0, nc, 32, t, t+1)
	}
}

// The largest m (or n) that the matrix-vector path takes: up to there,
// streaming the big operand beats packing it. Dot products (the large operand
// stored across rows: Bᵀ, or A) use every loaded vector up to four times and
// stay ahead of the blocked path, which must gather to pack such an operand,
// until about m = 64 (measured at k = 768, n = 3072); row combinations (B
// stored row-major, which packs by plain copies) only at the smallest m.
// A shallow product with many rows and few columns (attention's ds·K with
// 64 rows, head size 32, depth 64 in train-small) is left to the blocked
// path: there the dots path's transposing copy of B and short dot products
// cost more than packing (train-small at one thread measured faster in
// three A/B pairs without it).
const (
	sgemmSkinnyDots = 32
	sgemmSkinnyRows = 4
)

// sgemmSkinny512 computes products with few rows (or columns) of C without
// packing, reading the large operand once, straight from memory, with
// AVX-512: as dot products when the rows of the large operand run along k,
// as combinations of B's rows otherwise. It reports false for shapes it does
// not take, which go to the blocked path.
func sgemmSkinny512(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	switch {
	case m <= sgemmSkinnyDots && transB:
		// C[i, j] = op(A) row i · B row j: dot products against B's rows.
		x, ldx, buf := contiguousRows(transA, m, k, a, lda)
		skinnyDots(m, n, k, alpha, x, ldx, b, ldb, beta, c, ldc, 1)
		if buf != nil {
			putScratch(buf)
		}
	case n <= sgemmSkinnyDots && !transA && (m < 64 || k >= 128):
		// C[i, j] = A row i · op(B) column j: dot products against A's rows,
		// producing columns of C.
		x, ldx, buf := contiguousRows(!transB, n, k, b, ldb)
		skinnyDots(n, m, k, alpha, x, ldx, a, lda, beta, c, 1, ldc)
		if buf != nil {
			putScratch(buf)
		}
	case m <= sgemmSkinnyRows && !transB:
		// C row i = Σ_p op(A)[i, p]·B row p: row combinations of B.
		x, ldx, buf := contiguousRows(transA, m, k, a, lda)
		skinnyRows(m, n, k, alpha, x, ldx, b, ldb, beta, c, ldc)
		if buf != nil {
			putScratch(buf)
		}
	default:
		return false
	}
	return true
}

// contiguousRows returns the r rows of length k of a matrix stored in s with
// stride ld, transposed when trans (s then holds k rows of r values), as rows
// with stride ldx. Without transposition it returns s itself; otherwise it
// gathers them into a pooled buffer, which it also returns for the caller to
// give back.
func contiguousRows(trans bool, r, k int, s []float32, ld int) (x []float32, ldx int, buf *[]float32) {
	if !trans {
		return s, ld, nil
	}
	buf = getScratch(r * k)
	x = *buf
	for p := 0; p < k; p++ {
		src := s[p*ld : p*ld+r]
		for i, v := range src {
			x[i*k+p] = v
		}
	}
	return x, k, buf
}

// skinnyDots computes, for i < r and j < q, out(i, j) = alpha·(x row i ·
// y row j) + beta·out(i, j), where rows have k elements and out(i, j) is
// c[i·si + j·sj]. Work is split over j.
func skinnyDots(r, q, k int, alpha float32, x []float32, ldx int, y []float32, ldy int, beta float32, c []float32, si, sj int) {
	t := dotsTask{r: r, q: q, k: k, alpha: alpha, x: x, ldx: ldx, y: y, ldy: ldy, beta: beta, c: c, si: si, sj: sj}
	groups := (q + 3) / 4
	if r*q*k < sgemmSerial {
		t.run(0, groups)
		return
	}
	grain := max(1, (1<<16)/(4*r*k))
	ParallelFor(groups, grain, t.run)
}

// dotsTask holds skinnyDots' operands, so that the serial path runs without
// allocating a closure (a method value is made only for the parallel path).
type dotsTask struct {
	r, q, k     int
	alpha, beta float32
	x, y, c     []float32
	ldx, ldy    int
	si, sj      int
}

// run computes the groups of four j in [lo, hi).
func (t dotsTask) run(lo, hi int) {
	var out [16]float32
	r, q, k := t.r, t.q, t.k
	put := func(i, j int, v float32) {
		dst := &t.c[i*t.si+j*t.sj]
		if t.beta == 0 {
			*dst = t.alpha * v
		} else {
			*dst = t.alpha*v + t.beta**dst
		}
	}
	for j := lo * 4; j < min(hi*4, q); j += 4 {
		for i0 := 0; i0 < r; i0 += 4 {
			rr := min(4, r-i0)
			if j+4 <= q {
				dotsRx4(rr, k, &t.x[i0*t.ldx], t.ldx, &t.y[j*t.ldy], t.ldy, &out)
				for i := 0; i < rr; i++ {
					for u, v := range out[4*i : 4*i+4] {
						put(i0+i, j+u, v)
					}
				}
				continue
			}
			// Fewer than four rows left: stride 0 reads row jj four times.
			for jj := j; jj < q; jj++ {
				dotsRx4(rr, k, &t.x[i0*t.ldx], t.ldx, &t.y[jj*t.ldy], 0, &out)
				for i := 0; i < rr; i++ {
					put(i0+i, jj, out[4*i])
				}
			}
		}
	}
}

// dotsRx4 stores out[4i+j] = x row i · y row j for i < r (1…4) and j < 4.
func dotsRx4(r, k int, x *float32, ldx int, y *float32, ldy int, out *[16]float32) {
	switch r {
	case 1:
		sgemvDot4(k, x, y, ldy, &out[0])
	case 2:
		sgemvDots2x4(k, x, ldx, y, ldy, &out[0])
	case 3:
		sgemvDots3x4(k, x, ldx, y, ldy, &out[0])
	default:
		sgemvDots4x4(k, x, ldx, y, ldy, &out[0])
	}
}

// skinnyRows computes, for i < r, C row i = alpha·Σ_p x[i·ldx+p]·B row p +
// beta·C row i over n columns, reading B in 64-column strips. Work is split
// over the strips.
func skinnyRows(r, n, k int, alpha float32, x []float32, ldx int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	t := rowsTask{r: r, n: n, k: k, alpha: alpha, x: x, ldx: ldx, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	strips := (n + 63) / 64
	if r*n*k < sgemmSerial {
		t.run(0, strips)
		return
	}
	grain := max(1, (1<<16)/(64*r*k))
	ParallelFor(strips, grain, t.run)
}

// rowsTask holds skinnyRows' operands (see dotsTask).
type rowsTask struct {
	r, n, k       int
	alpha, beta   float32
	x, b, c       []float32
	ldx, ldb, ldc int
}

// run computes the 64-column strips in [lo, hi).
func (t rowsTask) run(lo, hi int) {
	var y [64]float32
	for j := lo * 64; j < hi*64 && j < t.n; j += 64 {
		w := min(64, t.n-j)
		for i := 0; i < t.r; i++ {
			sgemvN64(t.k, &t.x[i*t.ldx], &t.b[j], t.ldb, &y[0], w)
			dst := t.c[i*t.ldc+j : i*t.ldc+j+w]
			if t.beta == 0 {
				for u := range dst {
					dst[u] = t.alpha * y[u]
				}
			} else {
				for u := range dst {
					dst[u] = t.alpha*y[u] + t.beta*dst[u]
				}
			}
		}
	}
}
