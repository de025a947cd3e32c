//go:build !img_build_actions

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/bes"
	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// besConfig is the parsed command line of `img bes`.
type besConfig struct {
	address, port string
	mode          bes.CommitMode
	cas           reapi.Config
}

// parseBesFlags parses args; its errors wrap errUsage (or are flag.ErrHelp)
// and have been printed to stderr.
func parseBesFlags(args []string, stderr io.Writer) (*besConfig, error) {
	c := &besConfig{}
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

// runBes is `img bes`: a Build Event Service backend that pushes the images
// of a Bazel build as a side effect of building them. Start it, then build
// with
//
//	bazel build --bes_backend=grpc://localhost:9090 --remote_cache=... //...
//
// and every image_push or multi_deploy target that the build completes is
// pushed: it reads the target's deploy manifest and blobs from the remote
// cache given by --cas-endpoint, which must be the one Bazel uploads to.
// Registry credentials and settings come from getenv, as for `img deploy`:
// IMG_DOCKER_CONFIG or DOCKER_CONFIG, IMG_INSECURE_REGISTRIES,
// IMG_REGISTRY_CA_FILE or SSL_CERT_FILE.
//
// It prints "bes: listening on HOST:PORT" to stderr once it accepts
// streams, and logs every decision there. When ctx ends it lets running
// streams finish, then waits up to 30 s for the pushes.
func runBes(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, err := parseBesFlags(args, stderr)
	if err != nil {
		return err
	}
	client, err := c.cas.Dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	p := &bes.DeployPusher{Source: client, Log: stderr, Options: []deploy.Option{
		deploy.WithProgress(stderr),
		deploy.WithRegistryOptions(registry.EnvOptions(getenv)...),
	}}
	srv := bes.NewServer(p, bes.WithCommitMode(c.mode), bes.WithLog(stderr))
	return srv.ListenAndServe(ctx, c.address, c.port, stderr)
}
