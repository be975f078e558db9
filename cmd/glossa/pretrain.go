package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/pretrain"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
	"github.com/glossa-ai/glossa/train"
)

const pretrainUsage = `Usage: glossa pretrain --objective clm|mlm-nsp|mlm|electra (--tokenizer PATH|char | --train-tokenizer) --data FILES --out DIR [flags]

Pretrains a language model from scratch on plain text (files, folders, globs,
.gz): a GPT-2 causal LM (clm), a BERT with masked-LM + next-sentence
prediction (mlm-nsp) or with the masked LM alone on sentences packed up to
--block-size across documents (mlm, RoBERTa's recipe), or an ELECTRA discriminator trained by replaced-token
detection against a small masked-LM generator that shares its embeddings
(electra; OUT holds the discriminator as ElectraForPreTraining, which
"glossa finetune" uses as it uses a BERT, and OUT/generator the generator).
The corpus is tokenised once into a cached packed token file; the last
--val-fraction of it is held out for evaluation.

OUT receives metrics.jsonl, checkpoint-<step>/ folders (config.json,
model.safetensors, tokenizer files, optimizer.safetensors,
trainer_state.json), the final model (Hugging Face layout) and loss.png /
loss.svg. Ctrl-C saves a checkpoint and exits; --resume continues exactly. --init DIR
starts from a saved model (a BERT or GPT-2 folder written by Glossa or Hugging
Face, with the same tokenizer) and trains it further under a new schedule.

Example (nanoGPT's Shakespeare character model):
  glossa pretrain --objective clm --tokenizer char --data ../shared/data/tinyshakespeare/input.txt \
    --out runs/shakespeare --layers 6 --width 384 --heads 6 --block-size 256 --batch-size 12 --steps 2000`

// pretrainFlags are the flags of "glossa pretrain".
type pretrainFlags struct {
	objective, tokenizer, dataPaths, out, cacheDir, decay, progress string
	init                                                            string
	trainTokenizer, wholeWord                                       bool
	vocabSize                                                       int
	layers, width, heads, blockSize                                 int
	steps, batchSize, accumulate, warmup, evalEvery, saveEvery      int
	evalBlocks, keep, logEvery                                      int
	lr, minLR, weightDecay, clip, valFraction, dropout              float64
	beta2, genScale, discWeight, maskProb                           float64
	embeddingSize                                                   int
	seed                                                            uint64
	resume, bf16                                                    bool
}

func runPretrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pretrain", stderr)
	var f pretrainFlags
	fs.StringVar(&f.objective, "objective", "clm", "training objective: clm (GPT-2 causal LM), mlm-nsp (BERT masked LM + next sentence), mlm (masked LM on packed sentences) or electra (replaced-token detection)")
	fs.StringVar(&f.tokenizer, "tokenizer", "", `tokenizer: a tokenizer.json / vocab.txt file or a folder holding one, or "char" (one token per character, clm only)`)
	fs.BoolVar(&f.trainTokenizer, "train-tokenizer", false, "train a tokenizer on the corpus first (byte-level BPE for clm, WordPiece for mlm-nsp, mlm and electra) into OUT")
	fs.IntVar(&f.vocabSize, "vocab-size", 8000, "vocabulary size for --train-tokenizer")
	fs.StringVar(&f.dataPaths, "data", "", "corpus: comma-separated files, folders or glob patterns (positional arguments are added)")
	fs.StringVar(&f.out, "out", "", "run folder: checkpoints, metrics, plots and the final model (required)")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "packed token file cache (default: the user cache folder /glossa/tokens)")
	fs.IntVar(&f.layers, "layers", 4, "Transformer layers")
	fs.IntVar(&f.width, "width", 256, "model width (hidden size)")
	fs.IntVar(&f.heads, "heads", 4, "attention heads (must divide --width)")
	fs.IntVar(&f.blockSize, "block-size", 128, "sequence length in tokens (context window)")
	fs.Float64Var(&f.dropout, "dropout", 0.1, "dropout probability (mlm-nsp, mlm; the clm path has no dropout)")
	fs.BoolVar(&f.wholeWord, "whole-word", false, "mlm-nsp, mlm, electra: mask whole words (all WordPiece pieces of a word together)")
	fs.Float64Var(&f.maskProb, "mask-prob", 0.15, "mlm-nsp, mlm, electra: fraction of the tokens masked")
	fs.IntVar(&f.embeddingSize, "embedding-size", 0, "electra: width of the shared embeddings (0: --width; smaller adds embeddings_project)")
	fs.Float64Var(&f.genScale, "generator-scale", 0.25, "electra: generator width, heads and feed-forward size as a fraction of the discriminator's")
	fs.Float64Var(&f.discWeight, "disc-weight", 50, "electra: weight λ of the discriminator's loss (loss = generator MLM + λ·discriminator)")
	fs.IntVar(&f.steps, "steps", 1000, "optimizer steps")
	fs.IntVar(&f.batchSize, "batch-size", 16, "sequences per micro-batch")
	fs.IntVar(&f.accumulate, "accumulate", 1, "micro-batches per optimizer step (gradient accumulation)")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate (AdamW)")
	fs.Float64Var(&f.minLR, "min-lr", 0, "learning rate at the end of the decay (0: --lr/10)")
	fs.IntVar(&f.warmup, "warmup", 100, "linear warm-up steps")
	fs.StringVar(&f.decay, "decay", "cosine", "learning-rate decay after warm-up: cosine, linear or none")
	fs.Float64Var(&f.weightDecay, "weight-decay", 0.1, "AdamW weight decay on matrices and embeddings")
	fs.Float64Var(&f.beta2, "beta2", 0.99, "AdamW β2 (β1 is 0.9)")
	fs.Float64Var(&f.clip, "clip", 1, "clip the global gradient norm to this value (0: off)")
	fs.IntVar(&f.evalEvery, "eval-every", 200, "evaluate every N steps (and at the end; 0: only at the end)")
	fs.IntVar(&f.evalBlocks, "eval-blocks", 64, "validation sequences per evaluation")
	fs.Float64Var(&f.valFraction, "val-fraction", 0.1, "fraction of the corpus held out for validation")
	fs.IntVar(&f.saveEvery, "save-every", 500, "write a checkpoint every N steps (and at the end; 0: only at the end)")
	fs.IntVar(&f.keep, "keep", 3, "keep the newest N checkpoints (0: all)")
	fs.IntVar(&f.logEvery, "log-every", 1, "append a train record to metrics.jsonl every N steps")
	fs.Uint64Var(&f.seed, "seed", 1337, "seed for initialisation, data order and masking")
	fs.StringVar(&f.init, "init", "", "start from the weights of this model folder (continued pretraining) instead of a random initialisation; its config.json sets the architecture, so --layers/--width/--heads are ignored")
	fs.BoolVar(&f.bf16, "bf16", false, "clm, mlm-nsp and mlm: bfloat16 mixed precision — bf16 products with float32 sums, float32 master weights, gradients and AdamW state (fast on CPUs with AVX-512 BF16; give it again with --resume)")
	fs.BoolVar(&f.resume, "resume", false, "continue from the newest checkpoint in OUT (same flags as the first run)")
	fs.StringVar(&f.progress, "progress", "auto", "progress display: auto (bar on a terminal, log lines otherwise), bar, log or off")
	fs.Usage = func() {
		fmt.Fprintln(stderr, pretrainUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	paths := splitList(f.dataPaths)
	paths = append(paths, fs.Args()...)
	switch {
	case f.objective != "clm" && f.objective != "mlm-nsp" && f.objective != "mlm" && f.objective != "electra":
		return fmt.Errorf("%w: --objective must be clm, mlm-nsp, mlm or electra, got %q", errUsage, f.objective)
	case f.out == "":
		return fmt.Errorf("%w: --out is required", errUsage)
	case len(paths) == 0:
		return fmt.Errorf("%w: no corpus: give --data FILES", errUsage)
	case (f.tokenizer == "") == !f.trainTokenizer:
		return fmt.Errorf("%w: give exactly one of --tokenizer and --train-tokenizer", errUsage)
	case f.init != "" && f.trainTokenizer:
		return fmt.Errorf("%w: --init continues a model with its own tokenizer: give --tokenizer, not --train-tokenizer", errUsage)
	case f.bf16 && f.objective == "electra":
		return fmt.Errorf("%w: --bf16 works with --objective clm, mlm-nsp or mlm", errUsage)
	case f.tokenizer == "char" && f.objective != "clm":
		return fmt.Errorf("%w: --tokenizer char works with --objective clm only", errUsage)
	case f.steps <= 0 || f.batchSize <= 0 || f.accumulate <= 0 || f.blockSize <= 1:
		return fmt.Errorf("%w: --steps, --batch-size, --accumulate must be positive and --block-size > 1", errUsage)
	case f.layers <= 0 || f.width <= 0 || f.heads <= 0 || f.width%f.heads != 0:
		return fmt.Errorf("%w: --layers, --width, --heads must be positive and --heads must divide --width", errUsage)
	case f.valFraction <= 0 || f.valFraction >= 1:
		return fmt.Errorf("%w: --val-fraction must be in (0, 1)", errUsage)
	}
	decay, err := parseDecay(f.decay)
	if err != nil {
		return err
	}
	pmode, err := parseProgressMode(f.progress)
	if err != nil {
		return err
	}
	corpus, err := data.OpenCorpus(paths...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	opts := pretrain.Options{Objective: pretrain.Objective(f.objective), Corpus: corpus, Char: f.tokenizer == "char",
		CacheDir: f.cacheDir, Layers: f.layers, Width: f.width, Heads: f.heads, BlockSize: f.blockSize,
		EmbeddingSize: f.embeddingSize, GeneratorScale: f.genScale, DiscWeight: f.discWeight, MaskProb: f.maskProb,
		Dropout: f.dropout, WholeWord: f.wholeWord, BatchSize: f.batchSize, ValFraction: f.valFraction,
		EvalBlocks: f.evalBlocks, Seed: f.seed, Init: f.init, BF16: f.bf16, Logger: logger}
	if f.objective == "clm" {
		opts.Dropout = 0
	}
	if !opts.Char {
		tok, files, err := pretrainTokenizer(ctx, &f, corpus)
		if err != nil {
			return err
		}
		opts.Tokenizer, opts.SaveExtra = tok, copyFilesTo(files)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			opts.TokenizerID = append(opts.TokenizerID, b...)
		}
	}
	task, err := pretrain.NewTask(ctx, opts)
	if err != nil {
		return err
	}
	tr, err := train.NewTrainer(task, train.Config{
		OutDir: f.out, Steps: f.steps, Accumulate: f.accumulate, LR: f.lr, MinLR: f.minLR, Warmup: f.warmup,
		Decay: decay, WeightDecay: f.weightDecay, Beta2: f.beta2, Clip: f.clip, EvalEvery: f.evalEvery,
		SaveEvery: f.saveEvery, KeepCheckpoints: f.keep, LogEvery: f.logEvery, Resume: f.resume,
		Progress: train.ProgressOptions{Out: stderr, Mode: pmode, Description: "pretrain " + f.objective},
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	return reportRun(stdout, res, f.out)
}

// reportRun prints the end of a training run.
func reportRun(stdout io.Writer, res train.Result, out string) error {
	if res.Interrupted {
		fmt.Fprintf(stdout, "interrupted at step %d; checkpoint %s (continue with --resume)\n", res.Step, res.Checkpoint)
		return nil
	}
	fmt.Fprintf(stdout, "done: %d steps, %d tokens; eval loss %.4f", res.Step, res.Tokens, res.LastEval.Loss)
	for _, k := range sortedKeys(res.LastEval.Metrics) {
		fmt.Fprintf(stdout, ", %s %.4f", k, res.LastEval.Metrics[k])
	}
	fmt.Fprintf(stdout, "\nmodel: %s\nmetrics: %s\nplot: %s\n", out, filepath.Join(out, train.MetricsFile), filepath.Join(out, "loss.png"))
	return nil
}

// pretrainTokenizer loads --tokenizer or trains one into OUT
// (--train-tokenizer), returning it and the files to copy into every saved
// model folder.
func pretrainTokenizer(ctx context.Context, f *pretrainFlags, corpus *data.Corpus) (*tokenizer.Tokenizer, []string, error) {
	if f.trainTokenizer {
		dir := filepath.Join(f.out, "tokenizer")
		path := filepath.Join(dir, "tokenizer.json")
		if _, err := os.Stat(path); err != nil { // reuse on --resume
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, nil, err
			}
			switch f.objective {
			case "clm": // byte-level BPE; mlm-nsp and electra: WordPiece
				m, err := bpe.TrainFiles(ctx, corpus.Files, bpe.TrainOptions{VocabSize: f.vocabSize, SpecialTokens: []string{bpe.EndOfText}})
				if err != nil {
					return nil, nil, err
				}
				if err := writeFileAtomic(path, m.WriteTokenizerJSON); err != nil {
					return nil, nil, err
				}
			default:
				m, err := wordpiece.TrainFiles(ctx, corpus.Files, wordpiece.TrainOptions{VocabSize: f.vocabSize})
				if err != nil {
					return nil, nil, err
				}
				if err := m.SaveDir(dir); err != nil {
					return nil, nil, err
				}
			}
		}
		f.tokenizer = dir
	}
	tok, err := auto.Load(f.tokenizer)
	if err != nil {
		return nil, nil, err
	}
	return tok, modelTokenizerFiles(f.tokenizer), nil
}

// modelTokenizerFiles lists the tokenizer files at path (a file or a folder) that
// a model folder should carry.
func modelTokenizerFiles(path string) []string {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return []string{path}
	}
	var files []string
	for _, n := range []string{"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
		"vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "tokenizer.model"} {
		if _, err := os.Stat(filepath.Join(path, n)); err == nil {
			files = append(files, filepath.Join(path, n))
		}
	}
	return files
}

// copyFilesTo returns a function that copies files into a folder.
func copyFilesTo(files []string) func(dir string) error {
	return func(dir string) error {
		for _, src := range files {
			b, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), b, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseDecay(s string) (optim.Decay, error) {
	switch s {
	case "cosine":
		return optim.DecayCosine, nil
	case "linear":
		return optim.DecayLinear, nil
	case "none", "constant":
		return optim.DecayNone, nil
	}
	return 0, fmt.Errorf("%w: --decay must be cosine, linear or none, got %q", errUsage, s)
}

func parseProgressMode(s string) (train.ProgressMode, error) {
	switch s {
	case "auto":
		return train.ProgressAuto, nil
	case "bar":
		return train.ProgressBar, nil
	case "log":
		return train.ProgressLog, nil
	case "off":
		return train.ProgressOff, nil
	}
	return 0, fmt.Errorf("%w: --progress must be auto, bar, log or off, got %q", errUsage, s)
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
