// Package corpus feeds the tokenizer trainers their text files.
package corpus

import (
	"context"
	"fmt"
	"io"
	"os"
)

// ReadFiles opens each file of paths in turn and passes it to count,
// together with the total size of all of them (for progress reports).
// Errors are prefixed with pkg ("bpe: train") or name the file.
func ReadFiles(ctx context.Context, pkg string, paths []string, count func(ctx context.Context, r io.Reader, total int64) error) error {
	var total int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("%s: %w", pkg, err)
		}
		total += st.Size()
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("%s: %w", pkg, err)
		}
		err = count(ctx, f, total)
		f.Close()
		if err != nil {
			return fmt.Errorf("%w (%s)", err, p)
		}
	}
	return nil
}
