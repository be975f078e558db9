//go:build !unix

package mmap

import (
	"io"
	"os"
)

// Map reads size bytes of f into memory: platforms without mmap support
// here fall back to an ordinary read. The release function is a no-op.
func Map(f *os.File, size int) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
