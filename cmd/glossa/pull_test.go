package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// miniHub serves one repository, org/tiny, at one commit over the Hub's
// download protocol: the revision API, resolve URLs, and an LFS redirect
// to a second server.
func miniHub(t *testing.T, files map[string][]byte, lfs map[string]bool) (hubURL, commit string) {
	t.Helper()
	commit = strings.Repeat("ab", 20)
	etag := func(name string) string {
		if lfs[name] {
			s := sha256.Sum256(files[name])
			return hex.EncodeToString(s[:])
		}
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", len(files[name]))
		h.Write(files[name])
		return hex.EncodeToString(h.Sum(nil))
	}
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range files {
			if lfs[name] && r.URL.Path == "/"+etag(name) {
				w.Write(files[name])
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(cdn.Close)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/models/org/tiny/") && !strings.HasPrefix(r.URL.Path, "/org/tiny/") {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, `{"error":"Repository not found"}`, http.StatusUnauthorized)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/api/models/org/tiny/revision/"); ok {
			if rest != "main" && rest != commit {
				w.Header().Set("X-Error-Code", "RevisionNotFound")
				http.Error(w, `{"error":"Invalid rev id"}`, http.StatusNotFound)
				return
			}
			var sib []map[string]any
			for name, data := range files {
				sib = append(sib, map[string]any{"rfilename": name, "size": len(data)})
			}
			json.NewEncoder(w).Encode(map[string]any{"id": "org/tiny", "sha": commit, "siblings": sib})
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/org/tiny/resolve/"+commit+"/")
		data, ok := files[name]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		if lfs[name] {
			w.Header().Set("X-Linked-Etag", `"`+etag(name)+`"`)
			w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
			http.Redirect(w, r, cdn.URL+"/"+etag(name), http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+etag(name)+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	}))
	t.Cleanup(hub.Close)
	return hub.URL, commit
}

func TestPullCommand(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	files := map[string][]byte{
		"config.json":       []byte(`{"model_type":"gpt2"}`),
		"model.safetensors": []byte(strings.Repeat("weights!", 1000)),
		"pytorch_model.bin": []byte("pickle"),
		"README.md":         []byte("# tiny"),
	}
	url, commit := miniHub(t, files, map[string]bool{"model.safetensors": true, "pytorch_model.bin": true})
	for _, tc := range []struct {
		name string
		args []string
		want []string // files in the snapshot
	}{
		{"default", []string{"org/tiny", "--quiet"}, []string{"config.json", "model.safetensors"}},
		{"revision and flags first", []string{"--quiet", "--include", "*.md", "--include", "config.json", "org/tiny@" + commit}, []string{"README.md", "config.json"}},
		{"exclude", []string{"org/tiny@main", "--include", "*", "--exclude", "*.bin", "--exclude", "*.md"}, []string{"config.json", "model.safetensors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			args := append([]string{"pull", "--endpoint", url, "--cache-dir", cache}, tc.args...)
			code, out, errOut := glossa(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			snap := filepath.Join(cache, "models--org--tiny", "snapshots", commit)
			if out != snap+"\n" {
				t.Errorf("stdout %q, want the snapshot folder %q", out, snap)
			}
			entries, err := os.ReadDir(snap)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
				b, err := os.ReadFile(filepath.Join(snap, e.Name()))
				if err != nil || string(b) != string(files[e.Name()]) {
					t.Errorf("%s: wrong content (%v)", e.Name(), err)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("snapshot holds %q, want %q", got, tc.want)
			}
		})
	}

	// The default cache comes from HF_HOME; the bar goes to stderr.
	t.Setenv("HF_ENDPOINT", url)
	code, out, errOut := glossa(t, "pull", "org/tiny")
	if want := filepath.Join(os.Getenv("HF_HOME"), "hub", "models--org--tiny", "snapshots", commit) + "\n"; code != 0 || out != want {
		t.Errorf("pull with HF_HOME and HF_ENDPOINT: exit %d, stdout %q, want %q (stderr %q)", code, out, want, errOut)
	}
	// The bar redraws at most every 100 ms, so which file names it shows
	// depends on timing; its final state always reaches 100 %.
	if !strings.Contains(errOut, "100%") {
		t.Errorf("stderr %q shows no progress", errOut)
	}
}

func TestPullErrors(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	url, _ := miniHub(t, map[string][]byte{"config.json": []byte("{}")}, nil)
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"pull"}, 2, "want one repository"},
		{[]string{"pull", "a/b", "c/d"}, 2, "want one repository"},
		{[]string{"pull", "a/b/c"}, 2, "invalid repository id"},
		{[]string{"pull", "org/tiny@../x"}, 2, "invalid revision"},
		{[]string{"pull", "--bogus", "org/tiny"}, 2, "bogus"},
		{[]string{"pull", "--endpoint", url, "--quiet", "org/missing"}, 1, "repository may be private or gated"},
		{[]string{"pull", "--endpoint", url, "--quiet", "org/tiny@v2"}, 1, "RevisionNotFound"},
		{[]string{"pull", "--endpoint", url, "--quiet", "--include", "*.gguf", "org/tiny"}, 1, "no file of org/tiny"},
	} {
		code, _, errOut := glossa(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	if code, out, _ := glossa(t, "pull", "-h"); code != 0 || out != "" {
		t.Errorf("pull -h: exit %d, stdout %q", code, out)
	}
}
