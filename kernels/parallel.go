package kernels

import (
	"runtime"
	"sync"
)

// Threads reports how many workers the parallel kernels use: the current
// runtime.GOMAXPROCS value.
func Threads() int { return runtime.GOMAXPROCS(0) }

// ParallelFor calls fn over disjoint ranges [lo, hi) that together cover
// [0, n). Each range holds at least grain items (except possibly the last), and
// at most Threads() ranges run at once. With one worker, or when n <= grain,
// fn runs on the calling goroutine. fn must be safe to call concurrently on
// disjoint ranges.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	workers := Threads()
	chunks := (n + grain - 1) / grain
	if chunks > workers {
		chunks = workers
	}
	if chunks <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	per := n / chunks
	rem := n % chunks
	lo := 0
	for i := 0; i < chunks; i++ {
		size := per
		if i < rem {
			size++
		}
		hi := lo + size
		if i == chunks-1 {
			fn(lo, hi)
		} else {
			go func(lo, hi int) {
				defer wg.Done()
				fn(lo, hi)
			}(lo, hi)
		}
		lo = hi
	}
	wg.Wait()
}
