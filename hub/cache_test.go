package hub

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	cache := t.TempDir()
	const commit = "0123456789abcdef0123456789abcdef01234567"
	repo := filepath.Join(cache, "models--org--name")
	os.MkdirAll(filepath.Join(repo, "snapshots", commit), 0o755)
	os.MkdirAll(filepath.Join(repo, "refs", "refs", "pr"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit+"\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "refs", "refs", "pr", "1"), []byte(commit), 0o644)
	os.WriteFile(filepath.Join(repo, "refs", "broken"), []byte("not a hash"), 0o644)
	os.WriteFile(filepath.Join(repo, "refs", "gone"), []byte(strings.Repeat("f", 40)), 0o644)
	want := filepath.Join(repo, "snapshots", commit)
	c := Cache{Dir: cache}
	for _, tc := range []struct {
		repo, rev string
		err       error // nil: success
	}{
		{"org/name", "", nil},
		{"org/name", "main", nil},
		{"org/name", commit, nil},
		{"org/name", "refs/pr/1", nil},
		{"org/name", "v1.0", ErrNotCached},
		{"org/name", "gone", ErrNotCached},
		{"org/name", strings.Repeat("e", 40), ErrNotCached},
		{"org/other", "main", ErrNotCached},
		{"org/name", "broken", errors.New("not a commit hash")},
		{"org/name", "../../../etc/passwd", errors.New("invalid revision")},
		{"../x", "main", errors.New("invalid repository id")},
	} {
		got, err := c.Resolve(tc.repo, tc.rev)
		switch {
		case tc.err == nil && (err != nil || got != want):
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q", tc.repo, tc.rev, got, err, want)
		case tc.err != nil && err == nil:
			t.Errorf("Resolve(%q, %q) = %q, want an error", tc.repo, tc.rev, got)
		case tc.err != nil && !errors.Is(err, tc.err) && !strings.Contains(err.Error(), tc.err.Error()):
			t.Errorf("Resolve(%q, %q): %v, want %v", tc.repo, tc.rev, err, tc.err)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	home, _ := os.UserHomeDir()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, filepath.Join(home, ".cache", "huggingface", "hub")},
		{map[string]string{"XDG_CACHE_HOME": "/xdg"}, "/xdg/huggingface/hub"},
		{map[string]string{"HF_HOME": "/hf", "XDG_CACHE_HOME": "/xdg"}, "/hf/hub"},
		{map[string]string{"HF_HOME": "~/hf"}, filepath.Join(home, "hf", "hub")},
		{map[string]string{"HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old"}, "/old"},
		{map[string]string{"HF_HOME": "/hf", "HF_HUB_CACHE": "/c", "HUGGINGFACE_HUB_CACHE": "/old"}, "/c"},
	} {
		for _, k := range []string{"HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"} {
			t.Setenv(k, tc.env[k])
		}
		if got := DefaultCacheDir(); got != tc.want {
			t.Errorf("env %v: DefaultCacheDir() = %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestTokenAndEndpointFromEnv(t *testing.T) {
	isolate(t)
	home := os.Getenv("HF_HOME")
	c, err := newClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint != DefaultEndpoint || c.token != "" || c.cache.Dir != filepath.Join(home, "hub") {
		t.Errorf("zero options: endpoint %q, token %q, cache %q", c.endpoint, c.token, c.cache.Dir)
	}
	os.WriteFile(filepath.Join(home, "token"), []byte("hf_file\n"), 0o600)
	t.Setenv("HF_ENDPOINT", "https://mirror.example/")
	if c, _ := newClient(&Options{}); c.token != "hf_file" || c.endpoint != "https://mirror.example" {
		t.Errorf("token file: token %q, endpoint %q", c.token, c.endpoint)
	}
	t.Setenv("HF_TOKEN", "hf_env")
	if c, _ := newClient(&Options{}); c.token != "hf_env" {
		t.Errorf("HF_TOKEN: token %q", c.token)
	}
	if c, _ := newClient(&Options{Token: "hf_opt", Endpoint: "http://127.0.0.1:1"}); c.token != "hf_opt" || c.endpoint != "http://127.0.0.1:1" {
		t.Errorf("explicit: token %q, endpoint %q", c.token, c.endpoint)
	}
	for _, e := range []string{"ftp://x", "huggingface.co", "http://", "http://h/?q=1"} {
		if _, err := newClient(&Options{Endpoint: e}); err == nil {
			t.Errorf("endpoint %q accepted", e)
		}
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct{ in, repo, rev string }{
		{"org/name", "org/name", "main"},
		{"gpt2", "gpt2", "main"},
		{"org/name@v1.0", "org/name", "v1.0"},
		{"org/name@refs/pr/3", "org/name", "refs/pr/3"},
		{"meta-llama/Llama-3.2-1B@0123456789abcdef0123456789abcdef01234567", "meta-llama/Llama-3.2-1B", "0123456789abcdef0123456789abcdef01234567"},
		{"Org_1/na.me-2", "Org_1/na.me-2", "main"},
	} {
		repo, rev, err := ParseRef(tc.in)
		if err != nil || repo != tc.repo || rev != tc.rev {
			t.Errorf("ParseRef(%q) = %q, %q, %v; want %q, %q", tc.in, repo, rev, err, tc.repo, tc.rev)
		}
	}
	for _, in := range []string{"", "/", "org/", "/name", "a/b/c", "org/na--me", "org/na..me", "-org/name", "org/name.",
		"org/na me", "org/name@", "org/name@../x", "org/name@/abs", "org/name@a//b", "org/name@a\\b", "../../etc",
		strings.Repeat("a", 97)} {
		if repo, rev, err := ParseRef(in); err == nil {
			t.Errorf("ParseRef(%q) = %q, %q; want an error", in, repo, rev)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"org/name", "org/name@main", "a/b@refs/pr/1", "../x@y", "org/name@..", "x@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		repo, rev, err := ParseRef(s)
		if err != nil {
			return
		}
		// Whatever parses must stay inside the cache.
		dir := filepath.Join("/cache", repoFolderName(repo))
		if filepath.Dir(dir) != "/cache" {
			t.Fatalf("repo %q escapes the cache: %s", repo, dir)
		}
		ref := filepath.Join(dir, "refs", filepath.FromSlash(rev))
		if !strings.HasPrefix(ref, dir+"/refs/") {
			t.Fatalf("revision %q escapes refs/: %s", rev, ref)
		}
	})
}

func TestParseRepoInfo(t *testing.T) {
	good := `{"id":"org/m","sha":"0123456789abcdef0123456789abcdef01234567","siblings":[` +
		`{"rfilename":"config.json","size":10,"blobId":"aa"},` +
		`{"rfilename":"w/model.safetensors","size":134,"lfs":{"sha256":"bb","size":1000,"pointerSize":134}},` +
		`{"rfilename":"nosize"}],"private":false}`
	info, err := parseRepoInfo([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "org/m" || len(info.Siblings) != 3 || info.Siblings[1].FileSize() != 1000 ||
		info.Siblings[0].FileSize() != 10 || info.Siblings[2].FileSize() != -1 {
		t.Errorf("parsed %+v", info)
	}
	for _, bad := range []string{
		``, `[]`, `{"sha":"abc"}`, `{"sha":"0123456789abcdef0123456789abcdef0123456g"}`,
		`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"../x"}]}`,
		`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"/etc/x"}]}`,
		`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a"},{"rfilename":"a"}]}`,
		`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a","size":-1}]}`,
		`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a.incomplete"}]}`,
	} {
		if _, err := parseRepoInfo([]byte(bad)); !errors.Is(err, ErrProtocol) {
			t.Errorf("parseRepoInfo(%q): %v, want ErrProtocol", bad, err)
		}
	}
}

func FuzzParseRepoInfo(f *testing.F) {
	f.Add([]byte(`{"id":"org/m","sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"config.json","size":10},{"rfilename":"m.safetensors","lfs":{"sha256":"bb","size":1000}}]}`))
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a/../b"}]}`))
	f.Add([]byte(`{"siblings":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseRepoInfo(data)
		if err != nil {
			return
		}
		for _, s := range info.Siblings {
			if !filepath.IsLocal(s.Name) || s.FileSize() < -1 {
				t.Fatalf("accepted sibling %+v", s)
			}
		}
	})
}

func FuzzParseIndexShards(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../../x"}}`))
	f.Add([]byte(`{"weight_map":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		shards, err := parseIndexShards(data)
		if err != nil {
			return
		}
		if len(shards) == 0 {
			t.Fatal("no shards and no error")
		}
		for _, s := range shards {
			if !filepath.IsLocal(s) {
				t.Fatalf("accepted shard %q", s)
			}
		}
	})
}

func TestParseMeta(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		header    http.Header
		etag      string
		size      int64
		wantError bool
	}{
		{"git file", h("X-Repo-Commit", commit, "ETag", `"abc"`, "Content-Length", "12"), "abc", 12, false},
		{"weak etag", h("X-Repo-Commit", commit, "ETag", `W/"abc"`), "abc", 7, false},
		{"lfs", h("X-Repo-Commit", commit, "ETag", `"ptr"`, "X-Linked-Etag", `"sha"`, "X-Linked-Size", "99", "Content-Length", "1"), "sha", 99, false},
		{"no commit", h("ETag", `"abc"`), "", 0, true},
		{"no etag", h("X-Repo-Commit", commit), "", 0, true},
		{"slash etag", h("X-Repo-Commit", commit, "ETag", `"../x"`), "", 0, true},
		{"bad size", h("X-Repo-Commit", commit, "ETag", `"a"`, "X-Linked-Size", "-3"), "", 0, true},
	} {
		m, err := parseMeta(tc.header, 7, "u", "u")
		if (err != nil) != tc.wantError {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if err == nil && (m.etag != tc.etag || m.size != tc.size || m.commit != commit) {
			t.Errorf("%s: %+v", tc.name, m)
		}
	}
}

func FuzzParseMeta(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef01234567", `"abc"`, `W/"def"`, "12", "")
	f.Add("0123456789abcdef0123456789abcdef01234567", `"../x"`, "", "-1", "5")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, commit, etag, linkedEtag, size, linkedSize string) {
		h := http.Header{}
		for k, v := range map[string]string{"X-Repo-Commit": commit, "ETag": etag, "X-Linked-Etag": linkedEtag,
			"Content-Length": size, "X-Linked-Size": linkedSize} {
			if v != "" {
				h.Set(k, v)
			}
		}
		m, err := parseMeta(h, -1, "u", "u")
		if err != nil {
			return
		}
		// What is accepted names a blob file inside blobs/.
		if p := filepath.Join("/blobs", m.etag); filepath.Dir(p) != "/blobs" || strings.HasSuffix(p, ".incomplete") {
			t.Fatalf("etag %q accepted", m.etag)
		}
		if !isCommitHash(m.commit) || m.size < -1 {
			t.Fatalf("accepted %+v", m)
		}
	})
}
