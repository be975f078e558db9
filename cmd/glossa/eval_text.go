package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/metrics"
	"github.com/glossa-ai/glossa/text2text"
)

const evalTextUsage = `Usage: glossa eval --task translation|summarization --data SPEC
         (--model PATH|ORG/NAME [model flags] | --baseline lead-N|lead-Nw | --predictions FILE) [flags]

Scores a translation model with corpus BLEU (sacreBLEU 2.x semantics: 13a tokenization,
exponential brevity penalty, exp smoothing; the signature is printed) or a summarization
model with ROUGE-1/2/L/Lsum (rouge-score semantics; --stem for its Porter stemmer; the
mean over examples of the best score against their references). The hypotheses come from
--model, from a baseline (lead-N: the first N sentences of the source; lead-Nw: its first
N words), or from a file with one hypothesis per line.

--data is SRC:REF[:REF2...] (text files, one segment per line, .gz read as gzip) or one
.jsonl/.csv/.tsv file with --source-field and --ref-field (comma-separated for several
references; names, or 0-based column indices for header-less CSV/TSV).

Examples:
  glossa eval --task translation --model Helsinki-NLP/opus-mt-de-en \
    --data ../shared/data/multi30k/test_2016_flickr.de.gz:../shared/data/multi30k/test_2016_flickr.en.gz
  glossa eval --task summarization --baseline lead-3 --data ../shared/data/dialogsum/dialogsum.test.jsonl \
    --source-field dialogue --ref-field summary1,summary2,summary3
  glossa eval --task summarization --baseline lead-1 --data ../shared/data/ag_news/test.csv \
    --source-field 2 --ref-field 1`

// cutFlag finds --name VALUE or --name=VALUE (one or two dashes) in args,
// returning its value and args without it.
func cutFlag(args []string, name string) (value string, rest []string, ok bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, d := range []string{"-", "--"} {
			switch {
			case a == d+name && i+1 < len(args):
				return args[i+1], append(append([]string(nil), args[:i]...), args[i+2:]...), true
			case strings.HasPrefix(a, d+name+"="):
				return a[len(d+name+"="):], append(append([]string(nil), args[:i]...), args[i+1:]...), true
			}
		}
	}
	return "", args, false
}

