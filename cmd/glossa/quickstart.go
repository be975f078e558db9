package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/models/gpt2"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
)

const quickstartUsage = `Usage: glossa quickstart [--out DIR] [--steps-scale F] [--threads N] [--goroot DIR]

Runs Glossa's whole recipe on a corpus that needs no download: the
documentation comments of the Go installation's own sources
($GOROOT/src, test files and testdata left out). In order:

  1. train a WordPiece tokenizer on the comments       (glossa tokenizer train)
  2. pretrain a small BERT with masked LM + NSP         (glossa pretrain --objective mlm-nsp)
  3. fine-tune it to tell which package tree a comment  (glossa finetune, twice:
     comes from (net, crypto, go, runtime), next to the  pretrained and
     same architecture trained from scratch              --from-scratch)
  4. train a byte-level BPE and a small GPT-2 on the    (glossa pretrain --objective clm,
     raw comments and continue "// Package" prompts      glossa generate)

Each stage calls the same code as the command shown and prints its timing.
The default budget is a few minutes on 2 cores; --steps-scale multiplies the
corpus size and every step count (0.05 is a smoke run of seconds).`

// quickstartClasses are the package trees of the classification task.
var quickstartClasses = []string{"crypto", "go", "net", "runtime"}

// quickstartPlan holds the sizes of one quickstart run, derived from --steps-scale.
type quickstartPlan struct {
	corpusBytes  int // cap of the prose corpus
	perTreeBytes int // cap per top-level package tree
	perClass     int // labelled examples per class (train + dev)
	wpVocab      int
	bpeVocab     int
	bertSteps    int
	ftSteps      int
	gptSteps     int
	genTokens    int
}

// newQuickstartPlan scales the default budget (a few minutes on 2 cores) by
// scale, keeping every stage non-empty.
func newQuickstartPlan(scale float64) quickstartPlan {
	s := func(n, lo int) int { return max(lo, int(math.Round(float64(n)*scale))) }
	return quickstartPlan{
		corpusBytes:  s(3<<20, 128<<10),
		perTreeBytes: s(256<<10, 24<<10),
		perClass:     s(500, 40),
		wpVocab:      s(4000, 600),
		bpeVocab:     s(2000, 400),
		bertSteps:    s(600, 4),
		ftSteps:      s(150, 4),
		gptSteps:     s(500, 4),
		genTokens:    s(48, 8),
	}
}

// runQuickstart implements "glossa quickstart": the whole recipe, stage by
// stage, on a corpus built from the Go installation's doc comments.
func runQuickstart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quickstart", stderr)
	out := fs.String("out", "", "run folder (default: a new temporary folder, kept for inspection)")
	scale := fs.Float64("steps-scale", 1, "multiply the corpus size and every step count by F (0.05: a smoke run)")
	threads := fs.Int("threads", 0, "worker threads (0: GOMAXPROCS)")
	goroot := fs.String("goroot", "", "Go installation whose src/ comments form the corpus (default: this Go's GOROOT)")
	seed := fs.Uint64("seed", 42, "seed for model initialisation, data order and sampling")
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
	}
	if *threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	}
	root := *goroot
	if root == "" {
		var err error
		if root, err = findGoroot(ctx); err != nil {
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
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plan := newQuickstartPlan(*scale)
	q := &quickstart{ctx: ctx, stdout: stdout, stderr: stderr, dir: dir, plan: plan, seed: strconv.FormatUint(*seed, 10)}
	fmt.Fprintf(stdout, "glossa quickstart: corpus from %s, run folder %s, %d threads\n", filepath.Join(root, "src"), dir, runtime.GOMAXPROCS(0))
	start := time.Now()
	err := q.run(root)
	q.printTimings(time.Since(start))
	return err
}

// quickstart is one run of the recipe.
type quickstart struct {
	ctx            context.Context
	stdout, stderr io.Writer
	dir            string
	plan           quickstartPlan
	seed           string
	timings        []stageTiming
}

type stageTiming struct {
	name string
	d    time.Duration
}

// stage prints a header, runs fn and records its duration.
func (q *quickstart) stage(name string, fn func() error) error {
	fmt.Fprintf(q.stdout, "\n== %s ==\n", name)
	t := time.Now()
	err := fn()
	d := time.Since(t)
	q.timings = append(q.timings, stageTiming{name, d})
	fmt.Fprintf(q.stdout, "-- %s: %.1fs\n", name, d.Seconds())
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return q.ctx.Err()
}

// sub runs a glossa subcommand with args, writing its results to w.
func (q *quickstart) sub(w io.Writer, args ...string) error {
	fmt.Fprintf(q.stdout, "$ glossa %s\n", shellJoin(args))
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(q.ctx, args[1:], w, q.stderr)
		}
	}
	return fmt.Errorf("no command %q", args[0])
}

