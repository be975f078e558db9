package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
)

// Encoders are the pipelines of one encoder folder, loaded once and sharing
// its weights: feature extraction always, and every other task whose head
// the model has — what a server that serves the folder for all its tasks
// wants. It is safe for concurrent use.
type Encoders struct {
	m         *model
	ref       string
	features  *FeatureExtraction
	pipelines map[Task]Pipeline
	missing   map[Task]error
}

// encoderTasks are the tasks Encoders may hold, with the heads they need.
var encoderTasks = []struct {
	task Task
	need bert.Heads
}{
	{FeatureExtractionTask, 0},
	{FillMaskTask, bert.HeadMLM},
	{TextClassificationTask, bert.HeadClassifier},
	{TokenClassificationTask, bert.HeadTokenClassifier},
	{QuestionAnsweringTask, bert.HeadQA},
	{ZeroShotTask, bert.HeadClassifier},
}

// LoadEncoders loads the encoder modelRef (a local folder or a Hub
// reference, as Load takes) once, with every head its checkpoint holds,
// and builds the pipeline of each task it can run. A task it cannot run
// (no such head, no mask token, labels that name no entailment class) is
// not an error here: Pipeline reports it.
func LoadEncoders(ctx context.Context, modelRef string, opts *Options) (*Encoders, error) {
	m, st, err := loadSentenceModel(ctx, modelRef, opts)
	if err != nil {
		return nil, err
	}
	e := &Encoders{m: m, ref: modelRef, pipelines: map[Task]Pipeline{}, missing: map[Task]error{}}
	for _, t := range encoderTasks {
		if err := checkHeads(t.task, modelRef, m.enc, t.need); err != nil {
			e.missing[t.task] = err
			continue
		}
		var p Pipeline
		switch t.task {
		case FeatureExtractionTask:
			e.features, err = newFeatureExtraction(m, st)
			p = e.features
		case FillMaskTask:
			p, err = newFillMask(m)
		case TextClassificationTask:
			p = &TextClassification{m}
		case TokenClassificationTask:
			p = newTokenClassification(m)
		case QuestionAnsweringTask:
			p = &QuestionAnswering{m}
		case ZeroShotTask:
			p, err = newZeroShot(m, modelRef)
		}
		if err != nil {
			if t.task == FeatureExtractionTask {
				return nil, err
			}
			e.missing[t.task] = err
			continue
		}
		e.pipelines[t.task] = p
	}
	return e, nil
}

// Pipeline returns the pipeline of task, or the error Load would have
// given for it: one that names the head the task needs and the model's
// architectures (errors.Is ErrNoHead), or why the model cannot run it.
func (e *Encoders) Pipeline(task Task) (Pipeline, error) {
	if p, ok := e.pipelines[task]; ok {
		return p, nil
	}
	if err, ok := e.missing[task]; ok {
		return nil, err
	}
	return nil, fmt.Errorf("pipeline: %w: %s is not a task of an encoder", ErrInput, task)
}

// Tasks lists the tasks the model runs, in Tasks order.
func (e *Encoders) Tasks() []Task {
	var out []Task
	for _, t := range Tasks {
		if _, ok := e.pipelines[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// FeatureExtraction returns the feature-extraction pipeline (every
// encoder has one).
func (e *Encoders) FeatureExtraction() *FeatureExtraction { return e.features }

// TextClassification returns the sequence classifier's pipeline, or nil
// when the model has no classifier head.
func (e *Encoders) TextClassification() *TextClassification {
	p, _ := e.pipelines[TextClassificationTask].(*TextClassification)
	return p
}

// Tokenizer returns the model's tokenizer: its template's special tokens,
// no truncation or padding.
func (e *Encoders) Tokenizer() *tokenizer.Tokenizer { return e.m.tok }

// MaxLen returns the most tokens a sequence may have (model_max_length,
// at most the encoder's positions).
func (e *Encoders) MaxLen() int { return e.m.maxLen }

// Architectures returns config.json's architectures.
func (e *Encoders) Architectures() []string { return slices.Clone(e.m.enc.Config.Architectures) }

// Labels returns the classifier's labels in id order (nil without a
// classifier head).
func (e *Encoders) Labels() []string {
	if !e.m.enc.Has(bert.HeadClassifier) && !e.m.enc.Has(bert.HeadTokenClassifier) {
		return nil
	}
	return labelNames(e.m.enc.Config)
}
