package main

import (
	"context"
	"errors"
	"io"
)

// runDemo runs the worked demonstrations (attention by hand, encoder forward).
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("demo not implemented yet")
}
