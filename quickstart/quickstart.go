// Package quickstart runs Glossa's whole two-stage recipe on a corpus that
// needs no download — the documentation comments of the Go installation's
// own sources ($GOROOT/src, test files and testdata left out) — within a
// few minutes on two cores:
//
//  1. train a WordPiece tokenizer on the comments;
//  2. pretrain a small encoder on them (BERT's masked LM on packed
//     sentences, 40 % masked, by default; or MLM + NSP, or ELECTRA);
//  3. fine-tune it to tell which package tree (crypto, go, net, runtime) a
//     comment comes from, over several seeds, beside the same architecture
//     fine-tuned from scratch with the same recipe;
//  4. train a byte-level BPE and a small GPT-2 on the raw comments and let it
//     continue "// Package" prompts;
//  5. when the llama2.c stories260K model is at hand, continue a story with
//     that real pretrained model too.
//
// Every stage calls the library packages that the CLI's commands call
// (tokenizer/wordpiece, tokenizer/bpe, pretrain, train, generate), and
// leaves its files in the run folder, so that each step can be rerun with
// the command named in the report.
package quickstart

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/optim"
	"github.com/glossa-ai/glossa/pretrain"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
	"github.com/glossa-ai/glossa/train"
)

// Plan holds the sizes of one run.
type Plan struct {
	CorpusBytes   int // cap of the prose corpus
	PerTreeBytes  int // cap per top-level package tree
	PerClass      int // labelled examples per class (train + dev)
	WordPiece     int // WordPiece vocabulary
	BPE           int // byte-level BPE vocabulary
	EncoderSteps  int // pretraining steps
	FinetuneSteps int
	GPTSteps      int
	GenTokens     int // new tokens per generated sample
}

// NewPlan scales the default budget (about three minutes on two cores) by
// scale, keeping every stage non-empty: 0.05 is a smoke run of seconds.
func NewPlan(scale float64) Plan {
	s := func(n, lo int) int { return max(lo, int(math.Round(float64(n)*scale))) }
	return Plan{
		CorpusBytes:   s(3<<20, 128<<10),
		PerTreeBytes:  s(256<<10, 24<<10),
		PerClass:      s(500, 40),
		WordPiece:     s(4000, 600),
		BPE:           s(2000, 400),
		EncoderSteps:  s(3000, 4),
		FinetuneSteps: s(150, 4),
		GPTSteps:      s(600, 4),
		GenTokens:     s(48, 8),
	}
}

// Options configure Run. Dir and GoRoot are required.
type Options struct {
	Dir    string // run folder, created if needed
	GoRoot string // the Go installation whose src/ comments form the corpus (see FindGoroot)
	// Plan sizes the run (zero: NewPlan(1)).
	Plan Plan
	// Objective pretrains the encoder (zero: pretrain.MLM, the masked LM
	// on packed sentences; at this budget NSP's short pairs and ELECTRA's
	// discriminator leave the encoder worse than a fresh one, see docs/RESULTS.md).
	Objective pretrain.Objective
	// BF16 pretrains the encoder in bfloat16 mixed precision (bf16
	// products with float32 sums, float32 master weights and optimizer
	// state; `glossa quickstart` turns it on where kernels.CPU().FastBF16()).
	// It is about 1.3× faster on CPUs with AVX-512 BF16; elsewhere the
	// float32 kernels compute the same bits, no faster.
	BF16 bool
	// Seed drives initialisation, data order and sampling.
	Seed uint64
	// FinetuneSeeds are the fine-tuning seeds of the comparison (nil: 1, 2, 3).
	FinetuneSeeds []uint64
	// Stories is a folder holding llama2.c's stories260K.bin and
	// tok512.bin; empty or absent, that stage says so and is skipped.
	Stories string
	// Part runs only one half of the recipe: "encoder" (stages 1–3),
	// "gpt" (4–5), or both (zero or "all").
	Part string
	// Out receives the report: each stage's command, results and timing
	// (nil: discarded).
	Out io.Writer
	// Progress receives the training runs' progress lines (nil: none).
	Progress io.Writer
}

