package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/qa"
)

const evalQAUsage = `Usage: glossa eval --task qa --model DIR --data FILE [flags]
       glossa eval --task qa --baseline no-answer|first-sentence|best-sentence --data FILE

Evaluates an extractive question-answering model (BertForQuestionAnswering,
DistilBertForQuestionAnswering, RobertaForQuestionAnswering, … — a folder or
ORG/NAME on the Hub) on a SQuAD v1.1 or v2.0 JSON file, with the SQuAD v2.0
evaluation script's figures: exact match and F1 (its answer normalisation:
lower case, punctuation and articles removed), by answerable (HasAns) and
unanswerable (NoAns) questions, and best_exact / best_f1 at the best
no-answer threshold on the no-answer probability (the script's na_prob;
note that this threshold is tuned on the data it scores). Answers come from
the question-answering pipeline ("glossa pipeline question-answering"): the
same windows, span search and no-answer score. --baseline scores a trivial
answerer instead of a model.

Example:
  glossa eval --task qa --model runs/squad --data ../shared/data/squad/squad2-dev-first5articles.json`

func runEvalQA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	var wf qaWindowFlags
	fs.String("task", "qa", "evaluation task: qa here")
	modelRef := fs.String("model", "", "question-answering model: a folder or ORG/NAME[@REVISION] on the Hub")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the one in --model)")
	dataPath := fs.String("data", "", "SQuAD JSON file to evaluate on (required)")
	baseline := fs.String("baseline", "", "score a trivial answerer instead of a model: no-answer, first-sentence or best-sentence")
	wf.register(fs)
	batch := fs.Int("batch-size", 32, "windows per forward pass")
	dtype := fs.String("dtype", "f32", "weight format: f32, or bf16 (bfloat16 matrices and embeddings)")
	asJSON := fs.Bool("json", false, "print the scores as one JSON object (the v2.0 script's names)")
	predPath := fs.String("predictions", "", "write the predictions here as the script reads them: {id: answer}")
	naPath := fs.String("na-probs", "", "write the no-answer probabilities here as the script reads them: {id: probability}")
	fs.Usage = func() {
		fmt.Fprintln(stderr, evalQAUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case *dataPath == "":
		return fmt.Errorf("%w: --data is required", errUsage)
	case (*modelRef == "") == (*baseline == ""):
		return fmt.Errorf("%w: give --model or --baseline (one of them)", errUsage)
	case *batch <= 0:
		return fmt.Errorf("%w: --batch-size must be positive", errUsage)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	d, err := readSQuAD(*dataPath, logger)
	if err != nil {
		return err
	}
	var preds []qa.Prediction
	if *baseline != "" {
		b, err := qa.ParseBaseline(*baseline)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		preds = qa.BaselinePredictions(b, d.Examples)
	} else {
		opts, err := wf.options(d.HasImpossible())
		if err != nil {
			return err
		}
		format, err := infer.ParseFormat(*dtype)
		if err != nil {
			return fmt.Errorf("%w: --dtype: %v", errUsage, err)
		}
		if *modelRef, err = resolveModel(ctx, *modelRef, stderr); err != nil {
			return err
		}
		p, err := pipeline.LoadQuestionAnswering(ctx, *modelRef, &pipeline.Options{Format: format, Tokenizer: *tokPath, BatchSize: *batch})
		if err != nil {
			return err
		}
		if preds, err = qa.Predict(ctx, p, d.Examples, opts); err != nil {
			return err
		}
		failed := 0
		for _, pr := range preds {
			if pr.Err != "" {
				if failed == 0 {
					logger.Warn("question not answered", "id", pr.ID, "reason", pr.Err)
				}
				failed++
			}
		}
		if failed > 0 {
			logger.Warn("questions the pipeline refused (scored as empty answers)", "count", failed)
		}
	}
	s, err := qa.Score(d.Examples, preds)
	if err != nil {
		return err
	}
	if err := writeIDMap(*predPath, preds, func(p qa.Prediction) any { return p.Text }); err != nil {
		return err
	}
	if err := writeIDMap(*naPath, preds, func(p qa.Prediction) any { return p.NullScore }); err != nil {
		return err
	}
	if *baseline != "" { // no no-answer probabilities: no threshold to search
		s.BestExact, s.BestExactThr, s.BestF1, s.BestF1Thr = s.Exact, 0, s.F1, 0
	}
	if *asJSON {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	printSQuADScores(stdout, s)
	return nil
}

// writeIDMap writes {id: value(prediction)} in question order to path
// (nothing when path is empty), atomically.
func writeIDMap(path string, preds []qa.Prediction, value func(qa.Prediction) any) error {
	if path == "" {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("{")
	for i, p := range preds {
		k, _ := json.Marshal(p.ID)
		v, err := json.Marshal(value(p))
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  %s: %s", k, v)
	}
	b.WriteString("\n}\n")
	return atomicfile.WriteFile(path, b.Bytes())
}

// printSQuADScores prints the scores as the v2.0 script's names say them.
func printSQuADScores(w io.Writer, s metrics.SQuADScores) {
	fmt.Fprintf(w, "exact %.2f, F1 %.2f (%d questions)\n", s.Exact, s.F1, s.Total)
	if s.NoAnsTotal > 0 {
		fmt.Fprintf(w, "HasAns: exact %.2f, F1 %.2f (%d)\nNoAns:  exact %.2f, F1 %.2f (%d)\n",
			s.HasAnsExact, s.HasAnsF1, s.HasAnsTotal, s.NoAnsExact, s.NoAnsF1, s.NoAnsTotal)
		fmt.Fprintf(w, "best no-answer threshold: exact %.2f at %.4g, F1 %.2f at %.4g\n", s.BestExact, s.BestExactThr, s.BestF1, s.BestF1Thr)
	}
}
