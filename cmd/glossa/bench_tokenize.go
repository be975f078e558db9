package main

import (
	"context"
	"errors"
)

// benchTokenizeGPT2 times GPT-2 byte-level BPE encoding of opt.Input.
func benchTokenizeGPT2(ctx context.Context, opt benchOptions) (benchResult, error) {
	return benchResult{}, errors.New("tokenize-gpt2 workload not implemented yet")
}