// Scores are one fine-tuning run's dev results.
type Scores struct {
	Seed              uint64
	Accuracy, MacroF1 float64
}

// Timing is the wall time of one stage.
type Timing struct {
	Stage string
	Time  time.Duration
}

// Result is what a run measured.
type Result struct {
	Corpus     *Corpus
	Split      *Split
	Encoder    train.Result // the pretraining run
	Pretrained []Scores     // fine-tuned from the pretrained encoder, one per seed
	Scratch    []Scores     // the same architecture from scratch, one per seed
	GPT        train.Result
	Samples    []Sample // the GPT-2's continuations
	Stories    []Sample // stories260K's; nil when it is absent
	Timings    []Timing
}

// run is one run of the recipe.
type run struct {
	ctx context.Context
	o   Options
	out io.Writer
	res *Result
}

// Run runs the recipe. A cancelled context stops it at the next step of
// the current stage, with the error.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Dir == "" || o.GoRoot == "" {
		return nil, fmt.Errorf("quickstart: a run folder and a Go installation are required")
	}
	if o.Plan == (Plan{}) {
		o.Plan = NewPlan(1)
	}
	if o.Objective == "" {
		o.Objective = pretrain.MLM
	}
	if o.Objective != pretrain.Electra && o.Objective != pretrain.MLMNSP && o.Objective != pretrain.MLM {
		return nil, fmt.Errorf("quickstart: the encoder pretrains with mlm, mlm-nsp or electra, not %q", o.Objective)
	}
	if o.FinetuneSeeds == nil {
		o.FinetuneSeeds = []uint64{1, 2, 3}
	}
	switch o.Part {
	case "", "all", "encoder", "gpt":
	default:
		return nil, fmt.Errorf("quickstart: part must be all, encoder or gpt, not %q", o.Part)
	}
	if len(o.FinetuneSeeds) == 0 {
		return nil, fmt.Errorf("quickstart: no fine-tuning seeds")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	r := &run{ctx: ctx, o: o, out: o.Out, res: &Result{}}
	if r.out == nil {
		r.out = io.Discard
	}
	return r.res, r.all()
}

func (r *run) path(name string) string { return filepath.Join(r.o.Dir, name) }

// stage prints a header, runs fn and records its duration.
func (r *run) stage(name string, fn func() error) error {
	fmt.Fprintf(r.out, "\n== %s ==\n", name)
	t := time.Now()
	err := fn()
	d := time.Since(t)
	r.res.Timings = append(r.res.Timings, Timing{name, d})
	fmt.Fprintf(r.out, "-- %s: %.1fs\n", name, d.Seconds())
	if err != nil {
		return fmt.Errorf("quickstart: %s: %w", name, err)
	}
	return r.ctx.Err()
}

func (r *run) all() error {
	p := r.o.Plan
	err := r.stage("0. corpus: Go doc comments", func() error {
		c, err := CollectGodoc(filepath.Join(r.o.GoRoot, "src"), p.CorpusBytes, p.PerTreeBytes)
		if err != nil {
			return err
		}
		sp, err := c.WriteFiles(r.o.Dir, p.PerClass)
		if err != nil {
			return err
		}
		r.res.Corpus, r.res.Split = c, sp
		fmt.Fprintf(r.out, "%d doc comments from %d files, %d package trees: prose %s (%d KB), raw %s (%d KB)\n",
			len(c.Docs), c.Files, c.Trees, r.path("prose.txt"), c.ProseBytes>>10, r.path("godoc.txt"), c.RawBytes>>10)
		fmt.Fprintf(r.out, "classification: %d classes %v, %d per class, %d train / %d dev examples\n",
			len(Classes), Classes, sp.PerClass, len(sp.Train), len(sp.Dev))
		return nil
	})
	if err != nil {
		return err
	}
	if r.o.Part != "gpt" {
		if err := r.encoder(); err != nil {
			return err
		}
	}
	if r.o.Part == "encoder" {
		return nil
	}
	if err := r.gpt(); err != nil {
		return err
	}
	return r.stories()
}

