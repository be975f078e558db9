package main

import (
	"context"
	"errors"
)

// benchSgemm times C = A·B for square n×n matrices (owner: kernels work).
func benchSgemm(n int) workload {
	return func(ctx context.Context, opt benchOptions) (benchResult, error) {
		return benchResult{}, errors.New("sgemm workload not implemented yet")
	}
}
