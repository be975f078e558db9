package tensor

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// Row-wise operations over the last axis: softmax, log-softmax, layer and
// RMS normalisation. Rows are spread over threads with kernels.ParallelFor.

// rowGrain returns a ParallelFor grain giving each worker at least ~16k
// elements of rows of length c.
func rowGrain(c int) int { return max(1, (1<<14)/max(c, 1)) }

// lastDim returns the row length and row count of x viewed as [rows, c].
func lastDim(op string, x *Tensor) (rows, c int) {
	if len(x.shape) == 0 {
		panic(shapeErr(op, "needs at least one dimension", x.shape))
	}
	c = x.shape[len(x.shape)-1]
	if c == 0 {
		return 0, 0
	}
	return x.Numel() / c, c
}

func checkDst(op string, dst *Tensor, sh Shape) []float32 {
	if !dst.shape.Equal(sh) || !dst.IsContiguous() {
		panic(shapeErr(op, fmt.Sprintf("destination must be contiguous %v", sh), dst.shape))
	}
	return dst.data[dst.offset : dst.offset+dst.Numel()]
}

// Softmax returns the numerically stable softmax of x over its last axis. A
// row whose entries are all −Inf (fully masked) becomes all zeros.
func Softmax(x *Tensor) *Tensor {
	out := New(x.shape...)
	SoftmaxInto(out, x)
	return out
}

// SoftmaxInto writes Softmax(x) into dst (x's shape, contiguous; may be x).
func SoftmaxInto(dst, x *Tensor) {
	d := checkDst("softmax", dst, x.shape)
	rows, c := lastDim("softmax", x)
	s := x.Contiguous().Data()
	if serial(rows, c) {
		softmaxRows(d, s, c, 0, rows)
		return
	}
	kernels.ParallelFor(rows, rowGrain(c), func(lo, hi int) { softmaxRows(d, s, c, lo, hi) })
}

func softmaxRows(d, s []float32, c, lo, hi int) {
	for r := lo; r < hi; r++ {
		SoftmaxRow(d[r*c:(r+1)*c], s[r*c:(r+1)*c])
	}
}

// serial reports whether rows of length c are too few to split across
// threads. Callers then run inline, creating no closure (no allocation).
func serial(rows, c int) bool { return rows*c < parallelMin/2 || rows < 2 || kernels.Threads() == 1 }

// SoftmaxRow is kernels.Softmax for one row, except that a row of all −Inf
// (every position masked) gives zeros instead of NaNs.
func SoftmaxRow(dst, x []float32) {
	if len(x) > 0 && math.IsInf(float64(kernels.Max(x)), -1) {
		clear(dst[:len(x)])
		return
	}
	kernels.Softmax(dst, x)
}

// LogSoftmax returns log(softmax(x)) over the last axis, computed stably.
func LogSoftmax(x *Tensor) *Tensor {
	out := New(x.shape...)
	LogSoftmaxInto(out, x)
	return out
}

// LogSoftmaxInto writes LogSoftmax(x) into dst (x's shape, contiguous).
func LogSoftmaxInto(dst, x *Tensor) {
	d := checkDst("log-softmax", dst, x.shape)
	rows, c := lastDim("log-softmax", x)
	s := x.Contiguous().Data()
	if serial(rows, c) {
		logSoftmaxRows(d, s, c, 0, rows)
		return
	}
	kernels.ParallelFor(rows, rowGrain(c), func(lo, hi int) { logSoftmaxRows(d, s, c, lo, hi) })
}

func logSoftmaxRows(d, s []float32, c, lo, hi int) {
	for r := lo; r < hi; r++ {
		kernels.LogSoftmax(d[r*c:(r+1)*c], s[r*c:(r+1)*c])
	}
}

func normParams(op string, x, gamma, beta *Tensor) (g, b []float32) {
	c := 0
	if len(x.shape) > 0 {
		c = x.shape[len(x.shape)-1]
	}
	for _, p := range []*Tensor{gamma, beta} {
		if p != nil && (len(p.shape) != 1 || p.shape[0] != c) {
			panic(shapeErr(op, "weight and bias must be [C] for input [..., C]", x.shape, p.shape))
		}
	}
	if gamma != nil {
		g = gamma.Contiguous().Data()
	}
	if beta != nil {
		b = beta.Contiguous().Data()
	}
	return g, b
}

// LayerNorm normalises x over its last axis C as torch.nn.LayerNorm:
// (x − mean)/sqrt(var + eps)·gamma + beta with the biased variance. gamma and
// beta are [C], or nil for ones and zeros.
func LayerNorm(x, gamma, beta *Tensor, eps float32) *Tensor {
	out := New(x.shape...)
	LayerNormInto(out, x, gamma, beta, eps)
	return out
}

// LayerNormInto writes LayerNorm(x, gamma, beta, eps) into dst (x's shape,
// contiguous; may be x).
func LayerNormInto(dst, x, gamma, beta *Tensor, eps float32) {
	LayerNormStatsInto(dst, x, gamma, beta, eps, nil, nil)
}

