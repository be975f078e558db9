package kernels

import "fmt"

// PackedB is the B operand of a matrix product packed once, ahead of time,
// into the micro-panel layout the blocked Sgemm builds on every call. A
// model's weight matrices are multiplied many times and never change, so
// packing them at load time and calling SgemmPacked takes the packing of B
// off every forward pass — for the small batches of prefill, where each
// weight is used by only a few dozen rows, that packing costs about as much
// as the multiplication itself. Such products also get their own loop order
// (see packedFew): the packed matrix is streamed from memory once, with
// prefetches, while every row is multiplied by each part of it. On the GPT-2
// 124M prefill shapes (32 rows) that runs the weight products about 1.7×
// faster than Sgemm; for hundreds of rows or more, where Sgemm's packing is
// a small share, the two run alike. Products of one to four rows (decoding)
// take a row-vector path (see packedRows) that streams the packed panels at
// the memory bandwidth of the cores: 11–13 GB/s per core on the GPT-2 124M
// decode shapes, about 20 % more than packedFew for one row and 40 % for
// four, and within a few per cent of VecMatAdd on the unpacked matrix.
//
// A PackedB is immutable once built and safe for concurrent use. It is tied
// to the Sgemm variant (tile shape) current when it was packed, and holds
// about k·n values of its own (op(B) is copied, with its columns rounded up
// to a multiple of the tile width), independent of the matrix it was packed
// from.
type PackedB struct {
	impl *sgemmKernels
	row  rowKind // the row-panel kernels of impl (packed_row.go)
	k, n int
	// data holds the nr-wide micro-panels of op(B) one after the other,
	// each through the whole depth: panel g holds, for p < k, the nr values
	// op(B)[p, g·nr : g·nr+nr] at data[g·nr·k + p·nr], zero past column n.
	// The rows [pc, pc+kc) of a panel, which the microkernel reads as one
	// packed micro-panel, are contiguous, and a panel is read from start to
	// end as the product runs through k.
	data []float32
}

// PackB packs op(B), a k×n matrix, for SgemmPacked: when transB is false, b
// holds k rows of n values with row stride ldb (ldb >= n); when true, it
// holds n rows of k values (ldb >= k) and is read transposed — a PyTorch
// nn.Linear weight [out, in] is op(B) = Wᵀ with transB true, k = in, n = out.
// b is not referenced after PackB returns. Like Sgemm, PackB panics if a
// dimension is negative, the stride is too small, or b is too short.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: PackB: negative dimension k=%d n=%d", k, n))
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("B", br, bc, b, ldb)
	return packBParts(transB, k, n, func(int) ([]float32, int, int) { return b, ldb, 0 })
}

// PackBRows packs the rows of several matrices, parts[i] holding nᵢ rows of
// k values (row-major, stride k), as the columns of one op(B) of k×Σnᵢ:
// PackB(true, k, Σnᵢ, their concatenation, k) without making the
// concatenation, which for a model's fused projections (q|k|v, gate|up)
// would be a copy of each as large as the packed result. PackBRows panics
// if a part's length is not a multiple of k.
func PackBRows(k int, parts ...[]float32) *PackedB {
	if k <= 0 {
		panic(fmt.Sprintf("kernels: PackBRows: depth k=%d", k))
	}
	n, aligned := 0, true
	nr := sgemmImpl.packing().nr
	offs := make([]int, len(parts)+1)
	for i, p := range parts {
		if len(p)%k != 0 {
			panic(fmt.Sprintf("kernels: PackBRows: part %d of %d values is not rows of %d", i, len(p), k))
		}
		aligned = aligned && (len(p)/k)%nr == 0
		n += len(p) / k
		offs[i+1] = n
	}
	if !aligned { // a micro-panel would straddle two parts
		cat := make([]float32, 0, n*k)
		for _, p := range parts {
			cat = append(cat, p...)
		}
		return PackB(true, k, n, cat, k)
	}
	return packBParts(true, k, n, func(col int) ([]float32, int, int) {
		i := 0
		for offs[i+1] <= col {
			i++
		}
		return parts[i], k, offs[i]
	})
}

