// Package credhelper runs credential helpers of the protocol Bazel uses for
// its remote cache and downloads (https://github.com/EngFlow/credential-helper-spec):
// the helper is run as `HELPER get`, reads {"uri":"..."} on stdin and prints
// {"headers":{"Name":["value",...]},"expires":"RFC3339"} on stdout.
package credhelper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

const (
	// runTimeout bounds one run of the helper.
	runTimeout = 30 * time.Second
	// expiryMargin is how long before their expiry cached headers are renewed.
	expiryMargin = 5 * time.Second
	// stderrLines is how many trailing lines of the helper's stderr an error quotes.
	stderrLines = 5
)

// Helper runs one credential helper and caches its answers per URI. It is
// safe for concurrent use; concurrent calls for the same URI share one run.
type Helper struct {
	path    string
	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	sem     chan struct{} // held while the helper runs for this URI
	ok      bool
	headers map[string][]string
	expires time.Time // zero: never
}

// New returns a Helper that runs the executable at path (a name without a
// slash is looked up in PATH). It does not run the helper yet.
func New(path string) *Helper {
	return &Helper{path: path, entries: map[string]*entry{}}
}

// Headers returns the headers the helper gives for uri. A previous answer
// for uri is reused until its "expires" time (less a few seconds), forever
// when the helper gave none. The returned map is the caller's to modify.
// Errors name the helper and quote its exit status and the end of its
// stderr, never header values.
func (h *Helper) Headers(ctx context.Context, uri string) (map[string][]string, error) {
	h.mu.Lock()
	e := h.entries[uri]
	if e == nil {
		e = &entry{sem: make(chan struct{}, 1)}
		h.entries[uri] = e
	}
	h.mu.Unlock()

	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("credential helper %s for %s: %w", h.path, uri, ctx.Err())
	}
	defer func() { <-e.sem }()
	if !e.ok || (!e.expires.IsZero() && time.Now().After(e.expires.Add(-expiryMargin))) {
		headers, expires, err := h.run(ctx, uri)
		if err != nil {
			return nil, err
		}
		e.ok, e.headers, e.expires = true, headers, expires
	}
	out := make(map[string][]string, len(e.headers))
	for k, v := range e.headers {
		out[k] = append([]string(nil), v...)
	}
	return out, nil
}

// response is what a helper prints.
type response struct {
	Headers map[string][]string `json:"headers"`
	Expires string              `json:"expires"`
}

func (h *Helper) run(ctx context.Context, uri string) (map[string][]string, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	req, err := json.Marshal(map[string]string{"uri": uri})
	if err != nil {
		return nil, time.Time{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, h.path, "get")
	cmd.Stdin = bytes.NewReader(req)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second // do not wait for grandchildren holding the pipes
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("%w after %s", ctx.Err(), runTimeout)
		case errors.As(err, &exit):
			err = errors.New(exit.ProcessState.String()) // "exit status N" / "signal: ..."
		}
		return nil, time.Time{}, fmt.Errorf("credential helper %s for %s: %w%s", h.path, uri, err, tail(stderr.String()))
	}
	var resp response
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		// The message of err quotes at most a character of the output.
		return nil, time.Time{}, fmt.Errorf("credential helper %s for %s: output is not the expected JSON: %v%s", h.path, uri, err, tail(stderr.String()))
	}
	var expires time.Time
	if resp.Expires != "" {
		if expires, err = time.Parse(time.RFC3339, resp.Expires); err != nil {
			return nil, time.Time{}, fmt.Errorf("credential helper %s for %s: expires %q is not RFC 3339", h.path, uri, resp.Expires)
		}
	}
	if resp.Headers == nil {
		resp.Headers = map[string][]string{}
	}
	return resp.Headers, expires, nil
}

// tail formats the last lines of a helper's stderr for an error message.
func tail(stderr string) string {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) > stderrLines {
		lines = lines[len(lines)-stderrLines:]
	}
	s := strings.TrimSpace(strings.Join(lines, "\n"))
	if s == "" {
		return ""
	}
	return "; stderr: " + s
}
