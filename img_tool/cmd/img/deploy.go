//go:build !img_build_actions

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/load"
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

const deployUsage = `Usage: bazel run //your:push_or_load_target -- [flags]

A push target pushes its image: blobs the registry lacks (HEAD first; base
layers are mounted or streamed from the base image's registry), then the
manifests, then the tags. It prints each pushed reference on a line of its
own: REGISTRY/REPOSITORY@DIGEST, then REGISTRY/REPOSITORY:TAG per tag. A
target without registry or repository takes them from --registry and
--repository; one whose registry, repository or tags still hold template
text ({{.STABLE_GIT_COMMIT}}: built without --stamp) pushes nothing.

A load target loads its image into a local runtime: containerd through its
API (only the blobs it lacks; then the image is unpacked), Docker (through
its containerd when Docker uses the containerd image store, else with
docker load), podman (podman load), Apple's container CLI (daemon
containerization: container image load) or $LOADER_BINARY (daemon
generic). Of an index only the manifests of --platform are loaded. It
prints each loaded name, e.g. docker.io/library/app:latest; a load without
a name prints what finds the image: its ID (sha256:...) or, for
containerd, its image record (moby-dangling@sha256:..., untagged@sha256:...
outside namespace moby).

Daemon tar loads nowhere: it writes the image to stdout as one tar that is
both a docker save archive and an OCI layout (of the whole index, with
manifest.json listing the --platform manifest), e.g.
bazel run //:load --@rules_img//img/settings:load_daemon=tar > image.tar
or ... | docker load. Stdout then holds the tar only: progress and the
names go to stderr, and stdout must not be a terminal.

Flags:
`

const deployEnvUsage = `
Environment:
  IMG_DOCKER_CONFIG                 docker config.json with credentials, or its directory, read instead of
                                    $DOCKER_CONFIG/config.json and ~/.docker/config.json; relative to the
                                    workspace (//img/settings:docker_config_path sets it)
  DOCKER_CONFIG                     directory of the docker config.json with credentials
  IMG_INSECURE                      1: every registry is insecure, as with --insecure (//img/settings:insecure sets it)
  IMG_INSECURE_REGISTRIES           comma-separated hosts (or host:port) that may use plain HTTP; loopback always may
  IMG_CREDENTIAL_HELPER_OCI_REGISTRY  credential helper for registries, asked before the docker config
                                    (default: //img/settings:credential_helper_oci_registry, else IMG_CREDENTIAL_HELPER)
  IMG_REGISTRY_CA_FILE, SSL_CERT_FILE  PEM file of CA certificates to trust besides the system ones
  CONTAINERD_ADDRESS                containerd socket to try first (then /run/containerd/containerd.sock,
                                    /run/docker/containerd/containerd.sock, /var/run/docker/containerd/containerd.sock)
  CONTAINERD_NAMESPACE              containerd namespace of a containerd load (default moby, Docker's)
  CONTAINERD_SNAPSHOTTER            snapshotter to unpack into (default: the namespace's, overlayfs)
  DOCKER, DOCKER_HOST               docker binary (default docker in PATH) and the daemon it talks to
  DOCKER_DEFAULT_PLATFORM           default --platform of loads into docker, podman, containerization, tar and generic
  LOADER_BINARY                     program run as "$LOADER_BINARY image load" with a docker save tar on stdin,
                                    e.g. nerdctl: daemon generic needs it; when set it also replaces docker load,
                                    podman load and container image load (loads through Docker's containerd stay
                                    as they are)
`