// runEvalText implements "glossa eval --task translation|summarization".
func runEvalText(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	taskName := fs.String("task", "", "translation (BLEU) or summarization (ROUGE)")
	tf := addText2TextFlags(fs)
	dataSpec := fs.String("data", "", "evaluation data: SRC:REF[:REF2...] text files, or a .jsonl/.csv/.tsv file (required)")
	srcField := fs.String("source-field", "source", "source column of a structured --data file")
	refField := fs.String("ref-field", "target", "reference column(s) of a structured --data file, comma-separated")
	baseline := fs.String("baseline", "", "score a baseline instead of a model: lead-N (first N sentences) or lead-Nw (first N words)")
	predictions := fs.String("predictions", "", "score the hypotheses of this `FILE` (one per line) instead of a model")
	limit := fs.Int("limit", 0, "evaluate the first N examples only (0: all)")
	save := fs.String("save", "", "write the hypotheses to this `FILE`, one per line")
	lower := fs.Bool("lowercase", false, "BLEU: lower-case first (case:lc)")
	tokName := fs.String("tokenize", "13a", "BLEU tokenizer: 13a or none")
	smoothName := fs.String("smooth", "exp", "BLEU smoothing: exp, none, floor or add-k")
	smoothValue := fs.Float64("smooth-value", 0, "BLEU floor or add-k value (0: 0.1 or 1)")
	stem := fs.Bool("stem", false, "ROUGE: Porter-stem tokens longer than three letters (rouge-score's use_stemmer)")
	keepLines := fs.Bool("keep-lines", false, "ROUGE-Lsum: use the texts' own lines instead of one line per sentence")
	asJSON := fs.Bool("json", false, "print the scores as one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, evalTextUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	task, err := text2text.ParseTask(*taskName)
	if err != nil {
		return fmt.Errorf("%w: --task: %v (classification: leave --task out)", errUsage, err)
	}
	sources := 0
	for _, s := range []string{*tf.model, *baseline, *predictions} {
		if s != "" {
			sources++
		}
	}
	switch {
	case *dataSpec == "":
		return fmt.Errorf("%w: --data is required", errUsage)
	case sources != 1:
		return fmt.Errorf("%w: give exactly one of --model, --baseline and --predictions", errUsage)
	case *limit < 0:
		return fmt.Errorf("%w: --limit must not be negative", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	var so text2text.ScoreOptions
	so.BLEU.Lowercase, so.BLEU.SmoothValue = *lower, *smoothValue
	if so.BLEU.Tokenize, err = metrics.ParseBLEUTokenizer(*tokName); err != nil {
		return fmt.Errorf("%w: --tokenize: %v", errUsage, err)
	}
	if so.BLEU.Smooth, err = metrics.ParseSmoothing(*smoothName); err != nil {
		return fmt.Errorf("%w: --smooth: %v", errUsage, err)
	}
	so.ROUGE.Stem, so.KeepLines = *stem, *keepLines
	var lead func(string) string
	if *baseline != "" {
		if lead, err = parseBaseline(*baseline); err != nil {
			return err
		}
	}
	if *tf.model != "" {
		if err := tf.check(); err != nil {
			return err
		}
	}

	examples, err := text2text.ReadExamples(*dataSpec, &text2text.ReadOptions{SourceField: *srcField, RefFields: strings.Split(*refField, ",")})
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < len(examples) {
		examples = examples[:*limit]
	}
	var hyps []string
	var from string
	switch {
	case lead != nil:
		for _, e := range examples {
			hyps = append(hyps, lead(e.Source))
		}
		from = *baseline
	case *predictions != "":
		lines, err := text2text.ReadLines(*predictions)
		if err != nil {
			return err
		}
		if len(lines) < len(examples) || *limit == 0 && len(lines) != len(examples) {
			return fmt.Errorf("%s has %d lines for %d examples", *predictions, len(lines), len(examples))
		}
		hyps = lines[:len(examples)]
		from = *predictions
	default:
		if hyps, err = generateHypotheses(ctx, tf, task, examples, stderr); err != nil {
			return err
		}
		from = *tf.model
	}
	if *save != "" {
		var b strings.Builder
		for _, h := range hyps {
			b.WriteString(collapseSpace(h) + "\n")
		}
		if err := atomicfile.WriteFile(*save, []byte(b.String())); err != nil {
			return err
		}
	}
	rep, err := text2text.Score(task, hyps, examples, &so)
	if err != nil {
		return err
	}
	return printReport(stdout, rep, from, examples, *asJSON)
}

// parseBaseline parses lead-N (sentences) or lead-Nw (words).
func parseBaseline(s string) (func(string) string, error) {
	n, ok := strings.CutPrefix(s, "lead-")
	words := strings.HasSuffix(n, "w")
	k, err := strconv.Atoi(strings.TrimSuffix(n, "w"))
	if !ok || err != nil || k <= 0 {
		return nil, fmt.Errorf("%w: --baseline %q: want lead-N or lead-Nw with N ≥ 1", errUsage, s)
	}
	if words {
		return func(t string) string { return text2text.LeadWords(t, k) }, nil
	}
	return func(t string) string { return text2text.Lead(t, k) }, nil
}

// generateHypotheses runs the model over the examples' sources.
func generateHypotheses(ctx context.Context, tf *text2textFlags, task text2text.Task, examples []text2text.Example, stderr io.Writer) ([]string, error) {
	m, err := tf.load(ctx, stderr)
	if err != nil {
		return nil, err
	}
	verb := "translate"
	if task == text2text.Summarization {
		verb = "summarize"
	}
	opts, err := tf.options(m, verb)
	if err != nil {
		return nil, err
	}
	opts.SortByLength = true
	srcs := make([]string, len(examples))
	for i, e := range examples {
		srcs[i] = e.Source
	}
	done, truncated := 0, 0
	start, last := time.Now(), time.Now()
	opts.OnResult = func(_ int, r text2text.Result) {
		done++
		if r.Truncated > 0 {
			truncated++
		}
		if time.Since(last) > 5*time.Second || done == len(srcs) {
			last = time.Now()
			fmt.Fprintf(stderr, "generated %d/%d (%v)\n", done, len(srcs), time.Since(start).Round(time.Second))
		}
	}
	res, err := m.Generate(ctx, srcs, opts)
	if err != nil {
		return nil, err
	}
	if truncated > 0 {
		fmt.Fprintf(stderr, "glossa eval: warning: %d sources were truncated to the encoder's length (--max-source-tokens)\n", truncated)
	}
	hyps := make([]string, len(res))
	for i, r := range res {
		hyps[i] = r.Text
	}
	return hyps, nil
}

func printReport(w io.Writer, rep text2text.Report, from string, examples []text2text.Example, asJSON bool) error {
	nrefs := 0
	for _, e := range examples {
		nrefs += len(e.Refs)
	}
	if asJSON {
		out := map[string]any{"task": rep.Task.String(), "examples": rep.Examples, "references": nrefs, "hypotheses": from}
		if b := rep.BLEU; b != nil {
			out["bleu"] = map[string]any{"score": b.Score, "precisions": b.Precisions, "bp": b.BP, "ratio": b.Ratio(),
				"hyp_len": b.HypLen, "ref_len": b.RefLen, "counts": b.Counts, "totals": b.Totals, "signature": b.Signature}
		}
		if r := rep.ROUGE; r != nil {
			sc := func(s metrics.Score) map[string]float64 {
				return map[string]float64{"precision": s.Precision, "recall": s.Recall, "f": s.F}
			}
			out["rouge"] = map[string]any{"rouge1": sc(r.R1), "rouge2": sc(r.R2), "rougeL": sc(r.RL), "rougeLsum": sc(r.RLsum)}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	if r := rep.ROUGE; r != nil {
		fmt.Fprintf(w, "%-11s %7s %7s %7s\n", "", "P", "R", "F")
		for _, row := range []struct {
			name string
			s    metrics.Score
		}{{"ROUGE-1", r.R1}, {"ROUGE-2", r.R2}, {"ROUGE-L", r.RL}, {"ROUGE-Lsum", r.RLsum}} {
			fmt.Fprintf(w, "%-11s %7.2f %7.2f %7.2f\n", row.name, 100*row.s.Precision, 100*row.s.Recall, 100*row.s.F)
		}
	} else {
		fmt.Fprintln(w, rep)
	}
	_, err := fmt.Fprintf(w, "%d examples, %d references; hypotheses: %s\n", rep.Examples, nrefs, from)
	return err
}
