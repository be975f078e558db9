package pretrain

import (
	"fmt"
	"math"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/internal/traintest"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// syntheticDocs returns documents of sentences over ids 4..traintest.Vocab-1 in
// which each token is the previous one plus one (mod the range), so the
// masked tokens are predictable from their neighbours.
func syntheticDocs(n int) [][][]int32 {
	rng := data.NewRand(3)
	docs := make([][][]int32, n)
	for d := range docs {
		for range 3 + rng.IntN(3) {
			s := make([]int32, 3+rng.IntN(4))
			s[0] = int32(4 + rng.IntN(traintest.Vocab-4))
			for i := 1; i < len(s); i++ {
				s[i] = 4 + (s[i-1]-4+1)%(traintest.Vocab-4)
			}
			docs[d] = append(docs[d], s)
		}
	}
	return docs
}

func tinyMLM(t *testing.T, modelSeed uint64, bf16 bool) *MLMTask {
	t.Helper()
	m, err := bert.NewForPreTraining(traintest.TinyBertConfig(), tensor.NewRNG(modelSeed))
	if err != nil {
		t.Fatal(err)
	}
	docs := syntheticDocs(40)
	opts := data.NSPOptions{MaxSeqLen: 16, CLS: traintest.CLS, SEP: traintest.SEP}
	ex, err := data.CreateNSPInstances(docs[:32], opts, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := data.CreateNSPInstances(docs[32:], opts, 2)
	if err != nil {
		t.Fatal(err)
	}
	special := make([]bool, 4)
	for i := range special {
		special[i] = true
	}
	masker, err := data.NewMasker(data.MaskOptions{MaskID: traintest.Mask, VocabSize: traintest.Vocab, Special: special})
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewMLMTask(m, ex, masker, MLMOptions{BatchSize: 4, MaxLen: 16, Seed: 5, PadID: traintest.Pad, Eval: ev, BF16: bf16})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestMLMTaskResumeExact checks that an interrupted and resumed MLM+NSP
// run repeats the losses of an uninterrupted one, in float32 and in
// bfloat16 mixed precision, and that bfloat16 changes the losses (its
// products are rounded) by little.
func TestMLMTaskResumeExact(t *testing.T) {
	var f32 []float64
	for _, bf16 := range []bool{false, true} {
		straight, resumed, last := traintest.RunInterrupted(t, func(seed uint64) train.Task { return tinyMLM(t, seed, bf16) }, 8, 4)
		traintest.SameLosses(t, fmt.Sprintf("bf16=%v", bf16), straight, resumed)
		for _, k := range []string{"mlm_accuracy", "nsp_accuracy", "perplexity", "mlm_loss"} {
			v, ok := last.LastEval.Metrics[k]
			if !ok || v < 0 {
				t.Errorf("bf16=%v: eval metric %s = %v, %v", bf16, k, v, ok)
			}
		}
		if a := last.LastEval.Metrics["nsp_accuracy"]; a > 1 {
			t.Errorf("bf16=%v: nsp accuracy %v", bf16, a)
		}
		if !bf16 {
			f32 = straight
			continue
		}
		same := true
		for i := range straight {
			same = same && straight[i] == f32[i]
			if d := math.Abs(straight[i]-f32[i]) / f32[i]; d > 0.02 {
				t.Errorf("step %d: bf16 loss %v, float32 %v", i+1, straight[i], f32[i])
			}
		}
		if same {
			t.Error("bf16 losses equal float32's: the linear layers did not run in bfloat16")
		}
	}
}
