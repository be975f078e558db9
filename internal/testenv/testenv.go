// Package testenv locates the shared reference data (PyTorch fixtures,
// third-party goldens, tokenizers, tiny models, datasets) that Glossa's tests
// compare against.
//
// The data lives outside the repository, in a folder named by the
// GLOSSA_SHARED environment variable, which defaults to ../shared relative to
// the module root. When it is missing, tests skip — except under CI (the CI
// environment variable is set), where a missing folder is a failure.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that points at the shared folder.
const EnvVar = "GLOSSA_SHARED"

// SharedDir returns the shared folder, or the empty string if it cannot be
// found. It does not consult the testing framework.
func SharedDir() string {
	if d := os.Getenv(EnvVar); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		return ""
	}
	root := moduleRoot()
	if root == "" {
		return ""
	}
	d := filepath.Join(filepath.Dir(root), "shared")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// moduleRoot walks up from the working directory to the folder holding go.mod.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Shared returns the path of elem inside the shared folder. If the folder or
// the path is missing, the test is skipped, or failed when CI is set.
func Shared(tb testing.TB, elem ...string) string {
	tb.Helper()
	dir := SharedDir()
	if dir == "" {
		missing(tb, "shared folder not found (set "+EnvVar+" or place it at ../shared)")
		return ""
	}
	p := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		missing(tb, "shared data missing: "+p)
		return ""
	}
	return p
}

func missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}
