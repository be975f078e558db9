package distill

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/train"
	"github.com/glossa-ai/glossa/train/microbatch"
)

// MLMOptions configure NewMaskedLM.
type MLMOptions struct {
	BatchSize int    // sequences per micro-batch (required)
	MaxLen    int    // sequence length; batches are padded to it (required)
	Seed      uint64 // data order, masking and the student's dropout
	PadID     int32  // [PAD]
	// Temperature of the soft-target loss (zero: DefaultTemperature).
	Temperature float64
	// Weights of the loss terms (zero: DefaultMLMWeights).
	Weights Weights
	// Eval holds the validation sequences, masked with a fixed seed at
	// every evaluation.
	Eval []data.PretrainExample
}

// MaskedLM is general distillation, DistilBERT's own recipe: on masked
// sequences of a corpus, a BertForMaskedLM student learns the teacher's
// distribution over the vocabulary at the masked positions (soft targets),
// the masked tokens themselves (masked-LM loss) and the direction of the
// teacher's last hidden states. Teacher and student see the same masked
// input. Masking and dropout of micro-batch k are seeded from (seed, k), so
// the resumable state is the sampler position and k. It implements
// train.Task and train.WeightLoader.
type MaskedLM struct {
	student *bert.ForMaskedLM
	teacher *bert.Encoder
	tws     bert.Workspace
	learn   *microbatch.Learner[data.PretrainExample]
	eval    []data.PretrainExample
	masker  *data.Masker
	opts    MLMOptions

	// SaveExtra, if non-nil, writes further files (the tokenizer) into
	// every folder the student is saved to.
	SaveExtra func(dir string) error
}

// NewMaskedLM returns the task. The teacher must have a masked-LM head and
// the student's vocabulary (and, for the hidden-state loss, its width); the
// student must not be wider than the teacher.
func NewMaskedLM(student *bert.ForMaskedLM, teacher *bert.Encoder, examples []data.PretrainExample, masker *data.Masker, opts MLMOptions) (*MaskedLM, error) {
	if opts.BatchSize <= 0 || opts.MaxLen <= 0 {
		return nil, fmt.Errorf("distill: mlm: batch size %d and length %d must be positive", opts.BatchSize, opts.MaxLen)
	}
	var err error
	opts.Temperature, opts.Weights, err = settings("mlm", len(examples), teacher, bert.HeadMLM, opts.Temperature, opts.Weights, DefaultMLMWeights())
	if err != nil {
		return nil, err
	}
	if err := compatible(student.Bert.Config, teacher.Config, opts.Weights.Cos > 0); err != nil {
		return nil, err
	}
	if opts.MaxLen > student.Bert.Config.MaxLen() {
		return nil, fmt.Errorf("distill: mlm: sequences of %d tokens, the student reads %d", opts.MaxLen, student.Bert.Config.MaxLen())
	}
	s, err := data.NewIndexSampler(len(examples), opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("distill: mlm: %w", err)
	}
	learn := microbatch.NewLearner(microbatch.NewStream(examples, s, opts.BatchSize, opts.Seed), student.Params(),
		microbatch.LearnerOptions{DropoutStream: streamDropout})
	return &MaskedLM{student: student, teacher: teacher, learn: learn, eval: opts.Eval, masker: masker, opts: opts}, nil
}

// Params implements train.Task.
func (t *MaskedLM) Params() []optim.Param { return t.learn.Params() }

// masked is one masked batch through the teacher and the student.
type masked struct {
	batch    data.MLMBatch
	pos      []int         // flat indices b·T+t of the masked positions
	labels   []int         // their original ids
	student  *autograd.Var // the student's logits at pos [M, V]
	hidden   *autograd.Var // the student's last hidden state [B, T, C]
	teacherL []float32     // the teacher's logits at pos [M, V]
}

// forward runs both models over a masked batch; with no masked
// position it returns nil.
func (t *MaskedLM) forward(b data.MLMBatch) (*masked, error) {
	m := &masked{batch: b}
	for i, l := range b.Labels {
		if l != metrics.IgnoreIndex {
			m.pos, m.labels = append(m.pos, i), append(m.labels, int(l))
		}
	}
	if len(m.pos) == 0 {
		return nil, nil
	}
	in := input(b.B, b.T, b.InputIDs, b.TokenTypeIDs, b.AttentionMask)
	if _, _, err := t.teacher.Forward(&t.tws, in); err != nil {
		return nil, fmt.Errorf("distill: teacher: %w", err)
	}
	tl, err := t.teacher.MaskedLM(&t.tws, m.pos) // [M, V]
	if err != nil {
		return nil, fmt.Errorf("distill: teacher: %w", err)
	}
	m.teacherL = tl
	out, err := t.student.Bert.Forward(in, nil)
	if err != nil {
		return nil, err
	}
	m.hidden = out.LastHidden
	C := out.LastHidden.Value.Dim(-1)
	rows, err := autograd.Embedding(autograd.Reshape(out.LastHidden, -1, C), m.pos) // [M, C]
	if err != nil {
		return nil, fmt.Errorf("distill: masked positions: %w", err)
	}
	m.student = t.student.MLM.Forward(rows) // [M, V]
	return m, nil
}

