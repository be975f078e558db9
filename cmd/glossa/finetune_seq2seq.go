package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/models/transformer"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/text2text"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/train"
)

const finetuneSeq2seqUsage = `Usage: glossa finetune --task seq2seq --tokenizer SPM.model (--source FILE --target FILE | --train FILE) --out DIR [flags]

Trains the encoder-decoder Transformer of "Attention Is All You Need" from
scratch on parallel text: sinusoidal positions, one SentencePiece Unigram
vocabulary whose embeddings the encoder, the decoder and the output
projection share, post-LN layers, label-smoothed cross-entropy, AdamW with
linear warm-up, batches of about --max-tokens tokens grouped by length.
OUT receives a Hugging Face MarianMTModel folder (config.json,
generation_config.json with beam-search defaults, model.safetensors,
source.spm/target.spm/vocab.json), so "glossa translate", "glossa eval
--task translation", "glossa pipeline translation" and "glossa serve" load
it as they load Helsinki-NLP/opus-mt-*; and checkpoints, metrics.jsonl and
loss.png/svg. --resume continues a run exactly, even after kill -9.

Data: --source and --target are aligned text files, one segment per line
(.gz read as gzip); --train is one JSONL, TSV or CSV file whose
--source-field and --target-field hold them. --heldout N takes N pairs of the
training data (a seeded choice) for evaluation: the loss, and BLEU of
--eval-bleu of them decoded with --eval-beams beams (sacreBLEU's 13a), so
that checkpoints are selected on training data, never on the test set.

Example (Multi30k de→en):
  glossa finetune --task seq2seq --tokenizer ../shared/tokenizers/multi30k-unigram/multi30k-unigram.model \
    --source ../shared/data/multi30k/train.de.gz --target ../shared/data/multi30k/train.en.gz \
    --heldout 1000 --out runs/multi30k-de-en --steps 900 --eval-every 150 --save-every 150`

// isSeq2seqTask reports whether finetune's arguments ask for --task seq2seq.
func isSeq2seqTask(args []string) bool {
	for i, a := range args {
		if a == "--task=seq2seq" || a == "-task=seq2seq" || (a == "--task" || a == "-task") && i+1 < len(args) && args[i+1] == "seq2seq" {
			return true
		}
	}
	return false
}

type seq2seqFlags struct {
	tokenizer, source, target, trainFile, sourceField, targetField, out string
	devSource, devTarget                                                string
	heldout, evalBLEU, evalBeams, numBeams                              int
	encLayers, decLayers, width, heads, ffn, maxLen, maxTokens          int
	dropout, smoothing                                                  float64
	activation                                                          string
	steps, warmup, evalEvery, saveEvery, keep, logEvery, accumulate     int
	epochs, lr, minLR, weightDecay, clip, beta2                         float64
	decay, progress                                                     string
	seed                                                                uint64
	resume                                                              bool
	cpuProfile                                                          string
	threads                                                             int
}

