package autograd

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
)

// rowsOf returns the row count and length of x viewed as [rows, C].
func rowsOf(x *tensor.Tensor) (rows, c int) {
	c = x.Dim(-1)
	if c == 0 {
		return 0, 0
	}
	return x.Numel() / c, c
}

// splitRows runs fn(w, lo, hi) over nw contiguous blocks of [0, rows) in
// parallel; w numbers the block so callers can keep per-worker partials.
func splitRows(rows, c, nw int, fn func(w, lo, hi int)) {
	kernels.ParallelFor(nw, 1, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			fn(w, rows*w/nw, rows*(w+1)/nw)
		}
	})
}

// workers picks how many blocks to split rows of length c into.
func workers(rows, c int) int {
	nw := min(kernels.Threads(), max(1, rows*c/(1<<14)))
	return max(1, min(nw, rows))
}

// gradTarget returns a dense buffer to overwrite with v's gradient
// contribution and a finish func that folds it into v.Grad. For a v without
// gradient it returns (nil, no-op).
func gradTarget(v *Var) (*tensor.Tensor, func()) {
	if !v.requiresGrad {
		return nil, func() {}
	}
	if v.Grad == nil {
		v.Grad = newGrad(v)
		return v.Grad, func() {}
	}
	tmp := v.graph.allocTemp(v.Value.Shape())
	return tmp, func() {
		tensor.AddInto(v.Grad, v.Grad, tmp)
		v.graph.releaseTemp(tmp)
	}
}

// Softmax returns the softmax of x over its last axis (fully masked rows of
// −Inf give zeros).
func Softmax(x *Var) *Var {
	g := x.graph
	out := g.alloc(x.Value.Shape())
	tensor.SoftmaxInto(out, x.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		rows, c := rowsOf(out)
		y, dy := out.Data(), gr.Data()
		accumulateWith(x, func(dst *tensor.Tensor) {
			dx := dst.Data()
			kernels.ParallelFor(rows, max(1, (1<<14)/max(c, 1)), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					kernels.SoftmaxBackward(dx[r*c:(r+1)*c], y[r*c:(r+1)*c], dy[r*c:(r+1)*c])
				}
			})
		})
	}, x)
}

// LogSoftmax returns log(softmax(x)) over the last axis.
func LogSoftmax(x *Var) *Var {
	g := x.graph
	out := g.alloc(x.Value.Shape())
	tensor.LogSoftmaxInto(out, x.Value)
	return record(g, out, func(gr *tensor.Tensor) {
		rows, c := rowsOf(out)
		y, dy := out.Data(), gr.Data()
		accumulateWith(x, func(dst *tensor.Tensor) {
			dx := dst.Data()
			kernels.ParallelFor(rows, max(1, (1<<14)/max(c, 1)), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					// dx = dy − softmax·Σdy
					yr, dyr, dxr := y[r*c:(r+1)*c], dy[r*c:(r+1)*c], dx[r*c:(r+1)*c]
					s := kernels.Sum(dyr)
					kernels.Exp(dxr, yr)
					for i := range dxr {
						dxr[i] = dyr[i] - dxr[i]*s
					}
				}
			})
		})
	}, x)
}

// LayerNorm normalises x over its last axis C as torch.nn.LayerNorm, with
// gamma and beta [C] (either may be nil for ones/zeros).
func LayerNorm(x, gamma, beta *Var, eps float32) *Var {
	g := graphOf(x, gamma, beta)
	rows, c := rowsOf(x.Value)
	out := g.alloc(x.Value.Shape())
	mean, rstd := g.floats(rows), g.floats(rows)
	tensor.LayerNormStatsInto(out, x.Value, valueOf(gamma), valueOf(beta), eps, mean, rstd)
	return record(g, out, func(gr *tensor.Tensor) {
		xs := x.Value.Contiguous().Data()
		dy := gr.Data()
		var gs []float32
		if gamma != nil {
			gs = gamma.Value.Contiguous().Data()
		}
		dxT, finish := gradTarget(x)
		nw := workers(rows, c)
		needG := gamma != nil && gamma.requiresGrad
		needB := beta != nil && beta.requiresGrad
		scratch := g.get(nw * c * 3)
		clear(scratch[nw*c:])
		splitRows(rows, c, nw, func(w, lo, hi int) {
			var dg, db []float32
			if needG {
				dg = scratch[nw*c+w*c : nw*c+(w+1)*c]
			}
			if needB {
				db = scratch[2*nw*c+w*c : 2*nw*c+(w+1)*c]
			}
			for r := lo; r < hi; r++ {
				dx := scratch[w*c : (w+1)*c]
				if dxT != nil {
					dx = dxT.Data()[r*c : (r+1)*c]
				}
				kernels.LayerNormBackward(dx, xs[r*c:(r+1)*c], gs, dy[r*c:(r+1)*c], mean[r], rstd[r], dg, db)
			}
		})
		finish()
		if needG {
			reducePartials(gradZeroed(gamma).Data(), scratch[nw*c:2*nw*c], nw, c)
		}
		if needB {
			reducePartials(gradZeroed(beta).Data(), scratch[2*nw*c:], nw, c)
		}
		g.put(scratch)
	}, x, gamma, beta)
}

