package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/pretrain"
	"github.com/glossa-ai/glossa/quickstart"
)

const quickstartUsage = `Usage: glossa quickstart [--out DIR] [--steps-scale F] [--objective mlm|mlm-nsp|electra] [--seeds N] [--threads N] [--bf16=false] [--goroot DIR]

Runs Glossa's whole recipe on a corpus that needs no download: the
documentation comments of the Go installation's own sources
($GOROOT/src, test files and testdata left out). In order:

  1. train a WordPiece tokenizer on the comments          (glossa tokenizer train)
  2. pretrain a small BERT (masked LM, 40 % masked),        (glossa pretrain --objective mlm --mask-prob 0.4)
     or with --objective electra an ELECTRA discriminator
  3. fine-tune it to tell which package tree a comment      (glossa finetune, per seed,
     comes from (crypto, go, net, runtime), next to the       pretrained and
     same architecture trained from scratch, over 3 seeds     --from-scratch)
  4. train a byte-level BPE and a small GPT-2 on the       (glossa pretrain --objective clm,
     raw comments and continue doc-comment openings         glossa generate)
  5. continue a story with llama2.c's stories260K, when     (glossa generate)
     $GLOSSA_SHARED/models/stories260K holds it

Each stage runs the library code of the command shown and prints its timing.
The default budget is about three minutes on 2 cores; --steps-scale
multiplies the corpus size and every step count (0.05 is a smoke run of
seconds).`

// runQuickstart implements "glossa quickstart": flags, quickstart.Run, and
// the summary.
func runQuickstart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quickstart", stderr)
	out := fs.String("out", "", "run folder (default: a new temporary folder, kept for inspection)")
	scale := fs.Float64("steps-scale", 1, "multiply the corpus size and every step count by F (0.05: a smoke run)")
	objective := fs.String("objective", "mlm", "encoder pretraining: mlm (masked LM on packed sentences), mlm-nsp or electra")
	seeds := fs.Int("seeds", 3, "fine-tuning seeds of the pretrained-vs-scratch comparison")
	threads := fs.Int("threads", 0, "worker threads (0: GOMAXPROCS)")
	goroot := fs.String("goroot", "", "Go installation whose src/ comments form the corpus (default: this Go's GOROOT)")
	stories := fs.String("stories", "", "folder holding llama2.c's stories260K.bin and tok512.bin (default: $GLOSSA_SHARED/models/stories260K, GLOSSA_SHARED defaulting to ../shared)")
	seed := fs.Uint64("seed", 42, "seed for model initialisation, data order and sampling")
	bf16 := fs.Bool("bf16", kernels.CPU().FastBF16(), "pretrain the encoder in bfloat16 mixed precision (mlm, mlm-nsp); the default is on where the CPU has AVX-512 BF16 or AMX, which make it faster than float32")
	part := fs.String("part", "all", "run all stages, or only the encoder (1–3) or the GPT-2 and generation (4–5)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, quickstartUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case !(*scale > 0) || *scale > 100:
		return fmt.Errorf("%w: --steps-scale must be in (0, 100], got %g", errUsage, *scale)
	case *threads < 0:
		return fmt.Errorf("%w: --threads must not be negative", errUsage)
	case *seeds < 1 || *seeds > 20:
		return fmt.Errorf("%w: --seeds must be in [1, 20], got %d", errUsage, *seeds)
	case *part != "all" && *part != "encoder" && *part != "gpt":
		return fmt.Errorf("%w: --part must be all, encoder or gpt, got %q", errUsage, *part)
	case *objective != string(pretrain.Electra) && *objective != string(pretrain.MLMNSP) && *objective != string(pretrain.MLM):
		return fmt.Errorf("%w: --objective must be mlm, mlm-nsp or electra, got %q", errUsage, *objective)
	}
	if *threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	}
	root := *goroot
	if root == "" {
		var err error
		if root, err = quickstart.FindGoroot(ctx); err != nil {
			return err
		}
	}
	dir := *out
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "glossa-quickstart-"); err != nil {
			return err
		}
	}
	if *stories == "" {
		shared := os.Getenv("GLOSSA_SHARED")
		if shared == "" {
			shared = filepath.Join("..", "shared")
		}
		*stories = filepath.Join(shared, "models", "stories260K")
	}
	ft := make([]uint64, *seeds)
	for i := range ft {
		ft[i] = uint64(i + 1)
	}
	fmt.Fprintf(stdout, "glossa quickstart: corpus from %s, run folder %s, %d threads\n", filepath.Join(root, "src"), dir, runtime.GOMAXPROCS(0))
	start := time.Now()
	res, err := quickstart.Run(ctx, quickstart.Options{Dir: dir, GoRoot: root, Plan: quickstart.NewPlan(*scale),
		Objective: pretrain.Objective(*objective), Seed: *seed, BF16: *bf16, FinetuneSeeds: ft, Stories: *stories,
		Part: *part, Out: stdout, Progress: stderr})
	total := time.Since(start)
	if res != nil {
		printQuickstart(stdout, res, total)
	}
	return err
}

// printQuickstart prints the comparison and the stage timings.
func printQuickstart(w io.Writer, res *quickstart.Result, total time.Duration) {
	if len(res.Pretrained) > 0 && len(res.Scratch) > 0 {
		pa, pf := quickstart.Summarize(res.Pretrained)
		sa, sf := quickstart.Summarize(res.Scratch)
		fmt.Fprintf(w, "\n== result: pretrained vs from scratch, %d dev comments, %d seeds (mean ± std, min–max) ==\n", len(res.Split.Dev), pa.N)
		fmt.Fprintf(w, "  accuracy  %s vs %s\n  macro F1  %s vs %s\n", pa, sa, pf, sf)
	}
	fmt.Fprintf(w, "\n== timings ==\n")
	for _, t := range res.Timings {
		fmt.Fprintf(w, "  %-72s %7.1fs\n", t.Stage, t.Time.Seconds())
	}
	fmt.Fprintf(w, "  %-72s %7.1fs\n", "total", total.Seconds())
}
