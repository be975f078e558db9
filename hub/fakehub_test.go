package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub speaks the Hub's download protocol on loopback: the revision API,
// resolve URLs (HEAD and GET) that redirect LFS files to a second "CDN"
// server, ETags, byte ranges, errors with X-Error-Code, and injected
// faults. It records what it was asked.
type fakeHub struct {
	hub *httptest.Server
	cdn *httptest.Server

	mu        sync.Mutex
	repos     map[string]*fakeRepo // by repo id
	renamed   map[string]string    // old repo id -> new one
	log       []fakeRequest
	fail5xx   map[string]int // path -> number of 503 answers still to give
	dropAfter map[string]int // CDN path -> drop the connection after this many bytes (once)
	stallAt   map[string]int // path -> go silent after this many body bytes (once)
	noRange   bool           // the CDN ignores Range
	corrupt   bool           // the CDN serves flipped bytes
}

type fakeRepo struct {
	refs    map[string]string              // branch -> commit
	commits map[string]map[string]fakeFile // commit -> path -> file
	gated   bool                           // needs token "good-token"
}

type fakeFile struct {
	data []byte
	lfs  bool
}

type fakeRequest struct {
	Host, Method, Path, Range, Auth string
}

func (f fakeFile) etag() string {
	if f.lfs {
		s := sha256.Sum256(f.data)
		return hex.EncodeToString(s[:])
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(f.data))
	h.Write(f.data)
	return hex.EncodeToString(h.Sum(nil))
}

const goodToken = "good-token"

func newFakeHub(t testing.TB) *fakeHub {
	t.Helper()
	f := &fakeHub{repos: map[string]*fakeRepo{}, renamed: map[string]string{},
		fail5xx: map[string]int{}, dropAfter: map[string]int{}, stallAt: map[string]int{}}
	api, files := http.NewServeMux(), http.NewServeMux()
	api.HandleFunc("GET /api/models/{org}/{name}/revision/{rev}", f.serveInfo)
	files.HandleFunc("GET /{org}/{name}/resolve/{rev}/{file...}", f.serveResolve)
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.ServeHTTP(w, r)
		} else {
			files.ServeHTTP(w, r)
		}
	})
	f.hub = httptest.NewServer(f.logged("hub", mux))
	f.cdn = httptest.NewServer(f.logged("cdn", http.HandlerFunc(f.serveCDN)))
	t.Cleanup(f.cdn.Close)
	t.Cleanup(f.hub.Close)
	return f
}

// commit adds a commit with files to repo and points branch at it.
func (f *fakeHub) commit(repo, branch string, files map[string]fakeFile) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[repo]
	if r == nil {
		r = &fakeRepo{refs: map[string]string{}, commits: map[string]map[string]fakeFile{}}
		f.repos[repo] = r
	}
	h := sha1.New()
	fmt.Fprintf(h, "%s %d", repo, len(r.commits))
	commit := hex.EncodeToString(h.Sum(nil))
	r.commits[commit] = files
	r.refs[branch] = commit
	return commit
}

func (f *fakeHub) logged(host string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.log = append(f.log, fakeRequest{host, r.Method, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization")})
		n := f.fail5xx[r.URL.Path]
		if n > 0 {
			f.fail5xx[r.URL.Path] = n - 1
		}
		stall, stalling := f.stallAt[r.URL.Path]
		delete(f.stallAt, r.URL.Path)
		f.mu.Unlock()
		if n > 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		if stalling {
			w = &stallingWriter{ResponseWriter: w, left: stall, done: r.Context().Done()}
		}
		h.ServeHTTP(w, r)
	})
}

