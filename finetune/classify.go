package finetune

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// ClassifyTask fine-tunes a BertForSequenceClassification on labelled
// examples: examples in a seeded per-epoch order, dropout seeded per
// micro-batch, evaluation on a dev set with accuracy, macro and per-class
// precision/recall/F1 (metrics.ClassReport) and a confusion matrix.
type ClassifyTask struct {
	model  *bert.ForSequenceClassification
	learn  *microbatch.Learner[data.ClassExample]
	dev    []data.ClassExample
	labels []string
	B      int
	padID  int32
	ws     *bert.Workspace

	// LastConfusion is the confusion matrix of the last Evaluate.
	LastConfusion *metrics.Confusion
	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the model is saved to.
	SaveExtra func(dir string) error
}

// ClassifyOptions configure NewClassifyTask.
type ClassifyOptions struct {
	BatchSize int    // examples per micro-batch (required)
	Seed      uint64 // data order and dropout
	PadID     int32  // [PAD]
	// Dev holds the evaluation examples (none: Evaluate reports nothing).
	Dev []data.ClassExample
	// GroupByLength batches examples of similar length together (Hugging
	// Face's group_by_length: the shuffled order is sorted by length in runs
	// of 50 batches), so that batches, padded to their longest example,
	// compute little padding.
	GroupByLength bool
	// BF16 trains in bfloat16 mixed precision: the linear layers' products
	// in bfloat16 with float32 sums, float32 master weights, gradients and
	// optimizer state (autograd.Graph.SetBF16). Evaluation runs the float32
	// encoder (bert.Encoder) either way. False: float32.
	BF16 bool
}

// NewClassifyTask returns a fine-tuning task. Every example's label must be
// a class of the model (0 ≤ label < Config.Labels()).
func NewClassifyTask(model *bert.ForSequenceClassification, examples []data.ClassExample, opts ClassifyOptions) (*ClassifyTask, error) {
	if err := checkSizes("classify", opts.BatchSize, len(examples)); err != nil {
		return nil, err
	}
	n := model.Bert.Config.Labels()
	if err := CheckClassLabels(n, examples, opts.Dev); err != nil {
		return nil, fmt.Errorf("finetune: classify: %w", err)
	}
	s, err := NewClassSampler(examples, opts.BatchSize, opts.Seed, opts.GroupByLength)
	if err != nil {
		return nil, fmt.Errorf("finetune: classify: %w", err)
	}
	labels := LabelNames(model.Bert.Config)
	learn := microbatch.NewLearner(microbatch.NewStream(examples, s, opts.BatchSize, opts.Seed), model.Params(),
		microbatch.LearnerOptions{BF16: opts.BF16})
	return &ClassifyTask{model: model, learn: learn, dev: opts.Dev, labels: labels, B: opts.BatchSize, padID: opts.PadID}, nil
}

// Params implements train.Task.
func (t *ClassifyTask) Params() []optim.Param { return t.learn.Params() }

// Step implements train.Task.
func (t *ClassifyTask) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, func(batch []data.ClassExample, _ []uint64) (*autograd.Var, int, error) {
		b := data.CollateClassification(batch, t.padID, 0)
		labels := make([]float32, b.B)
		for i, l := range b.Labels {
			labels[i] = float32(l)
		}
		t.model.SetTraining(true, t.learn.Dropout)
		_, logits, err := t.model.Forward(classInput(b), nil)
		if err != nil {
			return nil, 0, err
		}
		loss, err := t.model.Loss(logits, labels)
		return loss, microbatch.Tokens(b.AttentionMask), err
	})
}

// classInput is the model input of a collated batch.
func classInput(b data.ClassBatch) bert.Input {
	return bert.Input{B: b.B, T: b.T, IDs: ints(b.InputIDs), TypeIDs: ints(b.TokenTypeIDs), Mask: ints(b.AttentionMask)}
}

// ints widens token ids (or labels, or a mask) to the model's int.
func ints(s []int32) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

// Evaluate implements train.Task: cross-entropy, accuracy, macro precision,
// recall and F1, and per-class F1 ("f1/<label>") on the dev set.
func (t *ClassifyTask) Evaluate(ctx context.Context) (train.Eval, error) {
	if len(t.dev) == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	if t.ws == nil {
		t.ws = &bert.Workspace{}
	}
	enc, err := t.model.Encoder(nil) // the weights of this step
	if err != nil {
		return train.Eval{}, err
	}
	probs, err := Predict(ctx, enc, t.ws, t.dev, t.B, t.padID)
	if err != nil {
		return train.Eval{}, err
	}
	conf := metrics.NewConfusion(t.labels)
	var nll float64
	for i, e := range t.dev {
		p := probs[i]
		nll -= math.Log(math.Max(float64(p[e.Label]), 1e-30))
		if err := conf.Add(int(e.Label), argmax(p)); err != nil {
			return train.Eval{}, err
		}
	}
	t.LastConfusion = conf
	return ReportEval(nll/float64(len(t.dev)), conf.Report()), nil
}

