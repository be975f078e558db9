//go:build !unix

package data

import "os"

// mapFile reads path whole on platforms without mmap support here.
func mapFile(path string) ([]byte, func() error, error) {
	b, err := os.ReadFile(path)
	return b, nil, err
}
