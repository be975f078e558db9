//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hub

import "context"

// lockFile is a no-op where flock is unavailable: concurrent downloads of
// one blob are not coordinated there.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, nil
}
