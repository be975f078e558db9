package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/auto"
)

const finetuneUsage = `Usage: glossa finetune --task classify|nli --model DIR --train FILE [--dev FILE] --out DIR [flags]
       glossa finetune --task ner ... (token classification, see "glossa finetune --task ner -h")

Fine-tunes a pretrained BERT encoder (a folder from "glossa pretrain
--objective mlm-nsp" or a Hugging Face BERT folder) for sequence
classification of single texts or text pairs: a fresh classification head on
the pooled [CLS] output, trained with AdamW. Labelled data is TSV, CSV or
JSONL (by extension, or --format); the classes are the labels of the training
file. OUT receives a BertForSequenceClassification folder (config.json with
id2label/label2id, model.safetensors, tokenizer files) that Hugging Face
transformers can load, checkpoints, metrics.jsonl and loss.png/svg.

Malformed rows are skipped with a warning and a count (--strict: an error);
dev rows whose label the training file lacks likewise.

--task nli is pair classification with NLI's conventions: columns premise,
hypothesis and label by default; classes entailment (0), neutral (1) and
contradiction (2), Hugging Face datasets' MNLI/SNLI ids, whatever the file
holds; labels by name (any case) or by those ids; -1 rows (SNLI's "no gold
label") skipped. The model then drives "glossa pipeline
zero-shot-classification", whose entailment class it names.

Example (SST-2 sentiment):
  glossa finetune --task classify --model runs/bert --train ../shared/data/sst2/train.tsv \
    --dev ../shared/data/sst2/dev.tsv --out runs/sst2 --epochs 1`

// labeledFlags select the columns of a labelled file (shared by finetune
// and eval).
type labeledFlags struct {
	text, pair, label, format string
	header                    string
	strict                    bool
}

func (l *labeledFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.text, "text-column", "", `column of the text: a header name / JSONL key or a 0-based index (default: "sentence", "text" or "sentence1", else column 0)`)
	fs.StringVar(&l.pair, "pair-column", "", "column of the second text for pair tasks (default: none)")
	fs.StringVar(&l.label, "label-column", "", `column of the label (default: "label", else the last column)`)
	fs.StringVar(&l.format, "format", "auto", "file format: auto (by extension), tsv, csv or jsonl")
	fs.StringVar(&l.header, "header", "auto", "TSV/CSV header row: auto (present when a column is chosen by name), yes or no")
	fs.BoolVar(&l.strict, "strict", false, "fail on malformed rows and unknown labels instead of skipping and counting them")
}

