package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/limits"
)

// Timeouts bound the time that one fetch may take. A zero field takes the
// default (see DefaultTimeouts).
type Timeouts struct {
	// Connect bounds establishing a TCP connection.
	Connect time.Duration
	// TLS bounds the TLS handshake.
	TLS time.Duration
	// Header bounds the wait for the response headers after the request
	// was sent.
	Header time.Duration
	// Idle bounds a response body read that makes no progress: a body that
	// sends nothing for this long fails. A slow body that keeps sending is
	// bounded only by Total.
	Idle time.Duration
	// Total bounds one fetch (a pull, one blob download) with all its
	// requests, retries and mirrors.
	Total time.Duration
}

// DefaultTimeouts suit a slow but live registry.
var DefaultTimeouts = Timeouts{
	Connect: 30 * time.Second,
	TLS:     30 * time.Second,
	Header:  60 * time.Second,
	Idle:    60 * time.Second,
	Total:   10 * time.Minute,
}

// MaxBlobSizeLimit is the largest blob size accepted at all: a descriptor
// or flag that claims more is rejected as absurd.
const MaxBlobSizeLimit = limits.MaxBlobSize

// DefaultMaxBlobSize bounds a blob whose size is not known beforehand.
const DefaultMaxBlobSize = 32 << 30

// MaxErrorBodySize bounds the body of an error answer (status 300 and up)
// that is read at all; the rest is dropped.
const MaxErrorBodySize = 4 << 10

// maxSmallBody bounds a successful answer that is not a blob: manifests,
// tokens, pings.
const maxSmallBody = MaxManifestSize + 1

// CheckSize returns an error for a blob size that no registry may claim:
// negative, or more than MaxBlobSizeLimit.
func CheckSize(size int64) error { return limits.CheckSize(size) }

// WithTimeouts sets the timeouts; zero fields keep the value set so far
// (the default, or an earlier option's).
func WithTimeouts(t Timeouts) Option {
	return func(o *options) error {
		for _, d := range []time.Duration{t.Connect, t.TLS, t.Header, t.Idle, t.Total} {
			if d < 0 {
				return fmt.Errorf("timeout %v is negative", d)
			}
		}
		o.timeouts = mergeTimeouts(o.timeouts, t)
		return nil
	}
}

// WithMaxBlobSize bounds blobs whose size is not known beforehand (see
// Repository.Blob with size -1). The default is DefaultMaxBlobSize; zero
// keeps the value set so far.
func WithMaxBlobSize(n int64) Option {
	return func(o *options) error {
		if n == 0 {
			return nil
		}
		if err := CheckSize(n); err != nil {
			return fmt.Errorf("maximum blob size: %w", err)
		}
		o.maxBlobSize = n
		return nil
	}
}

func mergeTimeouts(base, over Timeouts) Timeouts {
	pick := func(a, b time.Duration) time.Duration {
		if b > 0 {
			return b
		}
		return a
	}
	return Timeouts{
		Connect: pick(base.Connect, over.Connect),
		TLS:     pick(base.TLS, over.TLS),
		Header:  pick(base.Header, over.Header),
		Idle:    pick(base.Idle, over.Idle),
		Total:   pick(base.Total, over.Total),
	}
}

// Environment variables of the limits; see LimitsFromEnv.
const (
	EnvConnectTimeout = "IMG_REGISTRY_CONNECT_TIMEOUT"
	EnvTLSTimeout     = "IMG_REGISTRY_TLS_TIMEOUT"
	EnvHeaderTimeout  = "IMG_REGISTRY_HEADER_TIMEOUT"
	EnvIdleTimeout    = "IMG_REGISTRY_IDLE_TIMEOUT"
	EnvTotalTimeout   = "IMG_REGISTRY_TOTAL_TIMEOUT"
	EnvMaxBlobSize    = "IMG_REGISTRY_MAX_BLOB_SIZE"
)