func (f *seq2seqFlags) register(fs *flag.FlagSet) {
	fs.String("task", "seq2seq", "seq2seq (this command) or classify")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "SentencePiece Unigram .model, or a MarianMTModel folder whose source.spm to use (required)")
	fs.StringVar(&f.source, "source", "", "source-side text file, one segment per line (.gz ok)")
	fs.StringVar(&f.target, "target", "", "target-side text file aligned with --source")
	fs.StringVar(&f.trainFile, "train", "", "one JSONL/TSV/CSV file of pairs instead of --source/--target")
	fs.StringVar(&f.sourceField, "source-field", "source", "--train's source field (JSONL key, header name or 0-based column)")
	fs.StringVar(&f.targetField, "target-field", "target", "--train's target field")
	fs.StringVar(&f.devSource, "dev-source", "", "held-out source file (instead of --heldout)")
	fs.StringVar(&f.devTarget, "dev-target", "", "held-out target file aligned with --dev-source")
	fs.IntVar(&f.heldout, "heldout", 0, "hold this many training pairs out for evaluation (seeded choice; 0: none)")
	fs.IntVar(&f.evalBLEU, "eval-bleu", 500, "decode this many held-out pairs at each evaluation and report BLEU (0: loss only)")
	fs.IntVar(&f.evalBeams, "eval-beams", 1, "beams for the held-out BLEU (1: greedy, fastest)")
	fs.IntVar(&f.numBeams, "num-beams", 5, "num_beams written into generation_config.json")
	fs.StringVar(&f.out, "out", "", "output folder (required)")
	fs.IntVar(&f.encLayers, "encoder-layers", 3, "encoder layers")
	fs.IntVar(&f.decLayers, "decoder-layers", 3, "decoder layers")
	fs.IntVar(&f.width, "width", 256, "d_model")
	fs.IntVar(&f.heads, "heads", 4, "attention heads")
	fs.IntVar(&f.ffn, "ffn", 1024, "feed-forward width")
	fs.IntVar(&f.maxLen, "max-len", 256, "positions: longest source or target in tokens; longer training pairs are dropped with a warning")
	fs.IntVar(&f.maxTokens, "max-tokens", 4096, "tokens per batch (rows × longest source or target)")
	fs.Float64Var(&f.dropout, "dropout", 0.1, "dropout")
	fs.Float64Var(&f.smoothing, "label-smoothing", 0.1, "label smoothing ε")
	fs.StringVar(&f.activation, "activation", "relu", "feed-forward activation: relu, gelu or swish")
	fs.IntVar(&f.steps, "steps", 0, "optimizer steps (0: from --epochs)")
	fs.Float64Var(&f.epochs, "epochs", 10, "passes over the training batches (ignored when --steps is set)")
	fs.IntVar(&f.accumulate, "accumulate", 1, "batches per optimizer step")
	fs.IntVar(&f.warmup, "warmup", 0, "linear warm-up steps (0: 10 % of the steps)")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate (AdamW)")
	fs.Float64Var(&f.minLR, "min-lr", 0, "learning rate at the end of the decay (0: lr/100)")
	fs.StringVar(&f.decay, "decay", "linear", "decay after warm-up: linear, cosine or none")
	fs.Float64Var(&f.weightDecay, "weight-decay", 0.0001, "AdamW weight decay on matrices and embeddings")
	fs.Float64Var(&f.beta2, "beta2", 0.98, "AdamW β2 (the Transformer's 0.98)")
	fs.Float64Var(&f.clip, "clip", 1, "clip the global gradient norm (0: off)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "evaluate every N steps (0: only at the end)")
	fs.IntVar(&f.saveEvery, "save-every", 0, "checkpoint every N steps (0: only at the end)")
	fs.IntVar(&f.keep, "keep", 0, "keep the newest N checkpoints (0: all, to select the best afterwards)")
	fs.IntVar(&f.logEvery, "log-every", 10, "append a train record to metrics.jsonl every N steps")
	fs.Uint64Var(&f.seed, "seed", 42, "seed of the initialisation, held-out choice, batch order and dropout")
	fs.BoolVar(&f.resume, "resume", false, "continue from the newest checkpoint in OUT (same flags)")
	fs.StringVar(&f.progress, "progress", "auto", "progress display: auto, bar, log or off")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the training to `FILE` (read it with go tool pprof)")
	fs.IntVar(&f.threads, "threads", 0, "worker threads of the kernels (0: GOMAXPROCS)")
}

