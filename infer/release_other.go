//go:build !unix

package infer

// releasePages is a no-op where checkpoints are not memory-mapped.
func releasePages([]byte) {}
