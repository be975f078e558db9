package finetune

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/transformer"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// copyPairs returns a toy translation task: the target is the source
// reversed with every id shifted by one, ending with EOS (id 1).
func copyPairs(n int, seed uint64) []Seq2SeqPair {
	rng := data.NewRand(seed)
	pairs := make([]Seq2SeqPair, n)
	for i := range pairs {
		L := 2 + rng.IntN(6)
		src := make([]int32, L+1)
		tgt := make([]int32, L+1)
		for j := range L {
			src[j] = int32(3 + rng.IntN(10))
		}
		for j := range L {
			tgt[j] = src[L-1-j] + 1
		}
		src[L], tgt[L] = 1, 1
		pairs[i] = Seq2SeqPair{Source: src, Target: tgt}
	}
	return pairs
}

func tinySeq2Seq(t *testing.T, seed uint64) *Seq2SeqTask {
	t.Helper()
	cfg := transformer.Config{Vocab: 16, Dim: 16, Heads: 2, FFN: 32, EncoderLayers: 1, DecoderLayers: 1, MaxLen: 16,
		Dropout: 0.1, Activation: nn.ReLU, PadID: 0, EOSID: 1}
	m, err := transformer.New(cfg, tensor.NewRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewSeq2SeqTask(m, copyPairs(200, 3), Seq2SeqOptions{MaxTokens: 64, LabelSmoothing: 0.1, Seed: seed,
		Eval: copyPairs(20, 4)})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// quietConfig is the run of these tests: warm-up, decay, clipping, two
// accumulated micro-batches per step, evaluation and a checkpoint every 4
// steps, no progress display.
func quietConfig(dir string, steps int) train.Config {
	return train.Config{OutDir: dir, Steps: steps, LR: 1e-2, Warmup: 3, Decay: 2, WeightDecay: 0.1, Clip: 1,
		Accumulate: 2, EvalEvery: 4, SaveEvery: 4, Progress: train.ProgressOptions{Mode: train.ProgressOff}}
}

// TestSeq2SeqResumeExact interrupts a run after step 6, resumes it from
// its checkpoint in a fresh task and checks that every step's loss equals
// that of an uninterrupted run bit for bit (batch order and dropout
// included), and that the loss falls.
func TestSeq2SeqResumeExact(t *testing.T) {
	const steps = 14
	var want []float64
	cfg := quietConfig(t.TempDir(), steps)
	cfg.LR = 3e-3
	cfg.OnStep = func(_ int, loss float64) { want = append(want, loss) }
	tr, err := train.NewTrainer(tinySeq2Seq(t, 5), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != steps || len(want) != steps {
		t.Fatalf("result %+v, %d losses", res, len(want))
	}
	if want[steps-1] >= want[0] {
		t.Errorf("loss did not fall: %v", want)
	}
	if _, ok := res.LastEval.Metrics["perplexity"]; !ok || res.LastEval.Loss <= 0 {
		t.Errorf("evaluation %+v", res.LastEval)
	}

	dir := t.TempDir()
	var got []float64
	ctx, cancel := context.WithCancel(context.Background())
	cfg = quietConfig(dir, steps)
	cfg.LR = 3e-3
	cfg.OnStep = func(step int, loss float64) {
		got = append(got, loss)
		if step == 6 {
			cancel()
		}
	}
	tr, err = train.NewTrainer(tinySeq2Seq(t, 5), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := tr.Run(ctx); err != nil || !res.Interrupted || res.Step != 6 {
		t.Fatalf("interrupted run: %+v, %v", res, err)
	}
	cfg.Resume = true
	cfg.OnStep = func(_ int, loss float64) { got = append(got, loss) }
	tr, err = train.NewTrainer(tinySeq2Seq(t, 5), cfg) // a fresh model: the checkpoint must restore everything
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != steps {
		t.Fatalf("%d losses after resuming, want %d", len(got), steps)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: loss %v, uninterrupted %v", i+1, got[i], want[i])
		}
	}
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors"} {
		if _, err := filepath.Glob(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestSeq2SeqBatches checks the length-grouped batches: every pair lands
// in exactly one batch, no batch exceeds the token budget, decoder inputs
// are the labels shifted right behind the start token, padding is ignored.
func TestSeq2SeqBatches(t *testing.T) {
	cfg := transformer.Config{Vocab: 16, Dim: 8, Heads: 2, EncoderLayers: 1, DecoderLayers: 1, MaxLen: 16, PadID: 0, EOSID: 1}
	pairs := copyPairs(97, 9)
	for _, budget := range []int{8, 30, 64, 1000} {
		bs, err := Seq2SeqBatches(cfg, pairs, budget, 1)
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		for _, b := range bs {
			rows += b.B
			if b.B*max(b.S, b.T) > budget {
				t.Errorf("budget %d: batch %d×max(%d, %d)", budget, b.B, b.S, b.T)
			}
			for r := range b.B {
				for j := range b.T {
					l, in := b.Labels[r*b.T+j], b.Target[r*b.T+j]
					switch {
					case j == 0 && in != cfg.PadID:
						t.Fatalf("decoder input starts with %d, want the start token %d", in, cfg.PadID)
					case j > 0 && l != transformer.IgnoreIndex && in != b.Labels[r*b.T+j-1]:
						t.Fatalf("decoder input %d at %d is not the previous label %d", in, j, b.Labels[r*b.T+j-1])
					case l == transformer.IgnoreIndex && in != cfg.PadID:
						t.Fatalf("ignored label over input %d", in)
					}
				}
			}
		}
		if rows != len(pairs) {
			t.Errorf("budget %d: %d rows for %d pairs", budget, rows, len(pairs))
		}
	}
	long := []Seq2SeqPair{{Source: make([]int32, 20), Target: []int32{1}}}
	bad := map[string][]Seq2SeqPair{
		"too long": long,
		"empty":    {{Source: nil, Target: []int32{1}}},
		"id":       {{Source: []int32{99}, Target: []int32{1}}},
	}
	for name, p := range bad {
		if _, err := Seq2SeqBatches(cfg, p, 64, 1); err == nil || !strings.HasPrefix(err.Error(), "finetune: seq2seq:") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := Seq2SeqBatches(cfg, pairs, 4, 1); err == nil {
		t.Error("a budget smaller than a pair: no error")
	}
}

// TestSeq2SeqEvaluateLeavesTraining checks that Evaluate reports the
// plain cross-entropy beside the smoothed loss and does not move the data
// stream.
func TestSeq2SeqEvaluateLeavesTraining(t *testing.T) {
	a, b := tinySeq2Seq(t, 8), tinySeq2Seq(t, 8)
	ev, err := a.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if nll := ev.Metrics["nll"]; !(nll > 0) || math.Abs(ev.Metrics["perplexity"]-math.Exp(nll)) > 1e-9 || !(ev.Loss > 0) || ev.Loss == nll {
		t.Errorf("evaluation %+v: want a smoothed loss and nll > 0 that differ, perplexity exp(nll)", ev)
	}
	la, _, err := a.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lb, _, err := b.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if la != lb {
		t.Errorf("first step after Evaluate: loss %v, without it %v", la, lb)
	}
}
