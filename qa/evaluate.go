package qa

import (
	"context"
	"errors"
	"fmt"

	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/pipeline"
)

// EvalOptions configure Predict: the pipeline's windows and
// post-processing.
type EvalOptions struct {
	WindowOptions
	// MaxAnswerLen is the longest answer in tokens. Zero: 30, Hugging
	// Face run_qa's max_answer_length (the pipeline's own default is 15).
	MaxAnswerLen int
	// TopK is how many spans each window contributes before answers of
	// the same text are summed (the pipeline's top_k). Zero: 1.
	TopK int
	// HandleImpossible lets the empty answer win when its score, the
	// no-answer probability, is higher than the best span's — the
	// pipeline's handle_impossible_answer, for SQuAD v2.0 data.
	HandleImpossible bool
	// Chunk is how many questions one pipeline call takes. Zero: 64.
	Chunk int
	// Progress, if non-nil, is called after each chunk with the questions
	// done so far.
	Progress func(done, total int)
}

// Prediction is the pipeline's answer to one question.
type Prediction struct {
	ID string `json:"id"`
	// Text is the answer; "" predicts "no answer" (HandleImpossible).
	Text string `json:"prediction_text"`
	// Span is the best span whatever the no-answer score, with its score
	// and character range.
	Span      string  `json:"best_span"`
	Score     float64 `json:"score"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	NullScore float64 `json:"no_answer_probability"`
	// Err is why the pipeline could not answer (the question leaves no
	// room for the context, …); the prediction is then empty.
	Err string `json:"error,omitempty"`
}

// Predict answers every example with the question-answering pipeline p
// (pipeline.QuestionAnswering.Predict: the same windows, span search,
// max_answer_len and no-answer score as a served model), in chunks. A
// question the pipeline refuses (pipeline.ErrInput) gets an empty
// prediction with Err set rather than failing the evaluation.
func Predict(ctx context.Context, p *pipeline.QuestionAnswering, examples []Example, opts EvalOptions) ([]Prediction, error) {
	po := opts.pipelineOptions()
	po.MaxAnswerLen, po.TopK = opts.MaxAnswerLen, opts.TopK
	if po.MaxAnswerLen == 0 {
		po.MaxAnswerLen = 30
	}
	chunk := opts.Chunk
	if chunk <= 0 {
		chunk = 64
	}
	out := make([]Prediction, len(examples))
	for lo := 0; lo < len(examples); lo += chunk {
		part := examples[lo:min(lo+chunk, len(examples))]
		preds, err := predictChunk(ctx, p, part, po)
		if err != nil {
			return nil, err
		}
		for i, pr := range preds {
			out[lo+i] = choose(part[i].ID, pr, opts.HandleImpossible)
		}
		if opts.Progress != nil {
			opts.Progress(lo+len(part), len(examples))
		}
	}
	return out, nil
}

// predictChunk runs one pipeline call, or, when the pipeline refuses the
// call's input, one call per example so that only the bad ones fail.
func predictChunk(ctx context.Context, p *pipeline.QuestionAnswering, part []Example, po *pipeline.QAOptions) ([]result, error) {
	inputs := make([]pipeline.QAInput, len(part))
	for i, e := range part {
		inputs[i] = pipeline.QAInput{Question: e.Question, Context: e.Context}
	}
	preds, err := p.Predict(ctx, inputs, po)
	if err == nil {
		out := make([]result, len(preds))
		for i := range preds {
			out[i] = result{pred: preds[i]}
		}
		return out, nil
	}
	if !errors.Is(err, pipeline.ErrInput) || len(part) == 1 {
		if errors.Is(err, pipeline.ErrInput) {
			return []result{{err: err}}, nil
		}
		return nil, err
	}
	out := make([]result, len(part))
	for i := range part {
		r, err := predictChunk(ctx, p, part[i:i+1], po)
		if err != nil {
			return nil, err
		}
		out[i] = r[0]
	}
	return out, nil
}

type result struct {
	pred pipeline.QAPrediction
	err  error
}

// choose turns the pipeline's candidates into a prediction: the best span,
// or the empty answer when impossible answers are allowed and the no-answer
// score beats it (the pipeline's handle_impossible_answer: a tie goes to
// the span).
func choose(id string, r result, impossible bool) Prediction {
	if r.err != nil {
		return Prediction{ID: id, Err: r.err.Error()}
	}
	p := Prediction{ID: id, NullScore: r.pred.NullScore}
	if len(r.pred.Answers) > 0 {
		a := r.pred.Answers[0]
		p.Span, p.Score, p.Start, p.End = a.Answer, a.Score, a.Start, a.End
	}
	p.Text = p.Span
	if impossible && (len(r.pred.Answers) == 0 || p.NullScore > p.Score) {
		p.Text = ""
	}
	return p
}

// Score evaluates predictions (one per example, in order) with the SQuAD
// v2.0 script's semantics (metrics.SQuADEvaluate): the predictions as they
// are for exact and F1, and for the best no-answer threshold the best span
// of each question with its no-answer probability, as the script's na_prob
// file gives them.
func Score(examples []Example, preds []Prediction) (metrics.SQuADScores, error) {
	if len(preds) != len(examples) {
		return metrics.SQuADScores{}, fmt.Errorf("qa: %d predictions for %d questions", len(preds), len(examples))
	}
	items := make([]metrics.SQuADItem, len(examples))
	for i, e := range examples {
		if preds[i].ID != e.ID {
			return metrics.SQuADScores{}, fmt.Errorf("qa: prediction %d is for question %q, want %q", i, preds[i].ID, e.ID)
		}
		items[i] = metrics.SQuADItem{ID: e.ID, Golds: e.Texts(), Pred: preds[i].Text, NoAnswerProb: preds[i].NullScore}
	}
	s := metrics.SQuADEvaluate(items)
	// The threshold search answers with the best span, not with the
	// prediction the no-answer rule may have emptied.
	for i := range items {
		items[i].Pred = preds[i].Span
	}
	best := metrics.SQuADEvaluate(items)
	s.BestExact, s.BestExactThr, s.BestF1, s.BestF1Thr = best.BestExact, best.BestExactThr, best.BestF1, best.BestF1Thr
	return s, nil
}

// ScoreMetrics returns s as training-log metrics: exact, f1 and, on data
// with unanswerable questions, the HasAns / NoAns figures and best_f1.
func ScoreMetrics(s metrics.SQuADScores) map[string]float64 {
	m := map[string]float64{"exact": s.Exact, "f1": s.F1}
	if s.NoAnsTotal > 0 {
		m["HasAns_exact"], m["HasAns_f1"] = s.HasAnsExact, s.HasAnsF1
		m["NoAns_exact"], m["NoAns_f1"] = s.NoAnsExact, s.NoAnsF1
		m["best_exact"], m["best_f1"] = s.BestExact, s.BestF1
	}
	return m
}