// RMSNorm normalises x over its last axis as Llama's RMSNorm with gamma [C]
// (nil for ones).
func RMSNorm(x, gamma *Var, eps float32) *Var {
	g := graphOf(x, gamma)
	rows, c := rowsOf(x.Value)
	out := g.alloc(x.Value.Shape())
	rstd := g.floats(rows)
	tensor.RMSNormStatsInto(out, x.Value, valueOf(gamma), eps, rstd)
	return record(g, out, func(gr *tensor.Tensor) {
		xs := x.Value.Contiguous().Data()
		dy := gr.Data()
		var gs []float32
		if gamma != nil {
			gs = gamma.Value.Contiguous().Data()
		}
		dxT, finish := gradTarget(x)
		nw := workers(rows, c)
		needG := gamma != nil && gamma.requiresGrad
		scratch := g.get(nw * c * 2)
		clear(scratch[nw*c:])
		splitRows(rows, c, nw, func(w, lo, hi int) {
			var dg []float32
			if needG {
				dg = scratch[nw*c+w*c : nw*c+(w+1)*c]
			}
			for r := lo; r < hi; r++ {
				dx := scratch[w*c : (w+1)*c]
				if dxT != nil {
					dx = dxT.Data()[r*c : (r+1)*c]
				}
				kernels.RMSNormBackward(dx, xs[r*c:(r+1)*c], gs, dy[r*c:(r+1)*c], rstd[r], dg)
			}
		})
		finish()
		if needG {
			reducePartials(gradZeroed(gamma).Data(), scratch[nw*c:], nw, c)
		}
		g.put(scratch)
	}, x, gamma)
}

// reducePartials adds nw partial rows of length c into dst.
func reducePartials(dst, partials []float32, nw, c int) {
	for w := 0; w < nw; w++ {
		kernels.Add(dst, dst, partials[w*c:(w+1)*c])
	}
}

func valueOf(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Value
}

// Embedding gathers rows of table [V, C] for ids, giving shape+[C] (or
// [len(ids), C]). It returns an error if an id is out of range or shape does
// not hold len(ids) elements. The table's gradient is scattered back
// (accumulating over repeated ids).
func Embedding(table *Var, ids []int, shape ...int) (*Var, error) {
	ts := table.Value.Shape()
	if len(ts) != 2 {
		return nil, &tensor.ShapeError{Op: "embedding", Shapes: []tensor.Shape{ts}, Msg: "table must be [V, C]"}
	}
	if len(shape) == 0 {
		shape = []int{len(ids)}
	}
	if tensor.Shape(shape).Numel() != len(ids) {
		return nil, &tensor.ShapeError{Op: "embedding", Shapes: []tensor.Shape{shape}, Msg: fmt.Sprintf("%d ids", len(ids))}
	}
	g := table.graph
	out := g.alloc(append(tensor.Shape(shape).Clone(), ts[1]))
	if err := tensor.EmbeddingInto(out, table.Value, ids); err != nil {
		return nil, err
	}
	return record(g, out, func(gr *tensor.Tensor) {
		c := ts[1]
		dt := gradZeroed(table).Data()
		dy := gr.Data()
		for i, id := range ids {
			row := dt[id*c : (id+1)*c]
			kernels.Add(row, row, dy[i*c:(i+1)*c])
		}
	}, table), nil
}

// CrossEntropy returns the mean cross-entropy of logits [..., V] against
// targets (one per row) as a scalar, with tensor.CrossEntropy's semantics
// (ignore index, label smoothing, mean over counted rows). It returns an
// error for a target count or value that does not fit the logits.
func CrossEntropy(logits *Var, targets []int, opts tensor.CrossEntropyOptions) (*Var, error) {
	g := logits.graph
	var dl *tensor.Tensor
	if tracking(g, logits) {
		dl = g.alloc(logits.Value.Shape())
	}
	loss, err := tensor.CrossEntropyWithGrad(logits.Value, targets, opts, dl)
	if err != nil {
		return nil, err
	}
	return record(g, tensor.Scalar(loss), func(gr *tensor.Tensor) {
		s := gr.Item()
		accumulateWith(logits, func(dst *tensor.Tensor) { tensor.MulScalarInto(dst, dl, s) })
	}, logits), nil
}
