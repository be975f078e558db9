package tensor

import (
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// Element-wise binary operations with NumPy broadcasting. Every operation is
// implemented once, by binaryInto, over a generic strided iteration: the
// operands' strides are broadcast to the output shape (stride 0 where a
// dimension repeats), adjacent dimensions that are contiguous in all three
// operands are merged, and the innermost run is handed to a kernel. Dense
// runs go to the SIMD vector kernels.

type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opCopy     // dst = a
	opMaskFill // dst = b != 0 ? scalar : a
	opMaximum
	opMinimum
)

var binOpNames = [...]string{"add", "sub", "mul", "div", "copy", "masked-fill", "maximum", "minimum"}

// parallelMin is the element count above which element-wise work is split
// across threads.
const parallelMin = 1 << 15

// maxInline is the rank handled without allocating index arrays.
const maxInline = 8

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return binary(opAdd, a, b, 0) }

// Sub returns a − b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return binary(opSub, a, b, 0) }

// Mul returns a · b element-wise with broadcasting.
func Mul(a, b *Tensor) *Tensor { return binary(opMul, a, b, 0) }

// Div returns a / b element-wise with broadcasting.
func Div(a, b *Tensor) *Tensor { return binary(opDiv, a, b, 0) }

// Maximum returns max(a, b) element-wise with broadcasting.
func Maximum(a, b *Tensor) *Tensor { return binary(opMaximum, a, b, 0) }

// Minimum returns min(a, b) element-wise with broadcasting.
func Minimum(a, b *Tensor) *Tensor { return binary(opMinimum, a, b, 0) }

// MaskedFill returns a copy of x with value wherever mask (broadcast to x's
// shape) is non-zero, like torch.Tensor.masked_fill.
func MaskedFill(x, mask *Tensor, value float32) *Tensor {
	out := New(x.shape...)
	MaskedFillInto(out, x, mask, value)
	return out
}

// AddInto writes a + b into dst, whose shape must be the broadcast shape of
// a and b. dst may be a strided view and may be a or b (but must not
// otherwise overlap them).
func AddInto(dst, a, b *Tensor) { binaryInto("add", opAdd, dst, a, b) }

// SubInto writes a − b into dst; see AddInto.
func SubInto(dst, a, b *Tensor) { binaryInto("sub", opSub, dst, a, b) }

// MulInto writes a · b into dst; see AddInto.
func MulInto(dst, a, b *Tensor) { binaryInto("mul", opMul, dst, a, b) }

// DivInto writes a / b into dst; see AddInto.
func DivInto(dst, a, b *Tensor) { binaryInto("div", opDiv, dst, a, b) }

// MaskedFillInto writes MaskedFill(x, mask, value) into dst (x's shape).
func MaskedFillInto(dst, x, mask *Tensor, value float32) {
	if !broadcastsTo(mask.shape, x.shape) {
		panic(shapeErr("masked-fill", "mask does not broadcast to input", x.shape, mask.shape))
	}
	binaryIntoScalar("masked-fill", opMaskFill, dst, x, mask, value)
}

// broadcastsTo reports whether shape s broadcasts to shape to without
// changing it.
func broadcastsTo(s, to Shape) bool {
	if len(s) > len(to) {
		return false
	}
	for i := range s {
		d, e := s[len(s)-1-i], to[len(to)-1-i]
		if d != e && d != 1 {
			return false
		}
	}
	return true
}

func binary(op binOp, a, b *Tensor, scalar float32) *Tensor {
	sh, err := BroadcastShapes(a.shape, b.shape)
	if err != nil {
		panic(shapeErr(binOpNames[op], "shapes do not broadcast", a.shape, b.shape))
	}
	out := dense(make([]float32, sh.Numel()), sh, 0)
	binaryIntoScalar(binOpNames[op], op, out, a, b, scalar)
	return out
}

func binaryInto(name string, op binOp, dst, a, b *Tensor) {
	binaryIntoScalar(name, op, dst, a, b, 0)
}

