package kernels

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// The blocked algorithm (Goto's, as organised by BLIS) runs five loops around
// the microkernel:
//
//	for jc in steps of sgemmNC over n:
//	  for pc in steps of kc over k:
//	    pack op(B)[pc:pc+kc, jc:jc+nc] into nr-wide micro-panels   (shared by all workers; stays in L2)
//	    for ic in steps of mc over m:                               (tasks that workers take in turn)
//	      pack op(A)[ic:ic+mc, pc:pc+kc] into mr-high micro-panels  (private to the worker)
//	      for ir over the A micro-panels:                           (one kc×mr panel stays in L1)
//	        for jr over the B micro-panels:                         (streamed from L2)
//	          microkernel: C[ir, jr] = alpha·A·B + beta'·C
//
// beta' is beta for the first kc block and 1 after it. With several workers
// both packing B and the rows of C are split into small tasks claimed through
// atomic counters, with one barrier per (jc, pc) block (B is double-buffered),
// so a worker delayed by another process on its core holds the others up by
// at most one task. Products with too few rows for that split the B
// micro-panels between the workers instead. Packing pads partial
// micro-panels with zeros, so the microkernel always sees full panels; tiles
// that overhang C's edge are computed into a scratch tile and merged.
//
// Running jr inside ir keeps the A micro-panel in L1 and walks C along its
// rows, a few pages at a time; the other order (B micro-panel in L1, C walked
// down its columns) measured 30 % slower at n = 1024, where C's row stride of
// 4 KiB makes every row of a tile hit the same L1 set and a different page.
// SgemmPacked (packed.go) runs the same loops with B packed in advance, so
// the packing steps are skipped, except for products of few rows, which
// take packedFew's loop order instead.
//
// The sizes suit the machine Glossa is tuned on (Xeon, 48 KiB L1d, 2 MiB L2
// per core): with kc = 256 an A micro-panel is 14 KiB and a packed B block of
// sgemmNC = 1024 columns 1 MiB.
const (
	// sgemmNC is the number of columns of a packed B block, a multiple of
	// every nr.
	sgemmNC = 1024
	// sgemmSerial is the number of multiply-adds (m·n·k) below which a
	// product runs on the calling goroutine: starting workers costs more.
	sgemmSerial = 1 << 21
)

// sgemmScratch recycles packing buffers so steady-state calls don't
// allocate. Buffers are kept by size class (capacity 2^c in pool c), so a call
// that needs a large buffer never receives, and throws away, a small one.
var sgemmScratch [48]sync.Pool

// getScratch returns a pooled buffer of at least n elements (contents
// undefined); give it back with putScratch.
func getScratch(n int) *[]float32 {
	c := bits.Len(uint(max(n, 1) - 1))
	if p, ok := sgemmScratch[c].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	buf := make([]float32, n, 1<<c)
	return &buf
}

// putScratch returns a buffer obtained from getScratch to its pool.
func putScratch(p *[]float32) {
	c := bits.Len(uint(cap(*p)) - 1)
	if cap(*p) != 1<<c || c >= len(sgemmScratch) {
		return
	}
	sgemmScratch[c].Put(p)
}

// sgemmJob carries one Sgemm call through the blocked loops; its methods are
// the units of work handed to the workers.
type sgemmJob struct {
	impl           *sgemmKernels
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	mc             int       // rows of an A block, a multiple of impl.mr
	bsize          int       // elements of one packed B block
	pb             *PackedB  // B packed in advance (SgemmPacked), else nil
	ep             *Epilogue // applied to C once finished, or nil
	sumsB          []float32 // op(B)'s column sums are added to it while B is packed, or nil
	tri            Triangle  // work SgemmTriangle may skip, when triOn
	triOn          bool

	// Parallel runs over M: each (jc, pc) block's B micro-panels are packed
	// in tasks of sgemmPackTask panels handed out through next[2·block], and
	// its rows computed in tasks of mt rows through next[2·block+1]; bufB
	// holds two packed B blocks so that packing the next block can start
	// before every worker has finished with the current one.
	workers int
	mt      int
	// Few rows times a pre-packed B (packedFew): op(A) packed whole, its
	// pc block at ap[pc·apStride], and B micro-panels handed out chunk at
	// a time through next[0].
	ap       []float32
	apStride int
	chunk    int

	next []atomic.Int64
	bar  barrier
	bufB []float32
}

