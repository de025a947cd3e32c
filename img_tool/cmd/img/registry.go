//go:build !img_build_actions

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/casregistry"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// runRegistry is `img registry`: it serves an OCI distribution registry
// whose blobs are the CAS of a Bazel remote cache (package casregistry),
// plus the Blobs.Commit gRPC service that the cas_registry push strategy
// calls. Once listening it prints
//
//	registry: listening on http://ADDR:PORT
//	registry: blob cache (Commit) on grpc://ADDR:GRPCPORT
//
// to stderr, then one access log line per HTTP request, until ctx ends.
// Bad arguments return errUsage, after their message and the usage.
func runRegistry(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cache reapi.Config
	cache.RegisterFlags(fs, "reapi-endpoint", "remote cache holding the blobs: grpc://HOST:PORT or grpcs://HOST:PORT (required)")
	address := fs.String("address", "localhost", "address to listen on")
	port := fs.Int("port", 5000, "HTTP port of the registry (0: pick one)")
	grpcPort := fs.Int("grpc-port", 4444, "gRPC port of the blob cache service (0: pick one)")
	blobcache := fs.Bool("enable-blobcache", true, "serve the Blobs.Commit gRPC service on --grpc-port")
	diskDir := fs.String("disk-dir", "", "serve blobs that the remote cache lacks from `DIR`/sha256/HEX (e.g. the blobs directory of an OCI layout)")
	fs.Func("blob-store", `blob store; only "reapi" (the default) is supported`, func(s string) error {
		if s != "reapi" {
			return fmt.Errorf("blob store %q is not supported; only \"reapi\" is", s)
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if cache.Endpoint == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "registry: --reapi-endpoint is required, and no arguments are taken")
		fs.Usage()
		return errUsage
	}

	cas, err := cache.Dial(ctx)
	if err != nil {
		return err
	}
	defer cas.Close()
	opts := []casregistry.Option{casregistry.WithAccessLog(stderr)}
	if *diskDir != "" {
		opts = append(opts, casregistry.WithDiskDir(*diskDir))
	}
	return casregistry.New(cas, opts...).Serve(ctx, casregistry.ServeConfig{
		Address:   *address,
		Port:      *port,
		BlobCache: *blobcache,
		GRPCPort:  *grpcPort,
		Log:       stderr,
	})
}
