package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PlainHTTPError is returned for a plain-HTTP request to a host that may not
// use it (see AllowsHTTP).
type PlainHTTPError struct {
	Host string
}

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("plain HTTP to %s refused: only loopback hosts and insecure registries may use HTTP", e.Host)
}

// httpPolicy refuses plain-HTTP requests to hosts that allow does not
// accept. go-containerregistry also tries HTTP for private-network and
// ".local" hosts; this keeps those on HTTPS unless listed as insecure.
type httpPolicy struct {
	inner http.RoundTripper
	allow func(host string) bool
}

func (p *httpPolicy) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !p.allow(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	return p.inner.RoundTrip(req)
}

// countingTransport adds every response body byte read to n.
type countingTransport struct {
	inner http.RoundTripper
	n     *atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: t.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// retryable reports whether a request that failed with err is worth another
// attempt: a retried status code (see retryStatusCodes) or a connection that
// broke. Refused connections, timeouts and cancellation are final, so that a
// dead mirror is left quickly.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.Temporary()
	}
	for _, target := range []error{syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// bodyLimitKey marks a request context with the bound of its successful
// response body; see withBodyLimit.
type bodyLimitKey struct{}

// withBodyLimit sets the most bytes that a successful (status < 300)
// response body of requests with ctx may have; a longer body fails. n < 0
// means no bound here (the reader above bounds it, as for blobs). Without
// it the bound is maxSmallBody.
func withBodyLimit(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, bodyLimitKey{}, n)
}

func bodyLimit(ctx context.Context) int64 {
	if n, ok := ctx.Value(bodyLimitKey{}).(int64); ok {
		return n
	}
	return maxSmallBody
}

// BodyTooLargeError is a successful response body longer than its bound.
type BodyTooLargeError struct {
	Limit int64
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("response body larger than %d bytes", e.Limit)
}

// guardTransport bounds every response of inner: an error answer (status
// 300 and up) yields at most MaxErrorBodySize bytes of its body, so that
// nothing above (go-containerregistry's CheckError reads error bodies
// whole) ever holds more; a successful one at most its bodyLimit; a body
// read that makes no progress for the idle timeout fails with a
// *TimeoutError, and so do connect, TLS and header timeouts of inner.
// Uploads go to write, without the header timeout.
type guardTransport struct {
	inner http.RoundTripper
	// write, if set, serves requests other than GET and HEAD: uploads,
	// which are not bound by the header timeout.
	write http.RoundTripper
	t     Timeouts
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	inner := g.inner
	if g.write != nil && req.Method != http.MethodGet && req.Method != http.MethodHead {
		inner = g.write
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, g.timeoutError(err)
	}
	b := &guardedBody{inner: resp.Body, cancel: cancel, ctx: ctx, idle: g.t.Idle, limit: bodyLimit(req.Context())}
	if resp.StatusCode >= 300 {
		b.limit, b.truncate = MaxErrorBodySize, true
		resp.ContentLength = -1
	}
	if g.t.Idle > 0 {
		b.timer = time.AfterFunc(time.Hour, func() { cancel(&TimeoutError{Phase: "response body", After: g.t.Idle}) })
		b.timer.Stop()
	}
	resp.Body = b
	return resp, nil
}

// timeoutError turns the connect, TLS and header timeouts of net/http into
// a *TimeoutError.
func (g *guardTransport) timeoutError(err error) error {
	var op *net.OpError
	msg := err.Error()
	switch {
	case errors.As(err, &op) && op.Op == "dial" && op.Timeout():
		return &TimeoutError{Phase: "connect", After: g.t.Connect}
	case strings.Contains(msg, "TLS handshake timeout"):
		return &TimeoutError{Phase: "TLS handshake", After: g.t.TLS}
	case strings.Contains(msg, "timeout awaiting response headers"):
		return &TimeoutError{Phase: "response headers", After: g.t.Header}
	}
	return err
}

type guardedBody struct {
	inner    io.ReadCloser
	ctx      context.Context
	cancel   context.CancelCauseFunc
	timer    *time.Timer
	idle     time.Duration
	limit    int64 // < 0: unbounded
	truncate bool  // at limit: EOF instead of an error
	n        int64
	err      error
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.limit >= 0 {
		left := b.limit - b.n
		if !b.truncate {
			left++ // one byte past the bound tells a longer body
		}
		if left <= 0 {
			b.err = io.EOF
			return 0, io.EOF
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	if b.timer != nil {
		b.timer.Reset(b.idle)
	}
	n, err := b.inner.Read(p)
	if b.timer != nil {
		b.timer.Stop()
	}
	b.n += int64(n)
	if err != nil && err != io.EOF {
		var terr *TimeoutError
		if cause := context.Cause(b.ctx); errors.As(cause, &terr) {
			err = terr
		}
		b.err = err
	}
	if b.limit >= 0 && !b.truncate && b.n > b.limit {
		b.err = &BodyTooLargeError{Limit: b.limit}
		return n - int(b.n-b.limit), b.err
	}
	return n, err
}

func (b *guardedBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	err := b.inner.Close()
	b.cancel(nil)
	return err
}