// sgemmBlock is one (jc, pc) block of the outer loops.
type sgemmBlock struct {
	jc, nc, pc, kc int
	beta           float32   // beta for this block: the caller's for pc = 0, else 1
	bp             []float32 // the packed B block
	bstride        int       // elements from one B micro-panel to the next in bp
}

var sgemmJobs = sync.Pool{New: func() any { return new(sgemmJob) }}

// sgemmBlocked runs the blocked algorithm. With pb not nil, B is already
// packed (b is then unused) and the packing steps are skipped; with ep not
// nil, it is applied to every strip of C once the strip is final.
func sgemmBlocked(impl *sgemmKernels, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, pb *PackedB, ep *Epilogue) {
	sgemmRun(impl, nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pb, ep)
}

// sgemmRun is sgemmBlocked skipping the work tri allows (nil: none; the
// variant must have no row kernel).
func sgemmRun(impl *sgemmKernels, tri *Triangle, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, pb *PackedB, ep *Epilogue) {
	mr, nr := impl.mr, impl.nr
	workers := Threads()
	if m*n*k < sgemmSerial {
		workers = 1
	}
	j := sgemmJobs.Get().(*sgemmJob)
	next, bufB := j.next, j.bufB // keep their storage across calls
	*j = sgemmJob{
		impl: impl, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		mc:    impl.mc / mr * mr,
		bsize: impl.panelB(min(k, impl.kc)) * min((n+nr-1)/nr, impl.blockCols()/nr),
		pb:    pb, ep: ep,
	}
	if tri != nil {
		// Copied, so that the caller's Triangle does not escape.
		j.tri, j.triOn = *tri, true
	}
	if ep != nil {
		// Column sums are taken while B is packed (SgemmPacked adds a
		// pre-packed B's itself); the rest of ep runs on C's strips.
		j.sumsB = ep.SumsB
		j.ep = ep.onC()
	}
	if pb != nil {
		j.bsize = 0 // nothing to pack into
	}
	mTiles := (m + mr - 1) / mr
	switch {
	case pb != nil && mTiles*mr*k <= sgemmPackedFewA:
		if cap(next) < 1 {
			next = make([]atomic.Int64, 1)
		}
		j.next = next[:1]
		j.packedFew(workers)
	case workers == 1:
		bbuf := getScratch(j.bsize)
		j.forBlocks(*bbuf, func(blk sgemmBlock, nTiles int) {
			j.packB(&blk, 0, nTiles)
			j.rows(&blk, 0, m, 0, nTiles)
		})
		putScratch(bbuf)
	case mTiles >= 4*workers:
		// Split M: B blocks are packed by all workers together and shared;
		// each worker packs the A rows of the tasks it takes.
		blocks := ((n + impl.blockCols() - 1) / impl.blockCols()) * ((k + impl.kc - 1) / impl.kc)
		if cap(next) < 2*blocks {
			next = make([]atomic.Int64, 2*blocks)
		}
		j.next = next[:2*blocks]
		for i := range j.next {
			j.next[i].Store(0)
		}
		if cap(bufB) < 2*j.bsize {
			bufB = make([]float32, 2*j.bsize)
		}
		j.bufB = bufB[:2*j.bsize]
		j.workers = workers
		j.bar.init(workers)
		// Small tasks (about 16 per worker and block) keep the workers
		// finishing together even when a core is shared with other
		// processes; a task still spans every B micro-panel of the block.
		j.mt = min(j.mc, max(1, mTiles/(16*workers))*mr)
		ParallelFor(workers, 1, j.workerM)
	default:
		// Few rows: split the B micro-panels; every worker packs all of A.
		bbuf := getScratch(j.bsize)
		j.forBlocks(*bbuf, func(blk sgemmBlock, nTiles int) {
			ParallelFor(nTiles, 1, func(lo, hi int) {
				j.packB(&blk, lo, hi)
				j.rows(&blk, 0, m, lo, hi)
			})
		})
		putScratch(bbuf)
	}
	*j = sgemmJob{next: next, bufB: bufB}
	sgemmJobs.Put(j)
}