// LayerNormStatsInto is LayerNormInto that also stores each row's mean and
// 1/std into mean and rstd (length rows, or nil), which the backward pass
// needs.
func LayerNormStatsInto(dst, x, gamma, beta *Tensor, eps float32, mean, rstd []float32) {
	d := checkDst("layer-norm", dst, x.shape)
	g, b := normParams("layer-norm", x, gamma, beta)
	rows, c := lastDim("layer-norm", x)
	s := x.Contiguous().Data()
	if serial(rows, c) {
		layerNormRows(d, s, g, b, eps, mean, rstd, c, 0, rows)
		return
	}
	kernels.ParallelFor(rows, rowGrain(c), func(lo, hi int) { layerNormRows(d, s, g, b, eps, mean, rstd, c, lo, hi) })
}

func layerNormRows(d, s, g, b []float32, eps float32, mean, rstd []float32, c, lo, hi int) {
	for r := lo; r < hi; r++ {
		m, rs := kernels.LayerNorm(d[r*c:(r+1)*c], s[r*c:(r+1)*c], g, b, eps)
		if mean != nil {
			mean[r] = m
		}
		if rstd != nil {
			rstd[r] = rs
		}
	}
}

// RMSNorm normalises x over its last axis as Llama's RMSNorm:
// x/sqrt(mean(x²) + eps)·gamma, gamma [C] or nil for ones.
func RMSNorm(x, gamma *Tensor, eps float32) *Tensor {
	out := New(x.shape...)
	RMSNormInto(out, x, gamma, eps)
	return out
}

// RMSNormInto writes RMSNorm(x, gamma, eps) into dst (x's shape, contiguous;
// may be x).
func RMSNormInto(dst, x, gamma *Tensor, eps float32) { RMSNormStatsInto(dst, x, gamma, eps, nil) }

// RMSNormStatsInto is RMSNormInto that also stores each row's 1/rms into
// rstd (length rows, or nil).
func RMSNormStatsInto(dst, x, gamma *Tensor, eps float32, rstd []float32) {
	d := checkDst("rms-norm", dst, x.shape)
	g, _ := normParams("rms-norm", x, gamma, nil)
	rows, c := lastDim("rms-norm", x)
	s := x.Contiguous().Data()
	if serial(rows, c) {
		rmsNormRows(d, s, g, eps, rstd, c, 0, rows)
		return
	}
	kernels.ParallelFor(rows, rowGrain(c), func(lo, hi int) { rmsNormRows(d, s, g, eps, rstd, c, lo, hi) })
}

func rmsNormRows(d, s, g []float32, eps float32, rstd []float32, c, lo, hi int) {
	for r := lo; r < hi; r++ {
		rs := kernels.RMSNorm(d[r*c:(r+1)*c], s[r*c:(r+1)*c], g, eps)
		if rstd != nil {
			rstd[r] = rs
		}
	}
}

// Embedding gathers rows of table [V, C] for ids, returning a tensor of
// shape shape+[C] (or [len(ids), C] when shape is empty). It returns an error
// when an id is outside [0, V) or shape does not hold len(ids) elements.
func Embedding(table *Tensor, ids []int, shape ...int) (*Tensor, error) {
	if len(table.shape) != 2 {
		return nil, shapeErr("embedding", "table must be [V, C]", table.shape)
	}
	if len(shape) == 0 {
		shape = []int{len(ids)}
	}
	if Shape(shape).Numel() != len(ids) {
		return nil, shapeErr("embedding", fmt.Sprintf("%d ids", len(ids)), shape)
	}
	out := New(append(Shape(shape).Clone(), table.shape[1])...)
	if err := EmbeddingInto(out, table, ids); err != nil {
		return nil, err
	}
	return out, nil
}

// EmbeddingInto writes the rows of table [V, C] selected by ids into dst,
// which must be contiguous with len(ids)·C elements and last dimension C. It
// returns an error, writing nothing, if an id is out of range.
func EmbeddingInto(dst, table *Tensor, ids []int) error {
	if len(table.shape) != 2 {
		return shapeErr("embedding", "table must be [V, C]", table.shape)
	}
	if err := CheckIDs(ids, table.shape[0]); err != nil {
		return err
	}
	c := table.shape[1]
	if !dst.IsContiguous() || dst.Numel() != len(ids)*c || (len(dst.shape) > 0 && dst.shape[len(dst.shape)-1] != c) {
		return shapeErr("embedding", fmt.Sprintf("destination for %d ids", len(ids)), dst.shape, table.shape)
	}
	d := dst.Data()
	tc := table.Contiguous().Data()
	for i, id := range ids {
		copy(d[i*c:(i+1)*c], tc[id*c:(id+1)*c])
	}
	return nil
}

// CheckIDs returns an error naming the first id outside [0, n).
func CheckIDs(ids []int, n int) error {
	for i, id := range ids {
		if id < 0 || id >= n {
			return fmt.Errorf("tensor: embedding: id %d at position %d out of range [0, %d)", id, i, n)
		}
	}
	return nil
}

// Dropout zeroes each element of x with probability p and scales the rest by
// 1/(1−p) (inverted dropout), drawing the mask from rng. With p == 0 it
// returns x itself; with p >= 1 it returns zeros.
func Dropout(x *Tensor, p float32, rng *RNG) *Tensor {
	if p <= 0 {
		return x
	}
	out := New(x.shape...)
	if p >= 1 {
		return out
	}
	rng.DropoutMask(out.data, p)
	MulInto(out, out, x)
	return out
}
