package finetune

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// NERTask fine-tunes a BertForTokenClassification on tagged sentences
// (named-entity recognition, chunking): windows in a seeded per-epoch
// order, dropout seeded per micro-batch, the cross-entropy of the labelled
// sub-tokens. Evaluate tags the dev sentences word by word (each word takes
// the prediction of its first sub-token) and scores them with seqeval's
// entity-level precision, recall and F1 (metrics.EvaluateEntities).
type NERTask struct {
	model  *bert.ForTokenClassification
	learn  *microbatch.Learner[data.TokenClassExample]
	dev    *NERData
	labels []string
	entity metrics.EntityOptions
	B      int
	padID  int32
	ws     *bert.Workspace

	// LastReport is the entity report of the last Evaluate.
	LastReport *metrics.EntityReport
	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the model is saved to.
	SaveExtra func(dir string) error
}

// NERData is an evaluation set: the tagged sentences and their encoding.
type NERData struct {
	Sentences []data.TaggedSentence
	Examples  []data.TokenClassExample
}

// NEROptions configure NewNERTask.
type NEROptions struct {
	BatchSize int    // windows per micro-batch (required)
	Seed      uint64 // data order and dropout
	PadID     int32  // [PAD]
	// Dev is the evaluation set (nil: Evaluate reports nothing).
	Dev *NERData
	// Entity chooses seqeval's mode and scheme for the dev F1 (zero: the
	// default, conlleval-compatible mode).
	Entity metrics.EntityOptions
	// GroupByLength batches windows of similar length (see ClassifyOptions).
	GroupByLength bool
}

// NewNERTask returns a token-classification fine-tuning task. Every label
// must be a class of the model or data.IgnoreLabel.
func NewNERTask(model *bert.ForTokenClassification, examples []data.TokenClassExample, opts NEROptions) (*NERTask, error) {
	if err := checkSizes("ner", opts.BatchSize, len(examples)); err != nil {
		return nil, err
	}
	n := model.Bert.Config.Labels()
	check := func(set []data.TokenClassExample) error {
		for i, e := range set {
			for _, l := range e.Labels {
				if l != data.IgnoreLabel && (l < 0 || int(l) >= n) {
					return fmt.Errorf("finetune: ner: example %d has label id %d outside the model's %d classes", i, l, n)
				}
			}
		}
		return nil
	}
	if err := check(examples); err != nil {
		return nil, err
	}
	if opts.Dev != nil {
		if err := check(opts.Dev.Examples); err != nil {
			return nil, err
		}
	}
	s, err := microbatch.NewSampler(len(examples), opts.BatchSize, opts.Seed, opts.GroupByLength,
		func(i int) int { return len(examples[i].InputIDs) })
	if err != nil {
		return nil, fmt.Errorf("finetune: ner: %w", err)
	}
	labels := LabelNames(model.Bert.Config)
	learn := microbatch.NewLearner(microbatch.NewStream(examples, s, opts.BatchSize, opts.Seed), model.Params(),
		microbatch.LearnerOptions{})
	return &NERTask{model: model, learn: learn, dev: opts.Dev, labels: labels, entity: opts.Entity,
		B: opts.BatchSize, padID: opts.PadID}, nil
}

// Params implements train.Task.
func (t *NERTask) Params() []optim.Param { return t.learn.Params() }

// Step implements train.Task. A micro-batch without a labelled sub-token
// (windows in which no word starts) adds no gradient.
func (t *NERTask) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, func(batch []data.TokenClassExample, _ []uint64) (*autograd.Var, int, error) {
		b := data.CollateTokenClassification(batch, t.padID)
		labels := ints(b.Labels)
		if !slices.ContainsFunc(labels, func(l int) bool { return l != data.IgnoreLabel }) {
			return nil, 0, nil
		}
		t.model.SetTraining(true, t.learn.Dropout)
		_, logits, err := t.model.Forward(tokenInput(b), nil)
		if err != nil {
			return nil, 0, err
		}
		loss, err := t.model.Loss(logits, labels)
		return loss, microbatch.Tokens(b.AttentionMask), err
	})
}

// tokenInput is the model input of a collated batch of windows.
func tokenInput(b data.TokenClassBatch) bert.Input {
	return bert.Input{B: b.B, T: b.T, IDs: ints(b.InputIDs), Mask: ints(b.AttentionMask)}
}

// Evaluate implements train.Task: the cross-entropy of the labelled dev
// sub-tokens, and seqeval's micro precision, recall and F1 ("precision",
// "recall", "f1"), the macro F1, the token accuracy and the F1 of each
// entity type ("f1/PER").
func (t *NERTask) Evaluate(ctx context.Context) (train.Eval, error) {
	if t.dev == nil || len(t.dev.Sentences) == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	if t.ws == nil {
		t.ws = &bert.Workspace{}
	}
	enc, err := t.model.Encoder(nil) // the weights of this step
	if err != nil {
		return train.Eval{}, err
	}
	pred, err := PredictTags(ctx, enc, t.ws, t.dev.Sentences, t.dev.Examples, t.B, t.padID)
	if err != nil {
		return train.Eval{}, err
	}
	r, err := ScoreTags(t.dev.Sentences, pred.Tags(t.labels), &t.entity)
	if err != nil {
		return train.Eval{}, err
	}
	t.LastReport = &r
	return NEREval(pred.Loss, r), nil
}