// binaryIntoScalar is the strided broadcasting engine.
func binaryIntoScalar(name string, op binOp, dst, a, b *Tensor, scalar float32) {
	if !broadcastsTo(a.shape, dst.shape) || !broadcastsTo(b.shape, dst.shape) {
		panic(shapeErr(name, "operands do not broadcast to the destination", dst.shape, a.shape, b.shape))
	}
	total := dst.Numel()
	if total == 0 {
		return
	}
	// Fast path: everything dense and of the same shape.
	if a.shape.Equal(dst.shape) && b.shape.Equal(dst.shape) && dst.IsContiguous() && a.IsContiguous() && b.IsContiguous() {
		d := dst.data[dst.offset : dst.offset+total]
		x := a.data[a.offset : a.offset+total]
		y := b.data[b.offset : b.offset+total]
		if total < parallelMin || kernels.Threads() == 1 {
			runKernel(op, d, 1, x, 1, y, 1, total, scalar)
			return
		}
		kernels.ParallelFor(total, parallelMin/2, func(lo, hi int) {
			runKernel(op, d[lo:hi], 1, x[lo:hi], 1, y[lo:hi], 1, hi-lo, scalar)
		})
		return
	}
	var it bcastIter
	if !it.init(op, scalar, dst, a, b) {
		panic(shapeErr(name, "more than 8 dimensions that cannot be merged", dst.shape, a.shape, b.shape))
	}
	inner := it.shape[it.m-1]
	outer := total / inner
	if total < parallelMin || outer == 1 || kernels.Threads() == 1 {
		it.run(0, outer)
		return
	}
	pit := it // only the parallel path moves a copy to the heap
	kernels.ParallelFor(outer, max(1, parallelMin/2/inner), pit.run)
}

// bcastIter walks the output of a broadcast binary operation: the operands'
// strides broadcast to the output shape (0 where a dimension repeats), with
// size-1 dimensions dropped and neighbours that are contiguous in all three
// operands merged. It holds no pointers to the stack so that the
// single-threaded path allocates nothing.
type bcastIter struct {
	op                binOp
	scalar            float32
	m                 int
	shape, sd, sa, sb [maxInline]int
	dst, a, b         []float32
	od, oa, ob        int
}

func (it *bcastIter) init(op binOp, scalar float32, dst, a, b *Tensor) bool {
	it.op, it.scalar = op, scalar
	it.dst, it.a, it.b = dst.data, a.data, b.data
	it.od, it.oa, it.ob = dst.offset, a.offset, b.offset
	n := len(dst.shape)
	m := 0
	for i := 0; i < n; i++ {
		d := dst.shape[i]
		if d == 1 {
			continue
		}
		sd := dst.strides[i]
		sa := bcastStride(a, n, i)
		sb := bcastStride(b, n, i)
		if m > 0 && it.sd[m-1] == sd*d && it.sa[m-1] == sa*d && it.sb[m-1] == sb*d {
			it.shape[m-1] *= d
			it.sd[m-1], it.sa[m-1], it.sb[m-1] = sd, sa, sb
			continue
		}
		if m == maxInline {
			return false
		}
		it.shape[m], it.sd[m], it.sa[m], it.sb[m] = d, sd, sa, sb
		m++
	}
	if m == 0 {
		it.shape[0], it.sd[0], it.sa[0], it.sb[0] = 1, 0, 0, 0
		m = 1
	}
	it.m = m
	return true
}

// bcastStride returns t's stride for dimension i of a rank-n output (0 where
// t broadcasts).
func bcastStride(t *Tensor, n, i int) int {
	j := i - (n - len(t.shape))
	if j < 0 || t.shape[j] == 1 {
		return 0
	}
	return t.strides[j]
}

// run processes outer rows [lo, hi) of the iteration.
func (it *bcastIter) run(lo, hi int) {
	m := it.m
	var idx [maxInline]int
	od, oa, ob := it.od, it.oa, it.ob
	r := lo
	for k := m - 2; k >= 0; k-- {
		idx[k] = r % it.shape[k]
		r /= it.shape[k]
		od += idx[k] * it.sd[k]
		oa += idx[k] * it.sa[k]
		ob += idx[k] * it.sb[k]
	}
	inner := it.shape[m-1]
	ld, la, lb := it.sd[m-1], it.sa[m-1], it.sb[m-1]
	for o := lo; o < hi; o++ {
		runKernel(it.op, it.dst[od:], ld, it.a[oa:], la, it.b[ob:], lb, inner, it.scalar)
		for k := m - 2; k >= 0; k-- {
			idx[k]++
			od += it.sd[k]
			oa += it.sa[k]
			ob += it.sb[k]
			if idx[k] < it.shape[k] {
				break
			}
			od -= idx[k] * it.sd[k]
			oa -= idx[k] * it.sa[k]
			ob -= idx[k] * it.sb[k]
			idx[k] = 0
		}
	}
}