// losses returns the weighted loss of m and its terms (soft targets,
// masked LM, hidden states; a term of weight 0 is not computed and is 0).
func (t *MaskedLM) losses(m *masked) (total *autograd.Var, kl, mlm, cos float64, err error) {
	w := t.opts.Weights
	var terms []*autograd.Var
	if w.KL > 0 {
		v, err := SoftTargetKL(m.student, m.teacherL, t.opts.Temperature)
		if err != nil {
			return nil, 0, 0, 0, err
		}
		kl = float64(v.Value.Item())
		terms = append(terms, autograd.MulScalar(v, float32(w.KL)))
	}
	if w.Hard > 0 {
		v, err := t.student.Loss(m.student, m.labels)
		if err != nil {
			return nil, 0, 0, 0, err
		}
		mlm = float64(v.Value.Item())
		terms = append(terms, autograd.MulScalar(v, float32(w.Hard)))
	}
	if w.Cos > 0 {
		v, err := hiddenLoss(m.hidden, t.tws.Hidden(), m.batch.AttentionMask)
		if err != nil {
			return nil, 0, 0, 0, err
		}
		cos = float64(v.Value.Item())
		terms = append(terms, autograd.MulScalar(v, float32(w.Cos)))
	}
	return sum(terms), kl, mlm, cos, nil
}

// Step implements train.Task.
func (t *MaskedLM) Step(ctx context.Context) (float64, int, error) {
	return t.learn.Step(ctx, func(batch []data.PretrainExample, seeds []uint64) (*autograd.Var, int, error) {
		b := t.masker.Collate(data.NewRand(seeds[0]), batch, t.opts.PadID, t.opts.MaxLen)
		t.student.SetTraining(true, t.learn.Dropout)
		m, err := t.forward(b)
		if err != nil || m == nil {
			return nil, microbatch.Tokens(b.AttentionMask), err // nothing masked: no loss, no gradient
		}
		loss, _, _, _, err := t.losses(m)
		return loss, microbatch.Tokens(b.AttentionMask), err
	}, streamMask)
}

// Evaluate implements train.Task: on the validation sequences masked with
// a fixed seed, without dropout, the weighted loss and its terms
// ("kl_loss", "mlm_loss", "cos_loss"), the student's masked-LM accuracy and
// perplexity, the teacher's masked-LM accuracy and how often the two
// predict the same token ("agreement").
func (t *MaskedLM) Evaluate(ctx context.Context) (train.Eval, error) {
	if len(t.eval) == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	t.student.SetTraining(false, nil)
	prev := t.learn.Graph.SetGradEnabled(false)
	defer t.learn.Graph.SetGradEnabled(prev)
	rng := data.NewRand(train.StepSeed(t.opts.Seed, 0, streamEvalMask))
	var lossSum, klSum, mlmSum, cosSum float64
	var batches, correct, teacherCorrect, agree, total int
	V := t.student.Bert.Config.VocabSize
	for i := 0; i < len(t.eval); i += t.opts.BatchSize {
		if err := ctx.Err(); err != nil {
			return train.Eval{}, err
		}
		t.learn.Graph.Reset()
		b := t.masker.Collate(rng, t.eval[i:min(i+t.opts.BatchSize, len(t.eval))], t.opts.PadID, t.opts.MaxLen)
		m, err := t.forward(b)
		if err != nil {
			return train.Eval{}, err
		}
		if m == nil {
			continue
		}
		loss, kl, mlm, cos, err := t.losses(m)
		if err != nil {
			return train.Eval{}, err
		}
		lossSum += float64(loss.Value.Item())
		klSum, mlmSum, cosSum = klSum+kl, mlmSum+mlm, cosSum+cos
		batches++
		sp, tp := make([]int32, len(m.pos)), make([]int32, len(m.pos))
		metrics.Argmax(sp, m.student.Value.Contiguous().Data(), V)
		metrics.Argmax(tp, m.teacherL, V)
		for r, l := range m.labels {
			correct += b2i(int(sp[r]) == l)
			teacherCorrect += b2i(int(tp[r]) == l)
			agree += b2i(sp[r] == tp[r])
		}
		total += len(m.labels)
	}
	t.learn.Graph.Reset()
	if batches == 0 {
		return train.Eval{Metrics: map[string]float64{}}, nil
	}
	n := float64(batches)
	ev := train.Eval{Loss: lossSum / n, Metrics: map[string]float64{
		"kl_loss": klSum / n, "mlm_loss": mlmSum / n, "cos_loss": cosSum / n,
		"mlm_accuracy":         float64(correct) / float64(total),
		"teacher_mlm_accuracy": float64(teacherCorrect) / float64(total),
		"agreement":            float64(agree) / float64(total),
	}}
	if t.opts.Weights.Hard > 0 {
		ev.Metrics["perplexity"] = metrics.Perplexity(mlmSum / n)
	}
	return ev, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Save implements train.Task: a BertForMaskedLM folder.
func (t *MaskedLM) Save(dir string) error { return saveStudent(t.student, dir, t.SaveExtra) }

// LoadWeights implements train.WeightLoader.
func (t *MaskedLM) LoadWeights(dir string) error { return loadStudent(t.student, dir) }

// State implements train.Task.
func (t *MaskedLM) State() (json.RawMessage, error) { return t.learn.Data.State() }

// SetState implements train.Task.
func (t *MaskedLM) SetState(b json.RawMessage) error { return t.learn.Data.SetState(b, "distill: mlm") }