func (l *labeledFlags) options() (data.LabeledOptions, error) {
	f, err := data.ParseFormat(l.format)
	if err != nil {
		return data.LabeledOptions{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	opts := data.LabeledOptions{Format: f, TextColumn: l.text, PairColumn: l.pair, LabelColumn: l.label, Strict: l.strict}
	switch l.header {
	case "auto":
	case "yes":
		opts.Header = data.HeaderPresent
	case "no":
		opts.Header = data.HeaderAbsent
	default:
		return opts, fmt.Errorf("%w: --header must be auto, yes or no, got %q", errUsage, l.header)
	}
	return opts, nil
}

// readLabeled reads a labelled file and warns about skipped rows.
func readLabeled(path string, opts data.LabeledOptions, logger *slog.Logger) (*data.LabeledData, error) {
	d, err := data.ReadLabeled(path, opts)
	if err != nil {
		return nil, err
	}
	if d.Skipped > 0 {
		logger.Warn("skipped malformed rows", "file", path, "count", d.Skipped, "kept", len(d.Examples),
			"first", strings.Join(d.SkipReasons, "; "))
	}
	return d, nil
}

// labelIDs maps the labels of d to ids, dropping (and counting) examples
// with a label outside lm, or failing on them when strict.
func labelIDs(d *data.LabeledData, lm *data.LabelMap, strict bool, logger *slog.Logger) ([]data.Example, []int, error) {
	var ex []data.Example
	var ids []int
	unknown := map[string]int{}
	for _, e := range d.Examples {
		id, ok := lm.ID(e.Label)
		if !ok {
			if strict {
				return nil, nil, fmt.Errorf("%s line %d: label %q is not one of the model's classes %v", d.Path, e.Line, e.Label, lm.Labels())
			}
			unknown[e.Label]++
			continue
		}
		ex, ids = append(ex, e), append(ids, id)
	}
	if n := len(d.Examples) - len(ex); n > 0 {
		logger.Warn("skipped rows with unknown labels", "file", d.Path, "count", n, "labels", fmt.Sprint(unknown),
			"classes", fmt.Sprint(lm.Labels()))
	}
	if len(ex) == 0 {
		return nil, nil, fmt.Errorf("%s: no example has one of the classes %v", d.Path, lm.Labels())
	}
	return ex, ids, nil
}

// loadTokenizer loads --tokenizer, or the tokenizer files of a model folder.
func loadTokenizer(path, modelDir string) (*tokenizer.Tokenizer, []string, error) {
	if path == "" {
		path = modelDir
	}
	tok, err := auto.Load(path)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer: %w (give --tokenizer)", err)
	}
	return tok, modelTokenizerFiles(path), nil
}

func padID(tok *tokenizer.Tokenizer) int32 {
	if id, ok := tok.TokenToID("[PAD]"); ok {
		return int32(id)
	}
	return 0
}

func runFinetune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if isSeq2seqTask(args) {
		return runFinetuneSeq2seq(ctx, args, stdout, stderr)
	}
	switch task, _, _ := cutFlag(args, "task"); task {
	case "qa":
		return runFinetuneQA(ctx, args, stdout, stderr)
	case "ner":
		return runFinetuneNER(ctx, args, stdout, stderr)
	}
	fs := newFlagSet("finetune", stderr)
	var lf labeledFlags
	task := fs.String("task", "classify", "fine-tuning task: classify (sequence classification), nli (premise/hypothesis pairs, entailment/neutral/contradiction), ner (token classification: see --task ner -h), qa (extractive question answering: see --task qa -h) or seq2seq (see --task seq2seq -h)")
	modelDir := fs.String("model", "", "pretrained BERT: a folder (Glossa or Hugging Face) or ORG/NAME[@REVISION] on the Hub (required)")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the one in --model)")
	trainPath := fs.String("train", "", "labelled training file (required)")
	devPath := fs.String("dev", "", "labelled dev file for evaluation (default: none)")
	out := fs.String("out", "", "output folder (required)")
	lf.register(fs)
	maxLen := fs.Int("max-len", 0, "truncate examples to this many tokens, specials included (0: 128, or the model's positions when fewer)")
	var ff fitFlags
	ff.register(fs, "examples")
	bf16 := fs.Bool("bf16", false, "bfloat16 mixed precision — bf16 products with float32 sums in the linear layers, float32 master weights, gradients and AdamW state; evaluation in float32 (give it again with --resume)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, finetuneUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case *task != "classify" && *task != "nli":
		return fmt.Errorf("%w: --task must be classify, nli, ner, qa or seq2seq, got %q", errUsage, *task)
	case *modelDir == "" || *trainPath == "" || *out == "":
		return fmt.Errorf("%w: --model, --train and --out are required", errUsage)
	case *maxLen != 0 && *maxLen < 3:
		return fmt.Errorf("%w: --max-len must be at least 3", errUsage)
	}
	if err := ff.check(); err != nil {
		return err
	}
	lopts, err := lf.options()
	if err != nil {
		return err
	}
	nli := *task == "nli"
	if nli {
		nliDefaults(&lopts)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if *modelDir, err = resolveModel(ctx, *modelDir, stderr); err != nil {
		return err
	}
	tok, tokFiles, err := loadTokenizer(*tokPath, *modelDir)
	if err != nil {
		return err
	}
	trainData, err := readLabeled(*trainPath, lopts, logger)
	if err != nil {
		return err
	}
	lm, err := data.NewLabelMap(trainData.Examples)
	if nli {
		if err := nliNormalize(trainData, logger); err != nil {
			return err
		}
		lm, err = data.LabelMapOf(nliLabels)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *trainPath, err)
	}
	trainIDs, err := lm.IDs(trainData)
	if err != nil {
		return err
	}
	model, err := finetune.NewClassifier(*modelDir, lm.Labels(), tensor.NewRNG(ff.seed))
	if err != nil {
		return err
	}
	if ff.scratch {
		fresh, err := bert.NewForSequenceClassification(model.Bert.Config, tensor.NewRNG(ff.seed))
		if err != nil {
			return err
		}
		model = fresh
	}
	if *maxLen == 0 {
		*maxLen = min(128, model.Bert.Config.MaxPositions)
	}
	if P := model.Bert.Config.MaxPositions; *maxLen > P {
		return fmt.Errorf("%w: --max-len %d exceeds the model's %d positions", errUsage, *maxLen, P)
	}
	trainEx, err := data.EncodeClassification(tok, trainData.Examples, trainIDs, *maxLen)
	if err != nil {
		return err
	}
	var devEx []data.ClassExample
	if *devPath != "" {
		devData, err := readLabeled(*devPath, lopts, logger)
		if err != nil {
			return err
		}
		if nli {
			if err := nliNormalize(devData, logger); err != nil {
				return err
			}
		}
		ex, ids, err := labelIDs(devData, lm, lf.strict, logger)
		if err != nil {
			return err
		}
		if devEx, err = data.EncodeClassification(tok, ex, ids, *maxLen); err != nil {
			return err
		}
	}
	n := ff.stepCount(len(trainEx))
	logger.Info("fine-tune", "train", len(trainEx), "dev", len(devEx), "classes", lm.Len(), "steps", n,
		"pretrained", !ff.scratch)
	ct, err := finetune.NewClassifyTask(model, trainEx, finetune.ClassifyOptions{BatchSize: ff.batch, Seed: ff.seed,
		PadID: padID(tok), Dev: devEx, GroupByLength: ff.groupByLength, BF16: *bf16})
	if err != nil {
		return err
	}
	ct.SaveExtra = copyFilesTo(tokFiles)
	return ff.fit(ctx, ct, *out, n, stdout, stderr, logger, "finetune", func() {
		if ct.LastConfusion != nil {
			r := ct.LastConfusion.Report()
			fmt.Fprintf(stdout, "dev accuracy %.4f, macro F1 %.4f (%d examples)\n\n%s\n%s\n", r.Accuracy, r.Macro.F1, r.Total, r, ct.LastConfusion)
		}
	})
}