func (f *fakeHub) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *fakeHub) resetLog() {
	f.mu.Lock()
	f.log = nil
	f.mu.Unlock()
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// lookup finds repo and commit, answering the errors the Hub answers.
func (f *fakeHub) lookup(w http.ResponseWriter, r *http.Request) (id string, repo *fakeRepo, commit string, ok bool) {
	id = r.PathValue("org") + "/" + r.PathValue("name")
	f.mu.Lock()
	defer f.mu.Unlock()
	if to, moved := f.renamed[id]; moved {
		http.Redirect(w, r, strings.Replace(r.URL.Path, "/"+id+"/", "/"+to+"/", 1), http.StatusTemporaryRedirect)
		return "", nil, "", false
	}
	repo = f.repos[id]
	auth := r.Header.Get("Authorization")
	if repo == nil {
		if auth == "" {
			hubError(w, 401, "RepoNotFound", "Repository not found")
		} else {
			hubError(w, 404, "RepoNotFound", "Repository not found")
		}
		return "", nil, "", false
	}
	if repo.gated && auth != "Bearer "+goodToken {
		if auth == "" {
			hubError(w, 401, "GatedRepo", "Access to model "+id+" is restricted.")
		} else {
			hubError(w, 403, "GatedRepo", "Access to model "+id+" is restricted and you are not in the authorized list.")
		}
		return "", nil, "", false
	}
	rev := r.PathValue("rev")
	commit = rev
	if c, isRef := repo.refs[rev]; isRef {
		commit = c
	}
	if _, found := repo.commits[commit]; !found {
		hubError(w, 404, "RevisionNotFound", "Invalid rev id: "+rev)
		return "", nil, "", false
	}
	return id, repo, commit, true
}

func (f *fakeHub) serveInfo(w http.ResponseWriter, r *http.Request) {
	id, repo, commit, ok := f.lookup(w, r)
	if !ok {
		return
	}
	type lfs struct {
		SHA256      string `json:"sha256"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	type sib struct {
		Name   string `json:"rfilename"`
		Size   int    `json:"size"`
		BlobID string `json:"blobId"`
		LFS    *lfs   `json:"lfs,omitempty"`
	}
	info := struct {
		ID       string `json:"id"`
		SHA      string `json:"sha"`
		Siblings []sib  `json:"siblings"`
	}{ID: id, SHA: commit}
	f.mu.Lock()
	files := repo.commits[commit]
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ff := files[n]
		s := sib{Name: n, Size: len(ff.data), BlobID: ff.etag()}
		if ff.lfs {
			s.Size = 134
			s.BlobID = strings.Repeat("b", 40)
			s.LFS = &lfs{SHA256: ff.etag(), Size: len(ff.data), PointerSize: 134}
		}
		info.Siblings = append(info.Siblings, s)
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(info)
}

func (f *fakeHub) serveResolve(w http.ResponseWriter, r *http.Request) {
	_, repo, commit, ok := f.lookup(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	file, found := repo.commits[commit][r.PathValue("file")]
	f.mu.Unlock()
	if !found {
		w.Header().Set("X-Repo-Commit", commit)
		hubError(w, 404, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if file.lfs {
		w.Header().Set("X-Linked-Etag", `"`+file.etag()+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(file.data)))
		w.Header().Set("ETag", `"`+strings.Repeat("c", 40)+`"`) // the pointer file's
		http.Redirect(w, r, f.cdn.URL+"/repos/"+file.etag()+"?X-Signature=abc", http.StatusFound)
		return
	}
	w.Header().Set("ETag", `W/"`+file.etag()+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(file.data)))
	if r.Method == http.MethodGet {
		w.Write(file.data)
	}
}

func (f *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	sha := strings.TrimPrefix(r.URL.Path, "/repos/")
	f.mu.Lock()
	var data []byte
	for _, repo := range f.repos {
		for _, files := range repo.commits {
			for _, ff := range files {
				if ff.lfs && ff.etag() == sha {
					data = ff.data
				}
			}
		}
	}
	drop, dropping := f.dropAfter[r.URL.Path]
	delete(f.dropAfter, r.URL.Path)
	noRange, corrupt := f.noRange, f.corrupt
	f.mu.Unlock()
	if data == nil || r.URL.Query().Get("X-Signature") != "abc" {
		http.Error(w, "no such object", http.StatusNotFound)
		return
	}
	if corrupt {
		data = slices.Clone(data)
		data[len(data)/2] ^= 0xff
	}
	if noRange {
		r.Header.Del("Range")
	}
	var rw http.ResponseWriter = w
	if dropping {
		rw = &droppingWriter{ResponseWriter: w, left: drop}
	}
	http.ServeContent(rw, r, "", time.Time{}, strings.NewReader(string(data)))
}

// droppingWriter aborts the connection once left bytes are written.
type droppingWriter struct {
	http.ResponseWriter
	left int
}

func (d *droppingWriter) Write(p []byte) (int, error) {
	if len(p) > d.left {
		d.ResponseWriter.Write(p[:d.left])
		d.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	d.left -= len(p)
	return d.ResponseWriter.Write(p)
}

// stallingWriter goes silent, without closing the connection, once left
// bytes are written, until the client gives up.
type stallingWriter struct {
	http.ResponseWriter
	left int
	done <-chan struct{}
}

func (s *stallingWriter) WriteHeader(code int) {
	if s.left < 0 { // silent before the headers
		s.wait()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *stallingWriter) Write(p []byte) (int, error) {
	if len(p) > s.left {
		s.ResponseWriter.Write(p[:max(s.left, 0)])
		s.ResponseWriter.(http.Flusher).Flush()
		s.wait()
		panic(http.ErrAbortHandler)
	}
	s.left -= len(p)
	return s.ResponseWriter.Write(p)
}

func (s *stallingWriter) wait() {
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}