func (q *quickstart) printTimings(total time.Duration) {
	fmt.Fprintf(q.stdout, "\n== timings ==\n")
	for _, t := range q.timings {
		fmt.Fprintf(q.stdout, "  %-42s %7.1fs\n", t.name, t.d.Seconds())
	}
	fmt.Fprintf(q.stdout, "  %-42s %7.1fs\n", "total", total.Seconds())
}

func (q *quickstart) run(goroot string) error {
	p := q.plan
	path := func(n string) string { return filepath.Join(q.dir, n) }
	var c *godocCorpus
	err := q.stage("0. corpus: Go doc comments", func() error {
		var err error
		if c, err = collectGodoc(filepath.Join(goroot, "src"), p.corpusBytes, p.perTreeBytes); err != nil {
			return err
		}
		if err := writeGodocFiles(c, q.dir, p.perClass, q.stdout); err != nil {
			return err
		}
		fmt.Fprintf(q.stdout, "%d doc comments from %d files, %d package trees: prose %s (%d KB), raw %s (%d KB)\n",
			len(c.docs), c.files, c.trees, path("prose.txt"), c.proseBytes>>10, path("godoc.txt"), c.rawBytes>>10)
		return nil
	})
	if err != nil {
		return err
	}
	bertArch := []string{"--layers", "2", "--width", "128", "--heads", "4", "--block-size", "64"}
	err = q.stage("1. WordPiece tokenizer", func() error {
		return q.sub(q.stdout, "tokenizer", "train", "--type", "wordpiece", "--vocab-size", strconv.Itoa(p.wpVocab),
			"--quiet", "--out", path("wordpiece"), path("prose.txt"))
	})
	if err != nil {
		return err
	}
	err = q.stage("2. BERT pretraining (MLM + NSP)", func() error {
		args := []string{"pretrain", "--objective", "mlm-nsp", "--tokenizer", path("wordpiece"), "--data", path("prose.txt"),
			"--out", path("bert"), "--cache-dir", path("cache")}
		args = append(args, bertArch...)
		args = append(args, "--steps", strconv.Itoa(p.bertSteps), "--batch-size", "32", "--lr", "1e-3",
			"--warmup", strconv.Itoa(max(1, p.bertSteps/10)), "--eval-every", "0", "--eval-blocks", "64",
			"--save-every", "0", "--keep", "1", "--log-every", "10", "--seed", q.seed, "--progress", "log")
		return q.sub(q.stdout, args...)
	})
	if err != nil {
		return err
	}
	var pre, scratch [2]float64
	ft := func(name string, res *[2]float64, extra ...string) error {
		return q.stage(name, func() error {
			args := []string{"finetune", "--model", path("bert"), "--train", path("classify-train.jsonl"),
				"--dev", path("classify-dev.jsonl"), "--out", path(extra[0]), "--max-len", "64", "--batch-size", "32",
				"--steps", strconv.Itoa(p.ftSteps), "--lr", "1e-3", "--seed", q.seed, "--progress", "log"}
			args = append(args, extra[1:]...)
			var buf bytes.Buffer
			err := q.sub(io.MultiWriter(q.stdout, &buf), args...)
			*res = parseDevScores(buf.String())
			return err
		})
	}
	if err := ft("3a. fine-tune the pretrained BERT", &pre, "classifier"); err != nil {
		return err
	}
	if err := ft("3b. same architecture from scratch", &scratch, "classifier-scratch", "--from-scratch"); err != nil {
		return err
	}
	fmt.Fprintf(q.stdout, "\npretrained vs from scratch on %d dev comments: accuracy %.3f vs %.3f, macro F1 %.3f vs %.3f\n",
		c.dev, pre[0], scratch[0], pre[1], scratch[1])
	err = q.stage("4a. byte-level BPE tokenizer", func() error {
		return q.sub(q.stdout, "tokenizer", "train", "--type", "bpe", "--vocab-size", strconv.Itoa(p.bpeVocab),
			"--quiet", "--out", path("bpe"), path("godoc.txt"))
	})
	if err != nil {
		return err
	}
	err = q.stage("4b. GPT-2 pretraining (causal LM)", func() error {
		return q.sub(q.stdout, "pretrain", "--objective", "clm", "--tokenizer", path("bpe"), "--data", path("godoc.txt"),
			"--out", path("gpt"), "--cache-dir", path("cache"), "--layers", "2", "--width", "128", "--heads", "4",
			"--block-size", "128", "--steps", strconv.Itoa(p.gptSteps), "--batch-size", "16", "--lr", "2e-3",
			"--warmup", strconv.Itoa(max(1, p.gptSteps/10)), "--eval-every", "0", "--eval-blocks", "32",
			"--save-every", "0", "--keep", "1", "--log-every", "10", "--seed", q.seed, "--progress", "log")
	})
	if err != nil {
		return err
	}
	return q.stage("4c. generation", func() error { return q.generate(path("gpt")) })
}