// bcastStrides writes t's strides right-aligned to rank n, with 0 for
// broadcast dimensions.
func bcastStrides(dst []int, t *Tensor, n int) {
	off := n - len(t.shape)
	for i := 0; i < off; i++ {
		dst[i] = 0
	}
	for i, d := range t.shape {
		if d == 1 {
			dst[off+i] = 0
		} else {
			dst[off+i] = t.strides[i]
		}
	}
}

// runKernel applies op to n elements: d[i·sd] = a[i·sa] op b[i·sb].
func runKernel(op binOp, d []float32, sd int, a []float32, sa int, b []float32, sb int, n int, scalar float32) {
	if sd == 1 && sa == 1 && sb == 1 {
		d, a, b = d[:n], a[:n], b[:n]
		switch op {
		case opAdd:
			kernels.Add(d, a, b)
		case opSub:
			kernels.Sub(d, a, b)
		case opMul:
			kernels.Mul(d, a, b)
		case opCopy:
			copy(d, a)
		default:
			for i := range d {
				d[i] = apply1(op, a[i], b[i], scalar)
			}
		}
		return
	}
	if sd == 1 && sa == 1 && sb == 0 {
		d, a = d[:n], a[:n]
		y := b[0]
		switch op {
		case opAdd:
			for i, v := range a {
				d[i] = v + y
			}
		case opSub:
			for i, v := range a {
				d[i] = v - y
			}
		case opMul:
			for i, v := range a {
				d[i] = v * y
			}
		case opDiv:
			for i, v := range a {
				d[i] = v / y
			}
		case opCopy:
			copy(d, a)
		default:
			for i, v := range a {
				d[i] = apply1(op, v, y, scalar)
			}
		}
		return
	}
	if sd == 1 && sa == 0 && sb == 1 && op == opAdd {
		x := a[0]
		for i, v := range b[:n] {
			d[i] = x + v
		}
		return
	}
	if sd == 1 && sa == 0 && op == opCopy {
		x := a[0]
		for i := range d[:n] {
			d[i] = x
		}
		return
	}
	id, ia, ib := 0, 0, 0
	switch op {
	case opAdd:
		for i := 0; i < n; i++ {
			d[id] = a[ia] + b[ib]
			id, ia, ib = id+sd, ia+sa, ib+sb
		}
	case opMul:
		for i := 0; i < n; i++ {
			d[id] = a[ia] * b[ib]
			id, ia, ib = id+sd, ia+sa, ib+sb
		}
	case opCopy:
		for i := 0; i < n; i++ {
			d[id] = a[ia]
			id, ia = id+sd, ia+sa
		}
	default:
		for i := 0; i < n; i++ {
			d[id] = apply1(op, a[ia], b[ib], scalar)
			id, ia, ib = id+sd, ia+sa, ib+sb
		}
	}
}

func apply1(op binOp, x, y, scalar float32) float32 {
	switch op {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opDiv:
		return x / y
	case opCopy:
		return x
	case opMaskFill:
		if y != 0 {
			return scalar
		}
		return x
	case opMaximum: // NaN in either operand propagates, as torch.maximum
		if x > y || x != x {
			return x
		}
		return y
	case opMinimum:
		if x < y || x != x {
			return x
		}
		return y
	}
	panic("tensor: unknown op")
}

// AccumulateInto adds src, summed over its broadcast dimensions, into dst:
// dst += reduce(src) where dst's shape broadcasts to src's shape. It is the
// adjoint of broadcasting and is how gradients of broadcast operands are
// formed.
func AccumulateInto(dst, src *Tensor) {
	if !broadcastsTo(dst.shape, src.shape) {
		panic(shapeErr("accumulate", "destination does not broadcast to source", dst.shape, src.shape))
	}
	if dst.shape.Equal(src.shape) {
		binaryInto("accumulate", opAdd, dst, dst, src)
		return
	}
	// Reduce over broadcast dims: view dst expanded to src's shape (stride 0
	// on broadcast dims) and accumulate sequentially so that repeated
	// destination elements add up.
	n := len(src.shape)
	st := make([]int, n)
	bcastStrides(st, dst, n)
	exp := header(dst.data, n, dst.offset)
	copy(exp.shape, src.shape)
	copy(exp.strides, st)
	// Special case: trailing dims dense in both, leading dims broadcast
	// (bias gradients): sum rows with Axpy.
	sc := src.Contiguous()
	if dst.IsContiguous() {
		k := dst.Numel()
		if k > 0 && sc.Numel()%k == 0 && isTrailingBroadcast(dst.shape, src.shape) {
			d := dst.data[dst.offset : dst.offset+k]
			s := sc.data[sc.offset : sc.offset+sc.Numel()]
			for r := 0; r+k <= len(s); r += k {
				kernels.Add(d, d, s[r:r+k])
			}
			return
		}
	}
	accumulateSerial(exp, sc)
}

