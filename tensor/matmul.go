package tensor

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// matOperand describes the last two dimensions of a tensor as an Sgemm
// operand: a row-major matrix, read transposed when trans is set, with
// leading dimension ld.
type matOperand struct {
	t     *Tensor
	rows  int // logical rows (second-to-last dimension)
	cols  int // logical columns (last dimension)
	trans bool
	ld    int
}

// asMatrix maps t's last two dimensions onto Sgemm's (trans, ld) contract,
// copying t only when neither dimension is dense.
func asMatrix(t *Tensor) matOperand {
	n := len(t.shape)
	r, c := t.shape[n-2], t.shape[n-1]
	sr, sc := t.strides[n-2], t.strides[n-1]
	if (sc == 1 || c == 1) && (r == 1 || sr >= c) {
		ld := sr
		if r == 1 || ld < max(c, 1) {
			ld = max(c, 1)
		}
		return matOperand{t: t, rows: r, cols: c, ld: ld}
	}
	if (sr == 1 || r == 1) && (c == 1 || sc >= r) {
		ld := sc
		if c == 1 || ld < max(r, 1) {
			ld = max(r, 1)
		}
		return matOperand{t: t, rows: r, cols: c, trans: true, ld: ld}
	}
	// Copy only the offending view; batch dims become dense too.
	ct := t.Clone()
	return matOperand{t: ct, rows: r, cols: c, ld: max(c, 1)}
}

// MatMulShape returns the shape of MatMul(a, b), or a *ShapeError: both
// operands need at least two dimensions, a's last must equal b's
// second-to-last, and the leading (batch) dimensions must broadcast.
func MatMulShape(a, b Shape) (Shape, error) {
	if len(a) < 2 || len(b) < 2 {
		return nil, shapeErr("matmul", "operands need at least 2 dimensions", a, b)
	}
	if a[len(a)-1] != b[len(b)-2] {
		return nil, shapeErr("matmul", "inner dimensions differ", a, b)
	}
	batch, err := BroadcastShapes(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, shapeErr("matmul", "batch dimensions do not broadcast", a, b)
	}
	return append(batch, a[len(a)-2], b[len(b)-1]), nil
}

// MatMul returns the matrix product a @ b over the last two dimensions, with
// NumPy broadcasting over the leading (batch) ones: [..., M, K] @ [..., K, N]
// → [..., M, N]. Transposed views (t.T(), Transpose, Permute) are passed to
// Sgemm as transposition flags, without copying.
func MatMul(a, b *Tensor) *Tensor {
	sh, err := MatMulShape(a.shape, b.shape)
	if err != nil {
		panic(err)
	}
	out := dense(make([]float32, sh.Numel()), sh, 0)
	Gemm(out, a, b, 1, 0)
	return out
}

// MatMulInto writes a @ b into dst, which must be contiguous with shape
// MatMulShape(a, b). dst must not overlap a or b.
func MatMulInto(dst, a, b *Tensor) { Gemm(dst, a, b, 1, 0) }

// Gemm computes dst = alpha·(a @ b) + beta·dst with MatMul's broadcasting
// rules. dst must be contiguous with shape MatMulShape(a, b) and must not
// overlap a or b. With beta 0, dst is not read. It is the accumulating form
// used for gradients. At most 8 batch dimensions are supported.
func Gemm(dst, a, b *Tensor, alpha, beta float32) {
	if !matmulFits(dst.shape, a.shape, b.shape) || !dst.IsContiguous() {
		sh, err := MatMulShape(a.shape, b.shape)
		if err != nil {
			panic(err)
		}
		panic(shapeErr("matmul", fmt.Sprintf("destination must be contiguous %v", sh), dst.shape, a.shape, b.shape))
	}
	nb := len(dst.shape) - 2
	if nb > maxInline {
		panic(shapeErr("matmul", "more than 8 batch dimensions", dst.shape))
	}
	if dst.Numel() == 0 {
		return
	}
	ma, mb := asMatrix(a), asMatrix(b)
	m, k, n := ma.rows, ma.cols, mb.cols
	batch := Shape(dst.shape[:nb]).Numel()
	dd := dst.data[dst.offset:]

	// Fold a's batch into M when b is shared by every batch entry and a's
	// batch and row dimensions form one dense run of rows.
	if batch > 1 && !ma.trans && isBatchShared(mb.t) && len(ma.t.shape) == len(dst.shape) {
		if ok, _ := rowsMergeable(ma.t, nb); ok {
			ta := ma.t
			kernels.Sgemm(false, mb.trans, batch*m, n, k, alpha, ta.data[ta.offset:], ma.ld, mb.t.data[mb.t.offset:], mb.ld, beta, dd, n)
			return
		}
	}
	if batch == 1 {
		kernels.Sgemm(ma.trans, mb.trans, m, n, k, alpha, ma.t.data[ma.t.offset:], ma.ld, mb.t.data[mb.t.offset:], mb.ld, beta, dd, n)
		return
	}
	it := gemmBatch{a: ma, b: mb, nb: nb, m: m, n: n, k: k, alpha: alpha, beta: beta, c: dd}
	copy(it.shape[:], dst.shape[:nb])
	batchStrides(it.sa[:nb], ma.t, nb)
	batchStrides(it.sb[:nb], mb.t, nb)
	// Spread batch entries over threads unless the whole product is tiny
	// (goroutine start-up would dominate).
	if batch*m*n*k < 1<<15 || kernels.Threads() == 1 {
		it.run(0, batch)
		return
	}
	pit := it
	kernels.ParallelFor(batch, 1, pit.run)
}

