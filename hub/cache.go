package hub

import (
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Cache is a Hub cache folder in huggingface_hub's layout.
type Cache struct {
	// Dir is the cache root. Zero: DefaultCacheDir().
	Dir string
}

// Resolve returns the snapshot folder of repoID at revision in the default
// cache, without the network. See Cache.Resolve.
func Resolve(repoID, revision string) (string, error) {
	return Cache{}.Resolve(repoID, revision)
}

func (c Cache) root() string {
	if c.Dir == "" {
		return DefaultCacheDir()
	}
	return c.Dir
}

// RepoDir returns the folder of a model repository,
// <root>/models--ORG--NAME. It does not check that it exists.
func (c Cache) RepoDir(repoID string) (string, error) {
	if err := ValidateRepoID(repoID); err != nil {
		return "", err
	}
	return filepath.Join(c.root(), repoFolderName(repoID)), nil
}

// Resolve returns the snapshot folder of repoID at revision, without the
// network. revision is a commit hash (40 hexadecimal digits), or a branch
// or tag name looked up in refs/, as the last download of that revision
// recorded it; "" means DefaultRevision. It fails with ErrNotCached when
// the cache has no such snapshot. The folder may hold only some of the
// revision's files: those that were downloaded.
func (c Cache) Resolve(repoID, revision string) (string, error) {
	repoDir, err := c.RepoDir(repoID)
	if err != nil {
		return "", err
	}
	if revision == "" {
		revision = DefaultRevision
	}
	if err := validateRevision(revision); err != nil {
		return "", err
	}
	commit := revision
	if !isCommitHash(revision) {
		commit, err = readRef(repoDir, revision)
		if err != nil {
			return "", err
		}
	}
	dir := filepath.Join(repoDir, "snapshots", commit)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("%w: %s at %s (%s)", ErrNotCached, repoID, revision, dir)
	}
	return dir, nil
}

// readRef returns the commit hash recorded in refs/<revision>.
func readRef(repoDir, revision string) (string, error) {
	p := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	b, err := readLimited(p, 1<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no ref %q in %s", ErrNotCached, revision, repoDir)
	}
	if err != nil {
		return "", fmt.Errorf("hub: read ref: %w", err)
	}
	commit := strings.TrimSpace(string(b))
	if !isCommitHash(commit) {
		return "", fmt.Errorf("hub: ref %s holds %q, not a commit hash", p, oneLine(commit, 60))
	}
	return commit, nil
}

// writeRef records that revision points at commit, as huggingface_hub does
// after every download by branch or tag name: refs/<revision> holds the
// bare hash, without a newline. The file is replaced atomically.
func writeRef(repoDir, revision, commit string) error {
	if revision == commit {
		return nil
	}
	p := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	if b, err := readLimited(p, 1<<10); err == nil && strings.TrimSpace(string(b)) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("hub: write ref: %w", err)
	}
	return writeFileAtomic(p, []byte(commit))
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder and a rename.
func writeFileAtomic(p string, data []byte) error {
	if err := atomicfile.WriteFile(p, data); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// linkPointer makes snapshots/<commit>/<filename> point at blob: a relative
// symlink (../../blobs/<etag> for a top-level file), so the cache may be
// moved. Where symlinks are unavailable, the blob is copied instead, as
// huggingface_hub does in its degraded mode.
func linkPointer(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	tmp := fmt.Sprintf("%s.%x.tmp", pointer, rand.Uint64()) // unique: other processes may link the same file
	if err := os.Symlink(rel, tmp); err != nil {
		return copyFile(blob, pointer)
	}
	if err := os.Rename(tmp, pointer); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hub: link %s: %w", pointer, err)
	}
	return nil
}

// copyFile copies src to dst through a temporary file.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(out.Name(), dst)
	}
	if err != nil {
		os.Remove(out.Name())
		return fmt.Errorf("hub: copy %s: %w", dst, err)
	}
	return nil
}

// exists reports whether p names a file, following symlinks: a dangling
// snapshot link does not count.
func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// repoFolderName is the cache folder of a model repository:
// "models--" followed by the repo id with "/" replaced by "--".
func repoFolderName(repoID string) string {
	return "models--" + strings.ReplaceAll(repoID, "/", "--")
}

// ValidateRepoID checks a repository id as the Hub does: "NAME" or
// "ORG/NAME", each part made of letters, digits, '-', '_' and '.', not
// starting or ending with '-' or '.', without "--" or "..", at most 96
// characters.
func ValidateRepoID(repoID string) error {
	bad := func(why string) error {
		return fmt.Errorf("hub: invalid repository id %q: %s", oneLine(repoID, 100), why)
	}
	if repoID == "" {
		return bad("empty")
	}
	if len(repoID) > 96 {
		return bad("longer than 96 characters")
	}
	parts := strings.Split(repoID, "/")
	if len(parts) > 2 {
		return bad("want ORG/NAME")
	}
	for _, p := range parts {
		if p == "" {
			return bad("empty part")
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return bad(fmt.Sprintf("character %q not allowed", r))
			}
		}
		if strings.ContainsAny(p[:1], "-.") || strings.ContainsAny(p[len(p)-1:], "-.") {
			return bad("parts may not start or end with '-' or '.'")
		}
	}
	if strings.Contains(repoID, "--") || strings.Contains(repoID, "..") {
		return bad(`"--" and ".." are not allowed`)
	}
	return nil
}

// validateRevision rejects revisions that cannot name a file under refs/.
func validateRevision(rev string) error {
	if rev == "" || rev == "." || len(rev) > 255 || !filepath.IsLocal(rev) || strings.ContainsAny(rev, "\\\x00") ||
		path.Clean(rev) != rev {
		return fmt.Errorf("hub: invalid revision %q", oneLine(rev, 100))
	}
	return nil
}

// validateFilename rejects repository paths that would land outside the
// snapshot folder or cannot be stored.
func validateFilename(name string) error {
	if name == "" || name == "." || len(name) > 4096 || !filepath.IsLocal(name) || strings.ContainsAny(name, "\\\x00") ||
		path.Clean(name) != name || strings.HasSuffix(name, ".incomplete") {
		return fmt.Errorf("hub: invalid file name %q", oneLine(name, 200))
	}
	return nil
}

// isCommitHash reports whether s is a full git commit hash.
func isCommitHash(s string) bool { return len(s) == 40 && isLowerHex(s) }

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseRef splits "ORG/NAME[@REVISION]" into a validated repository id and
// a revision (DefaultRevision when none is given).
func ParseRef(ref string) (repoID, revision string, err error) {
	repoID, revision, found := strings.Cut(ref, "@")
	if !found {
		revision = DefaultRevision
	}
	if err := ValidateRepoID(repoID); err != nil {
		return "", "", err
	}
	if err := validateRevision(revision); err != nil {
		return "", "", err
	}
	return repoID, revision, nil
}