func runFinetuneSeq2seq(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("finetune", stderr)
	var f seq2seqFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, finetuneSeq2seqUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case f.tokenizer == "" || f.out == "":
		return fmt.Errorf("%w: --tokenizer and --out are required", errUsage)
	case (f.source == "") != (f.target == "") || (f.source == "") == (f.trainFile == ""):
		return fmt.Errorf("%w: give --source and --target, or --train", errUsage)
	case (f.devSource == "") != (f.devTarget == "") || f.devSource != "" && f.heldout > 0:
		return fmt.Errorf("%w: give --dev-source with --dev-target, or --heldout", errUsage)
	case f.maxTokens <= 0 || f.epochs <= 0 || f.steps < 0 || f.heldout < 0 || f.evalBLEU < 0 || f.evalBeams < 1 || f.numBeams < 1 || f.accumulate < 1 || f.threads < 0:
		return fmt.Errorf("%w: --max-tokens, --epochs, --eval-beams, --num-beams and --accumulate must be positive; --steps, --heldout, --eval-bleu, --threads not negative", errUsage)
	}
	if f.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(f.threads))
	}
	act, err := nn.ParseActivation(f.activation)
	if err != nil || act == nn.SwiGLU {
		return fmt.Errorf("%w: --activation %q: want relu, gelu or swish", errUsage, f.activation)
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

	files, tok, pad, eos, err := seq2seqTokenizer(f.tokenizer)
	if err != nil {
		return err
	}
	examples, err := readSeq2seqPairs(f.source, f.target, f.trainFile, f.sourceField, f.targetField)
	if err != nil {
		return err
	}
	var dev []text2text.Example
	switch {
	case f.devSource != "":
		if dev, err = readSeq2seqPairs(f.devSource, f.devTarget, "", "", ""); err != nil {
			return err
		}
	case f.heldout > 0:
		if f.heldout >= len(examples) {
			return fmt.Errorf("%w: --heldout %d leaves no training pairs of %d", errUsage, f.heldout, len(examples))
		}
		perm := data.Permutation(len(examples), f.seed)
		held := map[int]bool{}
		for _, i := range perm[:f.heldout] {
			held[i] = true
		}
		var rest []text2text.Example
		for i, e := range examples {
			if held[i] {
				dev = append(dev, e)
			} else {
				rest = append(rest, e)
			}
		}
		examples = rest
	}
	pairs, dropped, err := tokenizePairs(tok, examples, f.maxLen)
	if err != nil {
		return err
	}
	if dropped > 0 {
		logger.Warn("dropped training pairs longer than --max-len", "count", dropped, "max_len", f.maxLen)
	}
	evalPairs, _, err := tokenizePairs(tok, dev, f.maxLen)
	if err != nil {
		return err
	}
	cfg := transformer.Config{Vocab: tok.VocabSize(), Dim: f.width, Heads: f.heads, FFN: f.ffn, EncoderLayers: f.encLayers,
		DecoderLayers: f.decLayers, MaxLen: f.maxLen, Dropout: float32(f.dropout), Activation: act, PadID: pad, EOSID: eos}
	model, err := transformer.New(cfg, tensor.NewRNG(f.seed))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	opts := finetune.Seq2SeqOptions{MaxTokens: f.maxTokens, LabelSmoothing: float32(f.smoothing), Seed: f.seed, Eval: evalPairs,
		Generation: transformer.GenerationDefaults{NumBeams: f.numBeams}}
	if f.evalBLEU > 0 && len(dev) > 0 {
		opts.Metrics = heldoutBLEU(dev[:min(f.evalBLEU, len(dev))], f.evalBeams)
	}
	task, err := finetune.NewSeq2SeqTask(model, pairs, opts)
	if err != nil {
		return err
	}
	task.SaveExtra = func(dir string) error { return auto.WriteFiles(dir, files) }
	steps := f.steps
	if steps == 0 {
		steps = max(1, int(f.epochs*float64(task.Batches())/float64(f.accumulate)+0.5))
	}
	warmup := f.warmup
	if warmup == 0 {
		warmup = steps / 10
	}
	minLR := f.minLR
	if minLR == 0 {
		minLR = f.lr / 100
	}
	fmt.Fprintf(stderr, "seq2seq: %d training pairs in %d batches of ≤%d tokens, %d held out; %d parameters; %d steps (%.2f epochs)\n",
		len(pairs), task.Batches(), f.maxTokens, len(evalPairs), nn.NumParams(model.Params()), steps,
		float64(steps*f.accumulate)/float64(task.Batches()))
	tr, err := train.NewTrainer(task, train.Config{
		OutDir: f.out, Steps: steps, Accumulate: f.accumulate, LR: f.lr, MinLR: minLR, Warmup: warmup, Decay: dec,
		WeightDecay: f.weightDecay, Beta2: f.beta2, Eps: 1e-9, Clip: f.clip, EvalEvery: f.evalEvery, SaveEvery: f.saveEvery,
		KeepCheckpoints: f.keep, LogEvery: f.logEvery, Resume: f.resume,
		Progress: train.ProgressOptions{Out: stderr, Mode: pmode, Description: "seq2seq"},
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	if res.Interrupted {
		fmt.Fprintf(stdout, "interrupted at step %d; checkpoint %s (continue with --resume)\n", res.Step, res.Checkpoint)
		return nil
	}
	fmt.Fprintf(stdout, "trained %d steps; held-out loss %.4f", res.Step, res.LastEval.Loss)
	for _, k := range sortedKeys(res.LastEval.Metrics) {
		fmt.Fprintf(stdout, " %s %.4f", k, res.LastEval.Metrics[k])
	}
	fmt.Fprintf(stdout, "\nmodel: %s\n", f.out)
	if best, ok := bestCheckpoint(f.out); ok {
		fmt.Fprintf(stdout, "best held-out evaluation: %s\n", best)
	}
	return nil
}

// seq2seqTokenizer lays out a SentencePiece model (a .model file, or a
// folder's source.spm) as Marian's tokenizer files and loads them as the
// trained model will be loaded.
func seq2seqTokenizer(path string) (map[string][]byte, *tokenizer.Tokenizer, int, int, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "source.spm")
	}
	spm, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("tokenizer: %w", err)
	}
	files, pad, eos, err := auto.MarianFiles(spm)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	tmp, err := os.MkdirTemp("", "glossa-marian-tok-*")
	if err != nil {
		return nil, nil, 0, 0, err
	}
	defer os.RemoveAll(tmp)
	if err := auto.WriteFiles(tmp, files); err != nil {
		return nil, nil, 0, 0, err
	}
	tok, err := auto.Load(tmp)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	return files, tok, pad, eos, nil
}

