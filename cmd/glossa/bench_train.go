package main

import (
	"context"
	"errors"
)

// benchTrainChar times the nanoGPT-style character model training step.
func benchTrainChar(ctx context.Context, opt benchOptions) (benchResult, error) {
	return benchResult{}, errors.New("train-char workload not implemented yet")
}

// benchTrainSmall times the small GPT training step.
func benchTrainSmall(ctx context.Context, opt benchOptions) (benchResult, error) {
	return benchResult{}, errors.New("train-small workload not implemented yet")
}
