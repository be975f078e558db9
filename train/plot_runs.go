package train

import (
	"errors"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PlotRun is one run drawn by PlotRuns: its legend label and its
// metrics-log records (ReadMetricsLog).
type PlotRun struct {
	Label   string
	Records []Record
}

// runColors are the colours of PlotRuns' runs, in order (matplotlib's
// "tab10" palette), reused cyclically.
var runColors = []color.RGBA{
	{R: 31, G: 119, B: 180, A: 255}, {R: 255, G: 127, B: 14, A: 255}, {R: 44, G: 160, B: 44, A: 255},
	{R: 214, G: 39, B: 40, A: 255}, {R: 148, G: 103, B: 189, A: 255}, {R: 140, G: 86, B: 75, A: 255},
}

// PlotRuns draws several runs on one pair of axes, to compare them (the
// same model in float32 and in bfloat16, say): for each run, in its own
// colour, the training loss averaged over windows of steps (a thin line;
// the window is a hundredth of the longest run, at least one step) and the
// evaluation loss (a thick line with points). It writes the figure as PNG
// to pngPath and as SVG to svgPath (either may be ""), atomically. A run
// without training-loss records is an error.
func PlotRuns(runs []PlotRun, pngPath, svgPath string, opts PlotOptions) error {
	if len(runs) == 0 {
		return errors.New("train: plot: no runs")
	}
	opts = opts.withDefaults(10 * vg.Centimeter)
	last := 0
	for _, r := range runs {
		for _, rec := range r.Records {
			last = max(last, rec.Step)
		}
	}
	window := max(1, last/100)
	p := plot.New()
	p.Title.Text = opts.Title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	p.X.Tick.Marker = stepTicks{}
	p.Add(plotter.NewGrid())
	for i, r := range runs {
		train, eval := windowedTrainLoss(r.Records, window), evalLoss(r.Records)
		if len(train) == 0 {
			return fmt.Errorf("train: plot: run %q has no training-loss records", r.Label)
		}
		c := runColors[i%len(runColors)]
		tl, err := plotter.NewLine(train)
		if err != nil {
			return fmt.Errorf("train: plot: %w", err)
		}
		tl.Color, tl.Width = c, vg.Points(0.6)
		p.Add(tl)
		label := fmt.Sprintf("%s train (mean of %d steps)", r.Label, window)
		if window == 1 {
			label = r.Label + " train"
		}
		p.Legend.Add(label, tl)
		if len(eval) > 0 {
			el, ep, err := plotter.NewLinePoints(eval)
			if err != nil {
				return fmt.Errorf("train: plot: %w", err)
			}
			el.Color, el.Width, ep.Color = c, vg.Points(1.6), c
			p.Add(el, ep)
			p.Legend.Add(r.Label+" validation", el, ep)
		}
	}
	p.Legend.Top = true
	return writeFigure(pngPath, svgPath, opts, p.Draw)
}

// windowedTrainLoss returns the mean training loss of consecutive windows
// of records, each at the window's last step.
func windowedTrainLoss(records []Record, window int) plotter.XYs {
	var xy plotter.XYs
	var sum float64
	n := 0
	for _, r := range records {
		if r.Split == "eval" {
			continue
		}
		sum += r.Loss
		n++
		if n == window {
			xy = append(xy, plotter.XY{X: float64(r.Step), Y: sum / float64(n)})
			sum, n = 0, 0
		}
	}
	return xy
}

// evalLoss returns the evaluation losses of records by step.
func evalLoss(records []Record) plotter.XYs {
	var xy plotter.XYs
	for _, r := range records {
		if r.Split == "eval" {
			xy = append(xy, plotter.XY{X: float64(r.Step), Y: r.Loss})
		}
	}
	return xy
}