// forBlocks calls fn for every (jc, pc) block in order, packing into bp.
func (j *sgemmJob) forBlocks(bp []float32, fn func(blk sgemmBlock, nTiles int)) {
	nr, kc := j.impl.nr, j.impl.kc
	nc := j.impl.blockCols()
	for jc := 0; jc < j.n; jc += nc {
		for pc := 0; pc < j.k; pc += kc {
			blk := sgemmBlock{jc: jc, nc: min(nc, j.n-jc), pc: pc, kc: min(kc, j.k-pc), beta: j.beta, bp: bp}
			blk.bstride = j.impl.panelB(blk.kc)
			if j.pb != nil {
				blk.bp, blk.bstride = j.pb.block(jc, pc)
			}
			if pc > 0 {
				blk.beta = 1
			}
			fn(blk, (blk.nc+nr-1)/nr)
		}
	}
}

// workerM is one worker of a run split over M: for every block it takes
// B-packing tasks until none is left, waits for the others to finish theirs,
// then takes row tasks until none is left.
func (j *sgemmJob) workerM(_, _ int) {
	tasks := (j.m + j.mt - 1) / j.mt
	i := 0
	j.forBlocks(nil, func(blk sgemmBlock, nTiles int) {
		if j.pb == nil {
			blk.bp = j.bufB[(i%2)*j.bsize : (i%2+1)*j.bsize]
			for {
				t := int(j.next[2*i].Add(1)-1) * sgemmPackTask
				if t >= nTiles {
					break
				}
				j.packB(&blk, t, min(t+sgemmPackTask, nTiles))
			}
		}
		// Past this barrier every worker has finished the block before the
		// previous one, whose B buffer the next block reuses, and whose rows
		// of C this block accumulates into.
		j.bar.wait()
		for {
			t := int(j.next[2*i+1].Add(1) - 1)
			if t >= tasks {
				break
			}
			j.rows(&blk, t*j.mt, min((t+1)*j.mt, j.m), 0, nTiles)
		}
		i++
	})
}

// sgemmPackTask is the number of B micro-panels packed in one task.
const sgemmPackTask = 4

// packB packs B micro-panels [lo, hi) of the block, unless B came packed.
func (j *sgemmJob) packB(blk *sgemmBlock, lo, hi int) {
	if j.pb != nil {
		return
	}
	if j.impl.packCols != nil {
		j.impl.packCols(blk.bp, j.b, j.ldb, j.transB, blk.pc, blk.kc, blk.jc, blk.nc, lo, hi, j.sumsB)
		return
	}
	packB(blk.bp, j.b, j.ldb, j.transB, blk.pc, blk.kc, blk.jc, blk.nc, j.impl.nr, lo, hi)
	addPanelSums(j.sumsB, j.b, j.ldb, j.transB, blk.pc, blk.kc, blk.jc, blk.nc, j.impl.nr, lo, hi)
}

// addPanelSums adds to sums[j] the sum of op(B) column j over rows [p0,
// p0+kc), for the columns of micro-panels [lo, hi) of the block of columns
// [j0, j0+nc) (nr columns a panel), reading B itself; nil sums: nothing.
// Each row is added in turn, so the sums match a packer's fused ones up to
// their rounding.
func addPanelSums(sums, b []float32, ldb int, transB bool, p0, kc, j0, nc, nr, lo, hi int) {
	if sums == nil {
		return
	}
	c0, c1 := j0+lo*nr, min(j0+hi*nr, j0+nc)
	if transB {
		for j := c0; j < c1; j++ {
			sums[j] += Sum(b[j*ldb+p0 : j*ldb+p0+kc])
		}
		return
	}
	for p := p0; p < p0+kc; p++ {
		Add(sums[c0:c1], sums[c0:c1], b[p*ldb+c0:p*ldb+c1])
	}
}

