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
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/tokenizer"
)

const finetuneNERUsage = `Usage: glossa finetune --task ner --model DIR --train FILE [--dev FILE] --out DIR [flags]

Fine-tunes a pretrained BERT encoder for token classification (named-entity
recognition, chunking): a fresh classifier on every position, trained with
AdamW on word-level tags aligned to WordPiece sub-tokens (the first
sub-token of a word carries its tag and the others are ignored, as Hugging
Face's run_ner; --label-all-tokens labels them all). Data is CoNLL (one
"word ... tag" line per word, blank lines between sentences, -DOCSTART-
lines ignored; the tag is the last column) or JSONL ({"tokens": [...],
"ner_tags": [...]}), by extension or --format. The classes are the training
file's tags, sorted. Sentences longer than --max-len are split into windows
of whole words (--truncate: cut, with a warning).

The dev file is scored every --eval-every steps and at the end with
entity-level precision, recall and F1 (seqeval's default mode, which reads
IOB1, IOB2 and IOBES as conlleval does; --strict-scheme for seqeval's strict
mode). A dev tag that the training file lacks is an error.

OUT receives a BertForTokenClassification folder (config.json with
id2label/label2id, model.safetensors, tokenizer files) that "glossa
pipeline token-classification", "glossa serve" and Hugging Face
transformers load, checkpoints, metrics.jsonl and loss.png/svg.

Example (CoNLL-2003):
  glossa finetune --task ner --model runs/bert --train ../shared/data/conll2003/eng.train \
    --dev ../shared/data/conll2003/eng.testa --out runs/ner --epochs 3 --lr 1e-4`

// taggedFlags select how tagged files are read and scored (shared by
// finetune --task ner and eval --task ner).
type taggedFlags struct {
	format, wordsKey, tagsKey, tagNames, strict string
	maxLen                                      int
	truncate, allTokens, toIOB2                 bool
}

func (f *taggedFlags) register(fs *flag.FlagSet, withTraining bool) {
	fs.StringVar(&f.format, "format", "auto", "file format: auto (.jsonl/.json: JSONL, else CoNLL), conll or jsonl")
	fs.StringVar(&f.wordsKey, "words-key", "tokens", "JSONL field of the words")
	fs.StringVar(&f.tagsKey, "tags-key", "ner_tags", "JSONL field of the tags")
	fs.StringVar(&f.tagNames, "tag-names", "", "comma-separated names of integer JSONL tags, in id order (e.g. O,B-PER,I-PER,...)")
	fs.StringVar(&f.strict, "strict-scheme", "", "score in seqeval's strict mode under this scheme: IOB2, IOB1 or IOBES (default: seqeval's default mode, conlleval's)")
	fs.IntVar(&f.maxLen, "max-len", 0, "tokens per window, specials included (0: 128, or the model's positions when fewer)")
	fs.BoolVar(&f.toIOB2, "to-iob2", false, "rewrite IOB1 tags (CoNLL-2003's original files: I- starts entities) as IOB2 (B- starts them) on reading")
	fs.BoolVar(&f.truncate, "truncate", false, "cut sentences longer than --max-len instead of splitting them into windows (cut words count as O)")
	if withTraining {
		fs.BoolVar(&f.allTokens, "label-all-tokens", false, "label every sub-token with its word's tag (B-X continuations as I-X) instead of the first only")
	}
}

func (f *taggedFlags) readOptions() (*data.TaggedOptions, error) {
	format, err := data.ParseTaggedFormat(f.format)
	if err != nil {
		return nil, fmt.Errorf("%w: --format: %v", errUsage, err)
	}
	o := &data.TaggedOptions{Format: format, WordsKey: f.wordsKey, TagsKey: f.tagsKey}
	if f.tagNames != "" {
		o.TagNames = strings.Split(f.tagNames, ",")
	}
	return o, nil
}

func (f *taggedFlags) entityOptions() (metrics.EntityOptions, error) {
	if f.strict == "" {
		return metrics.EntityOptions{}, nil
	}
	s, err := metrics.ParseTagScheme(f.strict)
	if err != nil {
		return metrics.EntityOptions{}, fmt.Errorf("%w: --strict-scheme: %v", errUsage, err)
	}
	return metrics.EntityOptions{Mode: metrics.EntityStrict, Scheme: s}, nil
}

// read reads a tagged file, converting it to IOB2 with --to-iob2.
func (f *taggedFlags) read(path string, ro *data.TaggedOptions) (*data.TaggedData, error) {
	d, err := data.ReadTagged(path, ro)
	if err != nil {
		return nil, err
	}
	if f.toIOB2 {
		d.ToIOB2()
	}
	return d, nil
}

