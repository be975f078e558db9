package qa

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/train"
)

func uncased(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokauto.Load(testenv.Shared(t, "tokenizers", "bert-base-uncased"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// toyExamples are questions whose answer is a city named in a context of
// filler sentences, long enough to need several 32-token windows.
func toyExamples() []Example {
	cities := []string{"Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon"}
	var out []Example
	for i, c := range cities {
		ctx := strings.Repeat("The weather was mild and the streets were quiet. ", i%3) +
			"Anna was born in " + c + ", a city she loved. " + strings.Repeat("She later moved away for work. ", 2)
		start := utf8.RuneCountInString(ctx[:strings.Index(ctx, c)])
		out = append(out, Example{ID: c, Question: "Where was Anna born?", Context: ctx,
			Answers: []GoldAnswer{{Text: c, Start: start}}})
	}
	out = append(out, Example{ID: "none", Question: "Who is Anna's brother?", Context: out[0].Context, Impossible: true})
	return out
}

// TestFeatures checks the training windows: each example's windows are the
// pipeline's, the labelled tokens' characters are exactly the answer, and a
// window without the whole answer, or an unanswerable question, points at
// [CLS]; a question too long for a window is skipped with its reason.
func TestFeatures(t *testing.T) {
	tok := uncased(t)
	ex := toyExamples()
	long := Example{ID: "long", Question: strings.Repeat("why ", 40), Context: "Because.", Answers: []GoldAnswer{{"Because", 0}}}
	opts := WindowOptions{MaxSeqLen: 32, DocStride: 8}
	feats, skipped, err := Features(tok, 64, append(ex, long), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 || skipped[0].ID != "long" || !strings.Contains(skipped[0].Err.Error(), "no room") {
		t.Errorf("skipped %+v, want the long question", skipped)
	}
	inputs := make([]pipeline.QAInput, len(ex))
	for i, e := range ex {
		inputs[i] = pipeline.QAInput{Question: e.Question, Context: e.Context}
	}
	wins, err := pipeline.QAWindows(tok, 64, inputs, opts.pipelineOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) != len(feats) {
		t.Fatalf("%d features, the pipeline has %d windows", len(feats), len(wins))
	}
	answered := map[int]int{}
	for i, f := range feats {
		w := wins[i]
		if f.Example != w.Input || !slices.Equal(f.InputIDs, int32s(w.Encoding.IDs)) || len(f.InputIDs) > 32 {
			t.Fatalf("feature %d is not the pipeline's window %d", i, i)
		}
		e := ex[f.Example]
		if f.Start == 0 {
			if f.End != 0 {
				t.Errorf("feature %d: start 0, end %d", i, f.End)
			}
			continue
		}
		if e.Impossible || f.End < f.Start {
			t.Fatalf("feature %d of %s: span %d…%d", i, e.ID, f.Start, f.End)
		}
		offs := w.Encoding.CharOffsets(w.Question, e.Context)
		got := string([]rune(e.Context)[offs[f.Start][0]:offs[f.End][1]])
		if got != e.Answers[0].Text {
			t.Errorf("feature %d of %s: labelled %q", i, e.ID, got)
		}
		answered[f.Example]++
	}
	for i, e := range ex {
		if !e.Impossible && answered[i] == 0 {
			t.Errorf("%s: no window holds the answer", e.ID)
		}
	}
	if answered[len(ex)-1] != 0 {
		t.Error("the unanswerable question has a labelled window")
	}
	if len(feats) <= len(ex) {
		t.Errorf("%d windows for %d examples: the contexts should need several", len(feats), len(ex))
	}
}

func int32s(s []int) []int32 {
	out := make([]int32, len(s))
	for i, v := range s {
		out[i] = int32(v)
	}
	return out
}

// TestAnswerTokens covers the label search at the window's edges.
func TestAnswerTokens(t *testing.T) {
	// [CLS] q [SEP] c0 c1 c2 [SEP]; context characters 0-3, 4-7, 8-11.
	e := &tokenizer.Encoding{SequenceIDs: []int{-1, 0, -1, 1, 1, 1, -1}}
	offs := [][2]int{{0, 0}, {0, 1}, {0, 0}, {0, 3}, {4, 7}, {8, 11}, {0, 0}}
	for _, tt := range []struct {
		s, e       int
		start, end int32
	}{
		{0, 3, 3, 3}, {4, 11, 4, 5}, {8, 11, 5, 5}, // the last context token
		{5, 6, 4, 4},  // inside one token
		{8, 12, 0, 0}, // runs past the window
		{-1, 2, 0, 0}, // starts before it
	} {
		if s, en := answerTokens(e, offs, tt.s, tt.e); s != tt.start || en != tt.end {
			t.Errorf("chars %d…%d: tokens %d…%d, want %d…%d", tt.s, tt.e, s, en, tt.start, tt.end)
		}
	}
}

// tinyTask returns a fine-tuning task of a 1-layer BERT on the toy
// examples, evaluated on them.
func tinyTask(t *testing.T) *Task {
	t.Helper()
	tok := uncased(t)
	cfg := bert.Config{VocabSize: tok.VocabSize(), HiddenSize: 16, NumLayers: 1, NumHeads: 2, Intermediate: 32,
		MaxPositions: 64, HiddenDropout: 0.1, AttentionDropout: 0.1}
	m, err := bert.NewForQuestionAnswering(cfg, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	opts := WindowOptions{MaxSeqLen: 32, DocStride: 8}
	feats, _, err := Features(tok, 64, toyExamples(), opts)
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewTask(m, feats, TaskOptions{BatchSize: 4, Seed: 5, Tokenizer: tok, Dev: toyExamples(),
		Eval: EvalOptions{WindowOptions: opts, HandleImpossible: true}})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestTaskResumeExact interrupts a fine-tuning run after step 3, resumes
// it, and checks that every step's loss and the final evaluation equal
// those of an uninterrupted run.
func TestTaskResumeExact(t *testing.T) {
	run := func(dir string, stopAt int, resume bool) ([]float64, train.Result) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var losses []float64
		tr, err := train.NewTrainer(tinyTask(t), train.Config{OutDir: dir, Steps: 6, LR: 1e-2, Warmup: 2, Clip: 1,
			EvalEvery: 3, Resume: resume, Progress: train.ProgressOptions{Mode: train.ProgressOff},
			OnStep: func(step int, loss float64) {
				losses = append(losses, loss)
				if step == stopAt {
					cancel()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return losses, res
	}
	whole, full := run(t.TempDir(), -1, false)
	dir := t.TempDir()
	first, res := run(dir, 3, false)
	if !res.Interrupted || res.Step != 3 {
		t.Fatalf("interrupted run: %+v", res)
	}
	rest, resumed := run(dir, -1, true)
	if got := append(first, rest...); !slices.Equal(got, whole) {
		t.Errorf("losses with a resume %v, without %v", got, whole)
	}
	for _, k := range []string{"exact", "f1", "HasAns_f1", "NoAns_exact", "best_f1"} {
		if _, ok := full.LastEval.Metrics[k]; !ok {
			t.Errorf("evaluation lacks %s: %v", k, full.LastEval.Metrics)
		}
	}
	if full.LastEval.Loss != resumed.LastEval.Loss || full.LastEval.Metrics["f1"] != resumed.LastEval.Metrics["f1"] {
		t.Errorf("final evaluation %+v, resumed %+v", full.LastEval, resumed.LastEval)
	}
	if whole[len(whole)-1] >= whole[0] {
		t.Errorf("loss did not fall: %v", whole)
	}
}

// TestPipelineNeedsSpanHead checks that an encoder without qa_outputs is
// refused with the head's name, and that Predict on a context with no
// possible span is no error.
func TestPipelineNeedsSpanHead(t *testing.T) {
	tok := uncased(t)
	cfg := bert.Config{VocabSize: tok.VocabSize(), HiddenSize: 16, NumLayers: 1, NumHeads: 2, Intermediate: 32, MaxPositions: 64}
	enc, err := bert.NewEncoder(cfg, 1, &bert.EncoderOptions{Heads: bert.HeadMLM})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.NewQuestionAnswering(enc, tok, nil); err == nil || !strings.Contains(err.Error(), "qa_outputs") {
		t.Errorf("encoder without a span head: %v", err)
	}
	enc, err = bert.NewEncoder(cfg, 1, &bert.EncoderOptions{Heads: bert.HeadQA})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.NewQuestionAnswering(enc, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex := []Example{{ID: "a", Question: "Who?", Context: "Anna.", Answers: []GoldAnswer{{"Anna", 0}}},
		{ID: "b", Question: strings.Repeat("why ", 80), Context: "Because.", Impossible: true}}
	preds, err := Predict(context.Background(), p, ex, EvalOptions{WindowOptions: WindowOptions{MaxSeqLen: 64}, HandleImpossible: true})
	if err != nil {
		t.Fatal(err)
	}
	if preds[0].Err != "" || preds[0].NullScore <= 0 || preds[1].Err == "" || preds[1].Text != "" {
		t.Errorf("predictions %+v", preds)
	}
	if _, err := Score(ex[:1], preds); err == nil {
		t.Error("Score with more predictions than questions: no error")
	}
}
