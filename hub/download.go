package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// indexFile is the safetensors index that lists a sharded model's shards.
const indexFile = "model.safetensors.index.json"

// Download fetches the files of repoID at revision ("" means
// DefaultRevision) that opts selects into the cache and returns the
// snapshot folder, snapshots/<commit>, like huggingface_hub's
// snapshot_download. Files already in the cache are not fetched again;
// refs/<revision> records the commit the revision pointed at.
func Download(ctx context.Context, repoID, revision string, opts *Options) (string, error) {
	c, err := newClient(opts)
	if err != nil {
		return "", err
	}
	defer c.close()
	if revision == "" {
		revision = DefaultRevision
	}
	repoDir, err := c.cache.RepoDir(repoID)
	if err != nil {
		return "", err
	}
	if err := validateRevision(revision); err != nil {
		return "", err
	}
	if c.offline {
		return c.cache.Resolve(repoID, revision)
	}
	info, err := c.repoInfo(ctx, repoID, revision)
	if err != nil {
		return "", err
	}
	if err := writeRef(repoDir, revision, info.SHA); err != nil {
		return "", err
	}
	sizes := make(map[string]int64, len(info.Siblings))
	var names []string
	for _, s := range info.Siblings {
		names = append(names, s.Name)
		sizes[s.Name] = s.FileSize()
	}
	tr := &tracker{fn: c.progress, total: -1}
	selected, err := c.selectFiles(ctx, repoID, info.SHA, names, tr)
	if err != nil {
		return "", err
	}
	if len(selected) == 0 {
		return "", fmt.Errorf("%w: no file of %s at %s matches the patterns", ErrEntryNotFound, repoID, revision)
	}
	total := int64(0)
	for _, n := range selected {
		if sizes[n] < 0 {
			total = -1
			break
		}
		total += sizes[n]
	}
	tr.start(total)
	if err := c.downloadAll(ctx, repoID, info.SHA, selected, sizes, tr); err != nil {
		return "", err
	}
	return filepath.Join(repoDir, "snapshots", info.SHA), nil
}