// loadEnvKeys are the variables that the loader reads from the launcher's
// environment; the others are inherited as they are.
var loadEnvKeys = []string{"CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "CONTAINERD_SNAPSHOTTER", "DOCKER", "DOCKER_DEFAULT_PLATFORM", "DOCKER_HOST", "LOADER_BINARY"}

// loadEnv is the process environment with loadEnvKeys taken from getenv.
func loadEnv(getenv func(string) string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(loadEnvKeys, k) {
			env = append(env, kv)
		}
	}
	for _, k := range loadEnvKeys {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

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
		fmt.Fprint(fs.Output(), deployEnvUsage+registry.LimitsEnvUsage)
		fmt.Fprint(fs.Output(), remoteEnvUsage)
	}
	var (
		tags               listFlag
		registryHost, repo string
		platform, daemon   string
		quiet, insecure    bool
		jobs, attempts     int
	)
	tagUsage := "Push: a tag to write besides the target's tags (repeatable). Load: a name to load as besides the target's names, e.g. app:dev."
	fs.Var(&tags, "tag", tagUsage)
	fs.Var(&tags, "t", "Short for --tag.")
	fs.StringVar(&registryHost, "registry", "", "Push: registry to push to, instead of the target's or where the target has none.")
	fs.StringVar(&repo, "repository", "", "Push: repository to push to, instead of the target's or where the target has none.")
	fs.StringVar(&platform, "platform", "", "Load: manifests of an index to load, a comma-separated list of os/arch[/variant], or all (default: all for containerd; for the others $DOCKER_DEFAULT_PLATFORM, else "+load.HostPlatform()+"). The tar of daemons tar and containerization holds the whole index; this picks the manifest that its manifest.json lists (default: as above, or the index's first).")
	fs.StringVar(&daemon, "daemon", "", "Load: runtime to load into instead of the target's: "+strings.Join(load.Daemons, ", ")+".")
	fs.BoolVar(&quiet, "quiet", false, "Print only the pushed references and the loaded names.")
	fs.BoolVar(&insecure, "insecure", false, "Treat every registry as insecure: plain HTTP allowed, TLS certificates not verified (default: $IMG_INSECURE, //img/settings:insecure).")
	fs.IntVar(&jobs, "jobs", deploy.DefaultJobs, "Blobs to upload (push) or write into containerd (load) at once.")
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
	hasPush, hasLoad := d.Has(deploy.CommandPush), d.Has(deploy.CommandLoad)
	backoff := registry.DefaultBackoff
	backoff.Steps = attempts
	opts := []deploy.Option{
		deploy.WithJobs(jobs),
		deploy.WithRegistryOptions(append(deployRegistryOptions(getenv, d.Settings, insecure), registry.WithRetryBackoff(backoff))...),
	}
	if !quiet {
		opts = append(opts, deploy.WithProgress(stderr))
	}
	if len(tags) > 0 && hasPush {
		opts = append(opts, deploy.WithTags(tags...))
	}
	if len(tags) > 0 && hasLoad {
		opts = append(opts, deploy.WithLoadNames(tags...))
	}
	if registryHost != "" {
		opts = append(opts, deploy.WithRegistry(registryHost))
	}
	if repo != "" {
		opts = append(opts, deploy.WithRepository(repo))
	}
	if (platform != "" || daemon != "") && !hasLoad {
		return errors.New("--platform and --daemon apply to load operations, and this target has none")
	}
	loadOpts := []load.Option{load.WithEnv(loadEnv(getenv))}
	report := stdout
	switch n := tarLoads(d, daemon); {
	case n > 1:
		return fmt.Errorf("%d load operations write a tar to stdout (daemon tar), which takes one", n)
	case n == 1:
		if isTerminal(stdout) {
			return errors.New("daemon tar writes the image as a tar to stdout, which is a terminal: redirect it (> image.tar) or pipe it (| docker load)")
		}
		// Stdout holds the tar and nothing else.
		loadOpts = append(loadOpts, load.WithTarOutput("stdout", stdout))
		report = stderr
	}
	if platform != "" {
		loadOpts = append(loadOpts, load.WithPlatforms(platform))
	}
	if daemon != "" {
		opts = append(opts, deploy.WithDaemon(daemon))
	}
	opts = append(opts, deploy.WithLoadOptions(loadOpts...))
	remote, err := newRemoteBlobs(ctx, d, rf, getenv)
	if err != nil {
		return err
	}
	defer remote.Close()
	opts = append(opts, remote.options()...)
	rep, err := deploy.RunAll(ctx, d, rf, opts...)
	if rep != nil {
		printReport(report, rep)
	}
	return err
}

// tarLoads counts the load operations of d that write a tar to stdout: of
// daemon tar, or all of them when the --daemon flag (daemon) is tar.
func tarLoads(d *deploy.Dispatch, daemon string) int {
	n := 0
	for _, op := range d.Operations {
		if op.Command != deploy.CommandLoad {
			continue
		}
		if daemon == load.DaemonTar || daemon == "" && op.Daemon == load.DaemonTar {
			n++
		}
	}
	return n
}

// isTerminal reports whether w is a character device other than
// /dev/null, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}

// printReport writes what a run pushed and loaded, one reference a line:
// per push REGISTRY/REPOSITORY@DIGEST, then REGISTRY/REPOSITORY:TAG per
// tag; per load each loaded name, or for a load without a name the
// reference that finds the image.
func printReport(w io.Writer, rep *deploy.Report) {
	for _, r := range rep.Pushes {
		for _, ref := range r.References() {
			fmt.Fprintln(w, ref)
		}
	}
	for _, r := range rep.Loads {
		if len(r.Names) == 0 {
			fmt.Fprintln(w, r.Name)
		}
		for _, n := range r.Names {
			fmt.Fprintln(w, n)
		}
	}
}

// deployRegistryOptions reads the registry settings from the environment
// and the deploy manifest's settings: the registry credential helper is
// credential_helper_oci_registry, else credential_helper, each overridden
// by its environment variable.
func deployRegistryOptions(getenv func(string) string, s deploy.Settings, insecure bool) []registry.Option {
	return append(registry.EnvOptions(getenv),
		registry.WithInsecure(insecure),
		registry.WithRegistryHelpers(helperSettings(s, getenv)))
}

// helperSettings are the credential helpers of the deploy manifest's
// settings with the environment's overrides.
func helperSettings(s deploy.Settings, getenv func(string) string) registry.HelperSettings {
	return registry.HelperSettings{
		Generic:     s.CredentialHelper,
		OCIRegistry: s.CredentialHelperOCIRegistry,
		RemoteCache: s.CredentialHelperRemoteCache,
	}.WithEnv(getenv)
}
