package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/distill"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/train"
)

const distillUsage = `Usage: glossa distill --teacher DIR (--student-layers N | --student DIR) --task classify|mlm
         (--train FILE [--dev FILE] | --data FILES) --out DIR [flags]

Knowledge distillation with DistilBERT's recipe (Sanh et al., 2019): a
smaller BERT student learns from a teacher's soft targets (KL divergence at
--temperature, scaled by T²), the hard targets (the gold label's
cross-entropy, or the masked-LM loss) and optionally the cosine between
their last hidden states:

  loss = alpha-kl · KL + alpha-ce · CE (classify) | alpha-mlm · MLM (mlm) + alpha-cos · cos

--student-layers N cuts the student from the teacher: its embeddings, N of
its layers spread from the first to the last (12 → 6: 0,2,4,7,9,11, as
DistilBERT; 4 → 2: 0,3; --layer-map chooses others) and its heads.
--student DIR starts from a BERT folder of the same vocabulary instead.
The teacher runs on the inference path (no dropout, no graph).

  --task classify  task-specific distillation of a fine-tuned classifier
                   (BertForSequenceClassification) on labelled TSV/CSV/JSONL
                   data; the classes are the teacher's.
  --task mlm       general distillation of a masked LM (BertForMaskedLM or
                   BertForPreTraining) on a plain-text corpus: sentences
                   packed into --block-size sequences, masked as BERT does.

OUT receives the student as an ordinary Hugging Face folder
(BertForSequenceClassification or BertForMaskedLM, with the tokenizer) that
glossa eval, classify, fill-mask, pipeline and serve load, plus checkpoints,
metrics.jsonl and loss.png/svg; --resume continues a run exactly.

Example (SST-2: a 2-layer student of a 4-layer teacher):
  glossa distill --task classify --teacher runs/sst2 --student-layers 2 \
    --train ../shared/data/sst2/train.tsv --dev ../shared/data/sst2/dev.tsv --out runs/sst2-distilled`

// distillFlags are the flags of glossa distill.
type distillFlags struct {
	task, teacher, student, layerMap, tokenizer, trainPath, devPath, dataPaths string
	out, cacheDir, decay, progress, teacherDType                               string
	studentLayers, maxLen, blockSize, batch, accum, steps, evalEvery           int
	saveEvery, keep, evalBlocks                                                int
	epochs, lr, warmup, wd, clip, temperature, valFraction                     float64
	alphaKL, alphaCE, alphaMLM, alphaCos                                       float64
	seed                                                                       uint64
	groupByLength, wholeWord, resume                                           bool
	labeled                                                                    labeledFlags
}

