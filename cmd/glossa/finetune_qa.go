package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/pipeline"
	"github.com/glossa-ai/glossa/qa"
	"github.com/glossa-ai/glossa/tensor"
)

const finetuneQAUsage = `Usage: glossa finetune --task qa --model DIR --train FILE [--dev FILE] --out DIR [flags]

Fine-tunes a pretrained BERT encoder for extractive question answering on
SQuAD v1.1 or v2.0 JSON, as Hugging Face's run_qa does: question + context
windows of --max-seq-len tokens (the context split with --doc-stride tokens
of overlap, the question kept whole), the first answer's start and end tokens
found from its character offsets, windows that do not hold the answer (and
SQuAD v2.0's unanswerable questions) labelled at [CLS], and the mean of the
start and end cross-entropies. OUT receives a BertForQuestionAnswering
folder (config.json, model.safetensors, tokenizer files) that "glossa
pipeline question-answering", "glossa serve" and Hugging Face transformers
load, checkpoints, metrics.jsonl and loss.png/svg. --dev is evaluated with
the question-answering pipeline and the SQuAD script's EM/F1 (see "glossa
eval --task qa").

Example:
  glossa finetune --task qa --model runs/bert --train ../shared/data/squad/expmrc-squad-dev.json \
    --dev ../shared/data/squad/squad2-dev-first5articles.json --out runs/squad --epochs 3`

// qaWindowFlags are the window and post-processing flags shared by
// finetune --task qa and eval --task qa.
type qaWindowFlags struct {
	maxSeq, stride, maxQuestion, maxAnswer, topK int
	impossible                                   string
}

func (q *qaWindowFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&q.maxSeq, "max-seq-len", 0, "tokens per window, question and specials included (0: 384, or the model's positions when fewer)")
	fs.IntVar(&q.stride, "doc-stride", 0, "tokens that consecutive windows of a long context share (0: min(max-seq-len/2, 128); -1: none)")
	fs.IntVar(&q.maxQuestion, "max-question-len", 0, "cut questions to this many tokens (0: keep them whole)")
	fs.IntVar(&q.maxAnswer, "max-answer-len", 30, "longest answer in tokens (run_qa's max_answer_length)")
	fs.IntVar(&q.topK, "top-k", 1, "spans per window before equal answers are summed (the pipeline's top_k)")
	fs.StringVar(&q.impossible, "handle-impossible", "auto", `let the empty answer win when its probability beats the best span's: auto (when the data has unanswerable questions), yes or no`)
}

// options returns the evaluation options for data with (or without)
// unanswerable questions.
func (q *qaWindowFlags) options(hasImpossible bool) (qa.EvalOptions, error) {
	o := qa.EvalOptions{WindowOptions: qa.WindowOptions{MaxSeqLen: q.maxSeq, DocStride: q.stride, MaxQuestionLen: q.maxQuestion},
		MaxAnswerLen: q.maxAnswer, TopK: q.topK}
	switch {
	case q.maxSeq < 0 || q.maxQuestion < 0 || q.maxAnswer < 1 || q.topK < 1 || q.stride < -1:
		return o, fmt.Errorf("%w: --max-seq-len and --max-question-len must not be negative, --max-answer-len and --top-k at least 1, --doc-stride at least -1", errUsage)
	case q.stride == -1:
		o.DocStride = pipeline.NoStride
	}
	switch q.impossible {
	case "auto":
		o.HandleImpossible = hasImpossible
	case "yes":
		o.HandleImpossible = true
	case "no":
	default:
		return o, fmt.Errorf("%w: --handle-impossible must be auto, yes or no, got %q", errUsage, q.impossible)
	}
	return o, nil
}

// readSQuAD reads a SQuAD file and says what it holds.
func readSQuAD(path string, logger *slog.Logger) (*qa.Dataset, error) {
	d, err := qa.ReadFile(path)
	if err != nil {
		return nil, err
	}
	impossible := 0
	for _, e := range d.Examples {
		if e.Impossible {
			impossible++
		}
	}
	logger.Info("squad", "file", path, "version", d.Version, "questions", len(d.Examples), "unanswerable", impossible)
	if d.Misaligned > 0 {
		logger.Warn("answers whose text differs from the context at answer_start (kept as given)", "file", path, "count", d.Misaligned)
	}
	return d, nil
}

func runFinetuneQA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("finetune", stderr)
	var wf qaWindowFlags
	fs.String("task", "qa", "fine-tuning task: qa here (see glossa finetune -h for classify)")
	modelDir := fs.String("model", "", "pretrained BERT: a folder (Glossa or Hugging Face) or ORG/NAME[@REVISION] on the Hub (required)")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the one in --model)")
	trainPath := fs.String("train", "", "SQuAD JSON training file (required)")
	devPath := fs.String("dev", "", "SQuAD JSON dev file for evaluation (default: none)")
	out := fs.String("out", "", "output folder (required)")
	wf.register(fs)
	var ff fitFlags
	ff.register(fs, "windows")
	fs.Usage = func() {
		fmt.Fprintln(stderr, finetuneQAUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *modelDir == "" || *trainPath == "" || *out == "" {
		return fmt.Errorf("%w: --model, --train and --out are required", errUsage)
	}
	err := ff.check()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if *modelDir, err = resolveModel(ctx, *modelDir, stderr); err != nil {
		return err
	}
	tok, tokFiles, err := loadTokenizer(*tokPath, *modelDir)
	if err != nil {
		return err
	}
	trainData, err := readSQuAD(*trainPath, logger)
	if err != nil {
		return err
	}
	var dev []qa.Example
	hasImpossible := trainData.HasImpossible()
	if *devPath != "" {
		d, err := readSQuAD(*devPath, logger)
		if err != nil {
			return err
		}
		dev, hasImpossible = d.Examples, d.HasImpossible()
	}
	eopts, err := wf.options(hasImpossible)
	if err != nil {
		return err
	}
	model, err := qa.NewModel(*modelDir, tensor.NewRNG(ff.seed))
	if err != nil {
		return err
	}
	if ff.scratch {
		if model, err = bert.NewForQuestionAnswering(model.Bert.Config, tensor.NewRNG(ff.seed)); err != nil {
			return err
		}
	}
	maxLen := model.Bert.Config.MaxLen()
	feats, skipped, err := qa.Features(tok, maxLen, trainData.Examples, eopts.WindowOptions)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		logger.Warn("skipped training questions", "count", len(skipped), "first", skipped[0].ID, "reason", skipped[0].Err)
	}
	cls := 0
	for _, f := range feats {
		if f.Start == 0 {
			cls++
		}
	}
	n := ff.stepCount(len(feats))
	logger.Info("fine-tune qa", "questions", len(trainData.Examples), "windows", len(feats), "windows_without_answer", cls,
		"dev", len(dev), "steps", n, "pretrained", !ff.scratch, "handle_impossible", eopts.HandleImpossible)
	task, err := qa.NewTask(model, feats, qa.TaskOptions{BatchSize: ff.batch, Seed: ff.seed, PadID: padID(tok),
		GroupByLength: ff.groupByLength, Tokenizer: tok, Dev: dev, Eval: eopts})
	if err != nil {
		return err
	}
	task.SaveExtra = copyFilesTo(tokFiles)
	return ff.fit(ctx, task, *out, n, stdout, stderr, logger, "finetune qa", func() {
		if s := task.LastScores; s != nil {
			printSQuADScores(stdout, *s)
		}
	})
}
