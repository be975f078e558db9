package train_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/train"
)

// Write checkpoints atomically and find the newest one to resume from.
func ExampleWriteCheckpoint() {
	run, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(run)
	for _, step := range []int{100, 200} {
		_, err := train.WriteCheckpoint(run, step, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
		})
		if err != nil {
			panic(err)
		}
	}
	c, err := train.LatestCheckpoint(run)
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(c.Path), c.Step)
	// Output:
	// checkpoint-200 200
}

// Compare two runs' loss curves on one figure.
func ExamplePlotRuns() {
	dir, _ := os.MkdirTemp("", "plot")
	defer os.RemoveAll(dir)
	run := func(scale float64) []train.Record {
		var recs []train.Record
		for step := 1; step <= 100; step++ {
			recs = append(recs, train.Record{Step: step, Split: "train", Loss: scale * 3 / float64(step)})
		}
		return append(recs, train.Record{Step: 100, Split: "eval", Loss: scale * 0.05})
	}
	runs := []train.PlotRun{{Label: "float32", Records: run(1)}, {Label: "bfloat16", Records: run(1.002)}}
	svg := filepath.Join(dir, "compare.svg")
	if err := train.PlotRuns(runs, "", svg, train.PlotOptions{Title: "float32 vs bfloat16"}); err != nil {
		panic(err)
	}
	_, err := os.Stat(svg)
	fmt.Println("written:", err == nil)
	// Output:
	// written: true
}
