package hub

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// isolate keeps the test away from the user's token and cache.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_CACHE",
		"HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_HUB_OFFLINE", "HF_HUB_DOWNLOAD_TIMEOUT"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", home)
	return filepath.Join(home, "hub")
}

func testOptions(f *fakeHub, cache string) *Options {
	return &Options{
		Endpoint:   f.hub.URL,
		CacheDir:   cache,
		Token:      goodToken,
		HTTPClient: &http.Client{Transport: &http.Transport{}},
		RetryWait:  time.Millisecond,
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// tree describes every entry under dir: "dir", "file <content>" (content
// abbreviated for big files) or "link -> <target>".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link -> " + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(b) > 64 {
				out[rel] = "file " + fakeFile{data: b, lfs: true}.etag()[:12]
			} else {
				out[rel] = "file " + string(b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTree(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("%s: got %q, want %q", k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %q", k, got[k])
		}
	}
}

// modelFiles is a small model repository with files Glossa needs and
// files it skips.
func modelFiles(weights []byte) map[string]fakeFile {
	return map[string]fakeFile{
		"config.json":            {data: []byte(`{"model_type":"gpt2"}`)},
		"tokenizer.json":         {data: []byte(`{"model":{}}`)},
		"model.safetensors":      {data: weights, lfs: true},
		"pytorch_model.bin":      {data: randomBytes(9, 300), lfs: true},
		"onnx/model.onnx":        {data: randomBytes(10, 200), lfs: true},
		"flax_model.msgpack":     {data: randomBytes(11, 100), lfs: true},
		"README.md":              {data: []byte("# a model\n")},
		"sub/nested.safetensors": {data: randomBytes(12, 100), lfs: true},
	}
}

func TestDownloadCacheTree(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	weights := randomBytes(1, 3<<20+17)
	files := modelFiles(weights)
	commit := f.commit("org/tiny", "main", files)
	var reports []Progress
	opts := testOptions(f, cache)
	opts.Progress = func(p Progress) { reports = append(reports, p) }

	snap, err := Download(context.Background(), "org/tiny", "", opts)
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--org--tiny")
	if want := filepath.Join(repoDir, "snapshots", commit); snap != want {
		t.Fatalf("snapshot %s, want %s", snap, want)
	}
	cfg, tok, w := files["config.json"].etag(), files["tokenizer.json"].etag(), files["model.safetensors"].etag()
	diffTree(t, tree(t, repoDir), map[string]string{
		"blobs":                                "dir",
		"blobs/" + cfg:                         "file " + `{"model_type":"gpt2"}`,
		"blobs/" + tok:                         "file " + `{"model":{}}`,
		"blobs/" + w:                           "file " + w[:12],
		"refs":                                 "dir",
		"refs/main":                            "file " + commit,
		"snapshots":                            "dir",
		"snapshots/" + commit:                  "dir",
		"snapshots/" + commit + "/config.json": "link -> ../../blobs/" + cfg,
		"snapshots/" + commit + "/tokenizer.json":    "link -> ../../blobs/" + tok,
		"snapshots/" + commit + "/model.safetensors": "link -> ../../blobs/" + w,
	})
	if b, err := os.ReadFile(filepath.Join(snap, "model.safetensors")); err != nil || !bytes.Equal(b, weights) {
		t.Errorf("weights through the snapshot link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, ".locks", "models--org--tiny", w+".lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}

	// The token goes to the Hub, never to the CDN; the CDN was asked for the weights only.
	var cdnGets int
	for _, r := range f.requests() {
		if r.Host == "cdn" {
			cdnGets++
			if r.Auth != "" {
				t.Errorf("CDN request %s %s carried Authorization", r.Method, r.Path)
			}
		} else if r.Auth != "Bearer "+goodToken {
			t.Errorf("Hub request %s %s carried Authorization %q", r.Method, r.Path, r.Auth)
		}
	}
	if cdnGets != 1 {
		t.Errorf("%d CDN requests, want 1", cdnGets)
	}

	// Progress ends at the total, which is the size of the three files.
	total := int64(len(weights) + len(files["config.json"].data) + len(files["tokenizer.json"].data))
	last := reports[len(reports)-1]
	if last.Total != total || last.Bytes != total {
		t.Errorf("last progress %+v, want Bytes = Total = %d", last, total)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Bytes < reports[i-1].Bytes {
			t.Fatalf("progress went back: %+v then %+v", reports[i-1], reports[i])
		}
	}

	// A second download finds everything cached: one API call, no file request.
	f.resetLog()
	if _, err := Download(context.Background(), "org/tiny", "main", opts); err != nil {
		t.Fatal(err)
	}
	if reqs := f.requests(); len(reqs) != 1 || !strings.HasPrefix(reqs[0].Path, "/api/models/") {
		t.Errorf("second download made requests %+v, want the revision API call only", reqs)
	}

	// Offline, the cache resolves the branch and the commit.
	f.hub.Close()
	for _, offline := range []func(){
		func() { opts.Offline = true },
		func() { opts.Offline = false; t.Setenv("HF_HUB_OFFLINE", "1") },
	} {
		offline()
		if got, err := Download(context.Background(), "org/tiny", "main", opts); err != nil || got != snap {
			t.Errorf("offline Download = %q, %v; want %q", got, err, snap)
		}
		if got, err := DownloadFile(context.Background(), "org/tiny", "main", "config.json", opts); err != nil || got != filepath.Join(snap, "config.json") {
			t.Errorf("offline DownloadFile = %q, %v", got, err)
		}
		if _, err := DownloadFile(context.Background(), "org/tiny", "main", "README.md", opts); !errors.Is(err, ErrNotCached) {
			t.Errorf("offline DownloadFile of a file never fetched: %v, want ErrNotCached", err)
		}
		if _, err := Download(context.Background(), "org/tiny", "v2", opts); !errors.Is(err, ErrNotCached) {
			t.Errorf("offline Download of an unknown revision: %v, want ErrNotCached", err)
		}
	}
	for _, rev := range []string{"", "main", commit} {
		got, err := Cache{Dir: cache}.Resolve("org/tiny", rev)
		if err != nil || got != snap {
			t.Errorf("Resolve(%q) = %q, %v; want %q", rev, got, err, snap)
		}
	}
	t.Setenv("HF_HUB_CACHE", cache)
	if got, err := Resolve("org/tiny", "main"); err != nil || got != snap {
		t.Errorf("Resolve with HF_HUB_CACHE = %q, %v", got, err)
	}
}

func TestDownloadSelection(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	index := `{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}`
	f.commit("org/sharded", "main", map[string]fakeFile{
		"config.json":                      {data: []byte("{}")},
		"generation_config.json":           {data: []byte(`{"do_sample":true}`)},
		"model.safetensors.index.json":     {data: []byte(index)},
		"model-00001-of-00002.safetensors": {data: randomBytes(2, 1000), lfs: true},
		"model-00002-of-00002.safetensors": {data: randomBytes(3, 1000), lfs: true},
		"consolidated.safetensors":         {data: randomBytes(4, 2000), lfs: true},
		"tokenizer.model":                  {data: randomBytes(5, 100), lfs: true},
		"pytorch_model-00001-of-00002.bin": {data: randomBytes(6, 100), lfs: true},
		"original/consolidated.00.pth":     {data: randomBytes(7, 100), lfs: true},
	})
	f.commit("org/single", "main", map[string]fakeFile{
		"config.json":            {data: []byte("{}")},
		"model.safetensors":      {data: randomBytes(8, 100), lfs: true},
		"model.fp16.safetensors": {data: randomBytes(9, 50), lfs: true},
		"tf_model.h5":            {data: randomBytes(10, 50), lfs: true},
	})
	for _, tc := range []struct {
		name, repo    string
		allow, ignore []string
		want          []string
	}{
		{"index picks shards", "org/sharded", nil, nil, []string{"config.json", "generation_config.json",
			"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.model"}},
		{"ignore", "org/sharded", nil, []string{"generation_*", "*.model"}, []string{"config.json",
			"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}},
		{"folder pattern", "org/sharded", []string{"original/"}, nil, []string{"original/consolidated.00.pth"}},
		{"explicit", "org/sharded", []string{"consolidated.*", "*.json"}, []string{"generation_config.json"},
			[]string{"config.json", "consolidated.safetensors", "model.safetensors.index.json"}},
		{"single file wins", "org/single", nil, nil, []string{"config.json", "model.safetensors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(f, filepath.Join(cache, tc.name))
			opts.AllowPatterns, opts.IgnorePatterns = tc.allow, tc.ignore
			snap, err := Download(context.Background(), tc.repo, "main", opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(snap, p)
					got = append(got, filepath.ToSlash(rel))
				}
				return err
			})
			if !slices.Equal(got, tc.want) {
				t.Errorf("snapshot holds %q, want %q", got, tc.want)
			}
		})
	}
	opts := testOptions(f, cache)
	opts.AllowPatterns = []string{"*.gguf"}
	if _, err := Download(context.Background(), "org/single", "main", opts); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("no match: err %v, want ErrEntryNotFound", err)
	}
}

func TestDownloadResume(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	weights := randomBytes(2, 1<<20)
	files := map[string]fakeFile{"config.json": {data: []byte("{}")}, "model.safetensors": {data: weights, lfs: true}}
	commit := f.commit("org/big", "main", files)
	etag := files["model.safetensors"].etag()
	cdnPath := "/repos/" + etag

	t.Run("dropped connection", func(t *testing.T) {
		dir := filepath.Join(cache, "drop")
		f.resetLog()
		f.mu.Lock()
		f.dropAfter[cdnPath] = 300_000
		f.mu.Unlock()
		snap, err := Download(context.Background(), "org/big", "main", testOptions(f, dir))
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join(snap, "model.safetensors"), weights)
		ranges := cdnRanges(f)
		if len(ranges) != 2 || ranges[0] != "" || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
			t.Errorf("CDN ranges %q, want a full GET then a resumed one", ranges)
		}
	})

	t.Run("partial file from an earlier run", func(t *testing.T) {
		dir := filepath.Join(cache, "partial")
		blobs := filepath.Join(dir, "models--org--big", "blobs")
		os.MkdirAll(blobs, 0o755)
		os.WriteFile(filepath.Join(blobs, etag+".incomplete"), weights[:123_456], 0o644)
		f.resetLog()
		snap, err := Download(context.Background(), "org/big", commit, testOptions(f, dir))
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join(snap, "model.safetensors"), weights)
		if r := cdnRanges(f); !slices.Equal(r, []string{"bytes=123456-"}) {
			t.Errorf("CDN ranges %q, want [bytes=123456-]", r)
		}
		if _, err := os.Stat(filepath.Join(blobs, etag+".incomplete")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf(".incomplete left behind: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "models--org--big", "refs")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a download by commit hash wrote refs: %v", err)
		}
	})

	t.Run("stale partial file", func(t *testing.T) {
		dir := filepath.Join(cache, "stale")
		blobs := filepath.Join(dir, "models--org--big", "blobs")
		os.MkdirAll(blobs, 0o755)
		os.WriteFile(filepath.Join(blobs, etag+".incomplete"), randomBytes(99, 5000), 0o644)
		f.resetLog()
		snap, err := Download(context.Background(), "org/big", "main", testOptions(f, dir))
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join(snap, "model.safetensors"), weights)
		if r := cdnRanges(f); !slices.Equal(r, []string{"bytes=5000-", ""}) {
			t.Errorf("CDN ranges %q, want a resumed GET, a hash mismatch, then a full GET", r)
		}
	})

	t.Run("stalled transfer and silent API", func(t *testing.T) {
		dir := filepath.Join(cache, "stall")
		f.resetLog()
		f.mu.Lock()
		f.stallAt[cdnPath] = 200_000
		f.stallAt["/api/models/org/big/revision/main"] = -1
		f.mu.Unlock()
		opts := testOptions(f, dir)
		opts.Timeout = 200 * time.Millisecond
		snap, err := Download(context.Background(), "org/big", "main", opts)
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join(snap, "model.safetensors"), weights)
		if r := cdnRanges(f); len(r) != 2 || r[0] != "" || !strings.HasPrefix(r[1], "bytes=") {
			t.Errorf("CDN ranges %q, want a full GET then a resumed one", r)
		}
	})

	t.Run("server ignores ranges", func(t *testing.T) {
		dir := filepath.Join(cache, "norange")
		blobs := filepath.Join(dir, "models--org--big", "blobs")
		os.MkdirAll(blobs, 0o755)
		os.WriteFile(filepath.Join(blobs, etag+".incomplete"), weights[:1000], 0o644)
		f.mu.Lock()
		f.noRange = true
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.noRange = false; f.mu.Unlock() }()
		snap, err := Download(context.Background(), "org/big", "main", testOptions(f, dir))
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join(snap, "model.safetensors"), weights)
	})
}

