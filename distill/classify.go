package distill

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// Weights are the weights of the three terms of the distillation loss
//
//	loss = KL · SoftTargetKL + Hard · (cross-entropy or masked-LM loss) + Cos · CosineLoss
//
// (DistilBERT's alpha_ce, alpha_mlm and alpha_cos; its "ce" is the soft
// target term, Hard here). All three zero means the task's defaults:
// DefaultClassifyWeights or DefaultMLMWeights.
type Weights struct {
	KL, Hard, Cos float64
}

// DefaultClassifyWeights weigh the soft targets and the gold labels
// equally (Hinton et al.'s α = 0.5), without the hidden-state term.
func DefaultClassifyWeights() Weights { return Weights{KL: 0.5, Hard: 0.5} }

// DefaultMLMWeights are DistilBERT's general-distillation weights
// (alpha_ce 5, alpha_mlm 2, alpha_cos 1).
func DefaultMLMWeights() Weights { return Weights{KL: 5, Hard: 2, Cos: 1} }

// DefaultTemperature is DistilBERT's softmax temperature.
const DefaultTemperature = 2.0

// settings checks what both tasks need — training examples (n of them), a
// teacher with head, a temperature and loss weights — and returns the last
// two with their defaults filled in (zero T: DefaultTemperature; zero w:
// def). task names the task in errors.
func settings(task string, n int, teacher *bert.Encoder, head bert.Heads, T float64, w, def Weights) (float64, Weights, error) {
	if n == 0 {
		return 0, w, fmt.Errorf("distill: %s: no training examples", task)
	}
	if !teacher.Has(head) {
		return 0, w, fmt.Errorf("distill: %s: the teacher has no %s head (%s; it has: %v)", task,
			map[bert.Heads]string{bert.HeadClassifier: "sequence-classification", bert.HeadMLM: "masked-LM"}[head], teacher.HeadName(head), teacher.Heads())
	}
	if T == 0 {
		T = DefaultTemperature
	}
	if T < 0 || math.IsNaN(T) || math.IsInf(T, 0) {
		return 0, w, fmt.Errorf("distill: temperature %g, want > 0", T)
	}
	if w == (Weights{}) {
		return T, def, nil
	}
	for _, v := range []float64{w.KL, w.Hard, w.Cos} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, w, fmt.Errorf("distill: loss weights %+v: each must be finite and ≥ 0", w)
		}
	}
	return T, w, nil
}

// ClassifyOptions configure NewClassify.
type ClassifyOptions struct {
	BatchSize int    // examples per micro-batch (required)
	Seed      uint64 // data order and the student's dropout
	PadID     int32  // [PAD]
	// Temperature softens both distributions of the soft-target loss
	// (zero: DefaultTemperature).
	Temperature float64
	// Weights of the loss terms (zero: DefaultClassifyWeights).
	Weights Weights
	// Dev holds the evaluation examples (none: Evaluate reports nothing).
	Dev []data.ClassExample
	// GroupByLength batches examples of similar length together, as
	// finetune.ClassifyOptions.GroupByLength.
	GroupByLength bool
}

// Classify is task-specific distillation: a BertForSequenceClassification
// student learns from a classifier teacher's logits (soft targets at a
// temperature), the gold labels and, optionally, the teacher's last hidden
// states. Examples come in a seeded per-epoch order and the student's
// dropout is seeded per micro-batch, so the resumable state is the sampler
// position and the micro-batch count; the teacher has no randomness. It
// implements train.Task and train.WeightLoader.
type Classify struct {
	student *bert.ForSequenceClassification
	teacher *bert.Encoder
	tws     bert.Workspace // the teacher's activations
	ews     bert.Workspace // evaluation
	learn   *microbatch.Learner[data.ClassExample]
	dev     []data.ClassExample
	devT    [][]float32 // the teacher's dev probabilities, computed once
	labels  []string
	opts    ClassifyOptions

	// LastConfusion is the student's confusion matrix at the last Evaluate.
	LastConfusion *metrics.Confusion
	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the student is saved to.
	SaveExtra func(dir string) error
}

