package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
)

const evalUsage = `Usage: glossa eval --model DIR --data FILE [flags]
       glossa eval --task translation|summarization ... (see "glossa eval --task translation -h")
       glossa eval --task qa ... (see "glossa eval --task qa -h")
       glossa eval --task ner ... (entity-level F1 of a token classifier, see "glossa eval --task ner -h")
       glossa eval --task nli --model DIR --data FILE (premise/hypothesis/label columns, labels by name or MNLI id)

Evaluates a sequence classifier (a BertForSequenceClassification folder, as
"glossa finetune" writes or Hugging Face saves) on a labelled TSV, CSV or
JSONL file: accuracy, macro and per-class precision, recall and F1, and the
confusion matrix (true classes as rows). Rows whose label is not one of the
model's classes (id2label) are skipped with a warning and a count (--strict:
an error).`

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	nli := false
	if task, rest, ok := cutFlag(args, "task"); ok {
		if task == "perplexity" {
			return runEvalPerplexity(ctx, rest, stdout, stderr)
		}
		if task == "qa" {
			return runEvalQA(ctx, args, stdout, stderr)
		}
		if task == "ner" {
			return runEvalNER(ctx, args, stdout, stderr)
		}
		if task != "classification" && task != "nli" {
			return runEvalText(ctx, args, stdout, stderr)
		}
		nli, args = task == "nli", rest
	}
	fs := newFlagSet("eval", stderr)
	var lf labeledFlags
	modelDir := fs.String("model", "", "classifier folder (required)")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the one in --model)")
	dataPath := fs.String("data", "", "labelled file to evaluate on (required)")
	lf.register(fs)
	maxLen := fs.Int("max-len", 128, "truncate examples to this many tokens, specials included")
	batch := fs.Int("batch-size", 64, "examples per forward pass")
	asJSON := fs.Bool("json", false, "print the metrics as one JSON object")
	dtype := fs.String("dtype", "f32", "weight format: f32, or bf16 (bfloat16 matrices and embeddings)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, evalUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *modelDir == "" || *dataPath == "" {
		return fmt.Errorf("%w: --model and --data are required", errUsage)
	}
	if *batch <= 0 || *maxLen < 3 {
		return fmt.Errorf("%w: --batch-size must be positive and --max-len at least 3", errUsage)
	}
	lopts, err := lf.options()
	if err != nil {
		return err
	}
	if nli {
		nliDefaults(&lopts)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	model, lm, err := loadClassifier(*modelDir, *dtype)
	if err != nil {
		return err
	}
	tok, _, err := loadTokenizer(*tokPath, *modelDir)
	if err != nil {
		return err
	}
	d, err := readLabeled(*dataPath, lopts, logger)
	if err != nil {
		return err
	}
	if nli {
		if err := nliNormalize(d, logger); err != nil {
			return err
		}
	}
	ex, ids, err := labelIDs(d, lm, lf.strict, logger)
	if err != nil {
		return err
	}
	enc, err := data.EncodeClassification(tok, ex, ids, min(*maxLen, model.Config.MaxPositions))
	if err != nil {
		return err
	}
	probs, err := finetune.Predict(ctx, model, nil, enc, *batch, padID(tok))
	if err != nil {
		return err
	}
	conf := metrics.NewConfusion(lm.Labels())
	for i, p := range probs {
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		if err := conf.Add(ids[i], best); err != nil {
			return err
		}
	}
	r := conf.Report()
	if *asJSON {
		ev := finetune.ReportEval(0, r)
		out := map[string]any{"examples": r.Total, "skipped": d.Skipped + len(d.Examples) - len(ex), "metrics": ev.Metrics,
			"labels": lm.Labels(), "confusion": conf.M}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "accuracy %.4f, macro precision %.4f, recall %.4f, F1 %.4f (%d examples)\n\n%s\n%s\n",
		r.Accuracy, r.Macro.Precision, r.Macro.Recall, r.Macro.F1, r.Total, r, conf)
	return nil
}

// loadClassifier loads a BertForSequenceClassification folder for
// inference, with weights in the --dtype format, and its classes.
func loadClassifier(dir, dtype string) (*bert.Encoder, *data.LabelMap, error) {
	format, err := infer.ParseFormat(dtype)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	model, err := bert.LoadEncoder(dir, &bert.EncoderOptions{Format: format, Heads: bert.HeadClassifier})
	if err != nil {
		return nil, nil, err
	}
	cfg := model.Config
	names := finetune.SortedLabelNames(cfg.ID2Label)
	if len(names) != cfg.Labels() {
		names = make([]string, cfg.Labels())
		for i := range names {
			names[i] = cfg.LabelName(i)
		}
	}
	lm, err := data.LabelMapOf(names)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: classes: %w", dir, err)
	}
	return model, lm, nil
}