func cdnRanges(f *fakeHub) []string {
	var r []string
	for _, q := range f.requests() {
		if q.Host == "cdn" {
			r = append(r, q.Range)
		}
	}
	return r
}

func checkFile(t *testing.T, p string, want []byte) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s: %d bytes differ from the %d expected", p, len(b), len(want))
	}
}

func TestDownloadRetries(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	commit := f.commit("org/flaky", "main", map[string]fakeFile{"config.json": {data: []byte("{}")}})
	resolvePath := "/org/flaky/resolve/" + commit + "/config.json"

	f.mu.Lock()
	f.fail5xx["/api/models/org/flaky/revision/main"] = 2
	f.fail5xx[resolvePath] = 2
	f.mu.Unlock()
	if _, err := Download(context.Background(), "org/flaky", "main", testOptions(f, cache)); err != nil {
		t.Fatalf("with two 503s per URL: %v", err)
	}

	f.mu.Lock()
	f.fail5xx["/api/models/org/flaky/revision/main"] = 1
	f.mu.Unlock()
	opts := testOptions(f, t.TempDir())
	opts.MaxRetries = -1
	_, err := Download(context.Background(), "org/flaky", "main", opts)
	var herr *HTTPError
	if !errors.As(err, &herr) || herr.StatusCode != 503 {
		t.Errorf("without retries: err %v, want an HTTPError 503", err)
	}
}