// packBParts packs a k×n op(B) whose columns starting at col are read from
// the matrix part(col) returns, with its stride and the column it starts
// at; every micro-panel lies in one part.
func packBParts(transB bool, k, n int, part func(col int) (b []float32, ldb, off int)) *PackedB {
	impl := sgemmImpl.packing()
	nr, kcMax := impl.nr, impl.kc
	panels := (n + nr - 1) / nr
	pb := &PackedB{impl: impl, row: rowKindOf(impl), k: k, n: n, data: make([]float32, panels*nr*k)}
	ParallelFor(panels, 4, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			col := g * nr
			w := min(nr, n-col)
			b, ldb, off := part(col)
			for pc := 0; pc < k; pc += kcMax {
				kc := min(kcMax, k-pc)
				dst := pb.data[g*nr*k+pc*nr:]
				if impl.packCols != nil {
					impl.packCols(dst, b, ldb, transB, pc, kc, col-off, w, 0, 1, nil)
				} else {
					packB(dst, b, ldb, transB, pc, kc, col-off, w, nr, 0, 1)
				}
			}
		}
	})
	return pb
}

// Dims returns the shape of op(B): k rows (the depth of the product) and n
// columns (the columns of C).
func (pb *PackedB) Dims() (k, n int) { return pb.k, pb.n }

// block returns the packed B block of rows [pc, …) and columns [jc, …),
// jc a multiple of nr, as sgemmBlock.bp and bstride: its micro-panels start
// at bp[t·bstride].
func (pb *PackedB) block(jc, pc int) (bp []float32, bstride int) {
	nr := pb.impl.nr
	return pb.data[jc*pb.k+pc*nr:], nr * pb.k
}

// addColumnSums adds op(B)'s column sums over its k rows to sums (n values),
// from the packed panels: panel g is a k×nr row-major matrix.
func (pb *PackedB) addColumnSums(sums []float32) {
	nr := pb.impl.nr
	for g := 0; g*nr < pb.n; g++ {
		w := min(nr, pb.n-g*nr)
		addPanelSums(sums[g*nr:g*nr+w], pb.data[g*nr*pb.k:], nr, false, 0, pb.k, 0, w, w, 0, 1)
	}
}

// floatsPerLine is the number of float32 values in a 64-byte cache line.
const floatsPerLine = 16

// sgemmPackedFewA is the most elements of packed op(A) for which a product
// with a pre-packed B runs packedFew: 1 MiB, which stays in L2 while the
// panels of B stream past.
const sgemmPackedFewA = 1 << 18

// packedFew multiplies a pre-packed B by few rows (a packed op(A) of at most
// sgemmPackedFewA elements, as in a prefill of a few dozen tokens). op(A) is
// packed whole, once, and shared; the workers take chunks of B micro-panels
// in turn through j.next[0], and run each panel through the whole depth k,
// every row of A against it. So B, which no cache holds, is read from memory
// once, from start to end, and each part of it is used by every row while it
// is in L1; the tiles of C a panel produces stay in L1 across the depth, and
// get the epilogue when done.
//
// The memory stream is kept going all the time: while the full tiles of one
// kc-deep part of a panel are computed, they prefetch the next part (the
// next kc rows of the panel, or the start of the next panel) into L2, the
// first two tiles half each, or a single full tile all of it. Without that,
// B arrived only as fast as the first tile of each part asked for it, and
// the other tiles left the memory bus idle.
func (j *sgemmJob) packedFew(workers int) {
	impl := j.impl
	mr, kcMax := impl.mr, impl.kc
	mTiles := (j.m + mr - 1) / mr
	j.apStride = mTiles * mr
	buf := getScratch(j.apStride * j.k)
	j.ap = *buf
	for pc := 0; pc < j.k; pc += kcMax {
		kc := min(kcMax, j.k-pc)
		if impl.packRows != nil {
			impl.packRows(j.ap[pc*j.apStride:], j.a, j.lda, j.transA, 0, j.m, pc, kc)
		} else {
			packA(j.ap[pc*j.apStride:], j.a, j.lda, j.transA, 0, j.m, pc, kc, mr)
		}
	}
	panels := (j.n + impl.nr - 1) / impl.nr
	// About eight chunks per worker balance the load when another process
	// delays one of them; a chunk of two panels or more keeps most of a
	// worker's stream of B sequential, and so its prefetches its own.
	j.chunk = max(min(2, panels), panels/(8*workers))
	j.next[0].Store(0)
	if workers == 1 {
		j.fewWorker(0, 1)
	} else {
		ParallelFor(workers, 1, j.fewWorker)
	}
	putScratch(buf)
}