func (f *distillFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.task, "task", "classify", "classify (task-specific distillation of a classifier) or mlm (general distillation of a masked LM)")
	fs.StringVar(&f.teacher, "teacher", "", "teacher: a BERT folder with the task's head, or ORG/NAME[@REVISION] on the Hub (required)")
	fs.IntVar(&f.studentLayers, "student-layers", 0, "cut a student of N layers from the teacher (N < the teacher's layers)")
	fs.StringVar(&f.layerMap, "layer-map", "", "with --student-layers or alone: the teacher layers to keep, comma-separated (default: spread from the first to the last)")
	fs.StringVar(&f.student, "student", "", "start the student from this BERT folder (or ORG/NAME[@REVISION] on the Hub) instead of the teacher's layers")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer file or folder (default: the teacher's)")
	fs.StringVar(&f.trainPath, "train", "", "classify: labelled training file")
	fs.StringVar(&f.devPath, "dev", "", "classify: labelled dev file for evaluation (default: none)")
	fs.StringVar(&f.dataPaths, "data", "", "mlm: corpus, comma-separated files, folders or globs (positional arguments are added)")
	fs.StringVar(&f.out, "out", "", "run folder: the student, checkpoints, metrics and plots (required)")
	f.labeled.register(fs)
	fs.Float64Var(&f.temperature, "temperature", distill.DefaultTemperature, "softmax temperature of the soft targets")
	fs.Float64Var(&f.alphaKL, "alpha-kl", -1, "weight of the soft-target KL term (default: 0.5 classify, 5 mlm)")
	fs.Float64Var(&f.alphaCE, "alpha-ce", -1, "classify: weight of the gold-label cross-entropy (default 0.5)")
	fs.Float64Var(&f.alphaMLM, "alpha-mlm", -1, "mlm: weight of the masked-LM loss (default 2)")
	fs.Float64Var(&f.alphaCos, "alpha-cos", -1, "weight of the hidden-state cosine loss (default: 0 classify, 1 mlm)")
	fs.StringVar(&f.teacherDType, "teacher-dtype", "f32", "teacher weights: f32, or bf16 (faster on AVX-512 BF16; soft targets rounded accordingly)")
	fs.IntVar(&f.maxLen, "max-len", 0, "classify: truncate examples to this many tokens, specials included (0: 128, or the model's positions when fewer)")
	fs.IntVar(&f.blockSize, "block-size", 0, "mlm: sequence length (0: 128, or the model's positions when fewer)")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "mlm: packed token file cache (default: the user cache folder /glossa/tokens)")
	fs.Float64Var(&f.valFraction, "val-fraction", 0.05, "mlm: fraction of the packed sequences held out for validation")
	fs.IntVar(&f.evalBlocks, "eval-blocks", 64, "mlm: validation sequences per evaluation")
	fs.BoolVar(&f.wholeWord, "whole-word", false, "mlm: mask whole words")
	fs.IntVar(&f.batch, "batch-size", 32, "examples per micro-batch")
	fs.IntVar(&f.accum, "accumulate", 1, "micro-batches per optimizer step")
	fs.Float64Var(&f.epochs, "epochs", 3, "classify: passes over the training data (ignored when --steps is set)")
	fs.IntVar(&f.steps, "steps", 0, "optimizer steps (0: from --epochs; required for mlm)")
	fs.Float64Var(&f.lr, "lr", 5e-5, "peak learning rate (AdamW)")
	fs.Float64Var(&f.warmup, "warmup-ratio", 0.1, "fraction of the steps spent warming the learning rate up linearly")
	fs.StringVar(&f.decay, "decay", "linear", "learning-rate decay after warm-up: linear, cosine or none")
	fs.Float64Var(&f.wd, "weight-decay", 0.01, "AdamW weight decay on matrices and embeddings")
	fs.Float64Var(&f.clip, "clip", 1, "clip the global gradient norm (0: off)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "evaluate every N steps (0: only at the end)")
	fs.IntVar(&f.saveEvery, "save-every", 0, "checkpoint every N steps (0: only at the end)")
	fs.IntVar(&f.keep, "keep", 2, "keep the newest N checkpoints (0: all)")
	fs.Uint64Var(&f.seed, "seed", 42, "seed for data order, masking, dropout and a fresh head")
	fs.BoolVar(&f.groupByLength, "group-by-length", true, "classify: batch examples of similar length together")
	fs.BoolVar(&f.resume, "resume", false, "continue from the newest checkpoint in OUT (same flags)")
	fs.StringVar(&f.progress, "progress", "auto", "progress display: auto, bar, log or off")
}

// weights returns the loss weights the flags give for the task (-1: the
// task's default).
func (f *distillFlags) weights() (distill.Weights, error) {
	def, hard, hardName, other := distill.DefaultClassifyWeights(), f.alphaCE, "--alpha-ce", f.alphaMLM
	if f.task == "mlm" {
		def, hard, hardName, other = distill.DefaultMLMWeights(), f.alphaMLM, "--alpha-mlm", f.alphaCE
	}
	if other != -1 {
		return distill.Weights{}, fmt.Errorf("%w: --task %s takes %s, not %s", errUsage, f.task, hardName,
			map[string]string{"--alpha-ce": "--alpha-mlm", "--alpha-mlm": "--alpha-ce"}[hardName])
	}
	pick := func(v, d float64) float64 {
		if v == -1 {
			return d
		}
		return v
	}
	w := distill.Weights{KL: pick(f.alphaKL, def.KL), Hard: pick(hard, def.Hard), Cos: pick(f.alphaCos, def.Cos)}
	for _, v := range []float64{w.KL, w.Hard, w.Cos} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return w, fmt.Errorf("%w: loss weights must be finite and ≥ 0", errUsage)
		}
	}
	if w == (distill.Weights{}) {
		return w, fmt.Errorf("%w: every loss weight is 0: nothing to learn", errUsage)
	}
	return w, nil
}

