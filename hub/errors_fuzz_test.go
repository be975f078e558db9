package hub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHTTPError builds errors from server-controlled headers and bodies:
// the message must come out as one short line of valid UTF-8 without
// control characters, whatever the server sent.
func FuzzHTTPError(f *testing.F) {
	f.Add(404, "RepoNotFound", "", []byte(`{"error":"Repository not found"}`))
	f.Add(401, "", "Invalid credentials in Authorization header", []byte("x"))
	f.Add(500, "", "", []byte("<html>\r\n<body>Internal\x00 error</body>\n"))
	f.Add(403, "GatedRepo", "", []byte(`{"error":"`+strings.Repeat("é", 300)+`"}`))
	f.Add(502, "", "", []byte("\xff\xfe\xfd"))
	f.Fuzz(func(t *testing.T, status int, code, msg string, body []byte) {
		u, _ := url.Parse("https://huggingface.co/api/models/a/b?token=secret")
		resp := &http.Response{
			StatusCode: status,
			Header:     http.Header{},
			Request:    &http.Request{Method: http.MethodGet, URL: u},
		}
		resp.Header.Set("X-Error-Code", code)
		resp.Header.Set("X-Error-Message", msg)
		e := newHTTPError(resp, body, ErrEntryNotFound)
		m := e.Message
		if !utf8.ValidString(m) || strings.ContainsAny(m, "\r\n\x00") || len(m) > 200+len("…") {
			t.Fatalf("message %q", m)
		}
		if strings.Contains(e.Error(), "secret") {
			t.Fatalf("error %q leaks the query", e.Error())
		}
		_ = e.Unwrap()
	})
}