// fewWorker is one worker of packedFew.
func (j *sgemmJob) fewWorker(_, _ int) {
	impl := j.impl
	mr, nr, kcMax := impl.mr, impl.nr, impl.kc
	mTiles := (j.m + mr - 1) / mr
	panels := (j.n + nr - 1) / nr
	full := j.m / mr // tiles of mr rows
	tb := getScratch(mr * nr)
	for {
		g0 := int(j.next[0].Add(int64(j.chunk))) - j.chunk
		if g0 >= panels {
			break
		}
		g1 := min(g0+j.chunk, panels)
		for g := g0; g < g1; g++ {
			col := g * nr
			w := min(nr, j.n-col)
			for pc := 0; pc < j.k; pc += kcMax {
				blk := sgemmBlock{jc: col, nc: w, pc: pc, kc: min(kcMax, j.k-pc), beta: j.beta}
				if pc > 0 {
					blk.beta = 1
				}
				blk.bp, blk.bstride = j.pb.block(col, pc)
				ap := j.ap[pc*j.apStride:]
				// The next part of B in memory: the rest of this panel, or
				// the next panel of the chunk, both contiguous. (After the
				// chunk's last part, the tiles prefetch that part again,
				// already in cache, rather than another worker's panel.)
				next := g*nr*j.k + (pc+blk.kc)*nr
				if g == g1-1 && pc+blk.kc >= j.k {
					next = g*nr*j.k + pc*nr
				}
				for ir := range mTiles {
					if ir < 2 && ir < full && w == nr && impl.micropf != nil {
						// One tile prefetches 2 lines a step (the whole
						// next part, kc steps of nr = 32 values), or each
						// of two tiles one line a step, half of it.
						lines := 2 / min(full, 2)
						// Prefetches do not fault: past the end of B, any
						// address in it will do.
						pf := &j.pb.data[min(next+ir*blk.kc*floatsPerLine, len(j.pb.data)-1)]
						impl.micropf(lines, blk.kc, ap[ir*mr*blk.kc:], blk.bp, j.c[ir*mr*j.ldc+col:], j.ldc, j.alpha, blk.beta, pf)
						continue
					}
					j.tile(&blk, ap, *tb, 0, j.m, ir, 0)
				}
			}
			if j.ep != nil {
				j.ep.apply(j.c, j.ldc, 0, j.m, col, col+w)
			}
		}
	}
	putScratch(tb)
}