func runDistill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("distill", stderr)
	var f distillFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, distillUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case f.task != "classify" && f.task != "mlm":
		return fmt.Errorf("%w: --task must be classify or mlm, got %q", errUsage, f.task)
	case f.teacher == "" || f.out == "":
		return fmt.Errorf("%w: --teacher and --out are required", errUsage)
	case f.student != "" && (f.studentLayers != 0 || f.layerMap != ""):
		return fmt.Errorf("%w: give --student-layers (or --layer-map) or --student, not both", errUsage)
	case f.student == "" && f.studentLayers == 0 && f.layerMap == "":
		return fmt.Errorf("%w: no student: give --student-layers N or --student DIR", errUsage)
	case f.studentLayers < 0:
		return fmt.Errorf("%w: --student-layers must be positive", errUsage)
	case f.task == "classify" && f.trainPath == "":
		return fmt.Errorf("%w: --task classify needs --train FILE", errUsage)
	case f.task == "mlm" && f.dataPaths == "" && fs.NArg() == 0:
		return fmt.Errorf("%w: --task mlm needs a corpus: --data FILES", errUsage)
	case f.task == "mlm" && f.steps <= 0:
		return fmt.Errorf("%w: --task mlm needs --steps", errUsage)
	case f.batch <= 0 || f.accum <= 0 || f.epochs <= 0 || f.steps < 0 || (f.maxLen != 0 && f.maxLen < 3) || (f.blockSize != 0 && f.blockSize < 3):
		return fmt.Errorf("%w: --batch-size, --accumulate, --epochs must be positive, --max-len and --block-size at least 3", errUsage)
	case f.warmup < 0 || f.warmup >= 1:
		return fmt.Errorf("%w: --warmup-ratio must be in [0, 1)", errUsage)
	case !(f.temperature > 0) || math.IsInf(f.temperature, 0):
		return fmt.Errorf("%w: --temperature must be positive", errUsage)
	case f.valFraction <= 0 || f.valFraction >= 1:
		return fmt.Errorf("%w: --val-fraction must be in (0, 1)", errUsage)
	}
	weights, err := f.weights()
	if err != nil {
		return err
	}
	format, err := infer.ParseFormat(f.teacherDType)
	if err != nil || (format != infer.F32 && format != infer.BF16) {
		return fmt.Errorf("%w: --teacher-dtype must be f32 or bf16, got %q", errUsage, f.teacherDType)
	}
	dec, err := parseDecay(f.decay)
	if err != nil {
		return err
	}
	pmode, err := parseProgressMode(f.progress)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if f.teacher, err = resolveModel(ctx, f.teacher, stderr); err != nil {
		return err
	}
	if f.student != "" {
		if f.student, err = resolveModel(ctx, f.student, stderr); err != nil {
			return err
		}
	}
	teacher, err := bert.LoadEncoder(f.teacher, &bert.EncoderOptions{Format: format})
	if err != nil {
		return fmt.Errorf("teacher: %w", err)
	}
	spec := distill.StudentSpec{Layers: f.studentLayers, Dir: f.student, Seed: f.seed}
	if f.layerMap != "" {
		if spec.LayerMap, err = distill.ParseLayerMap(f.layerMap, teacher.Config.NumLayers); err != nil {
			return fmt.Errorf("%w: --layer-map: %v", errUsage, err)
		}
	}
	tok, tokFiles, err := loadTokenizer(f.tokenizer, f.teacher)
	if err != nil {
		return err
	}
	if tok.VocabSize() > teacher.Config.VocabSize {
		return fmt.Errorf("the tokenizer has %d tokens, the teacher's vocabulary %d", tok.VocabSize(), teacher.Config.VocabSize)
	}
	var task train.Task
	var report func(train.Result)
	switch f.task {
	case "classify":
		task, report, err = newDistillClassify(&f, teacher, spec, weights, tok, tokFiles, logger, stdout)
	case "mlm":
		task, err = newDistillMLM(ctx, &f, append(splitList(f.dataPaths), fs.Args()...), teacher, spec, weights, tok, tokFiles, logger)
	}
	if err != nil {
		return err
	}
	tr, err := train.NewTrainer(task, train.Config{
		OutDir: f.out, Steps: f.steps, Accumulate: f.accum, LR: f.lr, MinLR: 1e-9 * f.lr, Warmup: int(f.warmup * float64(f.steps)),
		Decay: dec, WeightDecay: f.wd, Clip: f.clip, EvalEvery: f.evalEvery, SaveEvery: f.saveEvery,
		KeepCheckpoints: f.keep, Resume: f.resume,
		Progress: train.ProgressOptions{Out: stderr, Mode: pmode, Description: "distill " + f.task}, Logger: logger,
	})
	if err != nil {
		return err
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	if !res.Interrupted && report != nil {
		report(res)
	}
	return reportRun(stdout, res, f.out)
}

