package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The token follows redirects within the Hub and is dropped on the way to
// another host, whatever the HTTP client would do by itself.
func TestRedirectAuthorization(t *testing.T) {
	isolate(t)
	seen := map[string]string{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen["other"] = r.Header.Get("Authorization")
	}))
	defer other.Close()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen[r.URL.Path] = r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case "/b":
			http.Redirect(w, r, other.URL+"/c", http.StatusFound)
		}
	}))
	defer hub.Close()
	c, err := newClient(&Options{Endpoint: hub.URL, Token: "tok", HTTPClient: &http.Client{Transport: &http.Transport{}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.send(context.Background(), c.http, func(ctx context.Context) (*http.Request, error) {
		return c.newRequest(ctx, http.MethodGet, hub.URL+"/a")
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := map[string]string{"/a": "Bearer tok", "/b": "Bearer tok", "other": ""}
	for k, v := range want {
		if got, ok := seen[k]; !ok || got != v {
			t.Errorf("%s saw Authorization %q (requested: %v), want %q", k, got, ok, v)
		}
	}
	// A request that starts on another host never carries the token.
	req, _ := c.newRequest(context.Background(), http.MethodGet, other.URL+"/c")
	if req.Header.Get("Authorization") != "" {
		t.Error("token sent to a host other than the endpoint")
	}
}
