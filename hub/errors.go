package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors a caller can branch on with errors.Is.
var (
	// ErrRepoNotFound: the repository does not exist, or it is private and
	// the request carried no token that may read it.
	ErrRepoNotFound = errors.New("hub: repository not found")
	// ErrRevisionNotFound: the repository has no such branch, tag or commit.
	ErrRevisionNotFound = errors.New("hub: revision not found")
	// ErrEntryNotFound: the revision has no such file.
	ErrEntryNotFound = errors.New("hub: file not found")
	// ErrAccessDenied: the Hub refused the request (HTTP 401 or 403): the
	// repository is gated and its terms were not accepted with this token,
	// or the token is missing or invalid.
	ErrAccessDenied = errors.New("hub: access denied")
	// ErrNotCached: the cache holds no snapshot for the repository and
	// revision.
	ErrNotCached = errors.New("hub: not in the cache")
	// ErrIntegrity: downloaded bytes do not match the size or hash the Hub
	// announced.
	ErrIntegrity = errors.New("hub: integrity check failed")
	// ErrProtocol: a response lacks what the Hub protocol promises (a commit
	// or ETag header, a well-formed JSON body).
	ErrProtocol = errors.New("hub: protocol error")
)

// HTTPError is an unsuccessful answer from the Hub or the CDN. It wraps one
// of ErrRepoNotFound, ErrRevisionNotFound, ErrEntryNotFound or
// ErrAccessDenied when the status and the Hub's X-Error-Code header say
// which.
type HTTPError struct {
	Method     string // HTTP method of the failed request
	URL        string // request URL, without query
	StatusCode int    // HTTP status code of the response
	Code       string // the Hub's X-Error-Code header ("RepoNotFound", "GatedRepo", ...)
	Message    string // the Hub's X-Error-Message header, or the start of the body
	kind       error
}

// Error describes the failure and, for refusals, what to do about it.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hub: %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" || e.Message != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		if e.Code != "" && e.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Message)
		b.WriteString(")")
	}
	switch {
	case e.Code == "GatedRepo":
		b.WriteString("; the repository is gated: accept its terms on the Hub, then set HF_TOKEN to a token of that account")
	case e.StatusCode == http.StatusUnauthorized:
		b.WriteString("; the repository may be private or gated: set HF_TOKEN to a token that may read it")
	case e.StatusCode == http.StatusForbidden:
		b.WriteString("; this token may not read the repository")
	}
	return b.String()
}

// Unwrap returns the sentinel error the failure maps onto, or nil.
func (e *HTTPError) Unwrap() error { return e.kind }

// temporary reports whether the failure is worth a retry.
func (e *HTTPError) temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout ||
		e.StatusCode >= 500
}

// newHTTPError builds the error for resp; notFound is the sentinel a plain
// 404 maps onto for this kind of request.
func newHTTPError(resp *http.Response, body []byte, notFound error) *HTTPError {
	u := *resp.Request.URL
	u.RawQuery, u.User = "", nil
	e := &HTTPError{
		Method:     resp.Request.Method,
		URL:        u.String(),
		StatusCode: resp.StatusCode,
		Code:       resp.Header.Get("X-Error-Code"),
		Message:    oneLine(resp.Header.Get("X-Error-Message"), 200),
	}
	if e.Message == "" {
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &j) == nil && j.Error != "" {
			e.Message = oneLine(j.Error, 200)
		} else {
			e.Message = oneLine(string(body), 200)
		}
	}
	switch e.Code {
	case "RepoNotFound":
		e.kind = ErrRepoNotFound
	case "RevisionNotFound":
		e.kind = ErrRevisionNotFound
	case "EntryNotFound":
		e.kind = ErrEntryNotFound
	case "GatedRepo":
		e.kind = ErrAccessDenied
	default:
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			e.kind = ErrAccessDenied
		case http.StatusNotFound:
			e.kind = notFound
		}
	}
	return e
}

// oneLine shortens s to one printable line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// contextError puts what an error is about (a file, a repository) after
// the package prefix: "hub: model.safetensors: ...".
type contextError struct {
	what string
	err  error
}

func withContext(what string, err error) error { return &contextError{what, err} }

func (e *contextError) Error() string {
	return "hub: " + e.what + ": " + strings.TrimPrefix(e.err.Error(), "hub: ")
}

func (e *contextError) Unwrap() error { return e.err }