// newDistillClassify builds the classification task: the teacher's classes,
// the labelled data, the student. It sets f.steps from --epochs when unset.
func newDistillClassify(f *distillFlags, teacher *bert.Encoder, spec distill.StudentSpec, w distill.Weights,
	tok *tokenizer.Tokenizer, tokFiles []string, logger *slog.Logger, stdout io.Writer) (train.Task, func(train.Result), error) {
	if !teacher.Has(bert.HeadClassifier) {
		return nil, nil, fmt.Errorf("teacher %s has no sequence-classification head (%s; it has: %v): --task classify distils a fine-tuned classifier (glossa finetune --task classify)",
			f.teacher, teacher.HeadName(bert.HeadClassifier), teacher.Heads())
	}
	lopts, err := f.labeled.options()
	if err != nil {
		return nil, nil, err
	}
	lm, err := data.LabelMapOf(distill.TeacherLabels(teacher))
	if err != nil {
		return nil, nil, fmt.Errorf("teacher classes: %w", err)
	}
	student, layers, err := distill.LoadClassifierStudent(f.teacher, spec)
	if err != nil {
		return nil, nil, err
	}
	if f.maxLen == 0 {
		f.maxLen = min(128, student.Bert.Config.MaxLen())
	}
	if P := student.Bert.Config.MaxLen(); f.maxLen > P {
		return nil, nil, fmt.Errorf("%w: --max-len %d exceeds the model's %d positions", errUsage, f.maxLen, P)
	}
	encode := func(path string) ([]data.ClassExample, error) {
		d, err := readLabeled(path, lopts, logger)
		if err != nil {
			return nil, err
		}
		ex, ids, err := labelIDs(d, lm, f.labeled.strict, logger)
		if err != nil {
			return nil, err
		}
		return data.EncodeClassification(tok, ex, ids, f.maxLen)
	}
	trainEx, err := encode(f.trainPath)
	if err != nil {
		return nil, nil, err
	}
	var devEx []data.ClassExample
	if f.devPath != "" {
		if devEx, err = encode(f.devPath); err != nil {
			return nil, nil, err
		}
	}
	if f.steps == 0 {
		f.steps = max(1, int(f.epochs*float64(len(trainEx))/float64(f.batch*f.accum)+0.5))
	}
	logger.Info("distill", "task", "classify", "teacher_layers", teacher.Config.NumLayers,
		"student_layers", student.Bert.Config.NumLayers, "from_teacher_layers", fmt.Sprint(layers),
		"train", len(trainEx), "dev", len(devEx), "classes", lm.Len(), "steps", f.steps,
		"temperature", f.temperature, "alpha_kl", w.KL, "alpha_ce", w.Hard, "alpha_cos", w.Cos)
	task, err := distill.NewClassify(student, teacher, trainEx, distill.ClassifyOptions{BatchSize: f.batch, Seed: f.seed,
		PadID: padID(tok), Temperature: f.temperature, Weights: w, Dev: devEx, GroupByLength: f.groupByLength})
	if err != nil {
		return nil, nil, err
	}
	task.SaveExtra = copyFilesTo(tokFiles)
	report := func(train.Result) {
		if task.LastConfusion == nil {
			return
		}
		r := task.LastConfusion.Report()
		fmt.Fprintf(stdout, "student dev accuracy %.4f, macro F1 %.4f (%d examples)\n\n%s\n%s\n", r.Accuracy, r.Macro.F1, r.Total, r, task.LastConfusion)
	}
	return task, report, nil
}

