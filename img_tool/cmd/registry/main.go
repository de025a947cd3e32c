// Command registry serves an OCI distribution registry whose blobs are the
// CAS of a Bazel remote cache (package casregistry), plus the Blobs.Commit
// gRPC service that the cas_registry push strategy calls. Once listening it
// prints
//
//	registry: listening on http://ADDR:PORT
//	registry: blob cache (Commit) on grpc://ADDR:GRPCPORT
//
// to stderr, then one access log line per HTTP request. SIGINT or SIGTERM
// shut it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/rules-img/rules_img/img_tool/pkg/casregistry"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

// errUsage reports bad arguments, after their message and the usage.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stderr io.Writer) error {
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
	reg := casregistry.New(cas, opts...)

	httpLis, err := net.Listen("tcp", net.JoinHostPort(*address, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: time.Minute}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(httpLis) }()
	fmt.Fprintf(stderr, "registry: listening on http://%s\n", hostPort(*address, httpLis))

	var gs *grpc.Server
	if *blobcache {
		grpcLis, err := net.Listen("tcp", net.JoinHostPort(*address, strconv.Itoa(*grpcPort)))
		if err != nil {
			srv.Close()
			return err
		}
		gs = grpc.NewServer()
		reg.RegisterGRPC(gs)
		go func() { errc <- gs.Serve(grpcLis) }()
		fmt.Fprintf(stderr, "registry: blob cache (Commit) on grpc://%s\n", hostPort(*address, grpcLis))
	}

	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if gs != nil {
		go func() { <-shutdown.Done(); gs.Stop() }()
		gs.GracefulStop()
	}
	if serr := srv.Shutdown(shutdown); err == nil {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func hostPort(address string, l net.Listener) string {
	return net.JoinHostPort(address, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
}