// NewClassify returns the task. The teacher must have a sequence
// classifier with the student's classes, the same vocabulary and, for the
// hidden-state loss, the same width; the student must not be wider than the
// teacher. Every example's label must be one of the classes.
func NewClassify(student *bert.ForSequenceClassification, teacher *bert.Encoder, examples []data.ClassExample, opts ClassifyOptions) (*Classify, error) {
	if opts.BatchSize <= 0 {
		return nil, fmt.Errorf("distill: classify: batch size %d, want > 0", opts.BatchSize)
	}
	var err error
	opts.Temperature, opts.Weights, err = settings("classify", len(examples), teacher, bert.HeadClassifier, opts.Temperature, opts.Weights, DefaultClassifyWeights())
	if err != nil {
		return nil, err
	}
	sc, tc := student.Bert.Config, teacher.Config
	if err := compatible(sc, tc, opts.Weights.Cos > 0); err != nil {
		return nil, err
	}
	n := sc.Labels()
	if tc.Labels() != n {
		return nil, fmt.Errorf("distill: classify: the teacher has %d classes, the student %d", tc.Labels(), n)
	}
	for i := range n {
		if s, t := sc.LabelName(i), tc.LabelName(i); s != t {
			return nil, fmt.Errorf("distill: classify: class %d is %q for the teacher, %q for the student", i, t, s)
		}
	}
	if err := finetune.CheckClassLabels(n, examples, opts.Dev); err != nil {
		return nil, fmt.Errorf("distill: classify: %w", err)
	}
	s, err := finetune.NewClassSampler(examples, opts.BatchSize, opts.Seed, opts.GroupByLength)
	if err != nil {
		return nil, fmt.Errorf("distill: classify: %w", err)
	}
	labels := finetune.LabelNames(sc)
	learn := microbatch.NewLearner(microbatch.NewStream(examples, s, opts.BatchSize, opts.Seed), student.Params(),
		microbatch.LearnerOptions{DropoutStream: streamDropout})
	return &Classify{student: student, teacher: teacher, learn: learn, dev: opts.Dev, labels: labels, opts: opts}, nil
}

// compatible checks that a student of config s can learn from a teacher of
// config t: same vocabulary and positions, not wider, and (for the
// hidden-state loss) the same width.
func compatible(s, t bert.Config, hidden bool) error {
	switch {
	case s.VocabSize != t.VocabSize:
		return fmt.Errorf("distill: vocabulary mismatch: the student has %d tokens, the teacher %d (they must share the tokenizer)", s.VocabSize, t.VocabSize)
	case s.HiddenSize > t.HiddenSize:
		return fmt.Errorf("distill: the student is wider than the teacher (hidden_size %d > %d)", s.HiddenSize, t.HiddenSize)
	case hidden && s.HiddenSize != t.HiddenSize:
		return fmt.Errorf("distill: the hidden-state (cosine) loss needs the student's width %d to equal the teacher's %d", s.HiddenSize, t.HiddenSize)
	case s.MaxLen() > t.MaxLen():
		return fmt.Errorf("distill: the student reads %d positions, the teacher only %d", s.MaxLen(), t.MaxLen())
	}
	return nil
}

// Params implements train.Task.
func (t *Classify) Params() []optim.Param { return t.learn.Params() }

// Step implements train.Task: one micro-batch through the teacher (no
// graph) and the student, and the backward pass of the weighted loss.
func (t *Classify) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, t.loss)
}

// loss is the weighted loss of a micro-batch (the forward pass of Step).
func (t *Classify) loss(batch []data.ClassExample, _ []uint64) (*autograd.Var, int, error) {
	b := data.CollateClassification(batch, t.opts.PadID, 0)
	in := input(b.B, b.T, b.InputIDs, b.TokenTypeIDs, b.AttentionMask)
	w := t.opts.Weights
	var teacher []float32
	if w.KL > 0 || w.Cos > 0 { // hard labels alone (the baseline) need no teacher
		var err error
		if teacher, err = t.teacher.Classify(&t.tws, in); err != nil { // [B, labels]
			return nil, 0, fmt.Errorf("distill: teacher: %w", err)
		}
	}
	labels := make([]float32, b.B)
	for i, l := range b.Labels {
		labels[i] = float32(l)
	}
	t.student.SetTraining(true, t.learn.Dropout)
	out, logits, err := t.student.Forward(in, nil)
	if err != nil {
		return nil, 0, err
	}
	var terms []*autograd.Var
	if w.KL > 0 {
		kl, err := SoftTargetKL(logits, teacher, t.opts.Temperature)
		if err != nil {
			return nil, 0, err
		}
		terms = append(terms, autograd.MulScalar(kl, float32(w.KL)))
	}
	if w.Hard > 0 {
		ce, err := t.student.Loss(logits, labels)
		if err != nil {
			return nil, 0, err
		}
		terms = append(terms, autograd.MulScalar(ce, float32(w.Hard)))
	}
	if w.Cos > 0 {
		cos, err := hiddenLoss(out.LastHidden, t.tws.Hidden(), b.AttentionMask)
		if err != nil {
			return nil, 0, err
		}
		terms = append(terms, autograd.MulScalar(cos, float32(w.Cos)))
	}
	return sum(terms), microbatch.Tokens(b.AttentionMask), nil
}

