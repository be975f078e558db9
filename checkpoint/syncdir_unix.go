//go:build unix

package checkpoint

import (
	"errors"
	"os"
	"syscall"
)

// syncDir flushes a directory entry change (a rename) to disk. File systems
// that cannot sync directories (EINVAL) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
