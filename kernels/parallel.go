package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Threads reports how many workers the parallel kernels use: the current
// runtime.GOMAXPROCS value.
func Threads() int { return runtime.GOMAXPROCS(0) }

// ParallelFor calls fn over disjoint ranges [lo, hi) that together cover
// [0, n). Each range holds at least grain items (except possibly the last), and
// at most Threads() ranges run at once. With one worker, or when n <= grain,
// fn runs on the calling goroutine. fn must be safe to call concurrently on
// disjoint ranges.
//
// The ranges run on the calling goroutine and on a pool of worker goroutines
// that live for the whole process. A worker that has finished its range
// spins for up to a millisecond watching for the next call before it
// parks, so that the back-to-back parallel phases of a decoding step or a
// training step (dozens of products of a few hundred microseconds each)
// start at once instead of waiting for the scheduler to wake a parked
// goroutine. One call runs on the pool at a time; a call made while the pool
// is busy — from inside fn, or from another goroutine — runs its ranges on
// goroutines of its own, as correct and only a little slower.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	workers := Threads()
	chunks := min(n/grain, workers)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	if chunks > maxPoolChunks || !pool.busy.TryLock() {
		parallelGo(n, chunks, fn)
		return
	}
	pool.run(n, chunks, workers-1, fn)
	pool.busy.Unlock()
}

// chunkRange returns the bounds of chunk i of n items cut into chunks
// nearly equal ranges (the first n%chunks one item longer).
func chunkRange(n, chunks, i int) (lo, hi int) {
	per, rem := n/chunks, n%chunks
	lo = i*per + min(i, rem)
	hi = lo + per
	if i < rem {
		hi++
	}
	return lo, hi
}

// parallelGo runs the chunks on goroutines started for this call, the
// last on the calling goroutine.
func parallelGo(n, chunks int, fn func(lo, hi int)) {
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for i := 0; i < chunks-1; i++ {
		lo, hi := chunkRange(n, chunks, i)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(chunkRange(n, chunks, chunks-1))
	wg.Wait()
}

// The worker pool. Its state word packs the generation of the current call
// (genBits), its number of chunks and the index of the next unclaimed chunk
// (chunkBits each): a worker claims chunk i of generation g with one
// compare-and-swap, so a worker that arrives late, after the call it saw has
// finished and another has begun, can never claim a chunk of a call whose
// function it has not read.
const (
	chunkBits     = 16
	genBits       = 64 - 2*chunkBits
	chunkMask     = 1<<chunkBits - 1
	maxPoolChunks = chunkMask
	// workerSpin is how long a worker watches for the next call before it
	// parks, and callerSpin how long a call waits for the workers' chunks
	// before it blocks. Parking and waking cost tens of microseconds on a
	// VM, and a step's serial stretches between parallel phases, like its
	// phases' uneven ends, often last longer than that: blocking after 50 µs
	// instead of 2 ms made train-char 13 % slower at 2 threads.
	workerSpin = 1 * time.Millisecond
	callerSpin = 2 * time.Millisecond
)

// workPool runs ParallelFor calls on long-lived workers.
type workPool struct {
	busy  sync.Mutex    // held by the call running on the pool
	state atomic.Uint64 // gen<<2·chunkBits | chunks<<chunkBits | next chunk
	done  atomic.Int64  // chunks of the current call finished
	fn    func(lo, hi int)
	n     int

	started int // workers started (under busy)

	idle     parker // workers waiting for a new generation
	finished parker // the caller waiting for the last chunk
}

var pool = newWorkPool()

func newWorkPool() *workPool {
	p := &workPool{}
	p.idle.init()
	p.finished.init()
	return p
}

func unpack(s uint64) (gen uint64, chunks, next int) {
	return s >> (2 * chunkBits), int(s>>chunkBits) & chunkMask, int(s) & chunkMask
}

// run publishes a call, takes part in it and returns when every chunk is
// done. want is the number of workers the call can use; p.busy is held.
func (p *workPool) run(n, chunks, want int, fn func(lo, hi int)) {
	for p.started < want {
		p.started++
		go p.work()
	}
	p.fn, p.n = fn, n
	p.done.Store(0)
	gen, _, _ := unpack(p.state.Load())
	gen = (gen + 1) & (1<<genBits - 1)
	p.state.Store(gen<<(2*chunkBits) | uint64(chunks)<<chunkBits)
	p.idle.wake()
	p.claim(gen)
	// The workers' chunks are usually short, so the caller spins for them;
	// after callerSpin it blocks, so that on an oversubscribed machine a
	// late worker gets the core.
	p.finished.wait(callerSpin, p.allDone)
	p.fn = nil
}

// allDone reports whether every chunk of the current call is done.
func (p *workPool) allDone() bool {
	_, chunks, _ := unpack(p.state.Load())
	return p.done.Load() >= int64(chunks)
}

// claim runs chunks of generation gen until none is left.
func (p *workPool) claim(gen uint64) {
	for {
		s := p.state.Load()
		g, chunks, next := unpack(s)
		if g != gen || next >= chunks {
			return
		}
		if !p.state.CompareAndSwap(s, s+1) {
			continue
		}
		// The call cannot finish before this chunk does, so fn and n are
		// still its own.
		lo, hi := chunkRange(p.n, chunks, next)
		p.fn(lo, hi)
		if p.done.Add(1) == int64(chunks) {
			p.finished.wake()
		}
	}
}

// work is a worker's loop: wait for a generation it has not seen, claim its
// chunks, repeat.
func (p *workPool) work() {
	var seen uint64
	for {
		gen := p.wait(seen)
		seen = gen
		p.claim(gen)
	}
}

// wait returns the current generation once it differs from seen, spinning
// for up to workerSpin and then parking.
func (p *workPool) wait(seen uint64) uint64 {
	var gen uint64
	p.idle.wait(workerSpin, func() bool {
		gen, _, _ = unpack(p.state.Load())
		return gen != seen
	})
	return gen
}

// parker makes goroutines wait for a condition that another goroutine makes
// true with an atomic store and then announces with wake: a waiter spins
// for a while (yielding the processor now and then), then blocks. On a VM
// blocking and waking cost tens of microseconds, more than most waits in a
// chain of short parallel phases; spinning without end would take the core
// from a late goroutine on an oversubscribed machine.
type parker struct {
	mu       sync.Mutex
	cond     sync.Cond
	sleepers atomic.Int32
}

func (k *parker) init() { k.cond.L = &k.mu }

// wait returns once ready reports true, spinning for up to spin first.
func (k *parker) wait(spin time.Duration, ready func() bool) {
	var start time.Time
	for spins := 0; !ready(); spins++ {
		if spins%64 != 63 {
			continue
		}
		runtime.Gosched()
		if start.IsZero() {
			start = time.Now()
		} else if time.Since(start) > spin {
			// A waker that made ready true after this goroutine counted
			// itself a sleeper broadcasts under mu, so after the wait
			// below; one that did it before is seen by ready here.
			k.mu.Lock()
			k.sleepers.Add(1)
			for !ready() {
				k.cond.Wait()
			}
			k.sleepers.Add(-1)
			k.mu.Unlock()
			return
		}
	}
}

// wake wakes the blocked waiters, if any; call it after making their
// condition true.
func (k *parker) wake() {
	if k.sleepers.Load() > 0 {
		k.mu.Lock()
		k.cond.Broadcast()
		k.mu.Unlock()
	}
}
