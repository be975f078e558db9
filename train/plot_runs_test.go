package train

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestPlotRuns(t *testing.T) {
	run := func(scale float64) []Record {
		var recs []Record
		for s := 1; s <= 300; s++ {
			recs = append(recs, Record{Step: s, Split: "train", Loss: scale * 4 / float64(s)})
			if s%50 == 0 {
				recs = append(recs, Record{Step: s, Split: "eval", Loss: scale * 5 / float64(s)})
			}
		}
		return recs
	}
	dir := t.TempDir()
	png, svg := filepath.Join(dir, "runs.png"), filepath.Join(dir, "runs.svg")
	runs := []PlotRun{{Label: "float32", Records: run(1)}, {Label: "bfloat16", Records: run(1.01)}}
	if err := PlotRuns(runs, png, svg, PlotOptions{Title: "compare"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(png)
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("PNG missing or invalid")
	}
	s, _ := os.ReadFile(svg)
	for _, want := range []string{"<svg", "float32 validation", "bfloat16 train (mean of 3 steps)", ">compare<"} {
		if !bytes.Contains(s, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if got := windowedTrainLoss(run(1)[:4], 2); len(got) != 2 || got[0].X != 2 || got[0].Y != 3 {
		t.Errorf("windowed train loss %v, want the mean of steps 1-2 (3) at step 2 first", got)
	}
	if err := PlotRuns(nil, png, "", PlotOptions{}); err == nil {
		t.Error("no runs: no error")
	}
	if err := PlotRuns([]PlotRun{{Label: "x", Records: []Record{{Step: 1, Split: "eval", Loss: 1}}}}, png, "", PlotOptions{}); err == nil {
		t.Error("a run without training records: no error")
	}
}