// rows multiplies rows [i0, i1) of op(A), A block by A block, against B
// micro-panels [jlo, jhi) of the packed B block.
func (j *sgemmJob) rows(blk *sgemmBlock, i0, i1, jlo, jhi int) {
	mr, nr := j.impl.mr, j.impl.nr
	asize := j.mc / mr * j.impl.panelA(blk.kc)
	abuf := getScratch(asize + mr*nr)
	ap, tile := (*abuf)[:asize], (*abuf)[asize:]
	unpacked := j.unpackedA(blk)
	for ic := i0; ic < i1; ic += j.mc {
		mc := min(j.mc, i1-ic)
		if unpacked {
			// Only a last, partial micro-panel is packed (into its place).
			if full := mc / mr * mr; full < mc {
				j.packRows(ap[full/mr*j.impl.panelA(blk.kc):], ic+full, mc-full, blk)
			}
			j.macroU(blk, ap, tile, ic, mc, jlo, jhi)
			continue
		}
		j.packRows(ap, ic, mc, blk)
		j.macro(blk, ap, tile, ic, mc, jlo, jhi)
	}
	putScratch(abuf)
}

// packRows packs rows [i0, i0+mc) of op(A) over the block's depth into ap.
func (j *sgemmJob) packRows(ap []float32, i0, mc int, blk *sgemmBlock) {
	if j.impl.packRows != nil {
		j.impl.packRows(ap, j.a, j.lda, j.transA, i0, mc, blk.pc, blk.kc)
	} else {
		packA(ap, j.a, j.lda, j.transA, i0, mc, blk.pc, blk.kc, j.impl.mr)
	}
}

// unpackedA reports whether the block's full micro-panels read A in place
// (impl.microU for a row-major A, impl.microT for a transposed one) instead
// of a packed copy: every B micro-panel whole, and a row stride that is not
// a multiple of 4 KiB — there the rows (or steps) a kernel reads would all
// fall into one L1 set.
func (j *sgemmJob) unpackedA(blk *sgemmBlock) bool {
	kernel := j.impl.microU != nil
	if j.transA {
		kernel = j.impl.microT != nil
	}
	return kernel && blk.nc%j.impl.nr == 0 && (4*j.lda)%4096 != 0
}

// macroU is macro for unpacked A: full micro-panels read A in place,
// a last partial one its packed copy at its place in ap.
func (j *sgemmJob) macroU(blk *sgemmBlock, ap, tile []float32, ic, mc, jlo, jhi int) {
	mr, nr := j.impl.mr, j.impl.nr
	for ir := 0; ir*mr < mc; ir++ {
		row := ic + ir*mr
		if (ir+1)*mr > mc {
			for jr := jlo; jr < jhi; jr++ {
				j.tile(blk, ap, tile, ic, mc, ir, jr)
			}
			continue
		}
		k0, k1 := j.depth(blk, row, row+mr)
		var a []float32
		micro := j.impl.microU
		if j.transA {
			micro, a = j.impl.microT, j.a[(blk.pc+k0)*j.lda+row:]
		} else {
			a = j.a[row*j.lda+blk.pc+k0:]
		}
		for jr := jlo; jr < jhi; jr++ {
			col := blk.jc + jr*nr
			if j.skipTile(row+mr, col) {
				continue
			}
			if k0 >= k1 {
				scaleMatrix(mr, nr, blk.beta, j.c[row*j.ldc+col:], j.ldc)
				continue
			}
			bpanel := blk.bp[jr*blk.bstride+k0*nr : jr*blk.bstride+k1*nr]
			micro(k1-k0, a, j.lda, bpanel, j.c[row*j.ldc+col:], j.ldc, j.alpha, blk.beta)
		}
	}
	if j.ep != nil && blk.pc+blk.kc == j.k {
		j.ep.apply(j.c, j.ldc, ic, ic+mc, blk.jc+jlo*nr, min(blk.jc+jhi*nr, blk.jc+blk.nc))
	}
}

