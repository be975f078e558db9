package distill

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// lossCase is one reference computation of testdata/losses.py.
type lossCase struct {
	N, K, R, C  int
	Temperature float64
	Student     []float64
	Teacher     []float64
	Loss        float64
	Grad        []float64
}

func readLossCases(t *testing.T) (kl, cosine []lossCase) {
	t.Helper()
	b, err := os.ReadFile("testdata/losses.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ KL, Cosine []lossCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.KL) == 0 || len(f.Cosine) == 0 {
		t.Fatal("testdata/losses.json holds no cases")
	}
	return f.KL, f.Cosine
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// checkLoss compares a loss and its gradient with PyTorch's (float64 on
// the same float32 inputs): float32 accuracy, relative 1e-5 of the larger
// of the value and 1e-2.
func checkLoss(t *testing.T, s *autograd.Var, loss *autograd.Var, c lossCase) {
	t.Helper()
	autograd.Backward(loss)
	close := func(got float32, want float64) bool {
		return math.Abs(float64(got)-want) <= 1e-5*math.Max(math.Abs(want), 1e-2)
	}
	if got := loss.Value.Item(); !close(got, c.Loss) {
		t.Errorf("loss %.9g, PyTorch %.9g", got, c.Loss)
	}
	g := s.Grad.Data()
	for i, want := range c.Grad {
		if !close(g[i], want) {
			t.Errorf("grad[%d] %.9g, PyTorch %.9g", i, g[i], want)
		}
	}
}

// TestSoftTargetKLTorch checks the soft-target loss and its gradient against
// kl_div(log_softmax(s/T), softmax(t/T), "batchmean")·T² from PyTorch.
func TestSoftTargetKLTorch(t *testing.T) {
	kl, _ := readLossCases(t)
	for _, c := range kl {
		s := autograd.Param(tensor.MustFromData(f32(c.Student), c.N, c.K))
		loss, err := SoftTargetKL(s, f32(c.Teacher), c.Temperature)
		if err != nil {
			t.Fatal(err)
		}
		checkLoss(t, s, loss, c)
	}
}

// TestCosineLossTorch checks the hidden-state loss and its gradient against
// cosine_embedding_loss(s, t, 1) from PyTorch.
func TestCosineLossTorch(t *testing.T) {
	_, cos := readLossCases(t)
	for _, c := range cos {
		s := autograd.Param(tensor.MustFromData(f32(c.Student), c.R, c.C))
		loss, err := CosineLoss(s, f32(c.Teacher))
		if err != nil {
			t.Fatal(err)
		}
		checkLoss(t, s, loss, c)
	}
}

// TestSoftTargetKLProperties: the loss is zero for a student equal to its
// teacher (whatever T), positive otherwise, and bad arguments are errors.
func TestSoftTargetKLProperties(t *testing.T) {
	logits := []float32{1, -2, 0.5, 3, 3, 3, -40, 0, 40}
	for _, T := range []float64{0.5, 1, 2, 8} {
		s := autograd.Param(tensor.MustFromData(append([]float32(nil), logits...), 3, 3))
		loss, err := SoftTargetKL(s, logits, T)
		if err != nil {
			t.Fatal(err)
		}
		// The loss is a difference of two sums of float32 terms, times T².
		if v := loss.Value.Item(); math.Abs(float64(v)) > 1e-6*T*T {
			t.Errorf("T=%g: KL(p‖p) = %g, want 0", T, v)
		}
		other := []float32{0, 0, 0, 1, 2, 3, 0, 0, 0}
		loss, _ = SoftTargetKL(s, other, T)
		if v := loss.Value.Item(); v <= 0 {
			t.Errorf("T=%g: KL of different distributions %g, want > 0", T, v)
		}
	}
	s := autograd.Param(tensor.New(2, 3))
	for _, tc := range []struct {
		name    string
		teacher []float32
		T       float64
	}{
		{"short teacher", make([]float32, 5), 2},
		{"zero temperature", make([]float32, 6), 0},
		{"negative temperature", make([]float32, 6), -1},
		{"NaN temperature", make([]float32, 6), math.NaN()},
	} {
		if _, err := SoftTargetKL(s, tc.teacher, tc.T); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := CosineLoss(s, make([]float32, 5)); err == nil {
		t.Error("cosine with a short teacher: no error")
	}
	if _, err := CosineLoss(autograd.Param(tensor.New(6)), make([]float32, 6)); err == nil {
		t.Error("cosine of a vector: no error")
	}
}
