package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeMarker(content string) func(dir string) error {
	return func(dir string) error {
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "sub", "x"), []byte("nested"), 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "marker"), []byte(content), 0o644)
	}
}

func readMarker(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "marker"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteCheckpoint(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	if _, err := LatestCheckpoint(run); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty run: err = %v", err)
	}
	for _, step := range []int{100, 20, 200} {
		p, err := WriteCheckpoint(run, step, writeMarker("v1"))
		if err != nil {
			t.Fatal(err)
		}
		if p != CheckpointPath(run, step) {
			t.Errorf("path %s", p)
		}
	}
	// A partial write (killed process) and junk are ignored.
	os.MkdirAll(filepath.Join(run, "checkpoint-900.tmp-1234"), 0o755)
	os.MkdirAll(filepath.Join(run, "checkpoint-abc"), 0o755)
	os.WriteFile(filepath.Join(run, "checkpoint-1000"), nil, 0o644) // a file, not a folder
	c, err := LatestCheckpoint(run)
	if err != nil || c.Step != 200 {
		t.Fatalf("latest = %+v, %v; want step 200", c, err)
	}
	// A failing write leaves everything as it was.
	boom := errors.New("disk full")
	if _, err := WriteCheckpoint(run, 200, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing write: err = %v", err)
	}
	if readMarker(t, CheckpointPath(run, 200)) != "v1" {
		t.Error("failed write damaged the previous checkpoint")
	}
	// Rewriting a step replaces it and leaves no aside folder.
	if _, err := WriteCheckpoint(run, 200, writeMarker("v2")); err != nil {
		t.Fatal(err)
	}
	if readMarker(t, CheckpointPath(run, 200)) != "v2" {
		t.Error("rewrite not visible")
	}
	// A crash between the two renames leaves only the aside folder: it counts.
	os.Rename(CheckpointPath(run, 200), CheckpointPath(run, 200)+oldInfix+"77")
	c, _ = LatestCheckpoint(run)
	if c.Step != 200 || readMarker(t, c.Path) != "v2" {
		t.Errorf("aside checkpoint not found: %+v", c)
	}
	if err := PruneCheckpoints(run, 2); err != nil {
		t.Fatal(err)
	}
	cs, _ := Checkpoints(run)
	if len(cs) != 2 || cs[0].Step != 100 || cs[1].Step != 200 {
		t.Errorf("after prune: %+v", cs)
	}
	if m, _ := filepath.Glob(filepath.Join(run, "*.tmp-*")); len(m) != 0 {
		t.Errorf("temporary folders left: %v", m)
	}
}

func TestRNGStateResume(t *testing.T) {
	pcg := rand.NewPCG(1, 2)
	r := rand.New(pcg)
	for range 10 {
		r.Uint64()
	}
	st, err := CaptureRNG(map[string]*rand.PCG{"data": pcg})
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for range 5 {
		want = append(want, r.Float64())
	}
	path := filepath.Join(t.TempDir(), "rng_state.json")
	if err := WriteRNGState(path, st); err != nil {
		t.Fatal(err)
	}
	st2, err := ReadRNGState(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh := rand.NewPCG(0, 0)
	if err := st2.Restore(map[string]*rand.PCG{"data": fresh}); err != nil {
		t.Fatal(err)
	}
	r2 := rand.New(fresh)
	var got []float64
	for range 5 {
		got = append(got, r2.Float64())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resumed stream %v, want %v", got, want)
	}
	if err := st2.Restore(map[string]*rand.PCG{"dropout": fresh}); err == nil {
		t.Error("missing generator: no error")
	}
	var bad RNGState
	if err := json.Unmarshal([]byte(`{"data":"!!"}`), &bad); err == nil {
		t.Error("bad base64: no error")
	}
}

func TestMetricsLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	l, err := OpenMetricsLog(path, 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 5; step++ {
		if err := l.Log(Record{Step: step, Split: "train", Loss: 1 / float64(step), LR: 1e-3}); err != nil {
			t.Fatal(err)
		}
	}
	l.Log(Record{Step: 5, Split: "eval", Loss: 0.5, Metrics: map[string]float64{"accuracy": 0.75}})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"step":6,"split":"tra`) // torn line from a crash
	f.Close()
	recs, err := ReadMetricsLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 || recs[5].Metrics["accuracy"] != 0.75 || recs[0].Time.IsZero() {
		t.Fatalf("records %+v", recs)
	}
	// Resuming from step 3 drops later records.
	l, err = OpenMetricsLog(path, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(Record{Step: 4, Split: "train", Loss: 9, Time: time.Unix(0, 0).UTC()})
	l.Close()
	recs, _ = ReadMetricsLog(path)
	if len(recs) != 4 || recs[3].Loss != 9 {
		t.Errorf("after resume: %+v", recs)
	}
	os.WriteFile(path, []byte("{\"step\":1}\nnot json\n"), 0o644)
	if _, err := ReadMetricsLog(path); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("bad line: err = %v", err)
	}
}

func TestPlotLossLR(t *testing.T) {
	var recs []Record
	for s := 1; s <= 50; s++ {
		recs = append(recs, Record{Step: s, Split: "train", Loss: 4 / float64(s), LR: 1e-3 * float64(min(s, 10)) / 10})
		if s%10 == 0 {
			recs = append(recs, Record{Step: s, Split: "eval", Loss: 5 / float64(s)})
		}
	}
	dir := t.TempDir()
	png, svg := filepath.Join(dir, "loss.png"), filepath.Join(dir, "loss.svg")
	if err := PlotLossLR(recs, png, svg, PlotOptions{Title: "test"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(png)
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("PNG missing or invalid")
	}
	s, _ := os.ReadFile(svg)
	if !bytes.Contains(s, []byte("<svg")) || !bytes.Contains(s, []byte("learning rate")) {
		t.Error("SVG missing or without the LR panel")
	}
	// Steps are labelled as integers, also where gonum's default ticks
	// would print "1250.00".
	long := []Record{{Step: 1, Split: "train", Loss: 1, LR: 1}, {Step: 2400, Split: "train", Loss: 1, LR: 1}}
	if err := PlotLossLR(long, "", svg, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	s, _ = os.ReadFile(svg)
	if !bytes.Contains(s, []byte(">1250</text>")) || bytes.Contains(s, []byte(">1250.")) {
		t.Error("the step axis is not labelled with plain integers")
	}
	if err := PlotLossLR(nil, png, "", PlotOptions{}); err == nil {
		t.Error("no records: no error")
	}
}
