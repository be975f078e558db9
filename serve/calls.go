package serve

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
)

// calls bounds the embedding and task calls a model runs at once (the
// server's Parallel) and those waiting for a turn (its Queue), as the
// scheduler bounds generation: past the queue a request gets 503 with
// Retry-After rather than holding memory and a goroutine.
type calls struct {
	run     chan struct{} // a token per call running
	queue   int           // calls that may wait; < 0: none
	waiting atomic.Int64
}

// newCalls takes Options.Parallel and Options.Queue (0: 64; negative:
// none).
func newCalls(parallel, queue int) *calls {
	if queue == 0 {
		queue = 64
	}
	return &calls{run: make(chan struct{}, parallel), queue: queue}
}

// acquire waits for a turn; release it with release.
func (c *calls) acquire(ctx context.Context, model string) *Error {
	select {
	case c.run <- struct{}{}:
		return nil
	default:
	}
	if n := c.waiting.Add(1); c.queue < 0 || n > int64(c.queue) {
		c.waiting.Add(-1)
		return &Error{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "server_busy",
			Message: fmt.Sprintf("all %d calls of %q are running and %d are waiting; retry later", cap(c.run), model, max(c.queue, 0))}
	}
	defer c.waiting.Add(-1)
	select {
	case c.run <- struct{}{}:
		return nil
	case <-ctx.Done():
		return pipelineError(ctx.Err(), "")
	}
}

func (c *calls) release() { <-c.run }

// acquireCall waits for a turn of rt's calls, counting a 503 as a
// rejection; release it with rt.calls.release.
func (s *Server) acquireCall(ctx context.Context, rt *served) *Error {
	aerr := rt.calls.acquire(ctx, rt.m.ID)
	if aerr != nil && aerr.Status == http.StatusServiceUnavailable {
		s.metrics.rejected.WithLabelValues(rt.m.ID).Inc()
	}
	return aerr
}