// readSeq2seqPairs reads aligned text files or one structured file.
func readSeq2seqPairs(source, target, file, sourceField, targetField string) ([]text2text.Example, error) {
	if file != "" {
		return text2text.ReadExamples(file, &text2text.ReadOptions{SourceField: sourceField, RefFields: []string{targetField}})
	}
	if strings.Contains(source, ":") || strings.Contains(target, ":") {
		return nil, fmt.Errorf("%w: file names with ':' are not supported (%s, %s)", errUsage, source, target)
	}
	return text2text.ReadExamples(source+":"+target, nil)
}

// tokenizePairs encodes examples with Marian's template (EOS after each
// side), dropping pairs longer than maxLen.
func tokenizePairs(tok *tokenizer.Tokenizer, ex []text2text.Example, maxLen int) ([]finetune.Seq2SeqPair, int, error) {
	var out []finetune.Seq2SeqPair
	dropped := 0
	for _, e := range ex {
		s, err := tok.Encode(e.Source)
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", e.Line, err)
		}
		t, err := tok.Encode(e.Refs[0])
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", e.Line, err)
		}
		if len(s.IDs) > maxLen || len(t.IDs) > maxLen {
			dropped++
			continue
		}
		out = append(out, finetune.Seq2SeqPair{Source: int32s(s.IDs), Target: int32s(t.IDs)})
	}
	return out, dropped, nil
}

func int32s(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, v := range ids {
		out[i] = int32(v)
	}
	return out
}

// heldoutBLEU returns the evaluation hook that decodes the held-out
// sources with the saved model and scores them with sacreBLEU's BLEU.
func heldoutBLEU(dev []text2text.Example, beams int) func(ctx context.Context, dir string) (map[string]float64, error) {
	sources := make([]string, len(dev))
	for i, e := range dev {
		sources[i] = e.Source
	}
	return func(ctx context.Context, dir string) (map[string]float64, error) {
		m, err := seq2seq.Load(dir, nil)
		if err != nil {
			return nil, err
		}
		tok, err := auto.Load(dir)
		if err != nil {
			return nil, err
		}
		tm, err := text2text.New(m, tok)
		if err != nil {
			return nil, err
		}
		res, err := tm.Generate(ctx, sources, &text2text.Options{NumBeams: beams, BatchSize: 32, SortByLength: true, Truncate: true})
		if err != nil {
			return nil, err
		}
		hyps := make([]string, len(res))
		for i, r := range res {
			hyps[i] = r.Text
		}
		rep, err := text2text.Score(text2text.Translation, hyps, dev, nil)
		if err != nil {
			return nil, err
		}
		return map[string]float64{"bleu": rep.BLEU.Score}, nil
	}
}

// bestCheckpoint returns the checkpoint folder of OUT whose evaluation
// had the highest held-out BLEU (else the lowest loss), if it still exists.
func bestCheckpoint(out string) (string, bool) {
	recs, err := train.ReadMetricsLog(filepath.Join(out, train.MetricsFile))
	if err != nil {
		return "", false
	}
	best, bestStep, metric := 0.0, -1, "BLEU"
	for _, r := range recs {
		if r.Split != "eval" {
			continue
		}
		score, ok := r.Metrics["bleu"]
		if !ok {
			score, metric = -r.Loss, "loss"
		}
		if bestStep < 0 || score >= best { // ties: the later step
			best, bestStep = score, r.Step
		}
	}
	if bestStep < 0 {
		return "", false
	}
	dir := train.CheckpointPath(out, bestStep)
	if _, err := os.Stat(dir); err != nil {
		dir = "(pruned by --keep)"
	}
	if metric == "loss" {
		best = -best
	}
	return fmt.Sprintf("step %d, %s %.2f: %s", bestStep, metric, best, dir), true
}
