//go:build unix

package mmap

import (
	"os"

	"golang.org/x/sys/unix"
)

// Map maps size bytes of f read-only. The returned release function
// unmaps them. An empty file maps to an empty slice.
func Map(f *os.File, size int) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
