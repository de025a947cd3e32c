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

func TestBesServesUntilCancelled(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cas := grpc.NewServer()
	repb.RegisterCapabilitiesServer(cas, capabilities{})
	go cas.Serve(lis)
	defer cas.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runBes(ctx, []string{"--address", "127.0.0.1", "--port", "0", "--cas-endpoint", "grpc://" + lis.Addr().String()}, func(string) string { return "" }, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var addr string
	for addr == "" && lines.Scan() {
		if m := regexp.MustCompile(`^bes: listening on (127\.0\.0\.1:[1-9][0-9]*)$`).FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no listening line; runBes: %v", <-done)
	}
	go io.Copy(io.Discard, pr)

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := buildpb.NewPublishBuildEventClient(conn).PublishLifecycleEvent(ctx, &buildpb.PublishLifecycleEventRequest{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runBes: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runBes did not stop")
	}
}
