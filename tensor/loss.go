package tensor

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// DefaultIgnoreIndex is the target value CrossEntropy skips by default, as
// PyTorch's ignore_index=-100.
const DefaultIgnoreIndex = -100

// CrossEntropyOptions configures CrossEntropy. The zero value gives
// PyTorch's defaults.
type CrossEntropyOptions struct {
	// IgnoreIndex is a target value whose rows contribute neither loss nor
	// gradient. Zero means DefaultIgnoreIndex (so class 0 cannot be ignored).
	IgnoreIndex int
	// LabelSmoothing ε in [0, 1]: the target distribution is
	// (1−ε)·onehot + ε/V, as torch.nn.CrossEntropyLoss(label_smoothing=ε).
	LabelSmoothing float32
}

func (o CrossEntropyOptions) ignore() int {
	if o.IgnoreIndex == 0 {
		return DefaultIgnoreIndex
	}
	return o.IgnoreIndex
}

// CrossEntropy returns the mean cross-entropy between logits [..., V] and
// integer targets (one per row, in row-major order), averaged over the rows
// whose target is not ignored — PyTorch's reduction="mean". If every target
// is ignored the result is NaN, as in PyTorch. It returns an error when the
// number of targets differs from the number of rows or a target is out of
// range.
func CrossEntropy(logits *Tensor, targets []int, opts CrossEntropyOptions) (float32, error) {
	return CrossEntropyWithGrad(logits, targets, opts, nil)
}

// CrossEntropyWithGrad is CrossEntropy that, when dlogits is non-nil (a
// contiguous tensor of logits' shape), also writes d loss / d logits into it:
// (softmax(logits) − q)/N for each counted row and 0 for ignored rows.
func CrossEntropyWithGrad(logits *Tensor, targets []int, opts CrossEntropyOptions, dlogits *Tensor) (float32, error) {
	if len(logits.shape) == 0 {
		return 0, shapeErr("cross-entropy", "logits need a class dimension", logits.shape)
	}
	rows, v := lastDim("cross-entropy", logits)
	if v == 0 {
		return 0, shapeErr("cross-entropy", "no classes", logits.shape)
	}
	if len(targets) != rows {
		return 0, shapeErr("cross-entropy", fmt.Sprintf("%d targets for %d rows", len(targets), rows), logits.shape)
	}
	if opts.LabelSmoothing < 0 || opts.LabelSmoothing > 1 {
		return 0, fmt.Errorf("tensor: cross-entropy: label smoothing %g outside [0, 1]", opts.LabelSmoothing)
	}
	ign := opts.ignore()
	count := 0
	for i, t := range targets {
		if t == ign {
			continue
		}
		if t < 0 || t >= v {
			return 0, fmt.Errorf("tensor: cross-entropy: target %d at row %d out of range [0, %d)", t, i, v)
		}
		count++
	}
	var dl []float32
	if dlogits != nil {
		dl = checkDst("cross-entropy", dlogits, logits.shape)
	}
	s := logits.Contiguous().Data()
	eps := opts.LabelSmoothing
	inv := float32(1 / float64(count))
	losses := make([]float64, rows)
	kernels.ParallelFor(rows, rowGrain(v), func(lo, hi int) {
		var scratch []float32
		if dl == nil {
			scratch = make([]float32, v)
		}
		for r := lo; r < hi; r++ {
			t := targets[r]
			if t == ign {
				if dl != nil {
					clear(dl[r*v : (r+1)*v])
				}
				continue
			}
			lsm := scratch
			if dl != nil {
				lsm = dl[r*v : (r+1)*v]
			}
			kernels.LogSoftmax(lsm, s[r*v:(r+1)*v])
			l := -float64(lsm[t]) * float64(1-eps)
			if eps != 0 {
				var sum float64
				for _, x := range lsm {
					sum += float64(x)
				}
				l -= float64(eps) * sum / float64(v)
			}
			losses[r] = l
			if dl != nil {
				kernels.Exp(lsm, lsm)
				lsm[t] -= 1 - eps
				if eps != 0 {
					u := eps / float32(v)
					for i := range lsm {
						lsm[i] -= u
					}
				}
				kernels.Scale(inv, lsm)
			}
		}
	})
	if count == 0 {
		return float32(math.NaN()), nil
	}
	var total float64
	for _, l := range losses {
		total += l
	}
	return float32(total / float64(count)), nil
}