func TestDownloadErrors(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	f.commit("org/open", "main", map[string]fakeFile{"config.json": {data: []byte("{}")}})
	f.commit("org/gated", "main", map[string]fakeFile{"config.json": {data: []byte("{}")}})
	f.repos["org/gated"].gated = true
	ctx := context.Background()
	for _, tc := range []struct {
		name, repo, rev, file, token string
		want                         error
		status                       int
	}{
		{"missing repo anonymous", "org/none", "main", "", "", ErrRepoNotFound, 401},
		{"missing repo with token", "org/none", "main", "", goodToken, ErrRepoNotFound, 404},
		{"missing revision", "org/open", "v9", "", "", ErrRevisionNotFound, 404},
		{"missing file", "org/open", "main", "vocab.txt", "", ErrEntryNotFound, 404},
		{"gated anonymous", "org/gated", "main", "", "", ErrAccessDenied, 401},
		{"gated wrong token", "org/gated", "main", "", "bad", ErrAccessDenied, 403},
		{"gated file wrong token", "org/gated", "main", "config.json", "bad", ErrAccessDenied, 403},
		{"invalid repo id", "../etc", "main", "", "", nil, 0},
		{"invalid revision", "org/open", "../../x", "", "", nil, 0},
		{"invalid file", "org/open", "main", "../x", "", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(f, cache)
			opts.Token = tc.token
			var err error
			if tc.file == "" {
				_, err = Download(ctx, tc.repo, tc.rev, opts)
			} else {
				_, err = DownloadFile(ctx, tc.repo, tc.rev, tc.file, opts)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
			var herr *HTTPError
			if errors.As(err, &herr) != (tc.status != 0) || tc.status != 0 && herr.StatusCode != tc.status {
				t.Errorf("err %v, want HTTP status %d", err, tc.status)
			}
			if !strings.HasPrefix(err.Error(), "hub: ") || strings.Count(err.Error(), "hub: ") > 1 {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if strings.Contains(err.Error(), goodToken) || tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
	if _, err := Download(ctx, "org/gated", "main", testOptions(f, cache)); err != nil {
		t.Errorf("gated with the right token: %v", err)
	}
	if _, err := (Cache{Dir: cache}).Resolve("org/open", "main"); !errors.Is(err, ErrNotCached) {
		t.Errorf("Resolve of a repository never downloaded: %v, want ErrNotCached", err)
	}
}

func TestDownloadNewRevision(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	old := modelFiles(randomBytes(1, 5000))
	c1 := f.commit("org/evolving", "main", old)
	opts := testOptions(f, cache)
	if _, err := Download(context.Background(), "org/evolving", "main", opts); err != nil {
		t.Fatal(err)
	}
	// The weights change (a new ETag); the config does not.
	newer := modelFiles(randomBytes(2, 6000))
	c2 := f.commit("org/evolving", "main", newer)
	snap, err := Download(context.Background(), "org/evolving", "main", opts)
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--org--evolving")
	got := tree(t, repoDir)
	if got["refs/main"] != "file "+c2 {
		t.Errorf("refs/main = %q, want %s", got["refs/main"], c2)
	}
	for _, c := range []struct {
		commit string
		files  map[string]fakeFile
	}{{c1, old}, {c2, newer}} {
		for _, n := range []string{"config.json", "model.safetensors"} {
			k := "snapshots/" + c.commit + "/" + n
			if want := "link -> ../../blobs/" + c.files[n].etag(); got[k] != want {
				t.Errorf("%s: %q, want %q", k, got[k], want)
			}
		}
	}
	var blobs int
	for k := range got {
		if strings.HasPrefix(k, "blobs/") {
			blobs++
		}
	}
	if blobs != 4 { // config and tokenizer shared, two weights
		t.Errorf("%d blobs, want 4", blobs)
	}
	checkFile(t, filepath.Join(snap, "model.safetensors"), newer["model.safetensors"].data)
	// Pinned to the old commit, the cache still serves the old weights.
	oldSnap, err := Download(context.Background(), "org/evolving", c1, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(oldSnap, "model.safetensors"), old["model.safetensors"].data)
}

func TestDownloadIntegrity(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	files := map[string]fakeFile{"config.json": {data: []byte("{}")}}
	for i, n := range []string{"a.safetensors", "b.safetensors", "c.safetensors"} {
		files[n] = fakeFile{data: randomBytes(uint64(30+i), 10_000), lfs: true}
	}
	f.commit("org/corrupt", "main", files)
	f.corrupt = true
	_, err := Download(context.Background(), "org/corrupt", "main", testOptions(f, cache))
	if !errors.Is(err, ErrIntegrity) || errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want ErrIntegrity", err)
	}
	// No corrupt blob is kept (the partial files of the downloads the failure
	// cancelled may stay, to be resumed).
	entries, _ := os.ReadDir(filepath.Join(cache, "models--org--corrupt", "blobs"))
	for _, e := range entries {
		if len(e.Name()) == 64 {
			t.Errorf("blobs/%s kept after a hash mismatch", e.Name())
		}
	}
	// With one file at a time, the failing file leaves nothing behind.
	opts := testOptions(f, t.TempDir())
	opts.Concurrency = 1
	opts.AllowPatterns = []string{"b.safetensors"}
	if _, err := Download(context.Background(), "org/corrupt", "main", opts); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("err %v, want ErrIntegrity", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(opts.CacheDir, "models--org--corrupt", "blobs")); len(entries) != 0 {
		t.Errorf("blobs left after a hash mismatch: %v", entries)
	}
}

func TestDownloadRenamedRepo(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	commit := f.commit("org/new-name", "main", map[string]fakeFile{"config.json": {data: []byte(`{"a":1}`)}})
	f.renamed["org/old-name"] = "org/new-name"
	p, err := DownloadFile(context.Background(), "org/old-name", "main", "config.json", testOptions(f, cache))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "models--org--old-name", "snapshots", commit, "config.json"); p != want {
		t.Errorf("path %s, want %s", p, want)
	}
	checkFile(t, p, []byte(`{"a":1}`))
}

func TestDownloadCancel(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	weights := randomBytes(4, 2<<20)
	f.commit("org/slow", "main", map[string]fakeFile{"model.safetensors": {data: weights, lfs: true}})
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions(f, cache)
	opts.Progress = func(p Progress) {
		if p.FileBytes > 0 && p.FileBytes < p.FileSize {
			cancel()
		}
	}
	_, err := Download(ctx, "org/slow", "main", opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	// The partial file stays, to be resumed.
	etag := fakeFile{data: weights, lfs: true}.etag()
	st, err := os.Stat(filepath.Join(cache, "models--org--slow", "blobs", etag+".incomplete"))
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(weights)) {
		t.Errorf("partial file after cancel: %v, %v", st, err)
	}
	snap, err := Download(context.Background(), "org/slow", "main", opts)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(snap, "model.safetensors"), weights)
}

// A cache written by Python's huggingface_hub is used as it is.
func TestPythonWrittenCache(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	files := map[string]fakeFile{"config.json": {data: []byte(`{"n_embd":8}`)}, "model.safetensors": {data: randomBytes(5, 999), lfs: true}}
	commit := f.commit("org/py", "main", files)
	repoDir := filepath.Join(cache, "models--org--py")
	for n, ff := range files {
		os.MkdirAll(filepath.Join(repoDir, "blobs"), 0o755)
		os.WriteFile(filepath.Join(repoDir, "blobs", ff.etag()), ff.data, 0o644)
		os.MkdirAll(filepath.Join(repoDir, "snapshots", commit), 0o755)
		os.Symlink("../../blobs/"+ff.etag(), filepath.Join(repoDir, "snapshots", commit, n))
	}
	os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755)
	os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(commit), 0o644)
	before := tree(t, repoDir)

	snap, err := Download(context.Background(), "org/py", "main", testOptions(f, cache))
	if err != nil {
		t.Fatal(err)
	}
	if snap != filepath.Join(repoDir, "snapshots", commit) {
		t.Errorf("snapshot %s", snap)
	}
	for _, r := range f.requests() {
		if r.Host == "cdn" || strings.Contains(r.Path, "/resolve/") {
			t.Errorf("request %s %s for a cached file", r.Method, r.Path)
		}
	}
	diffTree(t, tree(t, repoDir), before)
}

// Concurrent downloads of one model into one cache fetch each blob once:
// the others wait on the lock and find the blob done.
func TestDownloadConcurrent(t *testing.T) {
	cache := isolate(t)
	f := newFakeHub(t)
	weights := randomBytes(6, 1<<20)
	commit := f.commit("org/shared", "main", map[string]fakeFile{
		"config.json": {data: []byte("{}")}, "model.safetensors": {data: weights, lfs: true}})
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := Download(context.Background(), "org/shared", "main", testOptions(f, cache))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if r := cdnRanges(f); len(r) != 1 {
		t.Errorf("%d CDN requests, want 1", len(r))
	}
	checkFile(t, filepath.Join(cache, "models--org--shared", "snapshots", commit, "model.safetensors"), weights)
}
