package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// "glossa bench --json" prints the one JSON object ../shared/bench expects,
// --cpuprofile writes a pprof profile, and bad workloads are usage errors.
func TestBenchJSONAndProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	threads := runtime.GOMAXPROCS(0)
	code, out, errOut := glossa(t, "bench", "sgemm-256", "--threads", "1", "--json", "--cpuprofile", prof)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// In-process commands leave the thread count as they found it.
	if n := runtime.GOMAXPROCS(0); n != threads {
		t.Errorf("GOMAXPROCS %d after bench --threads 1, was %d", n, threads)
	}
	var res struct {
		Workload string  `json:"workload"`
		Threads  int     `json:"threads"`
		Value    float64 `json:"value"`
		Unit     string  `json:"unit"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	if res.Workload != "sgemm-256" || res.Threads != 1 || !(res.Value > 0) || res.Unit != "GFLOPS" {
		t.Errorf("result %+v", res)
	}
	b, err := os.ReadFile(prof)
	if err != nil || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("profile: %v, %d bytes (want gzipped pprof data)", err, len(b))
	}
	for _, args := range [][]string{{"bench"}, {"bench", "nope"}, {"bench", "sgemm-256", "--threads", "0"}} {
		if code, _, _ := glossa(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
