package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// deployRunfiles returns the runfiles of the deploy target that args[0]
// runs as, or nil when img runs as a build tool: args[1] is a subcommand,
// or no runfiles hold a dispatch.json (see deploy.FindRunfiles).
func deployRunfiles(args []string, getenv func(string) string) deploy.Runfiles {
	if len(args) == 0 {
		return nil
	}
	if len(args) > 1 {
		if _, ok := commands[args[1]]; ok {
			return nil
		}
	}
	return deploy.FindRunfiles(args[0], getenv)
}

const deployUsage = `Usage: bazel run //your:push_target -- [flags]

Pushes the image of this target: blobs the registry lacks (HEAD first; base
layers are mounted or streamed from the base image's registry), then the
manifests, then the tags. Prints the pushed REGISTRY/REPOSITORY@DIGEST.

Flags:
`

const deployEnvUsage = `
Environment:
  IMG_DOCKER_CONFIG, DOCKER_CONFIG  directory of the docker config.json with credentials (default ~/.docker)
  IMG_INSECURE_REGISTRIES           comma-separated hosts (or host:port) that may use plain HTTP; loopback always may
  IMG_REGISTRY_CA_FILE, SSL_CERT_FILE  PEM file of CA certificates to trust besides the system ones
`

// runDeploy runs the operations of the deploy manifest in rf and returns
// the exit code: 0 on success, 1 on any error (printed to stderr).
func runDeploy(ctx context.Context, rf deploy.Runfiles, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := deployMain(ctx, rf, args, getenv, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "img: %v\n", err)
		return 1
	}
	return 0
}

func deployMain(ctx context.Context, rf deploy.Runfiles, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), deployUsage)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), deployEnvUsage)
	}
	var (
		tags               listFlag
		registryHost, repo string
		quiet              bool
		jobs, attempts     int
	)
	fs.Var(&tags, "tag", "Tag to write instead of the target's tags (every push operation). Repeatable.")
	fs.StringVar(&registryHost, "registry", "", "Registry to push to instead of the target's (every push operation).")
	fs.StringVar(&repo, "repository", "", "Repository to push to instead of the target's (every push operation).")
	fs.BoolVar(&quiet, "quiet", false, "Print only the pushed references.")
	fs.IntVar(&jobs, "jobs", deploy.DefaultJobs, "Blobs to upload at once.")
	fs.IntVar(&attempts, "attempts", registry.DefaultBackoff.Steps, "Attempts per request that fails with a 5xx, 429 or a connection reset (exponential backoff between them).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	d, err := deploy.ReadDispatch(rf)
	if err != nil {
		return err
	}
	backoff := registry.DefaultBackoff
	backoff.Steps = attempts
	opts := []deploy.Option{
		deploy.WithJobs(jobs),
		deploy.WithRegistryOptions(append(deployRegistryOptions(getenv), registry.WithRetryBackoff(backoff))...),
	}
	if !quiet {
		opts = append(opts, deploy.WithProgress(stderr))
	}
	if len(tags) > 0 {
		opts = append(opts, deploy.WithTags(tags...))
	}
	if registryHost != "" {
		opts = append(opts, deploy.WithRegistry(registryHost))
	}
	if repo != "" {
		opts = append(opts, deploy.WithRepository(repo))
	}
	results, err := deploy.Run(ctx, d, rf, opts...)
	for _, r := range results {
		fmt.Fprintln(stdout, r.Reference())
	}
	return err
}

// deployRegistryOptions reads the registry settings from the environment.
func deployRegistryOptions(getenv func(string) string) []registry.Option {
	var opts []registry.Option
	if dir := getenv("IMG_DOCKER_CONFIG"); dir != "" {
		opts = append(opts, registry.WithConfigDir(dir))
	} else if dir := getenv("DOCKER_CONFIG"); dir != "" {
		opts = append(opts, registry.WithConfigDir(dir))
	}
	if v := getenv("IMG_INSECURE_REGISTRIES"); v != "" {
		hosts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
		opts = append(opts, registry.WithInsecureRegistries(hosts...))
	}
	if ca := getenv("IMG_REGISTRY_CA_FILE"); ca != "" {
		opts = append(opts, registry.WithCAFile(ca))
	} else if ca := getenv("SSL_CERT_FILE"); ca != "" {
		opts = append(opts, registry.WithCAFile(ca))
	}
	return opts
}