// newDistillMLM builds the general-distillation task: the corpus tokenised
// into a cached token file, its documents split into training and
// validation, sentences packed into sequences, BERT's masking.
func newDistillMLM(ctx context.Context, f *distillFlags, paths []string, teacher *bert.Encoder, spec distill.StudentSpec,
	w distill.Weights, tok *tokenizer.Tokenizer, tokFiles []string, logger *slog.Logger) (train.Task, error) {
	if !teacher.Has(bert.HeadMLM) {
		return nil, fmt.Errorf("teacher %s has no masked-LM head (%s; it has: %v): --task mlm distils a BertForMaskedLM or BertForPreTraining",
			f.teacher, teacher.HeadName(bert.HeadMLM), teacher.Heads())
	}
	special := map[string]int32{}
	for _, name := range []string{"[CLS]", "[SEP]", "[MASK]", "[PAD]"} {
		id, ok := tok.TokenToID(name)
		if !ok {
			return nil, fmt.Errorf("the tokenizer has no %s token: --task mlm needs a BERT (WordPiece) vocabulary", name)
		}
		special[name] = int32(id)
	}
	student, layers, err := distill.LoadMaskedLMStudent(f.teacher, spec)
	if err != nil {
		return nil, err
	}
	T := f.blockSize
	if T == 0 {
		T = min(128, student.Bert.Config.MaxLen())
	}
	corpus, err := data.OpenCorpus(paths...)
	if err != nil {
		return nil, err
	}
	var tokID []byte
	for _, p := range tokFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		tokID = append(tokID, b...)
	}
	tf, stats, err := data.BuildTokenFile(ctx, corpus, data.TokenizerEncoder(tok), data.TokenizeOptions{
		Docs: data.DocBlankLine, Sentences: true, VocabSize: tok.VocabSize(), TokenizerID: tokID,
		CacheDir: f.cacheDir, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	// Sequences never cross documents; the validation sequences are a
	// seeded fraction of them (so that a corpus of one document works).
	packed, err := data.PackSentences(tf.Documents(), T, special["[CLS]"], special["[SEP]"])
	if err != nil {
		return nil, err
	}
	if len(packed) < 2 {
		return nil, fmt.Errorf("the corpus packs into %d sequence of %d tokens: training and validation need at least 2", len(packed), T)
	}
	examples, evalEx, err := data.SplitTrainVal(packed, f.valFraction, f.seed)
	if err != nil {
		return nil, err
	}
	if len(evalEx) == 0 {
		evalEx, examples = packed[len(packed)-1:], packed[:len(packed)-1]
	}
	if f.evalBlocks > 0 && len(evalEx) > f.evalBlocks {
		evalEx = evalEx[:f.evalBlocks]
	}
	masker, err := data.NewMasker(data.MaskOptions{MaskID: special["[MASK]"], VocabSize: tok.VocabSize(),
		Special: data.SpecialIDs(tok), Continuation: data.ContinuationIDs(tok, "##"), WholeWord: f.wholeWord})
	if err != nil {
		return nil, err
	}
	logger.Info("distill", "task", "mlm", "tokens", tf.Len(), "cached", stats.Cached, "teacher_layers", teacher.Config.NumLayers,
		"student_layers", student.Bert.Config.NumLayers, "from_teacher_layers", fmt.Sprint(layers),
		"train_sequences", len(examples), "eval_sequences", len(evalEx), "seq", T,
		"temperature", f.temperature, "alpha_kl", w.KL, "alpha_mlm", w.Hard, "alpha_cos", w.Cos)
	task, err := distill.NewMaskedLM(student, teacher, examples, masker, distill.MLMOptions{BatchSize: f.batch, MaxLen: T,
		Seed: f.seed, PadID: special["[PAD]"], Temperature: f.temperature, Weights: w, Eval: evalEx})
	if err != nil {
		return nil, err
	}
	task.SaveExtra = copyFilesTo(tokFiles)
	return task, nil
}
