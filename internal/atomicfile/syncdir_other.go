//go:build !unix

package atomicfile

// SyncDir is a no-op where folders cannot be opened for syncing.
func SyncDir(dir string) error { return nil }