// LimitsEnvUsage documents the environment variables of LimitsFromEnv, for
// usage texts.
const LimitsEnvUsage = `  IMG_REGISTRY_CONNECT_TIMEOUT      connecting to a registry, e.g. 30s (default 30s; a plain number is seconds)
  IMG_REGISTRY_TLS_TIMEOUT          the TLS handshake (default 30s)
  IMG_REGISTRY_HEADER_TIMEOUT       waiting for the response headers (default 60s)
  IMG_REGISTRY_IDLE_TIMEOUT         a response body that sends nothing for this long fails (default 60s)
  IMG_REGISTRY_TOTAL_TIMEOUT        one fetch with all retries and mirrors (default 10m)
  IMG_REGISTRY_MAX_BLOB_SIZE        largest blob of unknown size, in bytes (default 32 GiB)
`

// LimitsFromEnv reads the timeouts and the maximum blob size from the
// environment: IMG_REGISTRY_CONNECT_TIMEOUT, IMG_REGISTRY_TLS_TIMEOUT,
// IMG_REGISTRY_HEADER_TIMEOUT, IMG_REGISTRY_IDLE_TIMEOUT,
// IMG_REGISTRY_TOTAL_TIMEOUT (Go durations such as "90s", or seconds) and
// IMG_REGISTRY_MAX_BLOB_SIZE (bytes). An unset variable keeps the default;
// a malformed one makes New fail, naming it.
func LimitsFromEnv(getenv func(string) string) Option {
	return func(o *options) error {
		var t Timeouts
		for _, v := range []struct {
			key string
			d   *time.Duration
		}{
			{EnvConnectTimeout, &t.Connect},
			{EnvTLSTimeout, &t.TLS},
			{EnvHeaderTimeout, &t.Header},
			{EnvIdleTimeout, &t.Idle},
			{EnvTotalTimeout, &t.Total},
		} {
			s := strings.TrimSpace(getenv(v.key))
			if s == "" {
				continue
			}
			d, err := ParseTimeout(s)
			if err != nil {
				return fmt.Errorf("%s: %w", v.key, err)
			}
			*v.d = d
		}
		if err := WithTimeouts(t)(o); err != nil {
			return err
		}
		if s := strings.TrimSpace(getenv(EnvMaxBlobSize)); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s %q: want a positive number of bytes", EnvMaxBlobSize, s)
			}
			if err := WithMaxBlobSize(n)(o); err != nil {
				return fmt.Errorf("%s: %w", EnvMaxBlobSize, err)
			}
		}
		return nil
	}
}

// ParseTimeout parses a Go duration ("90s", "2m") or a number of seconds.
func ParseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n <= 0 || n > 1e6 {
			return 0, fmt.Errorf("timeout %q: want a positive duration", s)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q: want a positive duration such as 30s", s)
	}
	return d, nil
}

// TimeoutError is a request that ran out of one of the Timeouts.
type TimeoutError struct {
	// Phase is "connect", "TLS handshake", "response headers", "response
	// body" (idle) or "total".
	Phase string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	switch e.Phase {
	case "response body":
		return fmt.Sprintf("timeout: the response body sent nothing for %v", e.After)
	case "total":
		return fmt.Sprintf("timeout: the fetch took longer than its budget of %v", e.After)
	}
	return fmt.Sprintf("timeout: no %s within %v", e.Phase, e.After)
}

// Timeout reports true, like net.Error.
func (e *TimeoutError) Timeout() bool { return true }

// withBudget bounds ctx by the total timeout; the returned context's cause
// is a *TimeoutError when the budget runs out.
func withBudget(ctx context.Context, total time.Duration) (context.Context, context.CancelFunc) {
	if total <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, total, &TimeoutError{Phase: "total", After: total})
}

// budgetCause returns the *TimeoutError that ended ctx, or nil.
func budgetCause(ctx context.Context) error {
	var terr *TimeoutError
	if cause := context.Cause(ctx); cause != nil && errors.As(cause, &terr) {
		return terr
	}
	return nil
}
