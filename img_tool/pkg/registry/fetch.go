package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Attempt is one registry that Fetch tried and its error.
type Attempt struct {
	Registry string
	Err      error
}

// FetchError is returned by Fetch when more than one registry was tried and
// none succeeded. It lists every registry tried, in order. Fetch returns
// it sanitized (see Sanitize).
type FetchError struct {
	Attempts []Attempt
}

func (e *FetchError) Error() string {
	hosts := make([]string, len(e.Attempts))
	errs := make([]string, len(e.Attempts))
	for i, a := range e.Attempts {
		hosts[i] = a.Registry
		errs[i] = fmt.Sprintf("[%d] %v", i+1, a.Err)
	}
	return fmt.Sprintf("no registry served the request (tried %s): %s", strings.Join(hosts, ", "), strings.Join(errs, "; "))
}

// Unwrap returns the error of every attempt.
func (e *FetchError) Unwrap() []error {
	errs := make([]error, len(e.Attempts))
	for i, a := range e.Attempts {
		errs[i] = a.Err
	}
	return errs
}

// Fetch calls fn with each registry in order until one call succeeds, and
// returns that registry.
//
// An error for which IsUnavailable is true (connection failure, 404, 429,
// 5xx) moves on to the next registry; any other error, and cancellation of
// ctx, stops at once. When a single registry was tried its error is
// returned; otherwise a *FetchError lists every registry tried. Errors are
// sanitized (see Sanitize): no registry message and no credential in them.
func Fetch(ctx context.Context, registries []string, fn func(ctx context.Context, registry string) error) (string, error) {
	if len(registries) == 0 {
		return "", errors.New("no registry given")
	}
	var attempts []Attempt
	for _, reg := range registries {
		if err := ctx.Err(); err != nil {
			attempts = append(attempts, Attempt{Registry: reg, Err: err})
			break
		}
		err := fn(ctx, reg)
		if err == nil {
			return reg, nil
		}
		attempts = append(attempts, Attempt{Registry: reg, Err: err})
		if !IsUnavailable(err) || ctx.Err() != nil {
			break
		}
	}
	for i := range attempts {
		attempts[i].Err = Sanitize(attempts[i].Err)
	}
	if len(attempts) == 1 {
		return "", attempts[0].Err
	}
	return "", Sanitize(&FetchError{Attempts: attempts})
}

// Fetch is the package's Fetch within the client's total time budget
// (Timeouts.Total): when the budget runs out, the error says so.
func (c *Client) Fetch(ctx context.Context, registries []string, fn func(ctx context.Context, registry string) error) (string, error) {
	ctx, cancel := withBudget(ctx, c.o.timeouts.Total)
	defer cancel()
	reg, err := Fetch(ctx, registries, fn)
	if err != nil {
		if cause := budgetCause(ctx); cause != nil && !errors.Is(err, cause) {
			err = Sanitize(fmt.Errorf("%w: %w", cause, err))
		}
	}
	return reg, err
}

// IsUnavailable reports whether err says that a registry cannot serve the
// request, so that a mirror may: the connection failed (refused, reset,
// unreachable, name not found, broken off), or the registry answered 404,
// 429 or 5xx. Authentication errors, digest mismatches, refused plain
// HTTP, TLS failures and cancellation are not.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var aerr *AuthError
	if errors.As(err, &aerr) {
		return false
	}
	var toerr *TimeoutError
	if errors.As(err, &toerr) {
		// A registry that hangs may be left for a mirror; the total
		// budget ends the fetch.
		return toerr.Phase != "total"
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode == http.StatusNotFound || terr.StatusCode == http.StatusTooManyRequests || terr.StatusCode >= 500
	}
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &op) || errors.As(err, &dns) {
		return true
	}
	for _, target := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTUNREACH, syscall.ENETUNREACH, io.ErrUnexpectedEOF, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
