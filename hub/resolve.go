package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ResolveModel turns a model reference, as a command line or a pipeline
// takes it, into a local path:
//
//   - an existing file or folder is returned as it is;
//   - a Hub reference ORG/NAME[@REVISION] is looked up in the cache
//     (opts.CacheDir) without the network when its snapshot holds a
//     config.json, and otherwise downloaded into it (Download, with the
//     default file selection unless opts says otherwise; opts.Progress
//     reports the transfer).
//
// A reference that is neither an existing path nor a valid repository id,
// or one that starts with "." or "/", fails with the path's error. opts
// may be nil.
func ResolveModel(ctx context.Context, ref string, opts *Options) (string, error) {
	_, statErr := os.Stat(ref)
	if statErr == nil {
		return ref, nil
	}
	repoID, revision, err := ParseRef(ref)
	if err != nil || strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") {
		return "", statErr // not a Hub reference: report the missing path
	}
	var cache Cache
	if opts != nil {
		cache.Dir = opts.CacheDir
	}
	if dir, err := cache.Resolve(repoID, revision); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
			return dir, nil
		}
	}
	dir, err := Download(ctx, repoID, revision, opts)
	if err != nil {
		return "", fmt.Errorf("%s is no local path (%v), and the Hub: %w", ref, statErr, err)
	}
	return dir, nil
}