// encoder is stages 1–3: tokenizer, pretraining, fine-tuning.
func (r *run) encoder() error {
	p := r.o.Plan
	var wp *tokenizer.Tokenizer
	var wpModel *wordpiece.Model
	err := r.stage("1. WordPiece tokenizer", func() error {
		fmt.Fprintf(r.out, "$ glossa tokenizer train --type wordpiece --vocab-size %d --out %s %s\n", p.WordPiece, r.path("wordpiece"), r.path("prose.txt"))
		m, err := wordpiece.TrainFiles(r.ctx, []string{r.path("prose.txt")}, wordpiece.TrainOptions{VocabSize: p.WordPiece})
		if err != nil {
			return err
		}
		if err := os.MkdirAll(r.path("wordpiece"), 0o755); err != nil {
			return err
		}
		if err := m.SaveDir(r.path("wordpiece")); err != nil {
			return err
		}
		wpModel = m
		wp, err = tokauto.Load(r.path("wordpiece"))
		if err == nil {
			fmt.Fprintf(r.out, "vocabulary of %d\n", wp.VocabSize())
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := r.pretrainEncoder(wp, wpModel); err != nil {
		return err
	}
	return r.finetuneAll(wp)
}

// encoderShape is the quickstart encoder: 2 layers, 128 wide, 4 heads,
// 64-token sequences.
const (
	encLayers, encWidth, encHeads, encBlock = 2, 128, 4, 64
)

// pretrainEncoder is stage 2.
func (r *run) pretrainEncoder(tok *tokenizer.Tokenizer, wp *wordpiece.Model) error {
	p := r.o.Plan
	name := "2. encoder pretraining (ELECTRA: generator MLM + replaced-token detection)"
	switch r.o.Objective {
	case pretrain.MLMNSP:
		name = "2. BERT pretraining (MLM + NSP)"
	case pretrain.MLM:
		name = "2. BERT pretraining (masked LM on packed sentences)"
	}
	return r.stage(name, func() error {
		// 40 % masking at 2e-3 (Wettig et al. 2023 on masking rates): more
		// predictions per step; of the settings tried, the one whose encoder
		// leaves the unigram plateau within the budget (see docs/RESULTS.md).
		const batch, lr, maskProb = 32, 2e-3, 0.4
		// ELECTRA's two networks have no bf16 path.
		bf16, bf16Flag := r.o.BF16 && r.o.Objective != pretrain.Electra, ""
		if bf16 {
			bf16Flag = " --bf16"
		}
		fmt.Fprintf(r.out, "$ glossa pretrain --objective %s --tokenizer %s --data %s --out %s --layers %d --width %d --heads %d "+
			"--block-size %d --batch-size %d --steps %d --lr %g --mask-prob %g --dropout 0 --seed %d%s\n", r.o.Objective, r.path("wordpiece"),
			r.path("prose.txt"), r.path("encoder"), encLayers, encWidth, encHeads, encBlock, batch, p.EncoderSteps, lr, maskProb, r.o.Seed, bf16Flag)
		corpus, err := data.OpenCorpus(r.path("prose.txt"))
		if err != nil {
			return err
		}
		vocab, err := os.ReadFile(r.path("wordpiece/vocab.txt"))
		if err != nil {
			return err
		}
		task, err := pretrain.NewTask(r.ctx, pretrain.Options{Objective: r.o.Objective, Corpus: corpus, Tokenizer: tok,
			TokenizerID: vocab, SaveExtra: wp.SaveDir, CacheDir: r.path("cache"), Layers: encLayers, Width: encWidth,
			Heads: encHeads, BlockSize: encBlock, BatchSize: batch, EvalBlocks: 64, Seed: r.o.Seed, MaskProb: maskProb, BF16: bf16})
		if err != nil {
			return err
		}
		res, err := r.train(task, r.path("encoder"), train.Config{Steps: p.EncoderSteps, LR: lr, Warmup: max(1, p.EncoderSteps/10),
			Decay: optim.DecayCosine, WeightDecay: 0.01, Beta2: 0.99, Clip: 1, LogEvery: 10}, "pretrain "+string(r.o.Objective))
		r.res.Encoder = res
		return err
	})
}

// train runs a task into dir (a fresh run) and prints its end.
func (r *run) train(task train.Task, dir string, cfg train.Config, desc string) (train.Result, error) {
	if err := os.RemoveAll(dir); err != nil {
		return train.Result{}, err
	}
	cfg.OutDir, cfg.KeepCheckpoints = dir, 1
	mode := train.ProgressLog
	if r.o.Progress == nil {
		mode = train.ProgressOff
	}
	cfg.Progress = train.ProgressOptions{Out: r.o.Progress, Mode: mode, Description: desc}
	tr, err := train.NewTrainer(task, cfg)
	if err != nil {
		return train.Result{}, err
	}
	res, err := tr.Run(r.ctx)
	if err != nil {
		return res, err
	}
	if res.Interrupted {
		return res, r.ctx.Err()
	}
	fmt.Fprintf(r.out, "done: %d steps, %d tokens; eval loss %.4f", res.Step, res.Tokens, res.LastEval.Loss)
	for _, k := range sortedKeys(res.LastEval.Metrics) {
		fmt.Fprintf(r.out, ", %s %.4f", k, res.LastEval.Metrics[k])
	}
	fmt.Fprintf(r.out, "\nmodel: %s\n", dir)
	return res, nil
}

// finetuneAll is stage 3: every seed, pretrained and from scratch.
func (r *run) finetuneAll(tok *tokenizer.Tokenizer) error {
	sp := r.res.Split
	lm, err := data.NewLabelMap(sp.Train)
	if err != nil {
		return err
	}
	encode := func(ex []data.Example) ([]data.ClassExample, error) {
		ids := make([]int, len(ex))
		for i, e := range ex {
			id, ok := lm.ID(e.Label)
			if !ok {
				return nil, fmt.Errorf("unknown label %q", e.Label)
			}
			ids[i] = id
		}
		return data.EncodeClassification(tok, ex, ids, encBlock)
	}
	trainEx, err := encode(sp.Train)
	if err != nil {
		return err
	}
	devEx, err := encode(sp.Dev)
	if err != nil {
		return err
	}
	pad, _ := tok.TokenToID("[PAD]")
	for _, scratch := range []bool{false, true} {
		name := "3a. fine-tune the pretrained encoder"
		if scratch {
			name = "3b. same architecture from scratch"
		}
		err := r.stage(name, func() error {
			for i, seed := range r.o.FinetuneSeeds {
				s, err := r.finetune(trainEx, devEx, lm.Labels(), int32(pad), seed, scratch, i == 0)
				if err != nil {
					return err
				}
				if scratch {
					r.res.Scratch = append(r.res.Scratch, s)
				} else {
					r.res.Pretrained = append(r.res.Pretrained, s)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	pa, pf := Summarize(r.res.Pretrained)
	sa, sf := Summarize(r.res.Scratch)
	fmt.Fprintf(r.out, "\npretrained (%s) vs from scratch on %d dev comments, %d fine-tuning seeds:\n", r.o.Objective, len(sp.Dev), len(r.o.FinetuneSeeds))
	fmt.Fprintf(r.out, "  accuracy  %s vs %s\n  macro F1  %s vs %s\n", pa, sa, pf, sf)
	return nil
}

// finetune trains one classifier and returns its dev scores; verbose
// prints its report and confusion matrix.
func (r *run) finetune(trainEx, devEx []data.ClassExample, labels []string, pad int32, seed uint64, scratch, verbose bool) (Scores, error) {
	const batch, lr = 32, 1e-3
	p := r.o.Plan
	dir := r.path(fmt.Sprintf("classifier-%d", seed))
	flag := ""
	if scratch {
		dir, flag = r.path(fmt.Sprintf("classifier-scratch-%d", seed)), " --from-scratch"
	}
	fmt.Fprintf(r.out, "$ glossa finetune --model %s --train %s --dev %s --out %s --max-len %d --batch-size %d --steps %d --lr %g --seed %d%s\n",
		r.path("encoder"), r.path("classify-train.jsonl"), r.path("classify-dev.jsonl"), dir, encBlock, batch, p.FinetuneSteps, lr, seed, flag)
	rng := tensor.NewRNG(seed)
	model, err := finetune.NewClassifier(r.path("encoder"), labels, rng)
	if err != nil {
		return Scores{}, err
	}
	if scratch {
		if model, err = bert.NewForSequenceClassification(model.Bert.Config, tensor.NewRNG(seed)); err != nil {
			return Scores{}, err
		}
	}
	ct, err := finetune.NewClassifyTask(model, trainEx, finetune.ClassifyOptions{BatchSize: batch, Seed: seed, PadID: pad, Dev: devEx})
	if err != nil {
		return Scores{}, err
	}
	vocab, err := os.ReadFile(r.path("wordpiece/vocab.txt"))
	if err != nil {
		return Scores{}, err
	}
	ct.SaveExtra = func(d string) error { return atomicfile.WriteFile(filepath.Join(d, "vocab.txt"), vocab) }
	out := r.out
	r.out = io.Discard // one line per run below, not the trainer's summary
	_, err = r.train(ct, dir, train.Config{Steps: p.FinetuneSteps, LR: lr, MinLR: 1e-9 * lr, Warmup: p.FinetuneSteps / 10,
		Decay: optim.DecayLinear, WeightDecay: 0.01, Clip: 1}, "finetune")
	r.out = out
	if err != nil {
		return Scores{}, err
	}
	if ct.LastConfusion == nil {
		return Scores{}, fmt.Errorf("fine-tuning %s: no dev evaluation", dir)
	}
	rep := ct.LastConfusion.Report()
	fmt.Fprintf(r.out, "seed %d: dev accuracy %.4f, macro F1 %.4f (%d examples)\n", seed, rep.Accuracy, rep.Macro.F1, rep.Total)
	if verbose {
		fmt.Fprintf(r.out, "\n%s\n%s\n", rep, ct.LastConfusion)
	}
	return Scores{Seed: seed, Accuracy: rep.Accuracy, MacroF1: rep.Macro.F1}, nil
}

// gpt is stage 4: byte-level BPE, GPT-2 pretraining, generation.
func (r *run) gpt() error {
	p := r.o.Plan
	var tokJSON []byte
	err := r.stage("4a. byte-level BPE tokenizer", func() error {
		fmt.Fprintf(r.out, "$ glossa tokenizer train --type bpe --vocab-size %d --out %s %s\n", p.BPE, r.path("bpe"), r.path("godoc.txt"))
		m, err := bpe.TrainFiles(r.ctx, []string{r.path("godoc.txt")}, bpe.TrainOptions{VocabSize: p.BPE, SpecialTokens: []string{bpe.EndOfText}})
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := m.WriteTokenizerJSON(&b); err != nil {
			return err
		}
		tokJSON = b.Bytes()
		if err := os.MkdirAll(r.path("bpe"), 0o755); err != nil {
			return err
		}
		return atomicfile.WriteFile(r.path("bpe/tokenizer.json"), tokJSON)
	})
	if err != nil {
		return err
	}
	err = r.stage("4b. GPT-2 pretraining (causal LM)", func() error {
		// Block 64 (most comments are shorter) and batch 32 at 3e-3: eval
		// loss 4.21 after 600 steps, where block 128, batch 16 at 2e-3
		// reached 4.53 after 500 at the same cost (see docs/RESULTS.md).
		const layers, width, heads, block, batch, lr = 2, 128, 4, 64, 32, 3e-3
		fmt.Fprintf(r.out, "$ glossa pretrain --objective clm --tokenizer %s --data %s --out %s --layers %d --width %d --heads %d "+
			"--block-size %d --batch-size %d --steps %d --lr %g --seed %d\n", r.path("bpe"), r.path("godoc.txt"), r.path("gpt"),
			layers, width, heads, block, batch, p.GPTSteps, lr, r.o.Seed)
		tok, err := tokauto.Load(r.path("bpe"))
		if err != nil {
			return err
		}
		corpus, err := data.OpenCorpus(r.path("godoc.txt"))
		if err != nil {
			return err
		}
		task, err := pretrain.NewTask(r.ctx, pretrain.Options{Objective: pretrain.CLM, Corpus: corpus, Tokenizer: tok,
			TokenizerID: tokJSON, CacheDir: r.path("cache"), Layers: layers, Width: width, Heads: heads, BlockSize: block,
			BatchSize: batch, EvalBlocks: 32, Seed: r.o.Seed,
			SaveExtra: func(d string) error { return atomicfile.WriteFile(filepath.Join(d, "tokenizer.json"), tokJSON) }})
		if err != nil {
			return err
		}
		r.res.GPT, err = r.train(task, r.path("gpt"), train.Config{Steps: p.GPTSteps, LR: lr, Warmup: max(1, p.GPTSteps/10),
			Decay: optim.DecayCosine, WeightDecay: 0.1, Beta2: 0.99, Clip: 1, LogEvery: 10}, "pretrain clm")
		return err
	})
	if err != nil {
		return err
	}
	return r.stage("4c. generation", func() error {
		s, err := GenerateGodoc(r.ctx, r.path("gpt"), r.o.Seed, p.GenTokens)
		if err != nil {
			return err
		}
		r.res.Samples = s
		printSamples(r.out, s)
		return nil
	})
}

// stories is stage 5.
func (r *run) stories() error {
	return r.stage("5. a real pretrained model: llama2.c stories260K", func() error {
		bin := filepath.Join(r.o.Stories, "stories260K.bin")
		if _, err := os.Stat(bin); r.o.Stories == "" || err != nil {
			fmt.Fprintf(r.out, "stories260K is not here (looked for %s): skipped. Put llama2.c's stories260K.bin and tok512.bin there to run it.\n", bin)
			return nil
		}
		s, err := GenerateStories(r.ctx, r.o.Stories, r.o.Seed, 120)
		if err != nil {
			return err
		}
		r.res.Stories = s
		printSamples(r.out, s)
		return nil
	})
}

func printSamples(w io.Writer, s []Sample) {
	for _, x := range s {
		fmt.Fprintf(w, "[%s]\n%s%s\n\n", x.Mode, x.Prompt, x.Text)
	}
}

// Summary is the mean and spread of a score over fine-tuning seeds.
type Summary struct {
	Mean, Std, Min, Max float64
	N                   int
}

// String formats s as "mean ± std (min–max)".
func (s Summary) String() string {
	return fmt.Sprintf("%.3f ± %.3f (%.3f–%.3f)", s.Mean, s.Std, s.Min, s.Max)
}

// Summarize returns the accuracy and macro-F1 summaries of runs (the
// standard deviation with n−1; zero for one run).
func Summarize(runs []Scores) (acc, f1 Summary) {
	sum := func(get func(Scores) float64) Summary {
		s := Summary{N: len(runs), Min: math.Inf(1), Max: math.Inf(-1)}
		for _, r := range runs {
			v := get(r)
			s.Mean += v / float64(len(runs))
			s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
		}
		if len(runs) > 1 {
			for _, r := range runs {
				d := get(r) - s.Mean
				s.Std += d * d / float64(len(runs)-1)
			}
			s.Std = math.Sqrt(s.Std)
		}
		return s
	}
	return sum(func(r Scores) float64 { return r.Accuracy }), sum(func(r Scores) float64 { return r.MacroF1 })
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
