package kernels

import (
	"sync"
	"sync/atomic"
)

// The row-vector path of SgemmPacked: products of a pre-packed B with at
// most packedRowMax rows of op(A), the shape of decoding (one token at a
// time, or a few sequences side by side). Such a product does a couple of
// multiply-adds per weight it reads, so its speed is that of the memory
// stream of B; the blocked loops, even packedFew's, pay for packing A into a
// 14-high panel and for going back through C every kc steps, and their edge
// kernels issue no prefetches.
//
// Here every nr-wide micro-panel of B is multiplied by the rows of A in one
// call of a row-panel kernel (sgemvRows<r>x<nr> in assembly, rowPanelGo
// elsewhere), straight through the whole depth k: A is read unpacked (a few
// KiB, in L1), the panel once from memory, with software prefetches running
// rowPrefetch bytes ahead in the contiguous stream of panels, and the r×nr
// block of C is written once. Workers take chunks of consecutive panels from
// an atomic counter (a worker delayed by another process holds up no more
// than its chunk), so each streams whole runs of memory, and apply the
// epilogue to the chunk's span of C as soon as it is done.
//
// On the machine this was tuned on (a 2-core AVX-512 Xeon VM, both cores
// shared with other jobs) one row streams 11–13.5 GB/s per core on the
// GPT-2 124M decode shapes, as fast as a plain read of memory measures
// there (../shared/bench membw) and as VecMatAdd on the unpacked matrix.
// Prefetch distances of 8–32 KiB, PREFETCHT0 instead of T1, and reading two
// panels, or four sub-streams of one, at once all measured the same within
// the noise.

const (
	// packedRowMax is the most rows of op(A) the row-vector path takes.
	// Measured against packedFew on the GPT-2 124M decode shapes (see
	// BenchmarkPackedRows): the row kernels stream B faster up to four
	// rows, where both are close to the bandwidth limit.
	packedRowMax = 4
	// rowMaxNR is the widest micro-panel a row-panel kernel handles: the
	// nr of every sgemmKernels variant is at most 32.
	rowMaxNR = 32
	// rowPrefetch is the distance in bytes at which the assembly row-panel
	// kernels prefetch B into L2, far enough ahead for memory's latency at
	// full bandwidth (several microseconds' worth of the stream).
	rowPrefetch = 16 << 10
	// rowParallel is the number of elements of B from which the row-vector
	// path runs on Threads() workers: below it, starting them costs more
	// than they save. (With stories260K's 64×512 head, 2^15 elements, on
	// two workers, its one-row decoding step took 21.5 µs against 21.9 on
	// one thread: the second core was kept busy for nothing. The smallest
	// GPT-2 124M or Llama 110M matrix has 768×768 ≈ 2^19.2.)
	rowParallel = 1 << 16
	// rowChunks is the number of chunks of panels per worker the path aims
	// for: enough to even out a delayed worker, few enough that each chunk
	// is a long sequential stream.
	rowChunks = 8
	// rowChunkBytes is the least size of a chunk in bytes, so that the
	// start of each chunk, whose first rowPrefetch bytes are not prefetched,
	// is a small part of it.
	rowChunkBytes = 256 << 10
)

// rowKind selects the row-panel kernels for a PackedB's variant.
type rowKind uint8

const (
	rowGo     rowKind = iota // rowPanelGo, any nr
	rowAVX512                // sgemvRows<r>x32
	rowAVX2                  // sgemvRows<r>x16
)

// rowJob carries one row-vector product through its workers. Jobs are
// pooled, with the method value of their goroutine entry bound once, so a
// steady-state call allocates nothing.
type rowJob struct {
	pb          *PackedB
	m           int
	alpha, beta float32
	a           []float32
	lda         int
	c           []float32
	ldc         int
	ep          *Epilogue

	panels, chunk int
	next          atomic.Int64     // the first panel of the next chunk to take
	workers       func(lo, hi int) // j.runWorkers, bound once

	// tile receives a partial last panel (n not a multiple of nr), which
	// only one worker computes.
	tile [packedRowMax * rowMaxNR]float32
}

var rowJobs = sync.Pool{New: func() any {
	j := new(rowJob)
	j.workers = j.runWorkers
	return j
}}

