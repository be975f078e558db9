package kernels

import "sync"

// The blocked algorithm (Goto's, as organised by BLIS) runs five loops around
// the microkernel:
//
//	for jc in steps of sgemmNC over n:
//	  for pc in steps of kc over k:
//	    pack op(B)[pc:pc+kc, jc:jc+nc] into nr-wide micro-panels   (shared by all workers; stays in L2)
//	    for ic in steps of mc over m:                               (each worker its own rows)
//	      pack op(A)[ic:ic+mc, pc:pc+kc] into mr-high micro-panels  (private to the worker)
//	      for ir over the A micro-panels:                           (one kc×mr panel stays in L1)
//	        for jr over the B micro-panels:                         (streamed from L2)
//	          microkernel: C[ir, jr] = alpha·A·B + beta'·C
//
// beta' is beta for the first kc block and 1 after it. Packing pads partial
// micro-panels with zeros, so the microkernel always sees full panels; tiles
// that overhang C's edge are computed into a scratch tile and merged.
//
// Running jr inside ir keeps the A micro-panel in L1 and walks C along its
// rows, a few pages at a time; the other order (B micro-panel in L1, C walked
// down its columns) measured 30 % slower at n = 1024, where C's row stride of
// 4 KiB makes every row of a tile hit the same L1 set and a different page.
// The sizes suit the machine Glossa is tuned on (Xeon, 48 KiB L1d, 2 MiB L2
// per core): with kc = 256 an A micro-panel is 14 KiB and a packed B block of
// sgemmNC = 1024 columns 1 MiB.
const (
	sgemmNC     = 1024 // columns of a packed B block (a multiple of every nr)
	sgemmSerial = 1 << 21
	// sgemmSerial is the number of multiply-adds (m·n·k) below which a
	// product runs on the calling goroutine: starting workers costs more.
)

// sgemmScratch recycles packing buffers so steady-state calls don't allocate.
var sgemmScratch = sync.Pool{New: func() any { return new([]float32) }}