// ReportEval turns a classification report into Eval metrics: accuracy,
// macro_precision, macro_recall, macro_f1 and f1/<label> per class.
func ReportEval(loss float64, r metrics.ClassReport) train.Eval {
	m := map[string]float64{"accuracy": r.Accuracy, "macro_precision": r.Macro.Precision,
		"macro_recall": r.Macro.Recall, "macro_f1": r.Macro.F1}
	for _, c := range r.PerClass {
		m["f1/"+c.Label] = c.F1
	}
	return train.Eval{Loss: loss, Metrics: m}
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Predict returns the class probabilities (softmax of the logits) of every
// example, running the classifier m (an Encoder with a classification head)
// in padded batches of up to B. ws may be nil.
func Predict(ctx context.Context, m *bert.Encoder, ws *bert.Workspace, examples []data.ClassExample, B int, padID int32) ([][]float32, error) {
	if B <= 0 {
		B = 32
	}
	if ws == nil {
		ws = &bert.Workspace{}
	}
	n := m.Config.Labels()
	out := make([][]float32, len(examples))
	// Sort by length so that batches pad little; results go back in order.
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(examples[a].InputIDs) - len(examples[b].InputIDs) })
	batch := make([]data.ClassExample, 0, B)
	for i := 0; i < len(order); i += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch = batch[:0]
		for _, j := range order[i:min(i+B, len(order))] {
			batch = append(batch, examples[j])
		}
		logits, err := m.Classify(ws, classInput(data.CollateClassification(batch, padID, 0)))
		if err != nil {
			return nil, err
		}
		for r, j := range order[i:min(i+B, len(order))] {
			out[j] = softmax(logits[r*n : (r+1)*n])
		}
	}
	return out, nil
}

func softmax(x []float32) []float32 {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	p := make([]float32, len(x))
	var s float64
	for i, v := range x {
		e := math.Exp(float64(v - mx))
		p[i] = float32(e)
		s += e
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / s)
	}
	return p
}

// Save implements train.Task: a BertForSequenceClassification folder
// whose config names the labels.
func (t *ClassifyTask) Save(dir string) error {
	return saveLabelled(t.model, dir, t.labels, t.SaveExtra)
}

// LoadWeights implements train.WeightLoader.
func (t *ClassifyTask) LoadWeights(dir string) error { return bert.LoadParams(dir, t.model.Params()) }

// State implements train.Task.
func (t *ClassifyTask) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *ClassifyTask) SetState(b json.RawMessage) error {
	return t.learn.Data.SetState(b, "finetune: classify")
}

// NewClassifier builds a BertForSequenceClassification with a fresh head
// for labels (id order) on the encoder of a pretrained model folder: a
// Glossa- or Hugging Face-saved BertModel, BertForPreTraining,
// BertForMaskedLM or BertForSequenceClassification (whose old head is
// dropped). The head (and the pooler, when the encoder has none) is
// initialised from rng.
func NewClassifier(dir string, labels []string, rng *tensor.RNG) (*bert.ForSequenceClassification, error) {
	enc, cfg, err := pretrainedEncoder(dir, "BertForSequenceClassification", labels)
	if err != nil {
		return nil, err
	}
	cfg.ProblemType = "single_label_classification"
	m, err := bert.NewForSequenceClassification(cfg, rng)
	if err != nil {
		return nil, fmt.Errorf("finetune: classifier: %w", err)
	}
	return m, copyEncoder(m.Bert, enc, dir)
}

// pretrainedEncoder loads the BertModel of a pretrained folder and returns
// it with its config turned into that of class arch over labels (id order).
func pretrainedEncoder(dir, arch string, labels []string) (*bert.Model, bert.Config, error) {
	enc, err := bert.Load(dir)
	if err != nil {
		return nil, bert.Config{}, fmt.Errorf("finetune: pretrained encoder: %w", err)
	}
	cfg := enc.Config
	cfg.Architectures = []string{arch}
	cfg.ID2Label, cfg.Label2ID = map[int]string{}, map[string]int{}
	for i, l := range labels {
		cfg.ID2Label[i], cfg.Label2ID[l] = l, i
	}
	cfg.NumLabels = len(labels)
	return enc, cfg, nil
}

// copyEncoder copies the pretrained encoder's weights into dst, which may
// lack a pooler (BertForTokenClassification) or have one the encoder lacks
// (a masked-LM encoder's: it starts fresh, as in HF).
func copyEncoder(dst, src *bert.Model, dir string) error {
	have := map[string]*autograd.Var{}
	for _, p := range src.Params() {
		have[p.Name] = p.Var
	}
	for _, p := range dst.Params() {
		s, ok := have[p.Name]
		if !ok && strings.HasPrefix(p.Name, "pooler.") {
			continue
		}
		if !ok {
			return fmt.Errorf("finetune: pretrained encoder %s lacks %s", dir, p.Name)
		}
		copy(p.Var.Value.Data(), s.Value.Data())
	}
	return nil
}

// SortedLabelNames returns id2label of a config in id order.
func SortedLabelNames(id2label map[int]string) []string {
	ids := slices.Sorted(maps.Keys(id2label))
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id2label[id]
		if out[i] == "" {
			out[i] = strconv.Itoa(id)
		}
	}
	return out
}

// saveLabelled saves m into dir, names labels (id order) in its
// config.json and writes extra's files, if extra is non-nil.
func saveLabelled(m interface{ Save(dir string) error }, dir string, labels []string, extra func(dir string) error) error {
	if err := m.Save(dir); err != nil {
		return err
	}
	if err := setLabelNames(filepath.Join(dir, "config.json"), labels); err != nil {
		return err
	}
	if extra != nil {
		return extra(dir)
	}
	return nil
}

// setLabelNames writes id2label and label2id into a saved config.json.
// (bert's Config marshalling, as of this writing, names the classes
// LABEL_i whatever id2label says; this keeps the real names.)
func setLabelNames(path string, labels []string) error {
	var cfg map[string]any
	if err := checkpoint.ReadJSON(path, &cfg, 64<<20); err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	id2label, label2id := map[string]string{}, map[string]int{}
	for i, l := range labels {
		id2label[strconv.Itoa(i)], label2id[l] = l, i
	}
	cfg["id2label"], cfg["label2id"] = id2label, label2id
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	return nil
}
