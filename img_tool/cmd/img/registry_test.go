//go:build !img_build_actions

package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/rules-img/rules_img/img_tool/pkg/casregistry"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

func TestRegistryUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--reapi-endpoint", "grpc://localhost:1", "--blob-store", "s3"},
		{"--reapi-endpoint", "grpc://localhost:1", "--remote-header", "novalue"},
		{"--reapi-endpoint", "grpc://localhost:1", "extra"},
	} {
		if err := runRegistry(context.Background(), args, io.Discard); err != errUsage {
			t.Errorf("runRegistry(%q) = %v, want errUsage", args, err)
		}
	}
}

// TestServerExitCodes runs the servers as `img registry` and `img bes`:
// usage errors exit 2, -h exits 2 for registry and 0 for bes (as before
// they were subcommands), and other errors exit 1 after "NAME: ERROR".
func TestServerExitCodes(t *testing.T) {
	noCA := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		args       []string
		code       int
		wantStderr string
	}{
		{[]string{"registry"}, 2, "registry: --reapi-endpoint is required"},
		{[]string{"registry", "-h"}, 2, "Usage of registry:"},
		{[]string{"registry", "--no-such-flag"}, 2, "Usage of registry:"},
		{[]string{"registry", "--reapi-endpoint", "grpcs://localhost:1", "--ca-file", noCA}, 1, "registry: remote cache grpcs://localhost:1: "},
		{[]string{"bes"}, 2, "bes: --cas-endpoint is required"},
		{[]string{"bes", "-h"}, 0, "Usage of bes:"},
		{[]string{"bes", "--cas-endpoint", "grpcs://localhost:1", "--ca-file", noCA}, 1, "bes: remote cache grpcs://localhost:1: "},
	} {
		code, stderr := runImg(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.wantStderr) || strings.Contains(stderr, "img "+tc.args[0]+":") {
			t.Errorf("img %q: exit %d, stderr:\n%s\nwant exit %d with %q", tc.args, code, stderr, tc.code, tc.wantStderr)
		}
	}
}

func TestServerForExecutable(t *testing.T) {
	for _, tc := range []struct {
		argv0, want string
	}{
		{"registry", "registry"},
		{"bes", "bes"},
		{"./registry", "registry"},
		{"/usr/local/bin/bes", "bes"},
		{"bazel-bin/tools/registry.exe", "registry"},
		{"bes.exe", "bes"},
		{"bes.EXE", "bes"},
		{filepath.Join("runfiles", "_main", "registry"), "registry"},
		// img itself, deploy launchers and other names are no server.
		{"img", ""},
		{"img.exe", ""},
		{"/tmp/x/img", ""},
		{"bazel-bin/push", ""},
		{"bazel-bin/push.exe", ""},
		{"registry/img", ""},
		{"img-registry", ""},
		{"registry.sh", ""},
		{"registry.exe.exe", ""},
		{".exe", ""},
		{"Registry", ""},
		{"layer", ""},
		{"deploy-merge", ""},
		{"", ""},
	} {
		got, ok := serverForExecutable(tc.argv0)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("serverForExecutable(%q) = %q, %v; want %q", tc.argv0, got, ok, tc.want)
		}
	}
}

// TestRegistryServe pushes to and pulls from `img registry`, given
// RULES_IMG_TEST_REAPI=grpc://HOST:PORT.
func TestRegistryServe(t *testing.T) {
	endpoint := os.Getenv("RULES_IMG_TEST_REAPI")
	if endpoint == "" {
		t.Skip("RULES_IMG_TEST_REAPI not set")
	}
	cancel, lines, done := serveInBackground(func(ctx context.Context, log io.Writer) error {
		return runRegistry(ctx, []string{"--reapi-endpoint", endpoint, "--port", "0", "--grpc-port", "0", "--blob-store", "reapi"}, log)
	})
	defer cancel()
	httpAddr, grpcAddr := registryAddrs(t, lines, done)
	log := accessLog(lines)
	ctx := context.Background()

	img, _ := random.Image(1000, 2)
	ref, _ := name.ParseReference(httpAddr + "/smoke:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg, _ := img.RawConfigFile()
	d, _ := img.ConfigName()
	if missing, err := casregistry.Commit(ctx, conn, []reapi.Digest{{Hash: d.Hex, SizeBytes: int64(len(cfg))}}); err != nil || len(missing) != 0 {
		t.Fatalf("Commit = %v, %v", missing, err)
	}
	if l := <-log; !strings.HasPrefix(l, "GET /v2/ ") {
		t.Errorf("first access log line %q", l)
	}
	cancel()
	waitStopped(t, "runRegistry", done, 15*time.Second)
}

// TestRegistryServesUntilCancelled runs `img registry` over a remote cache
// that only answers GetCapabilities (see bes_test.go): it prints both
// listening lines, serves /v2/ with an access log line, and stops when ctx
// ends.
func TestRegistryServesUntilCancelled(t *testing.T) {
	endpoint := startTestCAS(t)
	cancel, lines, done := serveInBackground(func(ctx context.Context, log io.Writer) error {
		return runRegistry(ctx, []string{"--address", "127.0.0.1", "--port", "0", "--grpc-port", "0", "--reapi-endpoint", endpoint}, log)
	})
	defer cancel()
	httpAddr, grpcAddr := registryAddrs(t, lines, done)
	if !strings.HasPrefix(httpAddr, "127.0.0.1:") || !strings.HasPrefix(grpcAddr, "127.0.0.1:") {
		t.Fatalf("listening on %q and %q", httpAddr, grpcAddr)
	}
	log := accessLog(lines)
	resp, err := http.Get("http://" + httpAddr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/: %s", resp.Status)
	}
	if l := <-log; !strings.HasPrefix(l, "GET /v2/ ") {
		t.Errorf("first access log line %q", l)
	}
	cancel()
	waitStopped(t, "runRegistry", done, 15*time.Second)
}

// registryAddrs reads the two listening lines of `img registry`.
func registryAddrs(t *testing.T, lines *bufio.Scanner, done chan error) (httpAddr, grpcAddr string) {
	t.Helper()
	for httpAddr == "" || grpcAddr == "" {
		if !lines.Scan() {
			t.Fatalf("registry exited: %v", <-done)
		}
		if a, ok := strings.CutPrefix(lines.Text(), "registry: listening on http://"); ok {
			httpAddr = a
		}
		if a, ok := strings.CutPrefix(lines.Text(), "registry: blob cache (Commit) on grpc://"); ok {
			grpcAddr = a
		}
	}
	return httpAddr, grpcAddr
}

// accessLog passes the remaining log lines on, one per request.
func accessLog(lines *bufio.Scanner) chan string {
	log := make(chan string, 100)
	go func() {
		for lines.Scan() {
			log <- lines.Text()
		}
		close(log)
	}()
	return log
}
