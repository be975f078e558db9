package cputime

import (
	"runtime"
	"testing"
)

// TestProcess: the CPU time grows while the process computes.
func TestProcess(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("CPU time is read on Unix only")
	}
	before := Process()
	x := 1.0
	for i := range 20_000_000 {
		x += float64(i%7) * 1e-9
	}
	if after := Process(); !(after > before) || x == 0 {
		t.Errorf("CPU time %v → %v after a busy loop", before, after)
	}
}