// isTrailingBroadcast reports whether small equals the trailing dimensions of
// big after dropping leading ones of small.
func isTrailingBroadcast(small, big Shape) bool {
	i := 0
	for i < len(small) && small[i] == 1 {
		i++
	}
	s := small[i:]
	if len(s) > len(big) {
		return false
	}
	return Shape(big[len(big)-len(s):]).Equal(s)
}

// accumulateSerial computes dst += src element by element in row-major order
// without parallelism (dst may repeat elements through zero strides).
func accumulateSerial(dst, src *Tensor) {
	n := len(src.shape)
	if src.Numel() == 0 {
		return
	}
	if n == 0 {
		dst.data[dst.offset] += src.data[src.offset]
		return
	}
	idx := make([]int, n)
	od, os := dst.offset, src.offset
	last := n - 1
	inner := src.shape[last]
	for {
		ld, ls := dst.strides[last], src.strides[last]
		if ld == 0 && ls == 1 {
			dst.data[od] += kernels.Sum(src.data[os : os+inner])
		} else if ld == 1 && ls == 1 {
			d := dst.data[od : od+inner]
			kernels.Add(d, d, src.data[os:os+inner])
		} else {
			for i := 0; i < inner; i++ {
				dst.data[od+i*ld] += src.data[os+i*ls]
			}
		}
		k := last - 1
		for ; k >= 0; k-- {
			idx[k]++
			od += dst.strides[k]
			os += src.strides[k]
			if idx[k] < src.shape[k] {
				break
			}
			od -= idx[k] * dst.strides[k]
			os -= idx[k] * src.strides[k]
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// Unary operations.

type unOp uint8

const (
	uNeg unOp = iota
	uExp
	uLog
	uSqrt
	uPow
	uAddScalar
	uMulScalar
	uTanh
	uReLU
	uGELU
	uGELUTanh
	uSiLU
	uSigmoid
	uAbs
)

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float32) *Tensor { return unary(uAddScalar, x, s) }

// MulScalar returns x · s.
func MulScalar(x *Tensor, s float32) *Tensor { return unary(uMulScalar, x, s) }

// Neg returns −x.
func Neg(x *Tensor) *Tensor { return unary(uNeg, x, 0) }

// Exp returns eˣ element-wise.
func Exp(x *Tensor) *Tensor { return unary(uExp, x, 0) }

// Log returns the natural logarithm element-wise.
func Log(x *Tensor) *Tensor { return unary(uLog, x, 0) }

// Sqrt returns the square root element-wise.
func Sqrt(x *Tensor) *Tensor { return unary(uSqrt, x, 0) }

// Pow returns xᵖ element-wise.
func Pow(x *Tensor, p float32) *Tensor { return unary(uPow, x, p) }

// Abs returns |x| element-wise.
func Abs(x *Tensor) *Tensor { return unary(uAbs, x, 0) }

// Tanh returns tanh(x) element-wise.
func Tanh(x *Tensor) *Tensor { return unary(uTanh, x, 0) }

// Sigmoid returns 1/(1+e⁻ˣ) element-wise.
func Sigmoid(x *Tensor) *Tensor { return unary(uSigmoid, x, 0) }

// ReLU returns max(x, 0) element-wise.
func ReLU(x *Tensor) *Tensor { return unary(uReLU, x, 0) }

// GELU returns the exact (erf) GELU element-wise, as torch.nn.GELU().
func GELU(x *Tensor) *Tensor { return unary(uGELU, x, 0) }

// GELUTanh returns the tanh-approximated GELU (GPT-2's gelu_new).
func GELUTanh(x *Tensor) *Tensor { return unary(uGELUTanh, x, 0) }

// SiLU returns x·σ(x) element-wise.
func SiLU(x *Tensor) *Tensor { return unary(uSiLU, x, 0) }

// AddScalarInto writes x + s into dst (x's shape, contiguous).
func AddScalarInto(dst, x *Tensor, s float32) { unaryInto("add-scalar", uAddScalar, dst, x, s) }

// MulScalarInto writes x · s into dst (x's shape, contiguous).
func MulScalarInto(dst, x *Tensor, s float32) { unaryInto("mul-scalar", uMulScalar, dst, x, s) }

// NegInto writes −x into dst.
func NegInto(dst, x *Tensor) { unaryInto("neg", uNeg, dst, x, 0) }

// ExpInto writes eˣ into dst.
func ExpInto(dst, x *Tensor) { unaryInto("exp", uExp, dst, x, 0) }

// LogInto writes log x into dst.
func LogInto(dst, x *Tensor) { unaryInto("log", uLog, dst, x, 0) }

// SqrtInto writes √x into dst.
func SqrtInto(dst, x *Tensor) { unaryInto("sqrt", uSqrt, dst, x, 0) }

// PowInto writes xᵖ into dst.
func PowInto(dst, x *Tensor, p float32) { unaryInto("pow", uPow, dst, x, p) }

// TanhInto writes tanh x into dst.
func TanhInto(dst, x *Tensor) { unaryInto("tanh", uTanh, dst, x, 0) }

// SigmoidInto writes σ(x) into dst.
func SigmoidInto(dst, x *Tensor) { unaryInto("sigmoid", uSigmoid, dst, x, 0) }

// ReLUInto writes max(x, 0) into dst.
func ReLUInto(dst, x *Tensor) { unaryInto("relu", uReLU, dst, x, 0) }

// GELUInto writes the exact GELU of x into dst.
func GELUInto(dst, x *Tensor) { unaryInto("gelu", uGELU, dst, x, 0) }

// GELUTanhInto writes the tanh-approximated GELU of x into dst.
func GELUTanhInto(dst, x *Tensor) { unaryInto("gelu-tanh", uGELUTanh, dst, x, 0) }

// SiLUInto writes x·σ(x) into dst.
func SiLUInto(dst, x *Tensor) { unaryInto("silu", uSiLU, dst, x, 0) }

var unOpNames = [...]string{"neg", "exp", "log", "sqrt", "pow", "add-scalar", "mul-scalar", "tanh", "relu", "gelu", "gelu-tanh", "silu", "sigmoid", "abs"}

func unary(op unOp, x *Tensor, p float32) *Tensor {
	out := New(x.shape...)
	unaryInto(unOpNames[op], op, out, x, p)
	return out
}

// unaryInto requires dst to have x's shape. dst may be x, and may be a
// strided view (then a temporary is used).
func unaryInto(name string, op unOp, dst, x *Tensor, p float32) {
	if !dst.shape.Equal(x.shape) {
		panic(shapeErr(name, "destination shape differs", dst.shape, x.shape))
	}
	if !dst.IsContiguous() {
		tmp := New(x.shape...)
		unaryInto(name, op, tmp, x, p)
		dst.CopyFrom(tmp)
		return
	}
	n := x.Numel()
	d := dst.data[dst.offset : dst.offset+n]
	var s []float32
	if x.IsContiguous() {
		s = x.data[x.offset : x.offset+n]
	} else {
		copyStrided(d, x)
		s = d
	}
	if n < parallelMin || kernels.Threads() == 1 {
		unaryKernel(op, d, s, p)
		return
	}
	pd, ps := d, s
	kernels.ParallelFor(n, parallelMin/2, func(lo, hi int) { unaryKernel(op, pd[lo:hi], ps[lo:hi], p) })
}

func unaryKernel(op unOp, d, s []float32, p float32) {
	d = d[:len(s)]
	switch op {
	case uNeg:
		for i, v := range s {
			d[i] = -v
		}
	case uExp:
		kernels.Exp(d, s)
	case uLog:
		for i, v := range s {
			d[i] = float32(math.Log(float64(v)))
		}
	case uSqrt:
		for i, v := range s {
			d[i] = float32(math.Sqrt(float64(v)))
		}
	case uPow:
		switch p {
		case 2:
			for i, v := range s {
				d[i] = v * v
			}
		case 1:
			copy(d, s)
		case 0.5:
			for i, v := range s {
				d[i] = float32(math.Sqrt(float64(v)))
			}
		default:
			pp := float64(p)
			for i, v := range s {
				d[i] = float32(math.Pow(float64(v), pp))
			}
		}
	case uAddScalar:
		for i, v := range s {
			d[i] = v + p
		}
	case uMulScalar:
		if len(s) > 0 && &d[0] != &s[0] {
			copy(d, s)
		}
		kernels.Scale(p, d)
	case uAbs:
		for i, v := range s {
			d[i] = float32(math.Abs(float64(v)))
		}
	case uTanh:
		kernels.Tanh(d, s)
	case uSigmoid:
		for i, v := range s {
			d[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case uReLU:
		kernels.ReLU(d, s)
	case uGELU:
		kernels.GELU(d, s)
	case uGELUTanh:
		kernels.GELUTanh(d, s)
	case uSiLU:
		kernels.SiLU(d, s)
	}
}
