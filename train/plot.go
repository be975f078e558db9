package train

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PlotOptions configure PlotLossLR. The zero value gives a 16×12 cm
// figure titled "Training".
type PlotOptions struct {
	Title         string    // "" means "Training"
	Width, Height vg.Length // zero means 16 cm × 12 cm
}

// PlotLossLR draws the training loss (and evaluation loss, as points)
// against the step in an upper panel and the learning rate in a lower one,
// from metrics-log records, and writes the figure as PNG to pngPath and as
// SVG to svgPath (either may be ""). Files are written atomically. Records
// without a train loss are an error: there would be nothing to draw.
func PlotLossLR(records []Record, pngPath, svgPath string, opts PlotOptions) error {
	opts = opts.withDefaults(12 * vg.Centimeter)
	var train, eval, lr plotter.XYs
	for _, r := range records {
		switch r.Split {
		case "eval":
			eval = append(eval, plotter.XY{X: float64(r.Step), Y: r.Loss})
		default:
			train = append(train, plotter.XY{X: float64(r.Step), Y: r.Loss})
			if r.LR != 0 {
				lr = append(lr, plotter.XY{X: float64(r.Step), Y: r.LR})
			}
		}
	}
	if len(train) == 0 {
		return errors.New("train: plot: no training-loss records")
	}
	lossPlot := plot.New()
	lossPlot.Title.Text = opts.Title
	lossPlot.Y.Label.Text = "loss"
	lossPlot.Add(plotter.NewGrid())
	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange := color.RGBA{R: 255, G: 127, B: 14, A: 255}
	tl, err := plotter.NewLine(train)
	if err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	tl.Color = blue
	lossPlot.Add(tl)
	lossPlot.Legend.Add("train", tl)
	if len(eval) > 0 {
		el, ep, err := plotter.NewLinePoints(eval)
		if err != nil {
			return fmt.Errorf("train: plot: %w", err)
		}
		el.Color, ep.Color = orange, orange
		lossPlot.Add(el, ep)
		lossPlot.Legend.Add("eval", el, ep)
	}
	lossPlot.Legend.Top = true
	lrPlot := plot.New()
	lrPlot.X.Label.Text = "step"
	lrPlot.Y.Label.Text = "learning rate"
	lrPlot.Add(plotter.NewGrid())
	if len(lr) > 0 {
		ll, err := plotter.NewLine(lr)
		if err != nil {
			return fmt.Errorf("train: plot: %w", err)
		}
		ll.Color = color.RGBA{R: 44, G: 160, B: 44, A: 255}
		lrPlot.Add(ll)
	}
	lrPlot.X.Min, lrPlot.X.Max = lossPlot.X.Min, lossPlot.X.Max
	lossPlot.X.Tick.Marker, lrPlot.X.Tick.Marker = stepTicks{}, stepTicks{}

	draw2 := func(c draw.Canvas) {
		plots := [][]*plot.Plot{{lossPlot}, {lrPlot}}
		tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 2 * vg.Millimeter,
			PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
		cs := plot.Align(plots, tiles, c)
		lossPlot.Draw(cs[0][0])
		lrPlot.Draw(cs[1][0])
	}
	return writeFigure(pngPath, svgPath, opts, draw2)
}

// withDefaults fills in opts' zero fields: the title "Training", a width of
// 16 cm and the given height.
func (opts PlotOptions) withDefaults(height vg.Length) PlotOptions {
	if opts.Title == "" {
		opts.Title = "Training"
	}
	if opts.Width == 0 {
		opts.Width = 16 * vg.Centimeter
	}
	if opts.Height == 0 {
		opts.Height = height
	}
	return opts
}

// writeFigure draws a figure of opts' size with drawFig and writes it as
// PNG (150 dpi, white background) to pngPath and as SVG to svgPath, each
// atomically; an empty path is skipped.
func writeFigure(pngPath, svgPath string, opts PlotOptions, drawFig func(draw.Canvas)) error {
	if pngPath != "" {
		img := vgimg.NewWith(vgimg.UseWH(opts.Width, opts.Height), vgimg.UseDPI(150), vgimg.UseBackgroundColor(color.White))
		drawFig(draw.New(img))
		if err := writeTo(pngPath, vgimg.PngCanvas{Canvas: img}); err != nil {
			return err
		}
	}
	if svgPath != "" {
		c := vgsvg.New(opts.Width, opts.Height)
		drawFig(draw.New(c))
		if err := writeTo(svgPath, c); err != nil {
			return err
		}
	}
	return nil
}

// stepTicks are gonum's default ticks labelled as plain numbers ("1250",
// not "1250.00"): steps are integers.
type stepTicks struct{}

// Ticks implements plot.Ticker.
func (stepTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
		}
	}
	return ticks
}

func writeTo(path string, w io.WriterTo) error {
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return fmt.Errorf("train: plot %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}