// Epilogue is work fused into a product: once a strip of C holds its
// finished alpha·op(A)·op(B) + beta·C, SgemmPacked or SgemmEpilogue adds
// Bias to every row of it, then Residual, multiplies it element-wise by
// Scale, and then applies Act, while the strip is still in cache; and while
// op(B) is packed its column sums are added to SumsB. The zero value does
// nothing.
type Epilogue struct {
	// Bias, when not nil, holds n values added to every row of C.
	Bias []float32
	// Residual, when not nil, holds an m×n matrix with row stride
	// LdResidual (>= n) added to C after Bias: a residual connection,
	// x + f(x). It must not overlap C.
	Residual   []float32
	LdResidual int
	// Scale, when not nil, holds an m×n matrix with row stride LdScale
	// (>= n) by which C is multiplied element-wise after Residual: in a
	// backward pass, the saved derivative of an activation (see
	// GELUWithDerivative). It must not overlap C.
	Scale   []float32
	LdScale int
	// Act, when not nil, is applied to spans of C's rows last, in place
	// (Act(span, span)) unless Out is set; any element-wise kernel fits,
	// such as GELU, GELUTanh, ReLU or SiLU. It is called concurrently on
	// disjoint spans.
	Act func(dst, x []float32)
	// Out, when not nil (and Act is set), holds an m×n matrix with row
	// stride LdOut (>= n) that receives Act's result instead of C:
	// Act(out span, C span), and
	// C keeps its value before Act — or what Act leaves in it, as with
	// func(dst, x []float32) { GELUWithDerivative(dst, x, x) }, which keeps
	// the derivative a backward pass needs. It must not overlap C.
	Out   []float32
	LdOut int
	// SumsB, when not nil, holds n values; SumsB[j] += Σ_p op(B)[p][j], the
	// unscaled sum of column j of op(B) over its k rows. With B the gradient
	// of a linear layer's output, that is its bias gradient, taken while B
	// passes through cache for the weight gradient Aᵀ·B (cuBLASLt's BGRADB).
	SumsB []float32
	// BF16, when not nil, holds an m×n matrix of bfloat16 values (raw bit
	// patterns) with row stride LdBF16 (>= n) that receives the epilogue's
	// final values rounded to nearest even as F32ToBF16 does — Out's when
	// Act writes Out, else C's — while each strip of C is in cache: the
	// operand of a following bfloat16 product (GemmBF16Rows), rounded
	// without another pass over C. It must not overlap C or Out.
	BF16   []uint16
	LdBF16 int
}

// check panics unless ep's slices fit an m×n product.
func (ep *Epilogue) check(fn string, m, n int) {
	if ep == nil {
		return
	}
	if ep.Bias != nil && len(ep.Bias) != n {
		panic(fmt.Sprintf("kernels: %s: bias has %d values, want %d", fn, len(ep.Bias), n))
	}
	for _, x := range []struct {
		name string
		s    []float32
		ld   int
	}{{"Residual", ep.Residual, ep.LdResidual}, {"Scale", ep.Scale, ep.LdScale}, {"Out", ep.Out, ep.LdOut}} {
		if x.s != nil && (x.ld < n || m > 0 && len(x.s) < (m-1)*x.ld+n) {
			panic(fmt.Sprintf("kernels: %s: %s of %d values with stride %d does not hold %d×%d", fn, x.name, len(x.s), x.ld, m, n))
		}
	}
	if ep.SumsB != nil && len(ep.SumsB) != n {
		panic(fmt.Sprintf("kernels: %s: SumsB has %d values, want %d", fn, len(ep.SumsB), n))
	}
	if ep.BF16 != nil && (ep.LdBF16 < n || m > 0 && len(ep.BF16) < (m-1)*ep.LdBF16+n) {
		panic(fmt.Sprintf("kernels: %s: BF16 of %d values with stride %d does not hold %d×%d", fn, len(ep.BF16), ep.LdBF16, m, n))
	}
}

// onC returns ep without SumsB, or nil when nothing is left of it.
func (ep *Epilogue) onC() *Epilogue {
	if ep == nil || (ep.Bias == nil && ep.Residual == nil && ep.Scale == nil && ep.Act == nil && ep.BF16 == nil) {
		return nil
	}
	if ep.SumsB == nil {
		return ep
	}
	e := *ep
	e.SumsB = nil
	return &e
}

