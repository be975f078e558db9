package main

import (
	"context"
	"errors"
	"io"
)

// runTokenize implements "glossa tokenize".
func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("tokenize not implemented yet")
}

// runTokenizerTool implements "glossa tokenizer train".
func runTokenizerTool(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("tokenizer tools not implemented yet")
}
