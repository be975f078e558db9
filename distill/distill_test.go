package distill

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// tinyConfig is a 4-layer classifier of 16 wide over 40 tokens.
func tinyConfig(layers, width int) bert.Config {
	return bert.Config{ModelType: "bert", VocabSize: 40, HiddenSize: width, NumLayers: layers, NumHeads: 2,
		Intermediate: 2 * width, MaxPositions: 16, TypeVocab: 2, HiddenAct: "gelu", HiddenDropout: 0.1,
		AttentionDropout: 0.1, ID2Label: map[int]string{0: "neg", 1: "pos"}, Label2ID: map[string]int{"neg": 0, "pos": 1},
		Architectures: []string{"BertForSequenceClassification"}}
}

func tinyClassifier(t *testing.T, cfg bert.Config, seed uint64) *bert.ForSequenceClassification {
	t.Helper()
	m, err := bert.NewForSequenceClassification(cfg, tensor.NewRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encoderOf(t *testing.T, m *bert.ForSequenceClassification) *bert.Encoder {
	t.Helper()
	e, err := m.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// toyExamples are n sequences [CLS] … [SEP] of ids 3…39 whose label says
// whether token 7 occurs.
func toyExamples(n int, seed uint64) []data.ClassExample {
	rng := tensor.NewRNG(seed)
	out := make([]data.ClassExample, n)
	for i := range out {
		T := 4 + rng.IntN(8)
		ids := make([]int32, T)
		ids[0], ids[T-1] = 1, 2
		label := int32(0)
		for j := 1; j < T-1; j++ {
			ids[j] = int32(3 + rng.IntN(37))
			if ids[j] == 7 {
				label = 1
			}
		}
		out[i] = data.ClassExample{InputIDs: ids, TokenTypeIDs: make([]int32, T), Label: label}
	}
	return out
}

func TestLayerMap(t *testing.T) {
	for _, tc := range []struct {
		teacher, n int
		want       []int
	}{
		{12, 6, []int{0, 2, 4, 7, 9, 11}}, // extract_distilbert.py
		{4, 2, []int{0, 3}},
		{4, 3, []int{0, 2, 3}}, // 1.5 rounds up
		{4, 1, []int{0}},
		{2, 1, []int{0}},
		{6, 3, []int{0, 3, 5}},
		{24, 12, []int{0, 2, 4, 6, 8, 10, 13, 15, 17, 19, 21, 23}},
	} {
		got, err := LayerMap(tc.teacher, tc.n)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("LayerMap(%d, %d) = %v, %v; want %v", tc.teacher, tc.n, got, err, tc.want)
		}
	}
	for _, tc := range [][2]int{{4, 4}, {4, 5}, {4, 0}, {1, 1}, {4, -1}} {
		if _, err := LayerMap(tc[0], tc[1]); err == nil {
			t.Errorf("LayerMap(%d, %d): no error", tc[0], tc[1])
		}
	}
	if got, err := ParseLayerMap("0, 2", 4); err != nil || !slices.Equal(got, []int{0, 2}) {
		t.Errorf("ParseLayerMap: %v, %v", got, err)
	}
	for _, s := range []string{"0,1,2,3", "2,1", "0,4", "-1", "x", "", "1,1"} {
		if _, err := ParseLayerMap(s, 4); err == nil {
			t.Errorf("ParseLayerMap(%q): no error", s)
		}
	}
}

// TestNewClassifierStudent checks the student's weights: embeddings,
// pooler and classifier are the teacher's, and student layer i is teacher
// layer map[i], every tensor of it.
func TestNewClassifierStudent(t *testing.T) {
	teacher := tinyClassifier(t, tinyConfig(4, 16), 1)
	for _, layers := range [][]int{{0, 3}, {1, 2}, {2}} {
		s, err := NewClassifierStudent(teacher, layers)
		if err != nil {
			t.Fatal(err)
		}
		if s.Bert.Config.NumLayers != len(layers) || s.Bert.Config.Labels() != 2 || s.Bert.Config.LabelName(1) != "pos" {
			t.Errorf("student config %+v", s.Bert.Config)
		}
		tp := map[string]*tensor.Tensor{}
		for _, p := range teacher.Params() {
			tp[p.Name] = p.Var.Value
		}
		n := 0
		for _, p := range s.Params() {
			name := p.Name
			for i, l := range layers {
				if from := fmt.Sprintf("encoder.layer.%d.", i); strings.Contains(name, from) {
					name = strings.Replace(name, from, fmt.Sprintf("encoder.layer.%d.", l), 1)
					break
				}
			}
			if !slices.Equal(p.Var.Value.Data(), tp[name].Data()) {
				t.Errorf("layers %v: %s differs from the teacher's %s", layers, p.Name, name)
			}
			n++
		}
		if want := len(teacher.Params()) - (4-len(layers))*16; n != want {
			t.Errorf("layers %v: %d parameters, want %d", layers, n, want)
		}
	}
	// The student's values are copies: training it leaves the teacher alone.
	s, _ := NewClassifierStudent(teacher, []int{0, 3})
	s.Classifier.Weight.Value.Fill(7)
	if teacher.Classifier.Weight.Value.Data()[0] == 7 {
		t.Error("the student shares the teacher's storage")
	}

	mlmTeacher, err := bert.NewForMaskedLM(tinyConfig(4, 16), tensor.NewRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := NewMaskedLMStudent(mlmTeacher, []int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ms.MLM.Dense.Weight.Value.Data(), mlmTeacher.MLM.Dense.Weight.Value.Data()) ||
		!slices.Equal(ms.Bert.Layers[1].Query.Weight.Value.Data(), mlmTeacher.Bert.Layers[3].Query.Weight.Value.Data()) {
		t.Error("masked-LM student not cut from its teacher")
	}
}

// TestSelfDistillation distils a teacher into a copy of itself without
// dropout: every loss term must vanish (teacher on the inference path,
// student on autograd, the same function), and the gold-label term must
// equal the classifier's own loss.
func TestSelfDistillation(t *testing.T) {
	cfg := tinyConfig(2, 16)
	cfg.HiddenDropout, cfg.AttentionDropout = 0, 0
	teacher := tinyClassifier(t, cfg, 3)
	student := tinyClassifier(t, cfg, 3)
	examples := toyExamples(16, 1)
	for _, tc := range []struct {
		w    Weights
		want float64 // 0, or -1: the classifier's cross-entropy
	}{{Weights{KL: 1}, 0}, {Weights{Cos: 1}, 0}, {Weights{KL: 1, Cos: 3}, 0}, {Weights{Hard: 1}, -1}} {
		task, err := NewClassify(student, encoderOf(t, teacher), examples, ClassifyOptions{BatchSize: 8, Seed: 1, Weights: tc.w})
		if err != nil {
			t.Fatal(err)
		}
		loss, tokens, err := task.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tokens == 0 {
			t.Error("no tokens counted")
		}
		if tc.want == 0 && math.Abs(loss) > 1e-5 {
			t.Errorf("%+v: self-distillation loss %g, want 0", tc.w, loss)
		}
		if tc.want < 0 && !(loss > 0.3 && loss < 1.2) { // ≈ ln 2 for a fresh 2-class head
			t.Errorf("%+v: cross-entropy %g", tc.w, loss)
		}
	}
}

// TestClassifyLearns distils a 4-layer teacher into 2 layers cut from it
// through the Trainer and checks that the student moves towards the
// teacher: the soft-target loss falls and the dev agreement is reported.
func TestClassifyLearns(t *testing.T) {
	teacher := tinyClassifier(t, tinyConfig(4, 16), 4)
	// A random head barely separates the classes: sharpen it, so that the
	// teacher's decisions depend on its input.
	tensor.MulScalarInto(teacher.Classifier.Weight.Value, teacher.Classifier.Weight.Value, 300)
	tensor.MulScalarInto(teacher.Bert.Pooler.Weight.Value, teacher.Bert.Pooler.Weight.Value, 10)
	student, err := NewClassifierStudent(teacher, []int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	// Scramble the student so there is something to learn.
	for _, p := range student.Params() {
		if p.Var.Value.NDim() == 2 {
			tensor.NewRNG(9).Normal(p.Var.Value, 0, 0.05)
		}
	}
	task, err := NewClassify(student, encoderOf(t, teacher), toyExamples(64, 2), ClassifyOptions{BatchSize: 16, Seed: 5,
		Weights: Weights{KL: 1}, Temperature: 1, Dev: toyExamples(32, 3)})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, first, last := runTask(t, task, out, 40)
	t.Logf("soft-target loss %g → %g, agreement %v", first, last, res.LastEval.Metrics["agreement"])
	if !(last < 0.5*first) {
		t.Errorf("soft-target loss %g → %g: did not halve", first, last)
	}
	for _, k := range []string{"accuracy", "agreement", "teacher_accuracy", "macro_f1"} {
		if v, ok := res.LastEval.Metrics[k]; !ok || v < 0 || v > 1 {
			t.Errorf("metric %s = %v, %v", k, v, ok)
		}
	}
	if a := res.LastEval.Metrics["agreement"]; a < 0.9 {
		t.Errorf("agreement with the teacher %v after distillation", a)
	}
	// The saved student is an ordinary classifier folder.
	enc, err := bert.LoadEncoder(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !enc.Has(bert.HeadClassifier) || enc.Config.NumLayers != 2 {
		t.Errorf("saved student: heads %v, %d layers", enc.Heads(), enc.Config.NumLayers)
	}
}

// runTask trains task for steps at LR 3e-3 into dir and returns the result
// and the mean loss of the first and of the last five steps.
func runTask(t *testing.T, task train.Task, dir string, steps int) (res train.Result, first, last float64) {
	t.Helper()
	var losses []float64
	tr, err := train.NewTrainer(task, train.Config{OutDir: dir, Steps: steps, LR: 3e-3,
		Progress: train.ProgressOptions{Mode: train.ProgressOff}, OnStep: func(_ int, l float64) { losses = append(losses, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if res, err = tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return res, mean(losses[:5]), mean(losses[len(losses)-5:])
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// TestBadInput checks that every mismatch between teacher, student and
// data is a clear error.
func TestBadInput(t *testing.T) {
	teacher := encoderOf(t, tinyClassifier(t, tinyConfig(4, 16), 1))
	ex := toyExamples(8, 1)
	mlm, err := bert.NewForMaskedLM(tinyConfig(4, 16), tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	mlmEnc, err := mlm.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	vocab := tinyConfig(2, 16)
	vocab.VocabSize = 41
	three := tinyConfig(2, 16)
	three.ID2Label, three.Label2ID = map[int]string{0: "a", 1: "b", 2: "c"}, nil
	renamed := tinyConfig(2, 16)
	renamed.ID2Label = map[int]string{0: "pos", 1: "neg"}
	badLabel := toyExamples(8, 1)
	badLabel[3].Label = 2
	for _, tc := range []struct {
		name    string
		student bert.Config
		teacher *bert.Encoder
		ex      []data.ClassExample
		opts    ClassifyOptions
		want    string
	}{
		{"teacher without a classifier", tinyConfig(2, 16), mlmEnc, ex, ClassifyOptions{}, "no sequence-classification head"},
		{"student wider", tinyConfig(2, 32), teacher, ex, ClassifyOptions{}, "wider than the teacher"},
		{"vocabulary mismatch", vocab, teacher, ex, ClassifyOptions{}, "vocabulary mismatch"},
		{"narrower with cosine", tinyConfig(2, 8), teacher, ex, ClassifyOptions{Weights: Weights{Cos: 1}}, "cosine"},
		{"other classes", three, teacher, ex, ClassifyOptions{}, "3"},
		{"classes in another order", renamed, teacher, ex, ClassifyOptions{}, "class 0"},
		{"label outside the classes", tinyConfig(2, 16), teacher, badLabel, ClassifyOptions{}, "label id 2"},
		{"no examples", tinyConfig(2, 16), teacher, nil, ClassifyOptions{}, "no training examples"},
		{"negative temperature", tinyConfig(2, 16), teacher, ex, ClassifyOptions{Temperature: -1}, "temperature"},
		{"negative weight", tinyConfig(2, 16), teacher, ex, ClassifyOptions{Weights: Weights{KL: -1, Hard: 1}}, "weights"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.BatchSize == 0 {
				tc.opts.BatchSize = 4
			}
			_, err := NewClassify(tinyClassifier(t, tc.student, 2), tc.teacher, tc.ex, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	// A narrower student without the cosine term is fine.
	if _, err := NewClassify(tinyClassifier(t, tinyConfig(2, 8), 2), teacher, ex, ClassifyOptions{BatchSize: 4}); err != nil {
		t.Errorf("narrower student: %v", err)
	}

	// Students cut from folders: N ≥ the teacher's layers, a teacher
	// without the head, both kinds of student at once.
	dir := t.TempDir()
	cls, mlmDir := filepath.Join(dir, "cls"), filepath.Join(dir, "mlm")
	if err := tinyClassifier(t, tinyConfig(4, 16), 1).Save(cls); err != nil {
		t.Fatal(err)
	}
	if err := mlm.Save(mlmDir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		teacher string
		spec    StudentSpec
		want    string
	}{
		{"as many layers as the teacher", cls, StudentSpec{Layers: 4}, "want 1 ≤ layers < 4"},
		{"more layers than the teacher", cls, StudentSpec{Layers: 6}, "want 1 ≤ layers < 4"},
		{"no student", cls, StudentSpec{}, "no student"},
		{"folder and layers", cls, StudentSpec{Layers: 2, Dir: mlmDir}, "not both"},
		{"map and layers disagree", cls, StudentSpec{Layers: 3, LayerMap: []int{0, 3}}, "layer map of 2"},
		{"teacher not a classifier", mlmDir, StudentSpec{Layers: 2}, "not a sequence classifier"},
		{"missing teacher", filepath.Join(dir, "nope"), StudentSpec{Layers: 2}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := LoadClassifierStudent(tc.teacher, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if s, layers, err := LoadClassifierStudent(cls, StudentSpec{Layers: 2}); err != nil || !slices.Equal(layers, []int{0, 3}) || s.Bert.Config.NumLayers != 2 {
		t.Errorf("LoadClassifierStudent: %v, %v", layers, err)
	}
	if _, _, err := LoadMaskedLMStudent(cls, StudentSpec{Layers: 2}); err == nil {
		t.Error("masked-LM student of a classifier teacher: no error")
	}
	if s, _, err := LoadMaskedLMStudent(mlmDir, StudentSpec{LayerMap: []int{1}}); err != nil || s.Bert.Config.NumLayers != 1 {
		t.Errorf("LoadMaskedLMStudent: %v", err)
	}
	// A student folder that is already a classifier of the teacher's
	// classes keeps its head.
	student := tinyClassifier(t, tinyConfig(2, 16), 8)
	sdir := filepath.Join(dir, "student")
	if err := student.Save(sdir); err != nil {
		t.Fatal(err)
	}
	s, _, err := LoadClassifierStudent(cls, StudentSpec{Dir: sdir})
	if err != nil || !slices.Equal(s.Classifier.Weight.Value.Data(), student.Classifier.Weight.Value.Data()) {
		t.Errorf("student folder: head not kept (%v)", err)
	}
}

// toySequences are n packed sequences of the toy vocabulary.
func toySequences(n int, seed uint64) []data.PretrainExample {
	out := make([]data.PretrainExample, n)
	for i, e := range toyExamples(n, seed) {
		out[i] = data.PretrainExample{InputIDs: e.InputIDs, TokenTypeIDs: e.TokenTypeIDs, NextSentence: -1}
	}
	return out
}

func toyMasker(t *testing.T) *data.Masker {
	t.Helper()
	m, err := data.NewMasker(data.MaskOptions{MaskID: 3, VocabSize: 40, Special: []bool{true, true, true, true}, Prob: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMaskedLM checks general distillation: a copy of the teacher without
// dropout has zero soft-target and cosine losses, a student cut from it
// learns (the weighted loss falls) and evaluation reports every term, and a
// teacher without a masked-LM head is refused.
func TestMaskedLM(t *testing.T) {
	cfg := tinyConfig(4, 16)
	cfg.HiddenDropout, cfg.AttentionDropout = 0, 0
	teacher, err := bert.NewForMaskedLM(cfg, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	tensor.MulScalarInto(teacher.MLM.Dense.Weight.Value, teacher.MLM.Dense.Weight.Value, 30)
	tenc, err := teacher.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	self, err := bert.NewForMaskedLM(cfg, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	tensor.MulScalarInto(self.MLM.Dense.Weight.Value, self.MLM.Dense.Weight.Value, 30)
	opts := MLMOptions{BatchSize: 8, MaxLen: 12, Seed: 3, Weights: Weights{KL: 1, Cos: 1}}
	task, err := NewMaskedLM(self, tenc, toySequences(32, 1), toyMasker(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	if loss, _, err := task.Step(context.Background()); err != nil || math.Abs(loss) > 1e-5 {
		t.Errorf("self-distillation loss %g (%v), want 0", loss, err)
	}

	student, err := NewMaskedLMStudent(teacher, []int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	opts.Weights, opts.Eval = Weights{}, toySequences(16, 2) // DistilBERT's 5, 2, 1
	task, err = NewMaskedLM(student, tenc, toySequences(64, 1), toyMasker(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	res, first, last := runTask(t, task, t.TempDir(), 30)
	t.Logf("loss %g → %g, eval %v", first, last, res.LastEval.Metrics)
	if !(last < first) {
		t.Errorf("loss %g → %g: did not fall", first, last)
	}
	for _, k := range []string{"kl_loss", "mlm_loss", "cos_loss", "mlm_accuracy", "teacher_mlm_accuracy", "agreement", "perplexity"} {
		if _, ok := res.LastEval.Metrics[k]; !ok {
			t.Errorf("evaluation lacks %s", k)
		}
	}
	want := 5*res.LastEval.Metrics["kl_loss"] + 2*res.LastEval.Metrics["mlm_loss"] + res.LastEval.Metrics["cos_loss"]
	if math.Abs(res.LastEval.Loss-want) > 1e-4*want {
		t.Errorf("eval loss %g, weighted terms %g", res.LastEval.Loss, want)
	}

	cls := encoderOf(t, tinyClassifier(t, tinyConfig(4, 16), 1))
	if _, err := NewMaskedLM(student, cls, toySequences(8, 1), toyMasker(t), opts); err == nil || !strings.Contains(err.Error(), "no masked-LM head") {
		t.Errorf("teacher without a masked-LM head: %v", err)
	}
	if _, err := NewMaskedLM(student, tenc, toySequences(8, 1), toyMasker(t), MLMOptions{BatchSize: 8, MaxLen: 40}); err == nil {
		t.Error("sequences longer than the positions: no error")
	}
}

// TestMaskedLMResume interrupts a general-distillation run (Ctrl-C at step
// 7), resumes it, and checks that every step's loss equals that of an
// uninterrupted run: masking and dropout come back with the data position.
func TestMaskedLMResume(t *testing.T) {
	cfg := tinyConfig(2, 16)
	teacher, err := bert.NewForMaskedLM(cfg, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	tenc, err := teacher.Encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 14
	run := func(dir string, resume bool, stopAt int) map[int]float64 {
		student, err := NewMaskedLMStudent(teacher, []int{1})
		if err != nil {
			t.Fatal(err)
		}
		task, err := NewMaskedLM(student, tenc, toySequences(40, 1), toyMasker(t), MLMOptions{BatchSize: 4, MaxLen: 12, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		losses := map[int]float64{}
		tr, err := train.NewTrainer(task, train.Config{OutDir: dir, Steps: steps, LR: 3e-3, Resume: resume, SaveEvery: 5,
			Progress: train.ProgressOptions{Mode: train.ProgressOff}, OnStep: func(s int, l float64) {
				losses[s] = l
				if s == stopAt {
					cancel()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(ctx); err != nil {
			t.Fatal(err)
		}
		return losses
	}
	want := run(t.TempDir(), false, -1)
	dir := t.TempDir()
	got := run(dir, false, 7)
	for s, l := range run(dir, true, -1) {
		if s <= 7 {
			t.Errorf("the resumed run ran step %d again", s)
		}
		got[s] = l
	}
	for s := 1; s <= steps; s++ {
		if got[s] != want[s] {
			t.Errorf("step %d: loss %v after resuming, %v uninterrupted", s, got[s], want[s])
		}
	}
}
