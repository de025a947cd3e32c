// Command bes is a Build Event Service backend that pushes the images of a
// Bazel build as a side effect of building them. Start it, then build with
//
//	bazel build --bes_backend=grpc://localhost:9090 --remote_cache=... //...
//
// and every image_push or multi_deploy target that the build completes is
// pushed: bes reads the target's deploy manifest and blobs from the remote
// cache given by --cas-endpoint, which must be the one Bazel uploads to.
// Registry credentials and settings come from the environment, as for
// `img deploy`: IMG_DOCKER_CONFIG or DOCKER_CONFIG, IMG_INSECURE_REGISTRIES,
// IMG_REGISTRY_CA_FILE or SSL_CERT_FILE.
//
// It prints "bes: listening on HOST:PORT" to stderr once it accepts
// streams, and logs every decision there. SIGINT or SIGTERM stops it: it
// lets running streams finish, then waits up to 30 s for the pushes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/rules-img/rules_img/img_tool/pkg/bes"
	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// shutdownTimeout bounds the wait for streams and pushes at a signal.
const shutdownTimeout = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "bes: %v\n", err)
		os.Exit(1)
	}
}

// errUsage is wrapped by the errors about flags, after printing them.
var errUsage = errors.New("usage error")

// config is the parsed command line.
type config struct {
	address, port string
	mode          bes.CommitMode
	cas           reapi.Config
}

// parseFlags parses args; its errors wrap errUsage (or are flag.ErrHelp)
// and have been printed to stderr.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var port int
	var mode string
	fs.StringVar(&c.address, "address", "localhost", "Address to listen on.")
	fs.IntVar(&port, "port", 9090, "Port to listen on; 0 picks a free one.")
	fs.StringVar(&mode, "commit-mode", "background", "background: Bazel does not wait for the pushes; per-stream: Bazel waits for the pushes of its build before it finishes.")
	c.cas.RegisterFlags(fs, "cas-endpoint", "Remote cache to read deploy manifests and blobs from, grpc://HOST:PORT or grpcs://HOST:PORT (required; Bazel's --remote_cache).")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	switch mode {
	case "background":
		c.mode = bes.CommitBackground
	case "per-stream":
		c.mode = bes.CommitPerStream
	default:
		problems = append(problems, fmt.Sprintf("--commit-mode %q: want background or per-stream", mode))
	}
	if port < 0 || port > 65535 {
		problems = append(problems, fmt.Sprintf("--port %d: want 0 to 65535", port))
	}
	c.port = strconv.Itoa(port)
	switch {
	case c.cas.Endpoint == "":
		problems = append(problems, "--cas-endpoint is required")
	case !strings.HasPrefix(c.cas.Endpoint, "grpc://") && !strings.HasPrefix(c.cas.Endpoint, "grpcs://"):
		problems = append(problems, fmt.Sprintf("--cas-endpoint %q: want grpc://HOST:PORT or grpcs://HOST:PORT", c.cas.Endpoint))
	}
	if len(problems) > 0 {
		msg := strings.Join(problems, "; ")
		fmt.Fprintf(stderr, "bes: %s\n", msg)
		fs.Usage()
		return nil, fmt.Errorf("%w: %s", errUsage, msg)
	}
	return c, nil
}

// run serves until ctx ends, then stops gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	client, err := c.cas.Dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	lis, err := net.Listen("tcp", net.JoinHostPort(c.address, c.port))
	if err != nil {
		return err
	}
	p := &casPusher{src: client, out: stderr, opts: []deploy.Option{
		deploy.WithProgress(stderr),
		deploy.WithRegistryOptions(registry.EnvOptions(getenv)...),
	}}
	srv := bes.NewServer(p, bes.WithCommitMode(c.mode), bes.WithLog(stderr))
	g := grpc.NewServer()
	srv.Register(g)
	served := make(chan error, 1)
	go func() { served <- g.Serve(lis) }()
	fmt.Fprintf(stderr, "bes: listening on %s\n", net.JoinHostPort(c.address, strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "bes: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-sctx.Done():
		g.Stop()
	}
	return srv.Shutdown(sctx)
}

// casPusher pushes deploy manifests read from the remote cache, and prints
// the references it pushed.
type casPusher struct {
	src  deploy.BlobSource
	opts []deploy.Option
	out  io.Writer
}

func (p *casPusher) Push(ctx context.Context, target string, dispatch reapi.Digest) error {
	rep, err := deploy.RunFromCAS(ctx, p.src, dispatch, p.opts...)
	if rep != nil {
		for _, r := range rep.Pushes {
			fmt.Fprintf(p.out, "bes: %s: pushed %s\n", target, r.Reference())
		}
	}
	return err
}