// Random streams of the distillation tasks (train.StepSeed).
const (
	streamMask uint64 = iota + 101
	streamDropout
	streamEvalMask
)

// input converts a collated batch to the model's input.
func input(B, T int, ids, types, mask []int32) bert.Input {
	return bert.Input{B: B, T: T, IDs: ints(ids), TypeIDs: ints(types), Mask: ints(mask)}
}

func ints(s []int32) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

// sum adds the loss terms (at least one: Weights are never all zero).
func sum(terms []*autograd.Var) *autograd.Var {
	loss := terms[0]
	for _, t := range terms[1:] {
		loss = autograd.Add(loss, t)
	}
	return loss
}

// hiddenLoss is CosineLoss between the student's hidden states [B, T, C]
// and the teacher's (same layout) over the real tokens (mask 1), as
// DistilBERT selects them with the attention mask.
func hiddenLoss(student *autograd.Var, teacher []float32, mask []int32) (*autograd.Var, error) {
	C := student.Value.Dim(-1)
	if len(teacher) != len(mask)*C {
		return nil, fmt.Errorf("distill: hidden-state loss: %d teacher values for %d tokens of width %d", len(teacher), len(mask), C)
	}
	var rows []int
	var sel []float32
	for i, m := range mask {
		if m != 0 {
			rows = append(rows, i)
			sel = append(sel, teacher[i*C:(i+1)*C]...)
		}
	}
	s, err := autograd.Embedding(autograd.Reshape(student, -1, C), rows) // [R, C]
	if err != nil {
		return nil, fmt.Errorf("distill: hidden-state loss: %w", err)
	}
	return CosineLoss(s, sel)
}

// Evaluate implements train.Task: the student's cross-entropy, accuracy,
// macro precision, recall and F1 and per-class F1 on the dev set (as
// finetune.ClassifyTask reports them), the teacher's accuracy
// ("teacher_accuracy") and how often the two agree ("agreement").
func (t *Classify) Evaluate(ctx context.Context) (train.Eval, error) {
	if len(t.dev) == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	if t.devT == nil {
		p, err := finetune.Predict(ctx, t.teacher, &t.ews, t.dev, t.opts.BatchSize, t.opts.PadID)
		if err != nil {
			return train.Eval{}, err
		}
		t.devT = p
	}
	enc, err := t.student.Encoder(nil) // the weights of this step
	if err != nil {
		return train.Eval{}, err
	}
	probs, err := finetune.Predict(ctx, enc, &t.ews, t.dev, t.opts.BatchSize, t.opts.PadID)
	if err != nil {
		return train.Eval{}, err
	}
	conf := metrics.NewConfusion(t.labels)
	var nll float64
	agree, teacherRight := 0, 0
	for i, e := range t.dev {
		p := probs[i]
		nll -= math.Log(math.Max(float64(p[e.Label]), 1e-30))
		pred, tpred := argmax(p), argmax(t.devT[i])
		if err := conf.Add(int(e.Label), pred); err != nil {
			return train.Eval{}, err
		}
		if pred == tpred {
			agree++
		}
		if tpred == int(e.Label) {
			teacherRight++
		}
	}
	t.LastConfusion = conf
	ev := finetune.ReportEval(nll/float64(len(t.dev)), conf.Report())
	ev.Metrics["teacher_accuracy"] = float64(teacherRight) / float64(len(t.dev))
	ev.Metrics["agreement"] = float64(agree) / float64(len(t.dev))
	return ev, nil
}

func argmax(p []float32) int {
	var i [1]int32
	metrics.Argmax(i[:], p, len(p))
	return int(i[0])
}

// Save implements train.Task: a BertForSequenceClassification folder.
func (t *Classify) Save(dir string) error { return saveStudent(t.student, dir, t.SaveExtra) }

// LoadWeights implements train.WeightLoader.
func (t *Classify) LoadWeights(dir string) error { return loadStudent(t.student, dir) }

// State implements train.Task.
func (t *Classify) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *Classify) SetState(b json.RawMessage) error {
	return t.learn.Data.SetState(b, "distill: classify")
}