// macro runs the microkernel over the packed A block of rows [ic, ic+mc) and
// B micro-panels [jlo, jhi), then the epilogue over that part of C if it is
// final.
func (j *sgemmJob) macro(blk *sgemmBlock, ap, tile []float32, ic, mc, jlo, jhi int) {
	mr, nr := j.impl.mr, j.impl.nr
	// The whole B micro-panels, which a row kernel can take in one call.
	rowHi := jlo
	if j.impl.row != nil && j.alpha == 1 && (blk.beta == 0 || blk.beta == 1) {
		rowHi = max(jlo, min(jhi, blk.nc/nr))
	}
	for ir := 0; ir*mr < mc; ir++ {
		jr := jlo
		if rowHi > jlo && (ir+1)*mr <= mc {
			pa := j.impl.panelA(blk.kc)
			row, col := ic+ir*mr, blk.jc+jlo*nr
			j.impl.row(blk.kc, ap[ir*pa:(ir+1)*pa], blk.bp[jlo*blk.bstride:], blk.bstride, rowHi-jlo,
				j.c[row*j.ldc+col:], j.ldc, blk.beta == 1)
			jr = rowHi
		}
		for ; jr < jhi; jr++ {
			j.tile(blk, ap, tile, ic, mc, ir, jr)
		}
	}
	if j.ep != nil && blk.pc+blk.kc == j.k {
		// The part of C these rows span in the block is final.
		j.ep.apply(j.c, j.ldc, ic, ic+mc, blk.jc+jlo*nr, min(blk.jc+jhi*nr, blk.jc+blk.nc))
	}
}

// tile computes the tile of C of A micro-panel ir (of the block of rows
// starting at ic, mc rows) and B micro-panel jr. Tiles that overhang C's
// edge are computed into the scratch tile and merged.
func (j *sgemmJob) tile(blk *sgemmBlock, ap, tile []float32, ic, mc, ir, jr int) {
	impl, kc := j.impl, blk.kc
	mr, nr := impl.mr, impl.nr
	row := ic + ir*mr
	h := min(mr, mc-ir*mr)
	pa, pb := impl.panelA(kc), impl.panelB(kc)
	apanel := ap[ir*pa : (ir+1)*pa]
	col := blk.jc + jr*nr
	w := min(nr, blk.jc+blk.nc-col)
	bpanel := blk.bp[jr*blk.bstride : jr*blk.bstride+pb]
	if j.triOn {
		if j.skipTile(row+h, col) {
			return
		}
		k0, k1 := j.depth(blk, row, row+h)
		if k0 >= k1 {
			scaleMatrix(h, w, blk.beta, j.c[row*j.ldc+col:], j.ldc)
			return
		}
		// Packed panels hold mr (nr) values a step: start at step k0.
		kc, apanel, bpanel = k1-k0, apanel[k0*mr:k1*mr], bpanel[k0*nr:k1*nr]
	}
	if w == nr {
		if h == mr {
			impl.micro(kc, apanel, bpanel, j.c[row*j.ldc+col:], j.ldc, j.alpha, blk.beta)
			return
		}
		if impl.edge != nil {
			impl.edge(h, kc, apanel, bpanel, j.c[row*j.ldc+col:], j.ldc, j.alpha, blk.beta)
			return
		}
	}
	if h < mr && impl.edge != nil {
		impl.edge(h, kc, apanel, bpanel, tile, nr, 1, 0)
	} else {
		impl.micro(kc, apanel, bpanel, tile, nr, 1, 0)
	}
	mergeTile(j.c[row*j.ldc+col:], j.ldc, tile, nr, h, w, j.alpha, blk.beta)
}