// getScratch returns a pooled buffer of at least n elements (contents
// undefined); return it with sgemmScratch.Put.
func getScratch(n int) *[]float32 {
	p := sgemmScratch.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// sgemmJob carries one Sgemm call through the blocked loops; its methods are
// the units of work handed to ParallelFor.
type sgemmJob struct {
	impl           *sgemmKernels
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	mc             int // rows of an A block, a multiple of impl.mr

	// The current (jc, pc) block.
	jc, nc, pc, kc int
	betaK          float32   // beta for this kc block
	bp             []float32 // packed B block
}

var sgemmJobs = sync.Pool{New: func() any { return new(sgemmJob) }}

func sgemmBlocked(impl *sgemmKernels, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := impl.mr, impl.nr
	workers := Threads()
	if m*n*k < sgemmSerial {
		workers = 1
	}
	j := sgemmJobs.Get().(*sgemmJob)
	*j = sgemmJob{
		impl: impl, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		mc: impl.mc / mr * mr,
	}
	// Split M between the workers when each gets a few micro-tiles of rows;
	// otherwise split the B micro-panels and let every worker pack all of A.
	mTiles := (m + mr - 1) / mr
	splitM := mTiles >= 4*workers
	if splitM && workers > 1 {
		// Balance the A blocks: no worker should get one big and one tiny block.
		per := (mTiles + workers - 1) / workers
		j.mc = min(j.mc, per*mr)
	}

	kc0 := min(k, impl.kc)
	nc0 := min((n+nr-1)/nr*nr, sgemmNC)
	bbuf := getScratch(kc0 * nc0)
	j.bp = *bbuf
	for jc := 0; jc < n; jc += sgemmNC {
		j.jc, j.nc = jc, min(sgemmNC, n-jc)
		nTiles := (j.nc + nr - 1) / nr
		for pc := 0; pc < k; pc += impl.kc {
			j.pc, j.kc = pc, min(impl.kc, k-pc)
			j.betaK = beta
			if pc > 0 {
				j.betaK = 1
			}
			switch {
			case workers == 1:
				j.packB(0, nTiles)
				j.computeM(0, mTiles)
			case splitM:
				ParallelFor(nTiles, 1, j.packB)
				ParallelFor(mTiles, 1, j.computeM)
			default:
				ParallelFor(nTiles, 1, j.computeN)
			}
		}
	}
	sgemmScratch.Put(bbuf)
	*j = sgemmJob{}
	sgemmJobs.Put(j)
}

// packB packs B micro-panels [lo, hi) of the current block.
func (j *sgemmJob) packB(lo, hi int) {
	if j.impl.packCols != nil {
		j.impl.packCols(j.bp, j.b, j.ldb, j.transB, j.pc, j.kc, j.jc, j.nc, lo, hi)
		return
	}
	packB(j.bp, j.b, j.ldb, j.transB, j.pc, j.kc, j.jc, j.nc, j.impl.nr, lo, hi)
}

// computeM packs and multiplies the rows of A micro-tiles [lo, hi) against the
// whole packed B block.
func (j *sgemmJob) computeM(lo, hi int) {
	mr := j.impl.mr
	nTiles := (j.nc + j.impl.nr - 1) / j.impl.nr
	j.rows(lo*mr, min(hi*mr, j.m), 0, nTiles)
}

// computeN packs B micro-panels [lo, hi) and multiplies all of A against
// them.
func (j *sgemmJob) computeN(lo, hi int) {
	j.packB(lo, hi)
	j.rows(0, j.m, lo, hi)
}

// rows multiplies rows [i0, i1) of op(A), block by block, against B
// micro-panels [jlo, jhi) of the packed B block.
func (j *sgemmJob) rows(i0, i1, jlo, jhi int) {
	mr, nr := j.impl.mr, j.impl.nr
	abuf := getScratch(j.mc*j.kc + mr*nr)
	ap, tile := (*abuf)[:j.mc*j.kc], (*abuf)[j.mc*j.kc:]
	for ic := i0; ic < i1; ic += j.mc {
		mc := min(j.mc, i1-ic)
		if j.impl.packRows != nil && !j.transA {
			j.impl.packRows(ap, j.a, j.lda, ic, mc, j.pc, j.kc)
		} else {
			packA(ap, j.a, j.lda, j.transA, ic, mc, j.pc, j.kc, mr)
		}
		j.macro(ap, tile, ic, mc, jlo, jhi)
	}
	sgemmScratch.Put(abuf)
}

// macro runs the microkernel over the packed A block of rows [ic, ic+mc) and
// B micro-panels [jlo, jhi).
func (j *sgemmJob) macro(ap, tile []float32, ic, mc, jlo, jhi int) {
	impl, kc := j.impl, j.kc
	mr, nr := impl.mr, impl.nr
	for ir := 0; ir*mr < mc; ir++ {
		row := ic + ir*mr
		h := min(mr, mc-ir*mr)
		apanel := ap[ir*mr*kc : (ir+1)*mr*kc]
		for jr := jlo; jr < jhi; jr++ {
			col := j.jc + jr*nr
			w := min(nr, j.jc+j.nc-col)
			bpanel := j.bp[jr*nr*kc : (jr+1)*nr*kc]
			if h == mr && w == nr {
				impl.micro(kc, apanel, bpanel, j.c[row*j.ldc+col:], j.ldc, j.alpha, j.betaK)
				continue
			}
			impl.micro(kc, apanel, bpanel, tile, nr, 1, 0)
			for i := 0; i < h; i++ {
				dst := j.c[(row+i)*j.ldc+col : (row+i)*j.ldc+col+w]
				src := tile[i*nr : i*nr+w]
				if j.betaK == 0 {
					for jj, v := range src {
						dst[jj] = j.alpha * v
					}
				} else {
					for jj, v := range src {
						dst[jj] = j.alpha*v + j.betaK*dst[jj]
					}
				}
			}
		}
	}
}

// packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
// mr-high micro-panels: panel t holds, for each p, the mr values
// op(A)[i0+t·mr+i, p0+p], zero past row i0+mc.
func packA(dst, a []float32, lda int, transA bool, i0, mc, p0, kc, mr int) {
	for t := 0; t*mr < mc; t++ {
		i := i0 + t*mr
		h := min(mr, i0+mc-i)
		d := dst[t*mr*kc : (t+1)*mr*kc]
		if transA {
			// op(A) column p is a contiguous run of stored row p.
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i : (p0+p)*lda+i+h]
				dd := d[p*mr : p*mr+mr]
				copy(dd, src)
				clear(dd[h:])
			}
			continue
		}
		if h < mr {
			clear(d)
		}
		for ii := 0; ii < h; ii++ {
			src := a[(i+ii)*lda+p0 : (i+ii)*lda+p0+kc]
			dd := d[ii:]
			for p, v := range src {
				dd[p*mr] = v
			}
		}
	}
}

// packB packs micro-panels [lo, hi) of rows [p0, p0+kc) and columns
// [j0, j0+nc) of op(B): panel t holds, for each p, the nr values
// op(B)[p0+p, j0+t·nr+j], zero past column j0+nc.
func packB(dst, b []float32, ldb int, transB bool, p0, kc, j0, nc, nr, lo, hi int) {
	for t := lo; t < hi; t++ {
		j := j0 + t*nr
		w := min(nr, j0+nc-j)
		d := dst[t*nr*kc : (t+1)*nr*kc]
		if !transB {
			for p := 0; p < kc; p++ {
				src := b[(p0+p)*ldb+j : (p0+p)*ldb+j+w]
				dd := d[p*nr : p*nr+nr]
				copy(dd, src)
				clear(dd[w:])
			}
			continue
		}
		// op(B) row p is spread over stored rows: gather column by column.
		if w < nr {
			clear(d)
		}
		for jj := 0; jj < w; jj++ {
			src := b[(j+jj)*ldb+p0 : (j+jj)*ldb+p0+kc]
			dd := d[jj:]
			for p, v := range src {
				dd[p*nr] = v
			}
		}
	}
}
