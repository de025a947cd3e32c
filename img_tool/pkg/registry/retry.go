package registry

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// retryTransport retries requests without a body that failed with one of
// codes or an error for which retryable is true, waiting as backoff says.
// Unlike go-containerregistry's retry it stops waiting when the request's
// context ends, so that retries stay within the fetch's total budget.
type retryTransport struct {
	inner   http.RoundTripper
	backoff remote.Backoff
	codes   []int
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	wait := t.backoff.Duration
	for attempt := 1; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		if attempt >= t.backoff.Steps || (req.Body != nil && req.Body != http.NoBody) {
			return resp, err
		}
		var last string
		switch {
		case err == nil && slices.Contains(t.codes, resp.StatusCode):
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		case err != nil && retryable(err):
			last = "a broken connection"
		default:
			return resp, err
		}
		d := wait
		if t.backoff.Jitter > 0 {
			d += time.Duration(rand.Float64() * t.backoff.Jitter * float64(wait))
		}
		timer := time.NewTimer(d)
		select {
		case <-req.Context().Done():
			timer.Stop()
			if resp != nil {
				resp.Body.Close()
			}
			return nil, fmt.Errorf("%w (last answer: %s)", context.Cause(req.Context()), last)
		case <-timer.C:
		}
		if resp != nil {
			// Error bodies are bounded below (guardTransport).
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if t.backoff.Factor > 0 {
			wait = time.Duration(float64(wait) * t.backoff.Factor)
		}
	}
}
