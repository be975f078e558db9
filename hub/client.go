package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// userAgent identifies Glossa to the Hub, as huggingface_hub identifies
// itself.
var userAgent = "glossa-hub/0.1; go/" + strings.TrimPrefix(runtime.Version(), "go")

// client is Options with every default filled in.
type client struct {
	endpoint    string // without trailing '/'
	endpointU   *url.URL
	token       string
	cache       Cache
	http        *http.Client // follows redirects, dropping Authorization across hosts
	noRedirect  *http.Client // returns redirects to the caller
	allow       []string
	ignore      []string
	maxRetries  int
	retryWait   time.Duration
	timeout     time.Duration
	progress    func(Progress)
	offline     bool
	concurrency int
	own         *http.Transport // the default transport, when Options.HTTPClient is nil
}

// close releases the idle connections of a transport the client made.
func (c *client) close() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
}

func newClient(opts *Options) (*client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	c := &client{
		endpoint:   strings.TrimRight(o.Endpoint, "/"),
		token:      o.Token,
		cache:      Cache{Dir: o.CacheDir},
		allow:      o.AllowPatterns,
		ignore:     o.IgnorePatterns,
		maxRetries: o.MaxRetries,
		retryWait:  o.RetryWait,
		progress:   o.Progress,
	}
	if c.endpoint == "" {
		c.endpoint = strings.TrimRight(strings.TrimSpace(os.Getenv("HF_ENDPOINT")), "/")
	}
	if c.endpoint == "" {
		c.endpoint = DefaultEndpoint
	}
	u, err := url.Parse(c.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("hub: invalid endpoint %q: want http(s)://host[/path]", oneLine(c.endpoint, 100))
	}
	c.endpointU = u
	switch strings.ToLower(strings.TrimSpace(os.Getenv("HF_HUB_OFFLINE"))) {
	case "1", "true", "yes", "on":
		c.offline = true
	}
	c.offline = c.offline || o.Offline
	c.concurrency = o.Concurrency
	if c.concurrency <= 0 {
		c.concurrency = 8
	}
	if c.token == "" {
		c.token = envToken()
	}
	if c.cache.Dir == "" {
		c.cache.Dir = DefaultCacheDir()
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = 5
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.retryWait <= 0 {
		c.retryWait = time.Second
	}
	c.timeout = o.Timeout
	if c.timeout <= 0 {
		c.timeout = 10 * time.Second
		if secs, err := strconv.ParseFloat(os.Getenv("HF_HUB_DOWNLOAD_TIMEOUT"), 64); err == nil && secs > 0 && secs < 1e6 {
			c.timeout = time.Duration(secs * float64(time.Second))
		}
	}
	base := o.HTTPClient
	if base == nil {
		c.own = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}
		base = &http.Client{Transport: c.own}
	}
	follow := *base
	follow.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
			req.Header.Del("Authorization")
		}
		return nil
	}
	c.http = &follow
	stop := *base
	stop.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.noRedirect = &stop
	return c, nil
}

// newRequest builds a request with the Hub headers; Authorization goes only
// to the endpoint's host.
func (c *client) newRequest(ctx context.Context, method, rawURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	// Identity encoding keeps Content-Length the file's size and ETags strong.
	req.Header.Set("Accept-Encoding", "identity")
	if c.token != "" && req.URL.Host == c.endpointU.Host && req.URL.Scheme == c.endpointU.Scheme {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// retry runs op until it succeeds, fails for good, or has been retried
// maxRetries times, waiting with exponential backoff between attempts.
// op reports whether its error is transient.
func (c *client) retry(ctx context.Context, op func() (transient bool, err error)) error {
	wait := c.retryWait
	for attempt := 0; ; attempt++ {
		transient, err := op()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !transient || attempt >= c.maxRetries {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 16*c.retryWait)
	}
}

// transientNetError reports whether a transport error is worth a retry:
// anything but a cancelled context or a malformed request (timeouts,
// refused or reset connections, truncated bodies).
func transientNetError(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "redirect") {
		return false
	}
	return true
}

// errStalled marks an attempt the server left without an answer or without
// data for longer than the timeout.
var errStalled = errors.New("no data from the server within the timeout")

// send sends the request mk builds under a watchdog: the request is
// cancelled when the server sends neither the response headers nor body
// bytes for c.timeout. The body of a returned response must be closed.
func (c *client) send(ctx context.Context, hc *http.Client, mk func(context.Context) (*http.Request, error)) (*http.Response, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	dog := time.AfterFunc(c.timeout, func() { cancel(errStalled) })
	stop := func() { dog.Stop(); cancel(nil) }
	req, err := mk(rctx)
	if err != nil {
		stop()
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		stalled := context.Cause(rctx) == errStalled
		stop()
		if stalled {
			return nil, fmt.Errorf("hub: %s %s: %w", req.Method, req.URL.Redacted(), errStalled)
		}
		return nil, fmt.Errorf("hub: %w", err)
	}
	dog.Reset(c.timeout)
	resp.Body = &watchedBody{ReadCloser: resp.Body, ctx: rctx, kick: func() { dog.Reset(c.timeout) }, stop: stop}
	return resp, nil
}

// watchedBody re-arms the watchdog on every read and stops it on Close.
type watchedBody struct {
	io.ReadCloser
	ctx  context.Context
	kick func()
	stop func()
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.kick()
	}
	if err != nil && err != io.EOF && context.Cause(b.ctx) == errStalled {
		err = errStalled
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	return err
}

// do sends a request built by mk (called anew for each attempt), retrying
// transient failures, and returns a successful (2xx or, with noRedirect,
// 3xx) response whose body the caller must close.
func (c *client) do(ctx context.Context, hc *http.Client, mk func(context.Context) (*http.Request, error), notFound error) (*http.Response, error) {
	var resp *http.Response
	err := c.retry(ctx, func() (bool, error) {
		r, err := c.send(ctx, hc, mk)
		if err != nil {
			return transientNetError(ctx, err), err
		}
		if r.StatusCode >= 200 && r.StatusCode < 400 {
			resp = r
			return false, nil
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<10))
		r.Body.Close()
		herr := newHTTPError(r, body, notFound)
		return herr.temporary(), herr
	})
	return resp, err
}

// getSmall GETs a bounded response body from the endpoint.
func (c *client) getSmall(ctx context.Context, rawURL string, notFound error) ([]byte, error) {
	var body []byte
	err := c.retry(ctx, func() (bool, error) {
		resp, err := c.do(ctx, c.http, func(ctx context.Context) (*http.Request, error) {
			req, err := c.newRequest(ctx, http.MethodGet, rawURL)
			if req != nil {
				req.Header.Set("Accept", "application/json")
			}
			return req, err
		}, notFound)
		if err != nil {
			return false, err // do has retried already
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxInfoBytes+1))
		if err != nil {
			return transientNetError(ctx, err), fmt.Errorf("hub: GET %s: %w", rawURL, err)
		}
		if len(body) > maxInfoBytes {
			return false, fmt.Errorf("%w: GET %s: answer larger than %d bytes", ErrProtocol, rawURL, maxInfoBytes)
		}
		return false, nil
	})
	return body, err
}
