package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/train"
)

const plotUsage = `Usage: glossa plot --out FILE.svg|FILE.png [--title TEXT] RUN[=LABEL] ...

Draws the loss curves of one or more training runs on one pair of axes, to
compare them: for each run folder (as "glossa pretrain" or "glossa finetune"
writes, holding metrics.jsonl), the training loss averaged over windows of
steps and the validation loss. LABEL names the run in the legend (default:
the folder's name). Example, float32 against bfloat16:

  glossa plot --out docs/img/bf16.svg --title "tiny Shakespeare" runs/f32=float32 runs/bf16=bfloat16`

func runPlot(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plot", stderr)
	out := fs.String("out", "", "figure to write: .svg or .png (required)")
	title := fs.String("title", "", "figure title (default: Training)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, plotUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	ext := strings.ToLower(filepath.Ext(*out))
	switch {
	case *out == "":
		return fmt.Errorf("%w: --out is required", errUsage)
	case ext != ".svg" && ext != ".png":
		return fmt.Errorf("%w: --out must end in .svg or .png, got %q", errUsage, *out)
	case fs.NArg() == 0:
		return fmt.Errorf("%w: give at least one run folder", errUsage)
	}
	var runs []train.PlotRun
	for _, arg := range fs.Args() {
		dir, label, ok := strings.Cut(arg, "=")
		if !ok || label == "" {
			label = filepath.Base(filepath.Clean(dir))
		}
		recs, err := train.ReadMetricsLog(filepath.Join(dir, train.MetricsFile))
		if err != nil {
			return fmt.Errorf("plot: run %s: %w", dir, err)
		}
		runs = append(runs, train.PlotRun{Label: label, Records: recs})
	}
	png, svg := "", *out
	if ext == ".png" {
		png, svg = *out, ""
	}
	if err := train.PlotRuns(runs, png, svg, train.PlotOptions{Title: *title}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plot: %s\n", *out)
	return nil
}