// encodeTagged reads and tokenises a tagged file, warning about windows
// and truncation.
func (f *taggedFlags) encodeTagged(path string, tok *tokenizer.Tokenizer, lm *data.LabelMap, maxLen int, logger *slog.Logger) (*data.TaggedData, *data.TokenClassEncoding, error) {
	ro, err := f.readOptions()
	if err != nil {
		return nil, nil, err
	}
	d, err := f.read(path, ro)
	if err != nil {
		return nil, nil, err
	}
	enc, err := data.EncodeTokenClassification(tok, d, lm, data.TokenClassOptions{MaxLen: maxLen, LabelAllTokens: f.allTokens, Truncate: f.truncate})
	if err != nil {
		return nil, nil, err
	}
	if enc.Truncated > 0 {
		logger.Warn("sentences longer than --max-len truncated (their cut words count as O)", "file", path,
			"sentences", enc.Truncated, "words", enc.CutWords, "max_len", maxLen)
	}
	if enc.Windowed > 0 {
		logger.Info("sentences longer than --max-len split into windows", "file", path, "sentences", enc.Windowed, "max_len", maxLen)
	}
	if enc.Untokenized > 0 {
		logger.Warn("words without any token (count as O)", "file", path, "words", enc.Untokenized)
	}
	return d, enc, nil
}

func runFinetuneNER(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("finetune", stderr)
	var tf taggedFlags
	fs.String("task", "ner", "fine-tuning task: ner (token classification)")
	modelDir := fs.String("model", "", "pretrained BERT: a folder (Glossa or Hugging Face) or ORG/NAME[@REVISION] on the Hub (required)")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the one in --model)")
	trainPath := fs.String("train", "", "tagged training file (required)")
	devPath := fs.String("dev", "", "tagged dev file for evaluation (default: none)")
	out := fs.String("out", "", "output folder (required)")
	tf.register(fs, true)
	var ff fitFlags
	ff.register(fs, "windows")
	dropout := fs.Float64("dropout", -1, "dropout on embeddings, residual branches, attention and before the classifier (default: the model's config)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, finetuneNERUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case *modelDir == "" || *trainPath == "" || *out == "":
		return fmt.Errorf("%w: --model, --train and --out are required", errUsage)
	case tf.maxLen != 0 && tf.maxLen < 3:
		return fmt.Errorf("%w: --max-len must be at least 3", errUsage)
	}
	if err := ff.check(); err != nil {
		return err
	}
	entity, err := tf.entityOptions()
	if err != nil {
		return err
	}
	ro, err := tf.readOptions()
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
	trainData, err := tf.read(*trainPath, ro)
	if err != nil {
		return err
	}
	lm, err := data.LabelMapOf(trainData.Tags())
	if err != nil {
		return fmt.Errorf("%s: tags: %w", *trainPath, err)
	}
	model, err := finetune.NewTokenClassifier(*modelDir, lm.Labels(), tensor.NewRNG(ff.seed))
	if err != nil {
		return err
	}
	if ff.scratch {
		if model, err = bert.NewForTokenClassification(model.Bert.Config, tensor.NewRNG(ff.seed)); err != nil {
			return err
		}
	}
	if *dropout >= 0 {
		if *dropout >= 1 {
			return fmt.Errorf("%w: --dropout must be below 1", errUsage)
		}
		model.Bert.SetDropout(*dropout, *dropout)
		model.Dropout.P = float32(*dropout)
	}
	maxLen := tf.maxLen
	if maxLen == 0 {
		maxLen = min(128, model.Bert.Config.MaxPositions)
	}
	if P := model.Bert.Config.MaxPositions; maxLen > P {
		return fmt.Errorf("%w: --max-len %d exceeds the model's %d positions", errUsage, maxLen, P)
	}
	trainEnc, err := data.EncodeTokenClassification(tok, trainData, lm, data.TokenClassOptions{MaxLen: maxLen, LabelAllTokens: tf.allTokens, Truncate: tf.truncate})
	if err != nil {
		return err
	}
	if trainEnc.Truncated > 0 {
		logger.Warn("training sentences longer than --max-len truncated", "sentences", trainEnc.Truncated, "words", trainEnc.CutWords, "max_len", maxLen)
	}
	var dev *finetune.NERData
	if *devPath != "" {
		d, enc, err := tf.encodeTagged(*devPath, tok, lm, maxLen, logger)
		if err != nil {
			return err
		}
		dev = &finetune.NERData{Sentences: d.Sentences, Examples: enc.Examples}
	}
	n := ff.stepCount(len(trainEnc.Examples))
	devSentences := 0
	if dev != nil {
		devSentences = len(dev.Sentences)
	}
	logger.Info("fine-tune ner", "train_sentences", len(trainData.Sentences), "train_windows", len(trainEnc.Examples),
		"dev_sentences", devSentences, "labels", strings.Join(lm.Labels(), ","), "steps", n, "pretrained", !ff.scratch)
	nt, err := finetune.NewNERTask(model, trainEnc.Examples, finetune.NEROptions{BatchSize: ff.batch, Seed: ff.seed,
		PadID: padID(tok), Dev: dev, Entity: entity, GroupByLength: ff.groupByLength})
	if err != nil {
		return err
	}
	nt.SaveExtra = copyFilesTo(tokFiles)
	return ff.fit(ctx, nt, *out, n, stdout, stderr, logger, "finetune ner", func() {
		if r := nt.LastReport; r != nil {
			fmt.Fprintf(stdout, "dev entity F1 %.4f, precision %.4f, recall %.4f (%d sentences)\n\n%s\n",
				r.Micro.F1, r.Micro.Precision, r.Micro.Recall, r.Sentences, r)
		}
	})
}
