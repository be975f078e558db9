package serve

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// playgroundFiles is the web playground: plain HTML, JavaScript and CSS,
// no build step.
//
//go:embed playground
var playgroundFiles embed.FS

// playground serves the playground's files at / and answers other unknown
// paths with an OpenAI 404.
func (s *Server) playground(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	sub, _ := fs.Sub(playgroundFiles, "playground")
	if st, err := fs.Stat(sub, name); err != nil || st.IsDir() {
		return notFound("unknown_route", "no route %s %s", r.Method, r.URL.Path)
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, sub, name)
	return nil
}
