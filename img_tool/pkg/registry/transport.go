package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"syscall"

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