// packedRows computes C = alpha·op(A)·B + beta·C and then ep for m <=
// packedRowMax rows, B pre-packed: SgemmPacked's row-vector path. The
// arguments are checked, m, n and k are positive and alpha is not zero.
func packedRows(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, ep *Epilogue) {
	k, n, nr := pb.k, pb.n, pb.impl.nr
	var buf *[]float32
	if transA && (m > 1 || lda != 1) {
		// op(A) is stored across rows: gather its m rows (m·k values).
		buf = getScratch(m * k)
		x := *buf
		for p := 0; p < k; p++ {
			for i, v := range a[p*lda : p*lda+m] {
				x[i*k+p] = v
			}
		}
		a, lda = x, k
	}
	if m == 1 {
		lda = k // unused by the kernels; keeps the bounds checks simple
	}
	j := rowJobs.Get().(*rowJob)
	j.pb, j.m, j.alpha, j.beta, j.a, j.lda, j.c, j.ldc, j.ep = pb, m, alpha, beta, a, lda, c, ldc, ep
	j.panels = (n + nr - 1) / nr
	workers := 1
	if k*n >= rowParallel {
		workers = min(Threads(), j.panels)
	}
	j.chunk = max(rowChunkBytes/(4*nr*k), j.panels/(rowChunks*workers), 1)
	workers = min(workers, (j.panels+j.chunk-1)/j.chunk)
	if workers == 1 {
		j.chunk = j.panels // one stream, prefetched throughout
	}
	j.next.Store(0)
	if workers > 1 {
		ParallelFor(workers, 1, j.workers)
	} else {
		j.run()
	}
	j.pb, j.a, j.c, j.ep = nil, nil, nil, nil
	rowJobs.Put(j)
	if buf != nil {
		putScratch(buf)
	}
}

// runWorkers is the ParallelFor body of a product on several workers:
// each of them runs j.run, taking chunks until none is left.
func (j *rowJob) runWorkers(lo, hi int) {
	for range hi - lo {
		j.run()
	}
}

// run takes chunks of panels until none is left, computes them and applies
// the epilogue to each chunk's columns of C.
func (j *rowJob) run() {
	pb := j.pb
	nr := pb.impl.nr
	for {
		g0 := int(j.next.Add(int64(j.chunk))) - j.chunk
		if g0 >= j.panels {
			return
		}
		g1 := min(g0+j.chunk, j.panels)
		for g := g0; g < g1; g++ {
			j.panel(g, g == g1-1)
		}
		if j.ep != nil {
			j.ep.apply(j.c, j.ldc, 0, j.m, g0*nr, min(g1*nr, pb.n))
		}
	}
}

// panel computes the m×nr block of C of panel g; last says that it ends
// the worker's chunk, so its prefetches stop at its end.
func (j *rowJob) panel(g int, last bool) {
	pb := j.pb
	k, nr := pb.k, pb.impl.nr
	col := g * nr
	w := min(nr, pb.n-col)
	b := pb.data[g*nr*k : (g+1)*nr*k]
	kpf := k
	if last {
		kpf = max(0, k-rowPrefetch/(4*nr))
	}
	if w == nr {
		rowPanel(pb.row, j.m, k, j.a, j.lda, b, nr, j.c[col:], j.ldc, j.alpha, j.beta, kpf)
		return
	}
	tile := j.tile[:j.m*nr]
	rowPanel(pb.row, j.m, k, j.a, j.lda, b, nr, tile, nr, 1, 0, kpf)
	mergeTile(j.c[col:], j.ldc, tile, nr, j.m, w, j.alpha, j.beta)
}

// rowPanelGo is the portable row-panel kernel: the r×nr block (r <=
// packedRowMax, nr <= rowMaxNR) C = alpha·A·B + beta·C, where A holds r rows
// of k values with stride lda, b one packed micro-panel (k steps of nr
// values) and C has stride ldc; C is not read when beta is 0.
func rowPanelGo(r, k int, a []float32, lda int, b []float32, nr int, c []float32, ldc int, alpha, beta float32) {
	b = b[:k*nr]
	for i := 0; i < r; i++ {
		x := a[i*lda : i*lda+k]
		var acc [rowMaxNR]float32
		s := acc[:nr]
		if nr == 4 {
			// The portable variant's panels: four sums in registers.
			var s0, s1, s2, s3 float32
			for p, v := range x {
				bp := b[4*p : 4*p+4 : 4*p+4]
				s0 += v * bp[0]
				s1 += v * bp[1]
				s2 += v * bp[2]
				s3 += v * bp[3]
			}
			s[0], s[1], s[2], s[3] = s0, s1, s2, s3
		} else {
			for p, v := range x {
				for jj, bv := range b[p*nr : p*nr+nr] {
					s[jj] += v * bv
				}
			}
		}
		mergeTile(c[i*ldc:], ldc, s, nr, 1, nr, alpha, beta)
	}
}