// downloadAll downloads names at commit with up to c.concurrency files in
// flight; the first failure cancels the others.
func (c *client) downloadAll(ctx context.Context, repoID, commit string, names []string, sizes map[string]int64, tr *tracker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		jobs     = make(chan string)
	)
	for range min(c.concurrency, len(names)) {
		wg.Go(func() {
			for n := range jobs {
				if _, err := c.downloadFile(ctx, repoID, commit, n, sizes[n], tr); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
feed:
	for _, n := range names {
		select {
		case jobs <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// selectFiles applies the allow and ignore patterns to the names of a
// revision. With the default patterns it keeps top-level files only (and a
// sentence-transformers pooling config, N_Pooling/config.json) and,
// of the safetensors weights, those the model loads: it reads the index,
// downloading it first, when there is one.
func (c *client) selectFiles(ctx context.Context, repoID, commit string, names []string, tr *tracker) ([]string, error) {
	if c.allow != nil {
		return filterNames(names, c.allow, c.ignore), nil
	}
	var rest, weights []string
	for _, n := range filterNames(names, DefaultAllowPatterns, c.ignore) {
		switch {
		case strings.Contains(n, "/") && !Match("[0-9]_Pooling/config.json", n):
		case strings.HasSuffix(n, ".safetensors"):
			weights = append(weights, n)
		default:
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	slices.Sort(weights)
	if !slices.Contains(rest, indexFile) {
		return append(rest, defaultWeights(weights)...), nil
	}
	p, err := c.downloadFile(ctx, repoID, commit, indexFile, -1, tr)
	if err != nil {
		return nil, err
	}
	data, err := readLimited(p, maxInfoBytes)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	shards, err := parseIndexShards(data)
	if err != nil {
		return nil, withContext(repoID, err)
	}
	for _, s := range shards {
		if !slices.Contains(names, s) {
			return nil, fmt.Errorf("%w: %s: %s names shard %q, which the revision lacks", ErrProtocol, repoID, indexFile, s)
		}
	}
	return append(rest, shards...), nil
}

// DownloadFile fetches one file of repoID at revision ("" means
// DefaultRevision) into the cache and returns its path in the snapshot
// folder, like huggingface_hub's hf_hub_download. When revision is a commit
// hash whose snapshot already holds the file, no request is made.
func DownloadFile(ctx context.Context, repoID, revision, filename string, opts *Options) (string, error) {
	c, err := newClient(opts)
	if err != nil {
		return "", err
	}
	defer c.close()
	if revision == "" {
		revision = DefaultRevision
	}
	return c.downloadFile(ctx, repoID, revision, filename, -1, &tracker{fn: c.progress, total: -1})
}

// fileMeta is what a HEAD on a resolve URL tells about a file.
type fileMeta struct {
	commit   string // X-Repo-Commit
	etag     string // X-Linked-Etag or ETag, normalised
	size     int64  // X-Linked-Size or Content-Length; -1 when absent
	location string // where to GET the bytes: the CDN for LFS files
}

func (c *client) downloadFile(ctx context.Context, repoID, revision, filename string, sizeHint int64, tr *tracker) (string, error) {
	repoDir, err := c.cache.RepoDir(repoID)
	if err != nil {
		return "", err
	}
	if err := validateRevision(revision); err != nil {
		return "", err
	}
	if err := validateFilename(filename); err != nil {
		return "", err
	}
	local := filepath.FromSlash(filename)
	if isCommitHash(revision) {
		pointer := filepath.Join(repoDir, "snapshots", revision, local)
		if exists(pointer) {
			tr.cached(filename, fileSize(pointer, sizeHint))
			return pointer, nil
		}
	}
	if c.offline {
		snap, err := c.cache.Resolve(repoID, revision)
		if err != nil {
			return "", err
		}
		if pointer := filepath.Join(snap, local); exists(pointer) {
			return pointer, nil
		}
		return "", fmt.Errorf("%w: %s of %s at %s (offline)", ErrNotCached, filename, repoID, revision)
	}
	m, err := c.head(ctx, repoID, revision, filename)
	if err != nil {
		return "", err
	}
	if revision != m.commit {
		if err := writeRef(repoDir, revision, m.commit); err != nil {
			return "", err
		}
	}
	pointer := filepath.Join(repoDir, "snapshots", m.commit, local)
	if exists(pointer) {
		tr.cached(filename, fileSize(pointer, m.size))
		return pointer, nil
	}
	blobs := filepath.Join(repoDir, "blobs")
	blob := filepath.Join(blobs, m.etag)
	if !exists(blob) {
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			return "", fmt.Errorf("hub: %w", err)
		}
		locks := filepath.Join(c.cache.Dir, ".locks", repoFolderName(repoID))
		if err := os.MkdirAll(locks, 0o755); err != nil {
			return "", fmt.Errorf("hub: %w", err)
		}
		unlock, err := lockFile(ctx, filepath.Join(locks, m.etag+".lock"))
		if err != nil {
			return "", fmt.Errorf("hub: lock %s: %w", filename, err)
		}
		if !exists(blob) { // another process may have finished it meanwhile
			err = c.fetchBlob(ctx, m, blob, func(n int64) { tr.file(filename, n, m.size) })
		}
		unlock()
		if err != nil {
			return "", withContext(filename, err)
		}
	}
	if err := linkPointer(blob, pointer); err != nil {
		return "", err
	}
	tr.finish(filename, fileSize(pointer, m.size))
	return pointer, nil
}

func fileSize(p string, fallback int64) int64 {
	if st, err := os.Stat(p); err == nil {
		return st.Size()
	}
	return fallback
}

// resolveURL is {endpoint}/{repo_id}/resolve/{revision}/{filename}, the
// revision escaped as one path segment and the file name segment by
// segment.
func (c *client) resolveURL(repoID, revision, filename string) string {
	segs := strings.Split(filename, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.endpoint + "/" + repoID + "/resolve/" + url.PathEscape(revision) + "/" + strings.Join(segs, "/")
}

// head reads a file's metadata. Relative redirects (a renamed repository)
// are followed; an absolute one (to the CDN) becomes the download location.
func (c *client) head(ctx context.Context, repoID, revision, filename string) (*fileMeta, error) {
	target := c.resolveURL(repoID, revision, filename)
	for hops := 0; ; hops++ {
		resp, err := c.do(ctx, c.noRedirect, func(ctx context.Context) (*http.Request, error) {
			return c.newRequest(ctx, http.MethodHead, target)
		}, ErrEntryNotFound)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && loc == "" {
			return nil, fmt.Errorf("%w: HEAD %s: %d without Location", ErrProtocol, target, resp.StatusCode)
		}
		if resp.StatusCode >= 300 {
			lu, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return nil, fmt.Errorf("%w: HEAD %s: bad Location %q", ErrProtocol, target, oneLine(loc, 200))
			}
			loc = lu.String()
			if u, _ := url.Parse(strings.TrimSpace(resp.Header.Get("Location"))); u != nil && u.Host == "" && hops < 10 {
				target = loc // relative: the same Hub, another path
				continue
			}
			return parseMeta(resp.Header, resp.ContentLength, loc, target)
		}
		m, err := parseMeta(resp.Header, resp.ContentLength, target, target)
		if err == nil {
			// Fetch the commit the HEAD saw, even if the branch moves meanwhile.
			m.location = c.resolveURL(repoID, m.commit, filename)
		}
		return m, err
	}
}

// parseMeta extracts and checks a file's metadata from HEAD headers.
func parseMeta(h http.Header, contentLength int64, location, target string) (*fileMeta, error) {
	m := &fileMeta{location: location, size: -1, commit: h.Get("X-Repo-Commit")}
	m.etag = h.Get("X-Linked-Etag")
	if m.etag == "" {
		m.etag = h.Get("ETag")
	}
	m.etag = normalizeETag(m.etag)
	if !isCommitHash(m.commit) {
		return nil, fmt.Errorf("%w: HEAD %s: X-Repo-Commit %q is not a commit hash", ErrProtocol, target, oneLine(m.commit, 60))
	}
	if !validETag(m.etag) {
		return nil, fmt.Errorf("%w: HEAD %s: no usable ETag (%q)", ErrProtocol, target, oneLine(m.etag, 80))
	}
	size := h.Get("X-Linked-Size")
	if size == "" {
		size = h.Get("Content-Length")
	}
	if size != "" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: HEAD %s: bad size %q", ErrProtocol, target, oneLine(size, 40))
		}
		m.size = n
	} else if contentLength >= 0 && location == target { // not a redirect: the file's own length
		m.size = contentLength
	}
	return m, nil
}

// normalizeETag strips the weak-validator prefix and the quotes of an ETag
// header, leaving a string fit for a file name.
func normalizeETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}

// validETag reports whether etag can name a blob file.
func validETag(etag string) bool {
	if etag == "" || len(etag) > 200 || etag == "." || etag == ".." {
		return false
	}
	for i := 0; i < len(etag); i++ {
		c := etag[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return !strings.HasSuffix(etag, ".incomplete")
}

// verifier checks downloaded bytes against a content-hash ETag: SHA-256
// for LFS objects, the git blob SHA-1 ("blob <size>\x00" + bytes) for files
// in git.
type verifier struct {
	h       hash.Hash
	want    string
	gitSize int64 // -1 for SHA-256
}

// newVerifier returns the verifier for etag, or nil when the ETag is not a
// content hash (or, for a git hash, the size is unknown).
func newVerifier(etag string, size int64) *verifier {
	switch {
	case len(etag) == 64 && isLowerHex(etag):
		return &verifier{h: sha256.New(), want: etag, gitSize: -1}
	case len(etag) == 40 && isLowerHex(etag) && size >= 0:
		v := &verifier{h: sha1.New(), want: etag, gitSize: size}
		v.reset()
		return v
	}
	return nil
}

func (v *verifier) reset() {
	if v == nil {
		return
	}
	v.h.Reset()
	if v.gitSize >= 0 {
		fmt.Fprintf(v.h, "blob %d\x00", v.gitSize)
	}
}

func (v *verifier) write(p []byte) {
	if v != nil {
		v.h.Write(p)
	}
}

func (v *verifier) ok() bool { return v == nil || hex.EncodeToString(v.h.Sum(nil)) == v.want }

// errRestart asks the download loop to start the file over.
var errRestart = errors.New("hub: server refused the byte range; restarting")

// fetchBlob downloads m into blob through blob+".incomplete", resuming what
// an earlier attempt left there, and renames it into place once its size
// and hash check out. onBytes receives the bytes present so far.
func (c *client) fetchBlob(ctx context.Context, m *fileMeta, blob string, onBytes func(int64)) error {
	tmp := blob + ".incomplete"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	have := st.Size()
	v := newVerifier(m.etag, m.size)
	restart := func() error {
		have = 0
		v.reset()
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		return nil
	}
	if m.size >= 0 && have > m.size || m.size < 0 {
		if err := restart(); err != nil {
			return err
		}
	}
	if have > 0 && v != nil {
		if _, err := io.Copy(hashWriter{v}, io.NewSectionReader(f, 0, have)); err != nil {
			return fmt.Errorf("hub: %w", err)
		}
	}
	resumed := have > 0
	for {
		onBytes(have)
		err := c.retry(ctx, func() (bool, error) {
			if m.size >= 0 && have == m.size {
				return false, nil
			}
			transient, err := c.getInto(ctx, m, f, &have, v, restart, onBytes)
			if err != nil {
				return transient, err
			}
			if m.size >= 0 && have < m.size { // the body ended early without an error
				return true, fmt.Errorf("hub: GET %s: %w after %d of %d bytes", m.location, io.ErrUnexpectedEOF, have, m.size)
			}
			return false, nil
		})
		if err != nil {
			return err
		}
		if (m.size < 0 || have == m.size) && v.ok() {
			break
		}
		if resumed { // the partial file may be stale or corrupt: start over once
			resumed = false
			if err := restart(); err != nil {
				return err
			}
			continue
		}
		f.Close()
		f = nil
		os.Remove(tmp)
		if m.size >= 0 && have != m.size {
			return fmt.Errorf("%w: got %d bytes, the Hub announced %d", ErrIntegrity, have, m.size)
		}
		return fmt.Errorf("%w: content does not hash to its ETag %s", ErrIntegrity, m.etag)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	err = f.Close()
	f = nil
	if err == nil {
		err = os.Rename(tmp, blob)
	}
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

type hashWriter struct{ v *verifier }

func (w hashWriter) Write(p []byte) (int, error) { w.v.write(p); return len(p), nil }

// getInto GETs the rest of the file from *have on and appends it to f,
// advancing *have. It reports whether a failure is transient.
func (c *client) getInto(ctx context.Context, m *fileMeta, f *os.File, have *int64, v *verifier,
	restart func() error, onBytes func(int64)) (bool, error) {
	resp, err := c.send(ctx, c.http, func(ctx context.Context) (*http.Request, error) {
		req, err := c.newRequest(ctx, http.MethodGet, m.location)
		if err == nil && *have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", *have))
		}
		return req, err
	})
	if err != nil {
		return transientNetError(ctx, err), err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && *have > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", *have)) {
			if err := restart(); err != nil {
				return false, err
			}
			return true, errRestart
		}
	case resp.StatusCode == http.StatusOK:
		if *have > 0 { // the server sent the whole file
			if err := restart(); err != nil {
				return false, err
			}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && *have > 0:
		if err := restart(); err != nil {
			return false, err
		}
		return true, errRestart
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		herr := newHTTPError(resp, body, ErrEntryNotFound)
		return herr.temporary(), herr
	}
	if _, err := f.Seek(*have, io.SeekStart); err != nil {
		return false, fmt.Errorf("hub: %w", err)
	}
	var body io.Reader = resp.Body
	if m.size >= 0 { // one byte more than announced is enough to notice an overrun
		body = io.LimitReader(body, m.size-*have+1)
	}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return false, fmt.Errorf("hub: %w", err)
			}
			v.write(buf[:n])
			*have += int64(n)
			onBytes(*have)
		}
		if err := ctx.Err(); err != nil { // buffered bytes may outlast a cancellation
			return false, err
		}
		if rerr == io.EOF {
			return false, nil
		}
		if rerr != nil {
			return transientNetError(ctx, rerr), fmt.Errorf("hub: GET %s: %w", m.location, rerr)
		}
	}
}

// tracker turns per-file byte counts into Progress reports, serialising
// the calls of concurrent downloads.
type tracker struct {
	fn     func(Progress)
	mu     sync.Mutex
	done   int64            // bytes of the files finished so far
	active map[string]int64 // bytes present of the files in flight
	sum    int64            // sum of active
	total  int64
}

// start resets the counts for a download of total bytes (-1: unknown).
func (t *tracker) start(total int64) {
	t.mu.Lock()
	t.done, t.sum, t.total, t.active = 0, 0, total, nil
	t.mu.Unlock()
}

// file records that n bytes of name (of size bytes) are present.
func (t *tracker) file(name string, n, size int64) {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active == nil {
		t.active = make(map[string]int64)
	}
	t.sum += n - t.active[name]
	t.active[name] = n
	t.fn(Progress{File: name, FileBytes: n, FileSize: size, Bytes: t.done + t.sum, Total: t.total})
}

// finish records that name is complete, with size bytes.
func (t *tracker) finish(name string, size int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sum -= t.active[name]
	delete(t.active, name)
	t.done += size
	if t.fn != nil {
		t.fn(Progress{File: name, FileBytes: size, FileSize: size, Bytes: t.done + t.sum, Total: t.total})
	}
}

func (t *tracker) cached(name string, size int64) { t.finish(name, size) }