// depth returns the steps [k0, k1) of the block's depth that rows [row0,
// row1) of op(A) need: all of them unless j.tri says op(A) is zero beyond
// (ALower) or before (AUpper) the diagonal there.
func (j *sgemmJob) depth(blk *sgemmBlock, row0, row1 int) (k0, k1 int) {
	k0, k1 = 0, blk.kc
	if t := &j.tri; j.triOn {
		if t.ALower {
			k1 = min(max(row1+t.Diag-blk.pc, 0), blk.kc)
		}
		if t.AUpper {
			k0 = min(max(row0+t.Diag-blk.pc, 0), blk.kc)
		}
	}
	return k0, k1
}

// skipTile reports whether the tile of rows up to row1 (exclusive) starting
// at column col lies wholly above the diagonal of a LowerC product.
func (j *sgemmJob) skipTile(row1, col int) bool {
	return j.triOn && j.tri.LowerC && col >= row1+j.tri.Diag
}

// barrier blocks each of n goroutines in wait until all n have called it;
// it can be reused for any number of rounds.
type barrier struct {
	n     int32
	left  atomic.Int32
	round atomic.Uint64
	wake  parker
}

func (b *barrier) init(n int) {
	b.n = int32(n)
	b.left.Store(int32(n))
	b.round.Store(0)
	b.wake.init()
}

// wait returns when all n workers have called it in this round. A worker
// spins for up to callerSpin before it blocks: the workers of a product
// arrive close together, and on a VM waking a blocked one costs tens of
// microseconds per barrier.
func (b *barrier) wait() {
	r := b.round.Load() // before arriving: the last arrival ends round r
	if b.left.Add(-1) == 0 {
		b.left.Store(b.n)
		b.round.Add(1)
		b.wake.wake()
		return
	}
	b.wake.wait(callerSpin, func() bool { return b.round.Load() != r })
}

// mergeTile writes the h×w top-left corner of a computed tile (row stride
// nr) into C (row stride ldc): C = alpha·tile + beta·C, C not read when beta
// is 0. It finishes the tiles that overhang C's edge, which the kernels
// compute into scratch.
func mergeTile(c []float32, ldc int, tile []float32, nr, h, w int, alpha, beta float32) {
	for i := 0; i < h; i++ {
		dst := c[i*ldc : i*ldc+w]
		src := tile[i*nr : i*nr+w]
		if beta == 0 {
			for jj, v := range src {
				dst[jj] = alpha * v
			}
		} else {
			for jj, v := range src {
				dst[jj] = alpha*v + beta*dst[jj]
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
		switch {
		case h == 6 && mr == 6 && transA:
			packA6T(d, a, lda, i, p0, kc)
		case h == 6 && mr == 6:
			packA6(d, a, lda, i, p0, kc)
		case transA:
			// op(A) column p is a contiguous run of stored row p.
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i : (p0+p)*lda+i+h]
				dd := d[p*mr : p*mr+mr]
				copy(dd, src)
				clear(dd[h:])
			}
		default:
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
}

// packA6 packs one full 6-row micro-panel of a row-major op(A): rows i to
// i+5, columns p0 to p0+kc, interleaved column by column into d.
func packA6(d, a []float32, lda, i, p0, kc int) {
	row := func(r int) []float32 { o := (i+r)*lda + p0; return a[o : o+kc : o+kc] }
	r0, r1, r2, r3, r4, r5 := row(0), row(1), row(2), row(3), row(4), row(5)
	d = d[:6*kc]
	for p := range r0 {
		q := d[6*p : 6*p+6 : 6*p+6]
		q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packA6T packs one full 6-row micro-panel of a transposed op(A): op(A)
// column p0+p is the 6 values of stored row p0+p from column i.
func packA6T(d, a []float32, lda, i, p0, kc int) {
	for p := range kc {
		o := (p0+p)*lda + i
		s, q := a[o:o+6:o+6], d[6*p:6*p+6:6*p+6]
		q[0], q[1], q[2], q[3], q[4], q[5] = s[0], s[1], s[2], s[3], s[4], s[5]
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