// apply runs the epilogue on rows [i0, i1) and columns [j0, j1) of C.
func (ep *Epilogue) apply(c []float32, ldc, i0, i1, j0, j1 int) {
	for i := i0; i < i1; i++ {
		span := c[i*ldc+j0 : i*ldc+j1]
		if ep.Bias != nil {
			Add(span, span, ep.Bias[j0:j1])
		}
		if ep.Residual != nil {
			Add(span, span, ep.Residual[i*ep.LdResidual+j0:i*ep.LdResidual+j1])
		}
		if ep.Scale != nil {
			Mul(span, span, ep.Scale[i*ep.LdScale+j0:i*ep.LdScale+j1])
		}
		final := span
		if ep.Act != nil {
			if ep.Out != nil {
				final = ep.Out[i*ep.LdOut+j0 : i*ep.LdOut+j1]
			}
			ep.Act(final, span)
		}
		if ep.BF16 != nil {
			F32ToBF16(ep.BF16[i*ep.LdBF16+j0:i*ep.LdBF16+j1], final)
		}
	}
}

// SgemmPacked computes C = alpha·op(A)·B + beta·C like Sgemm, with B packed
// in advance by PackB (k and n are its dimensions), and then applies ep to C
// (nil: no epilogue). op(A) is m×k: when transA is false A holds m rows of
// k values with stride lda (lda >= k); when true, k rows of m values (lda >=
// m). C holds m rows of n values with stride ldc (ldc >= n); when beta is 0
// C is not read. C must not alias A.
//
// It runs the blocked algorithm of Sgemm, parallel over Threads() workers,
// with the packing of B skipped; up to four rows of op(A), it streams the
// packed B once through row-panel kernels instead (packed_row.go). SgemmPacked panics if m is negative, a
// stride is too small, a slice is too short for its matrix, or ep does not
// fit the product (see SgemmEpilogue).
func SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, ep *Epilogue) {
	if m < 0 {
		panic(fmt.Sprintf("kernels: SgemmPacked: negative dimension m=%d", m))
	}
	k, n := pb.k, pb.n
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("C", m, n, c, ldc)
	ep.check("SgemmPacked", m, n)
	if ep != nil && ep.SumsB != nil {
		pb.addColumnSums(ep.SumsB)
	}
	ep = ep.onC()
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		if ep != nil {
			ep.apply(c, ldc, 0, m, 0, n)
		}
		return
	}
	if m <= packedRowMax {
		packedRows(transA, m, alpha, a, lda, pb, beta, c, ldc, ep)
		return
	}
	sgemmBlocked(pb.impl, transA, false, m, n, k, alpha, a, lda, nil, 0, beta, c, ldc, pb, ep)
}

// SgemmEpilogue is Sgemm followed by ep (nil: none) on C, fused into the
// blocked product's final write of each strip of C where the product takes
// that path: C = ep(alpha·op(A)·op(B) + beta·C), for instance a linear
// layer's bias and activation. Its arguments and panics are Sgemm's, and it
// panics too if ep.Bias or ep.SumsB does not hold n values or ep.Residual,
// ep.Scale or ep.Out does not hold an m×n matrix.
func SgemmEpilogue(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *Epilogue) {
	checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	ep.check("SgemmEpilogue", m, n)
	if ep.onC() == nil && (ep == nil || ep.SumsB == nil) {
		Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if n == 0 {
		return
	}
	impl := sgemmImpl.forProduct(m, n, k)
	if m == 0 || k == 0 || alpha == 0 || impl.skinny != nil && impl.skinny(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		// No packing of B to fuse the sums into.
		addPanelSums(ep.SumsB, b, ldb, transB, 0, k, 0, n, n, 0, 1)
		if m == 0 {
			return
		}
		if k == 0 || alpha == 0 {
			scaleMatrix(m, n, beta, c, ldc)
		}
		if ep := ep.onC(); ep != nil {
			ep.apply(c, ldc, 0, m, 0, n)
		}
		return
	}
	sgemmBlocked(impl, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, ep)
}