// matmulFits reports whether dst has the shape MatMulShape(a, b), without
// allocating.
func matmulFits(dst, a, b Shape) bool {
	na, nbb, nd := len(a), len(b), len(dst)
	if na < 2 || nbb < 2 || a[na-1] != b[nbb-2] || nd != max(na, nbb) || dst[nd-2] != a[na-2] || dst[nd-1] != b[nbb-1] {
		return false
	}
	for i := 0; i < nd-2; i++ {
		da, db := 1, 1
		if j := i - (nd - na); j >= 0 {
			da = a[j]
		}
		if j := i - (nd - nbb); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db && dst[i] == da:
		case da == 1 && dst[i] == db:
		case db == 1 && dst[i] == da:
		default:
			return false
		}
	}
	return true
}

// gemmBatch runs one Sgemm per batch entry of a broadcast batched product.
type gemmBatch struct {
	a, b        matOperand
	nb, m, n, k int
	alpha, beta float32
	c           []float32
	shape       [maxInline]int
	sa, sb      [maxInline]int
}

func (it *gemmBatch) run(lo, hi int) {
	for i := lo; i < hi; i++ {
		oa, ob := it.a.t.offset, it.b.t.offset
		r := i
		for d := it.nb - 1; d >= 0; d-- {
			j := r % it.shape[d]
			r /= it.shape[d]
			oa += j * it.sa[d]
			ob += j * it.sb[d]
		}
		mn := it.m * it.n
		kernels.Sgemm(it.a.trans, it.b.trans, it.m, it.n, it.k, it.alpha, it.a.t.data[oa:], it.a.ld, it.b.t.data[ob:], it.b.ld, it.beta, it.c[i*mn:], it.n)
	}
}

// batchStrides writes t's strides for the nb leading batch dimensions of the
// output into dst, right-aligned, 0 where t broadcasts.
func batchStrides(dst []int, t *Tensor, nb int) {
	tb := len(t.shape) - 2
	for d := 0; d < nb; d++ {
		j := d - (nb - tb)
		if j < 0 || t.shape[j] == 1 {
			dst[d] = 0
		} else {
			dst[d] = t.strides[j]
		}
	}
}

// isBatchShared reports whether all of t's batch dimensions have size 1.
func isBatchShared(t *Tensor) bool {
	for _, d := range t.shape[:len(t.shape)-2] {
		if d != 1 {
			return false
		}
	}
	return true
}

// rowsMergeable reports whether t's nb batch dimensions and its row
// dimension step through memory as one run of equally spaced rows.
func rowsMergeable(t *Tensor, nb int) (bool, int) {
	n := len(t.shape)
	rs := t.strides[n-2]
	if t.shape[n-2] == 1 {
		rs = max(t.shape[n-1], 1)
		if t.strides[n-1] != 1 && t.shape[n-1] > 1 {
			return false, 0
		}
	}
	want := rs * t.shape[n-2]
	for d := n - 3; d >= n-2-nb && d >= 0; d-- {
		if t.shape[d] != 1 && t.strides[d] != want {
			return false, 0
		}
		want *= t.shape[d]
	}
	return true, rs
}

// Linear returns x @ wᵀ + bias for x [..., in], w [out, in] (PyTorch's
// nn.Linear layout) and bias [out] or nil.
func Linear(x, w, bias *Tensor) *Tensor {
	out := New(linearShape("linear", x, w, bias, false)...)
	LinearInto(out, x, w, bias)
	return out
}