// generate prints greedy and sampled continuations of "// Package" prompts
// from the GPT-2 in dir, run by models/gpt2's inference path and
// generate.Generate.
func (q *quickstart) generate(dir string) error {
	m, err := gpt2.LoadInference(dir, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	tok, err := tokauto.Load(dir)
	if err != nil {
		return err
	}
	seed, _ := strconv.ParseUint(q.seed, 10, 64)
	eot, hasEOT := tok.TokenToID(bpe.EndOfText)
	for _, g := range []struct {
		prompt string
		opts   generate.SamplingOptions
	}{
		{"// Package", generate.SamplingOptions{RepetitionPenalty: 1.3}},
		{"// Package net", generate.SamplingOptions{RepetitionPenalty: 1.3}},
		{"// Package", generate.SamplingOptions{Temperature: 0.8, TopK: 40}},
		{"// Package crypto", generate.SamplingOptions{Temperature: 0.8, TopK: 40}},
	} {
		enc, err := tok.Encode(g.prompt)
		if err != nil {
			return err
		}
		opts := generate.Options{SamplingOptions: g.opts, Seed: seed, MaxNewTokens: q.plan.genTokens,
			Decoder: tok, StopStrings: []string{"\n\n"}}
		if hasEOT {
			opts.StopTokens = []int{eot}
		}
		seqs, err := generate.Generate(q.ctx, m, [][]int{enc.IDs}, opts)
		if err != nil {
			return err
		}
		mode := fmt.Sprintf("greedy, repetition penalty %g", g.opts.RepetitionPenalty)
		if g.opts.Temperature > 0 {
			mode = fmt.Sprintf("sampled, T=%g top-k %d", g.opts.Temperature, g.opts.TopK)
		}
		fmt.Fprintf(q.stdout, "[%s]\n%s%s\n\n", mode, g.prompt, seqs[0].Text)
	}
	return nil
}

// parseDevScores finds "dev accuracy A, macro F1 F" in finetune's output.
func parseDevScores(s string) [2]float64 {
	var r [2]float64
	for line := range strings.SplitSeq(s, "\n") {
		if _, err := fmt.Sscanf(line, "dev accuracy %g, macro F1 %g", &r[0], &r[1]); err == nil {
			break
		}
	}
	return r
}

// shellJoin quotes args for display as one command line.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// findGoroot returns the Go installation: $GOROOT, "go env GOROOT", or the
// one this binary was built with.
func findGoroot(ctx context.Context) (string, error) {
	var cands []string
	if r := os.Getenv("GOROOT"); r != "" {
		cands = append(cands, r)
	}
	if b, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output(); err == nil {
		cands = append(cands, strings.TrimSpace(string(b)))
	}
	cands = append(cands, runtime.GOROOT()) //nolint:staticcheck // last resort: the build-time GOROOT
	for _, r := range cands {
		if st, err := os.Stat(filepath.Join(r, "src", "runtime")); r != "" && err == nil && st.IsDir() {
			return r, nil
		}
	}
	return "", fmt.Errorf("no Go installation with sources found (tried %q): give --goroot", cands)
}

// godocDoc is one documentation comment.
type godocDoc struct {
	tree string // top-level package tree: "net", "crypto", ...
	raw  string // the comment on one line, "// " first
	text string // the comment as prose, one paragraph per line
}

// godocCorpus is the documentation comments of a Go source tree.
type godocCorpus struct {
	docs                 []godocDoc
	files, trees         int
	proseBytes, rawBytes int
	train, dev           int // labelled examples written
}

// collectGodoc walks src in lexical order and collects the // comment blocks
// directly preceding top-level declarations of non-test .go files, skipping
// testdata and vendor folders, at most perTree prose bytes per top-level
// tree and total bytes overall.
func collectGodoc(src string, total, perTree int) (*godocCorpus, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	// The classification trees first, so that small budgets still cover them.
	trees := slices.Clone(quickstartClasses)
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(trees, e.Name()) && e.Name() != "testdata" && e.Name() != "vendor" {
			trees = append(trees, e.Name())
		}
	}
	c := &godocCorpus{}
	for _, tree := range trees {
		if c.proseBytes >= total {
			break
		}
		if err := c.collectTree(filepath.Join(src, tree), tree, min(perTree, total-c.proseBytes)); err != nil {
			return nil, fmt.Errorf("quickstart: reading %s: %w", src, err)
		}
	}
	if len(c.docs) == 0 {
		return nil, fmt.Errorf("quickstart: no doc comments under %s", src)
	}
	return c, nil
}

