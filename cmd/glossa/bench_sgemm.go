package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/glossa-ai/glossa/kernels"
)

// benchSgemm times C = A·B for square n×n row-major matrices with alpha 1 and
// beta 0, A and B uniform in [-0.5, 0.5), following the protocol of
// ../shared/bench/sgemm_ref.c: one warm-up call, a batch of calls calibrated
// to about 0.25 s, five timed batches, and the median rate in GFLOPS
// (2n³ floating-point operations per call).
func benchSgemm(n int) workload {
	return func(ctx context.Context, opt benchOptions) (benchResult, error) {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		a := make([]float32, n*n)
		b := make([]float32, n*n)
		c := make([]float32, n*n)
		for i := range a {
			a[i] = rng.Float32() - 0.5
			b[i] = rng.Float32() - 0.5
		}
		call := func() { kernels.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) }

		call() // warm-up
		// Calibrate: double the batch until it takes at least 0.25 s / 4,
		// then scale it to about 0.25 s.
		calls := 1
		for {
			t0 := time.Now()
			for range calls {
				call()
			}
			d := time.Since(t0)
			if d >= 62*time.Millisecond {
				calls = max(1, int(float64(calls)*0.25/d.Seconds()+0.5))
				break
			}
			calls *= 2
			if err := ctx.Err(); err != nil {
				return benchResult{}, err
			}
		}

		rates := make([]float64, 0, 5)
		for range 5 {
			if err := ctx.Err(); err != nil {
				return benchResult{}, err
			}
			t0 := time.Now()
			for range calls {
				call()
			}
			s := time.Since(t0).Seconds()
			rates = append(rates, 2*float64(n)*float64(n)*float64(n)*float64(calls)/s/1e9)
		}
		slices.Sort(rates)
		return benchResult{
			Value:  rates[len(rates)/2],
			Unit:   "GFLOPS",
			Detail: fmt.Sprintf("%d calls per batch; batches %.1f…%.1f GFLOPS", calls, rates[0], rates[len(rates)-1]),
		}, nil
	}
}
