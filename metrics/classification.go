package metrics

import (
	"fmt"
	"math"
	"strings"
)

// Confusion is a confusion matrix over labelled classes: M[t][p] counts
// examples of true class t predicted as p.
type Confusion struct {
	Labels []string  // class names, indexed by class id
	M      [][]int64 // M[t][p]: true class t predicted as p
}

// NewConfusion returns an empty matrix over labels (class i = labels[i]).
func NewConfusion(labels []string) *Confusion {
	m := make([][]int64, len(labels))
	for i := range m {
		m[i] = make([]int64, len(labels))
	}
	return &Confusion{Labels: append([]string(nil), labels...), M: m}
}

// Add counts one example.
func (c *Confusion) Add(trueID, predID int) error {
	k := len(c.Labels)
	if trueID < 0 || trueID >= k || predID < 0 || predID >= k {
		return fmt.Errorf("metrics: confusion: class (%d, %d) outside [0, %d)", trueID, predID, k)
	}
	c.M[trueID][predID]++
	return nil
}

// AddAll counts pairs (labels[i], preds[i]).
func (c *Confusion) AddAll(labels, preds []int) error {
	if len(labels) != len(preds) {
		return fmt.Errorf("metrics: confusion: %d labels but %d predictions", len(labels), len(preds))
	}
	for i := range labels {
		if err := c.Add(labels[i], preds[i]); err != nil {
			return err
		}
	}
	return nil
}

// Total returns the number of examples counted.
func (c *Confusion) Total() int64 {
	var n int64
	for _, row := range c.M {
		for _, v := range row {
			n += v
		}
	}
	return n
}

// PRF holds a precision, a recall and their harmonic mean F1 (all in
// [0, 1]).
type PRF struct {
	Precision, Recall, F1 float64
}

// ClassScores are the scores of one class and its support (true count).
type ClassScores struct {
	Label string // class name
	PRF
	Support int64 // examples whose true class this is
}

// ClassReport is a classification report computed from a Confusion:
// scikit-learn's classification_report with zero_division=0.
type ClassReport struct {
	Accuracy float64       // fraction of examples predicted right
	PerClass []ClassScores // one entry per class, in label order
	// Macro averages the per-class scores with equal weight.
	Macro PRF
	// Micro pools all decisions; for single-label classification its
	// precision, recall and F1 all equal the accuracy.
	Micro PRF
	Total int64 // examples counted
}

// prf returns precision, recall, F1 with 0 for an empty denominator
// (scikit-learn's zero_division=0).
func prf(tp, fp, fn int64) PRF {
	var s PRF
	if tp+fp > 0 {
		s.Precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		s.Recall = float64(tp) / float64(tp+fn)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

// Report computes accuracy, per-class precision/recall/F1 and their macro
// and micro averages.
func (c *Confusion) Report() ClassReport {
	k := len(c.Labels)
	r := ClassReport{Total: c.Total(), PerClass: make([]ClassScores, k)}
	var tpAll, fpAll, fnAll int64
	for i := range k {
		var tp, fp, fn int64
		tp = c.M[i][i]
		for j := range k {
			if j != i {
				fn += c.M[i][j]
				fp += c.M[j][i]
			}
		}
		s := prf(tp, fp, fn)
		r.PerClass[i] = ClassScores{Label: c.Labels[i], PRF: s, Support: tp + fn}
		r.Macro.Precision += s.Precision / float64(k)
		r.Macro.Recall += s.Recall / float64(k)
		r.Macro.F1 += s.F1 / float64(k)
		tpAll, fpAll, fnAll = tpAll+tp, fpAll+fp, fnAll+fn
	}
	r.Micro = prf(tpAll, fpAll, fnAll)
	if r.Total > 0 {
		r.Accuracy = float64(tpAll) / float64(r.Total)
	}
	return r
}

// String renders the report as a table, like scikit-learn's
// classification_report.
func (r ClassReport) String() string {
	w := len("macro avg")
	for _, c := range r.PerClass {
		w = max(w, len(c.Label))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s  %9s  %9s  %9s\n", w, "", "precision", "recall", "f1", "support")
	for _, c := range r.PerClass {
		fmt.Fprintf(&b, "%*s  %9.4f  %9.4f  %9.4f  %9d\n", w, c.Label, c.Precision, c.Recall, c.F1, c.Support)
	}
	fmt.Fprintf(&b, "%*s  %9s  %9s  %9.4f  %9d\n", w, "accuracy", "", "", r.Accuracy, r.Total)
	fmt.Fprintf(&b, "%*s  %9.4f  %9.4f  %9.4f  %9d\n", w, "macro avg", r.Macro.Precision, r.Macro.Recall, r.Macro.F1, r.Total)
	fmt.Fprintf(&b, "%*s  %9.4f  %9.4f  %9.4f  %9d\n", w, "micro avg", r.Micro.Precision, r.Micro.Recall, r.Micro.F1, r.Total)
	return b.String()
}

// String renders the matrix with true classes as rows and predictions as
// columns.
func (c *Confusion) String() string {
	w := len("true\\pred")
	for _, l := range c.Labels {
		w = max(w, len(l))
	}
	cw := 5
	for i, l := range c.Labels {
		cw = max(cw, len(l))
		for _, v := range c.M[i] {
			cw = max(cw, len(fmt.Sprint(v)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s", w, "true\\pred")
	for _, l := range c.Labels {
		fmt.Fprintf(&b, "  %*s", cw, l)
	}
	b.WriteByte('\n')
	for i, l := range c.Labels {
		fmt.Fprintf(&b, "%-*s", w, l)
		for _, v := range c.M[i] {
			fmt.Fprintf(&b, "  %*d", cw, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Accuracy returns the fraction of i with preds[i] == labels[i] (0 for
// empty input). Lengths must match.
func Accuracy(preds, labels []int) float64 {
	if len(preds) != len(labels) || len(preds) == 0 {
		return 0
	}
	n := 0
	for i := range preds {
		if preds[i] == labels[i] {
			n++
		}
	}
	return float64(n) / float64(len(preds))
}

// Perplexity returns exp(meanLoss) for a mean cross-entropy in nats.
func Perplexity(meanLoss float64) float64 { return math.Exp(meanLoss) }

// IgnoreIndex marks label positions without a target (-100, as PyTorch and
// Hugging Face).
const IgnoreIndex = -100

// MaskedAccuracy counts the positions with a target (labels[i] ≠
// IgnoreIndex) and how many of them preds gets right: the masked-LM
// accuracy is correct/total.
func MaskedAccuracy(preds, labels []int32) (correct, total int) {
	for i, l := range labels {
		if l == IgnoreIndex {
			continue
		}
		total++
		if i < len(preds) && preds[i] == l {
			correct++
		}
	}
	return correct, total
}

// Argmax writes into dst the index of the largest value of each row of
// logits ([len(dst), V] row-major); ties go to the lowest index.
func Argmax(dst []int32, logits []float32, V int) {
	for r := range dst {
		row := logits[r*V : (r+1)*V]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		dst[r] = int32(best)
	}
}
