package train

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLog(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	p := NewProgress(ProgressOptions{Total: 100, Start: 10, Out: &buf, Mode: ProgressLog,
		LogInterval: 10 * time.Second, Description: "pretrain", Now: clock})
	for step := 11; step <= 100; step++ {
		now = now.Add(time.Second)
		p.Update(step, 2.5, 1000)
	}
	p.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// First update, every 10 s after it, and the last step: 1 + 8 + 1.
	if len(lines) != 10 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if want := "pretrain step 11/100 | loss 2.5000 | 1000 tok/s | ETA 1m29s | elapsed 1s"; lines[0] != want {
		t.Errorf("first line %q\nwant       %q", lines[0], want)
	}
	if !strings.HasPrefix(lines[9], "pretrain step 100/100 | loss 2.5000 | 1000 tok/s | ETA 0s") {
		t.Errorf("last line %q", lines[9])
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(ProgressOptions{Total: 5, Out: &buf, Mode: ProgressBar, Description: "train"})
	for step := 1; step <= 5; step++ {
		p.Update(step, 1.25, 64)
	}
	p.Finish()
	if out := buf.String(); !strings.Contains(out, "loss 1.2500") || !strings.Contains(out, "5/5") {
		t.Errorf("bar output %q", out)
	}
	// Off mode writes nothing; a non-terminal writer picks log mode.
	buf.Reset()
	q := NewProgress(ProgressOptions{Out: &buf, Mode: ProgressOff})
	q.Update(1, 1, 1)
	q.Finish()
	if buf.Len() != 0 {
		t.Error("ProgressOff wrote output")
	}
	if r := NewProgress(ProgressOptions{Out: &buf}); r.opts.Mode != ProgressLog {
		t.Error("non-terminal output did not select log mode")
	}
}
