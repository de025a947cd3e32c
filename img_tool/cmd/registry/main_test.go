package main

import (
	"bufio"
	"context"
	"io"
	"os"
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

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--reapi-endpoint", "grpc://localhost:1", "--blob-store", "s3"},
		{"--reapi-endpoint", "grpc://localhost:1", "--remote-header", "novalue"},
		{"--reapi-endpoint", "grpc://localhost:1", "extra"},
	} {
		if err := run(context.Background(), args, io.Discard); err != errUsage {
			t.Errorf("run(%q) = %v, want errUsage", args, err)
		}
	}
}

// TestServe pushes to and pulls from the registry binary's run, given
// RULES_IMG_TEST_REAPI=grpc://HOST:PORT.
func TestServe(t *testing.T) {
	endpoint := os.Getenv("RULES_IMG_TEST_REAPI")
	if endpoint == "" {
		t.Skip("RULES_IMG_TEST_REAPI not set")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--reapi-endpoint", endpoint, "--port", "0", "--grpc-port", "0", "--blob-store", "reapi"}, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var httpAddr, grpcAddr string
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
	log := make(chan string, 100)
	go func() {
		for lines.Scan() {
			log <- lines.Text()
		}
	}()

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
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no shutdown")
	}
}
