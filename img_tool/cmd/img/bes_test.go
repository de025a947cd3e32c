//go:build !img_build_actions

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	buildpb "google.golang.org/genproto/googleapis/devtools/build/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/rules-img/rules_img/img_tool/pkg/bes"
)

func TestBesFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--cas-endpoint is required"},
		{[]string{"--cas-endpoint", "http://cache:80"}, "want grpc://HOST:PORT"},
		{[]string{"--cas-endpoint", "grpc://c:1", "--commit-mode", "eventually"}, `--commit-mode "eventually"`},
		{[]string{"--cas-endpoint", "grpc://c:1", "--port", "70000"}, "--port 70000"},
		{[]string{"--cas-endpoint", "grpc://c:1", "--remote-header", "novalue"}, "want Name=Value"},
		{[]string{"--cas-endpoint", "grpc://c:1", "extra"}, "unexpected arguments"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	} {
		var stderr strings.Builder
		_, err := parseBesFlags(tc.args, &stderr)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(stderr.String(), "Usage") {
			t.Errorf("%q: %v, want a usage error with %q; stderr:\n%s", tc.args, err, tc.want, stderr.String())
		}
	}
	if _, err := parseBesFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	c, err := parseBesFlags([]string{"--cas-endpoint", "grpcs://c:1", "--commit-mode", "per-stream", "--remote-header", "a=b=c", "--remote-header", "x="}, io.Discard)
	if err != nil || c.mode != bes.CommitPerStream || !slices.Equal(c.cas.Headers, []string{"a=b=c", "x="}) || c.port != "9090" || c.address != "localhost" {
		t.Errorf("parsed %+v, %v", c, err)
	}
}

// capabilities is a remote cache that only answers GetCapabilities.
type capabilities struct {
	repb.UnimplementedCapabilitiesServer
}

func (capabilities) GetCapabilities(context.Context, *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	return &repb.ServerCapabilities{CacheCapabilities: &repb.CacheCapabilities{DigestFunctions: []repb.DigestFunction_Value{repb.DigestFunction_SHA256}}}, nil
}

// startTestCAS serves a remote cache that only answers GetCapabilities and
// returns its grpc:// endpoint.
func startTestCAS(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cas := grpc.NewServer()
	repb.RegisterCapabilitiesServer(cas, capabilities{})
	go cas.Serve(lis)
	t.Cleanup(cas.Stop)
	return "grpc://" + lis.Addr().String()
}

// serveInBackground runs a server command until the returned cancel is
// called; its log lines come from the scanner, its result from done.
func serveInBackground(run func(ctx context.Context, log io.Writer) error) (cancel context.CancelFunc, lines *bufio.Scanner, done chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done = make(chan error, 1)
	go func() {
		done <- run(ctx, pw)
		pw.Close()
	}()
	return cancel, bufio.NewScanner(pr), done
}

// waitStopped fails the test unless the server returned nil within timeout.
func waitStopped(t *testing.T, name string, done chan error, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	case <-time.After(timeout):
		t.Fatalf("%s did not stop", name)
	}
}

func TestBesServesUntilCancelled(t *testing.T) {
	endpoint := startTestCAS(t)
	cancel, lines, done := serveInBackground(func(ctx context.Context, log io.Writer) error {
		return runBes(ctx, []string{"--address", "127.0.0.1", "--port", "0", "--cas-endpoint", endpoint}, func(string) string { return "" }, log)
	})
	defer cancel()
	var addr string
	for addr == "" && lines.Scan() {
		if m := regexp.MustCompile(`^bes: listening on (127\.0\.0\.1:[1-9][0-9]*)$`).FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no listening line; runBes: %v", <-done)
	}
	go func() {
		for lines.Scan() {
		}
	}()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := buildpb.NewPublishBuildEventClient(conn).PublishLifecycleEvent(context.Background(), &buildpb.PublishLifecycleEventRequest{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	waitStopped(t, "runBes", done, 10*time.Second)
}
