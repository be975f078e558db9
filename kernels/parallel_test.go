package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelFor checks that every call covers [0, n) exactly once with
// at most Threads() ranges of at least grain items, on the pool, from
// inside another call (nested: the pool is busy), and from several
// goroutines at once.
func TestParallelFor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	check := func(t *testing.T, n, grain int) {
		t.Helper()
		hits := make([]atomic.Int32, n)
		var ranges atomic.Int32
		ParallelFor(n, grain, func(lo, hi int) {
			ranges.Add(1)
			if hi-lo < grain && hi != n {
				t.Errorf("n=%d grain=%d: range [%d,%d) shorter than the grain", n, grain, lo, hi)
			}
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		})
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Fatalf("n=%d grain=%d: item %d visited %d times", n, grain, i, h)
			}
		}
		if r := int(ranges.Load()); n > 0 && (r < 1 || r > Threads()) {
			t.Errorf("n=%d grain=%d: %d ranges with %d threads", n, grain, r, Threads())
		}
	}
	for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {7, 2}, {100, 1}, {100, 30}, {1000, 0}, {5, 10}} {
		check(t, tc.n, tc.grain)
	}
	// Many calls in a row: the workers go from one generation to the next
	// (and some park between them).
	for i := range 2000 {
		check(t, 1+i%37, 1)
	}
	// Nested: the inner calls find the pool busy.
	var total atomic.Int64
	ParallelFor(8, 1, func(lo, hi int) {
		for range hi - lo {
			ParallelFor(100, 1, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if total.Load() != 800 {
		t.Errorf("nested calls covered %d items, want 800", total.Load())
	}
	// Concurrent callers.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				check(t, 10+i%50, 3)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkParallelForOverhead times an empty two-way ParallelFor: the cost
// of starting and joining a parallel phase.
func BenchmarkParallelForOverhead(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var sink atomic.Int64
	for b.Loop() {
		ParallelFor(2, 1, func(lo, hi int) { sink.Add(int64(hi - lo)) })
	}
}