// collectTree adds the doc comments of one top-level tree, at most limit
// prose bytes.
func (c *godocCorpus) collectTree(root, tree string, limit int) error {
	n := 0
	found := false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case n >= limit:
			return filepath.SkipAll
		case d.IsDir():
			if name := d.Name(); p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		case !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go"):
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		c.files++
		for _, doc := range extractGodoc(b) {
			if n >= limit {
				break
			}
			doc.tree = tree
			c.docs = append(c.docs, doc)
			found = true
			n += len(doc.text) + 2
			c.proseBytes += len(doc.text) + 2
			c.rawBytes += len(doc.raw) + 2
		}
		return nil
	})
	if found {
		c.trees++
	}
	return err
}

// declPrefixes start the top-level declarations whose doc comments are kept.
var declPrefixes = []string{"func ", "type ", "var ", "const ", "package "}

// extractGodoc returns the doc comments of the top-level declarations in a
// Go source file: runs of "//" lines (directives such as //go: excluded)
// immediately followed by an unindented declaration.
func extractGodoc(src []byte) []godocDoc {
	var docs []godocDoc
	var block []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "//") {
			if isDirective(line) {
				continue
			}
			block = append(block, line)
			continue
		}
		if len(block) > 0 && slices.ContainsFunc(declPrefixes, func(p string) bool { return strings.HasPrefix(line, p) }) {
			if d, ok := makeGodoc(block); ok {
				docs = append(docs, d)
			}
		}
		block = block[:0]
	}
	return docs
}

// isDirective reports whether a comment line is a tool directive
// (//go:build, //go:linkname, //export, //line, //nolint ...).
func isDirective(line string) bool {
	rest := line[2:]
	if rest == "" || rest[0] == ' ' || rest[0] == '\t' {
		return false
	}
	return true
}

// makeGodoc builds a document from the comment lines of a declaration;
// very short comments, licence headers and generated-code notices are dropped.
func makeGodoc(block []string) (godocDoc, bool) {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, l := range block {
		t := strings.TrimSpace(strings.TrimPrefix(l, "//"))
		if t == "" {
			flush()
			continue
		}
		if strings.HasPrefix(strings.TrimPrefix(l, "//"), "\t") || strings.HasPrefix(l, "//   ") {
			continue // code sample inside the comment
		}
		cur = append(cur, t)
	}
	flush()
	text := strings.Join(paras, "\n")
	if len(text) < 40 || strings.HasPrefix(text, "Copyright") || strings.HasPrefix(text, "Code generated") {
		return godocDoc{}, false
	}
	// The causal-LM corpus keeps one comment per line: the packed token
	// files of "glossa pretrain --objective clm" drop line breaks.
	raw := "// " + strings.Join(paras, " ")
	return godocDoc{raw: raw, text: text}, true
}

// writeGodocFiles writes prose.txt (one document per comment, blank-line
// separated, for WordPiece and BERT), godoc.txt (one "// " comment line per
// comment, for BPE and GPT-2) and the balanced classification split
// classify-train.jsonl / classify-dev.jsonl (every fifth example of each
// class to dev).
func writeGodocFiles(c *godocCorpus, dir string, perClass int, stdout io.Writer) error {
	var prose, raw bytes.Buffer
	byClass := map[string][]string{}
	for _, d := range c.docs {
		prose.WriteString(d.text)
		prose.WriteString("\n\n")
		raw.WriteString(d.raw)
		raw.WriteString("\n\n")
		if slices.Contains(quickstartClasses, d.tree) {
			// One line of prose: the classifier sees at most --max-len tokens anyway.
			byClass[d.tree] = append(byClass[d.tree], strings.ReplaceAll(d.text, "\n", " "))
		}
	}
	n := perClass
	for _, cl := range quickstartClasses {
		n = min(n, len(byClass[cl]))
	}
	if n < 10 {
		return fmt.Errorf("quickstart: only %d doc comments in the smallest of the trees %v; need 10", n, quickstartClasses)
	}
	var trainBuf, devBuf bytes.Buffer
	// Interleave the classes so that any prefix of the file is balanced.
	for i := range n {
		for _, cl := range quickstartClasses {
			docs := byClass[cl]
			// Spread the picks over the whole tree rather than its first files.
			text := docs[i*len(docs)/n]
			line, err := json.Marshal(map[string]string{"text": text, "label": cl})
			if err != nil {
				return err
			}
			w := &trainBuf
			if i%5 == 4 {
				w, c.dev = &devBuf, c.dev+1
			} else {
				c.train++
			}
			w.Write(line)
			w.WriteByte('\n')
		}
	}
	for name, b := range map[string][]byte{"prose.txt": prose.Bytes(), "godoc.txt": raw.Bytes(),
		"classify-train.jsonl": trainBuf.Bytes(), "classify-dev.jsonl": devBuf.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "classification: %d classes %v, %d per class, %d train / %d dev examples\n",
		len(quickstartClasses), quickstartClasses, n, c.train, c.dev)
	return nil
}