// NEREval turns an entity report into Eval metrics: precision, recall, f1
// (micro, seqeval's overall figures), macro_f1, accuracy and f1/<type>.
func NEREval(loss float64, r metrics.EntityReport) train.Eval {
	m := map[string]float64{"precision": r.Micro.Precision, "recall": r.Micro.Recall, "f1": r.Micro.F1,
		"macro_f1": r.Macro.F1, "accuracy": r.Accuracy}
	for _, s := range r.Types {
		m["f1/"+s.Type] = s.F1
	}
	return train.Eval{Loss: loss, Metrics: m}
}

// TagPredictions are the word-level predictions of PredictTags.
type TagPredictions struct {
	// Labels holds, per sentence and word, the label id predicted for the
	// word's first sub-token, or -1 for a word that has no token (cut by
	// truncation, or empty after tokenization).
	Labels [][]int
	// Loss is the mean cross-entropy over the labelled sub-tokens (0 when
	// the examples carry no labels).
	Loss float64
}

// Tags returns the predictions as tag names, "O" for words without a
// prediction (labels[id] names id).
func (p *TagPredictions) Tags(labels []string) [][]string {
	out := make([][]string, len(p.Labels))
	for s, ls := range p.Labels {
		out[s] = make([]string, len(ls))
		for w, id := range ls {
			out[s][w] = "O"
			if id >= 0 && id < len(labels) {
				out[s][w] = labels[id]
			}
		}
	}
	return out
}

// PredictTags runs the token classifier m (an Encoder with a token head)
// over examples, the encoding of sentences, in padded batches of up to B
// windows sorted by length, and gives each word the argmax label of its
// first sub-token. ws may be nil.
func PredictTags(ctx context.Context, m *bert.Encoder, ws *bert.Workspace, sentences []data.TaggedSentence, examples []data.TokenClassExample, B int, padID int32) (*TagPredictions, error) {
	if B <= 0 {
		B = 32
	}
	if ws == nil {
		ws = &bert.Workspace{}
	}
	out := &TagPredictions{Labels: make([][]int, len(sentences))}
	for i, s := range sentences {
		out.Labels[i] = make([]int, len(s.Words))
		for w := range out.Labels[i] {
			out.Labels[i][w] = -1
		}
	}
	n := m.Config.Labels()
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(examples[a].InputIDs) - len(examples[b].InputIDs) })
	batch := make([]data.TokenClassExample, 0, B)
	var nll float64
	var labelled int
	for i := 0; i < len(order); i += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch = batch[:0]
		for _, j := range order[i:min(i+B, len(order))] {
			batch = append(batch, examples[j])
		}
		b := data.CollateTokenClassification(batch, padID)
		logits, err := m.ClassifyTokens(ws, tokenInput(b))
		if err != nil {
			return nil, err
		}
		for r, e := range batch {
			if e.Sentence < 0 || e.Sentence >= len(sentences) {
				return nil, fmt.Errorf("finetune: ner: example of sentence %d, but %d sentences", e.Sentence, len(sentences))
			}
			words := out.Labels[e.Sentence]
			prev := int32(-1)
			for j, w := range e.WordIDs {
				row := logits[(r*b.T+j)*n : (r*b.T+j+1)*n]
				if l := e.Labels[j]; l != data.IgnoreLabel {
					nll += logSumExp(row) - float64(row[l])
					labelled++
				}
				if w < 0 || w == prev {
					continue // a special, or a continuation sub-token
				}
				prev = w
				if int(w) >= len(words) {
					return nil, fmt.Errorf("finetune: ner: example of sentence %d names word %d of %d", e.Sentence, w, len(words))
				}
				if words[w] < 0 { // the first window a word starts in decides
					words[w] = argmax(row)
				}
			}
		}
	}
	if labelled > 0 {
		out.Loss = nll / float64(labelled)
	}
	return out, nil
}

func logSumExp(x []float32) float64 {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v - mx))
	}
	return float64(mx) + math.Log(s)
}

// ScoreTags scores predicted word tags against the sentences' tags with
// seqeval's entity-level metrics.
func ScoreTags(sentences []data.TaggedSentence, pred [][]string, opts *metrics.EntityOptions) (metrics.EntityReport, error) {
	refs := make([][]string, len(sentences))
	for i, s := range sentences {
		refs[i] = s.Tags
	}
	r, err := metrics.EvaluateEntities(refs, pred, opts)
	if err != nil {
		return r, fmt.Errorf("finetune: ner: %w", err)
	}
	return r, nil
}

// Save implements train.Task: a BertForTokenClassification folder whose
// config names the labels.
func (t *NERTask) Save(dir string) error { return saveLabelled(t.model, dir, t.labels, t.SaveExtra) }

// LoadWeights implements train.WeightLoader.
func (t *NERTask) LoadWeights(dir string) error { return bert.LoadParams(dir, t.model.Params()) }

// State implements train.Task.
func (t *NERTask) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *NERTask) SetState(b json.RawMessage) error { return t.learn.Data.SetState(b, "finetune: ner") }

// NewTokenClassifier builds a BertForTokenClassification with a fresh
// head for labels (id order) on the encoder of a pretrained model folder
// (a BertModel, BertForPreTraining, BertForMaskedLM or any BERT head
// class; a pooler is dropped, as BertForTokenClassification has none). The
// head is initialised from rng.
func NewTokenClassifier(dir string, labels []string, rng *tensor.RNG) (*bert.ForTokenClassification, error) {
	enc, cfg, err := pretrainedEncoder(dir, "BertForTokenClassification", labels)
	if err != nil {
		return nil, err
	}
	cfg.ProblemType = ""
	m, err := bert.NewForTokenClassification(cfg, rng)
	if err != nil {
		return nil, fmt.Errorf("finetune: token classifier: %w", err)
	}
	return m, copyEncoder(m.Bert, enc, dir)
}