// LinearT returns x @ w + bias for x [..., in], w [in, out] (GPT-2's Conv1D
// layout) and bias [out] or nil.
func LinearT(x, w, bias *Tensor) *Tensor {
	out := New(linearShape("linear-t", x, w, bias, true)...)
	LinearTInto(out, x, w, bias)
	return out
}

// LinearInto writes Linear(x, w, bias) into dst ([..., out], contiguous).
func LinearInto(dst, x, w, bias *Tensor) { linearInto("linear", dst, x, w, bias, false) }

// LinearTInto writes LinearT(x, w, bias) into dst ([..., out], contiguous).
func LinearTInto(dst, x, w, bias *Tensor) { linearInto("linear-t", dst, x, w, bias, true) }

// LinearShape returns the output shape of Linear (or, with wT, LinearT) or a
// *ShapeError.
func LinearShape(x, w, bias Shape, wT bool) (sh Shape, err error) {
	err = Try(func() {
		sh = linearShape("linear", &Tensor{shape: x}, &Tensor{shape: w}, shapeOnly(bias), wT)
	})
	return sh, err
}

func shapeOnly(s Shape) *Tensor {
	if s == nil {
		return nil
	}
	return &Tensor{shape: s}
}

// linearFits checks linearInto's operands without allocating.
func linearFits(dst, x, w, bias *Tensor, wT bool) bool {
	nx := len(x.shape)
	if nx < 1 || len(w.shape) != 2 || len(dst.shape) != nx || !dst.IsContiguous() {
		return false
	}
	in, out := w.shape[1], w.shape[0]
	if wT {
		in, out = out, in
	}
	if x.shape[nx-1] != in || dst.shape[nx-1] != out {
		return false
	}
	if bias != nil && (len(bias.shape) != 1 || bias.shape[0] != out) {
		return false
	}
	for i := 0; i < nx-1; i++ {
		if dst.shape[i] != x.shape[i] {
			return false
		}
	}
	return true
}

func linearShape(op string, x, w, bias *Tensor, wT bool) Shape {
	if len(x.shape) < 1 || len(w.shape) != 2 {
		panic(shapeErr(op, "want x [..., in] and a 2-D weight", x.shape, w.shape))
	}
	in, out := w.shape[1], w.shape[0]
	if wT {
		in, out = out, in
	}
	if x.shape[len(x.shape)-1] != in {
		panic(shapeErr(op, "input features differ from weight", x.shape, w.shape))
	}
	if bias != nil && (len(bias.shape) != 1 || bias.shape[0] != out) {
		panic(shapeErr(op, "bias must be [out]", w.shape, bias.shape))
	}
	sh := x.shape.Clone()
	sh[len(sh)-1] = out
	return sh
}

func linearInto(op string, dst, x, w, bias *Tensor, wT bool) {
	if !linearFits(dst, x, w, bias, wT) {
		sh := linearShape(op, x, w, bias, wT)
		panic(shapeErr(op, fmt.Sprintf("destination must be contiguous %v", sh), dst.shape))
	}
	in := x.shape[len(x.shape)-1]
	out := dst.shape[len(dst.shape)-1]
	rows := Shape(dst.shape[:len(dst.shape)-1]).Numel()
	if dst.Numel() == 0 {
		return
	}
	xm := x
	if len(x.shape) < 2 {
		xm = x.Contiguous()
	} else if ok, _ := rowsMergeable(x, len(x.shape)-2); !ok || (x.strides[len(x.shape)-1] != 1 && in > 1) {
		xm = x.Contiguous()
	}
	ldx := in
	if len(xm.shape) >= 2 && xm.shape[len(xm.shape)-2] > 1 {
		ldx = xm.strides[len(xm.shape)-2]
	}
	d := dst.data[dst.offset : dst.offset+rows*out]
	beta := float32(0)
	if bias != nil {
		bv := bias.Contiguous().Data()
		for r := 0; r < rows; r++ {
			copy(d[r*out:(r+1)*out], bv)
		}
		beta = 1
	}
	mw := asMatrix(w)
	trans := !mw.trans // Linear reads w transposed
	if wT {
		trans = mw.trans
	}
	kernels.Sgemm(false, trans, rows, out, in, 1, xm.data[xm.offset:], max(ldx, 1), mw.t.data[mw.t.offset:], mw.ld, beta, d, out)
}
