package distill

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// SoftTargetKL is Hinton et al.'s soft-target loss as DistilBERT computes it:
//
//	p = softmax(teacher / T)              the teacher's softened distribution  [N, K]
//	q = log_softmax(student / T)                                               [N, K]
//	loss = T² · (1/N) · Σₙ Σₖ pₙₖ (log pₙₖ − qₙₖ)
//
// that is PyTorch's kl_div(q, p, reduction="batchmean") · T². The T² keeps
// the gradient's size independent of T (its gradient is T/N · (softmax(s/T) − p)),
// so the weights of the other losses need not change with the temperature.
// student is [N, K] (or [..., K], flattened to rows); teacher holds the
// teacher's logits in the same layout, a constant. T must be positive.
func SoftTargetKL(student *autograd.Var, teacher []float32, T float64) (*autograd.Var, error) {
	sh := student.Value.Shape()
	if len(sh) == 0 || T <= 0 || math.IsNaN(T) || math.IsInf(T, 0) {
		return nil, fmt.Errorf("distill: soft-target KL: student %v, temperature %g (want logits and T > 0)", sh, T)
	}
	K := sh[len(sh)-1]
	if K == 0 || len(teacher) != student.Value.Numel() {
		return nil, fmt.Errorf("distill: soft-target KL: %d teacher logits for student logits %v", len(teacher), sh)
	}
	N := len(teacher) / K
	p := make([]float32, len(teacher))
	var plogp float64 // Σ p log p, a constant of the loss
	for n := range N {
		row, out := teacher[n*K:(n+1)*K], p[n*K:(n+1)*K]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v)/T)
		}
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v)/T - mx)
		}
		logZ := mx + math.Log(z)
		for k, v := range row {
			lp := float64(v)/T - logZ
			out[k] = float32(math.Exp(lp))
			if out[k] > 0 {
				plogp += float64(out[k]) * lp
			}
		}
	}
	rows := autograd.Reshape(student, N, K)
	logq := autograd.LogSoftmax(autograd.MulScalar(rows, float32(1/T))) // [N, K]
	cross := autograd.SumAll(autograd.Mul(autograd.Const(tensor.MustFromData(p, N, K)), logq))
	scale := T * T / float64(N)
	return autograd.AddScalar(autograd.MulScalar(cross, float32(-scale)), float32(scale*plogp)), nil
}

// cosineEps is PyTorch's EPSILON in cosine_embedding_loss, added to both
// squared norms.
const cosineEps = 1e-12

// CosineLoss is DistilBERT's hidden-state loss, PyTorch's
// CosineEmbeddingLoss with target 1 and mean reduction: over the R rows of
// student [R, C] and teacher (a constant, same layout),
//
//	loss = (1/R) Σᵣ (1 − sᵣ·tᵣ / √((|sᵣ|² + ε)(|tᵣ|² + ε)))     ε = 1e-12
//
// which pulls the direction of the student's hidden states towards the
// teacher's. Both must have the same width C.
func CosineLoss(student *autograd.Var, teacher []float32) (*autograd.Var, error) {
	sh := student.Value.Shape()
	if len(sh) != 2 || sh[0] == 0 || len(teacher) != student.Value.Numel() {
		return nil, fmt.Errorf("distill: cosine loss: student %v and %d teacher values (want [R, C], R > 0, and R·C values)", sh, len(teacher))
	}
	R, C := sh[0], sh[1]
	tt := autograd.Const(tensor.MustFromData(teacher, R, C))
	tn := make([]float32, R) // |t|² + ε
	for r := range R {
		var s float64
		for _, v := range teacher[r*C : (r+1)*C] {
			s += float64(v) * float64(v)
		}
		tn[r] = float32(s + cosineEps)
	}
	dot := autograd.Sum(autograd.Mul(student, tt), 1, false)                                    // [R]
	ss := autograd.AddScalar(autograd.Sum(autograd.Mul(student, student), 1, false), cosineEps) // [R]
	denom := autograd.Sqrt(autograd.Mul(ss, autograd.Const(tensor.MustFromData(tn, R))))        // [R]
	cos := autograd.Div(dot, denom)
	return autograd.AddScalar(autograd.Neg(autograd.MeanAll(cos)), 1), nil
}
